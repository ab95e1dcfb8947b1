"""ST-ReIDNet: update order, loss goes down, training, evaluation and exact resume."""

from __future__ import annotations

import math
from itertools import pairwise

import torch

import reid
from reid.data import read_dataset
from reid.engine import load_checkpoint, seed_everything
from reid.methods.st_reidnet import StReidNet
from tests.reid.helpers import st_config


def _method_and_batch(dance_dir, cfg=None):
    cfg = cfg or st_config()
    splits = read_dataset("dancereid", dance_dir)
    seed_everything(0)
    method = StReidNet(cfg, splits.num_train_pids, torch.device("cpu"))
    batch = next(iter(method.build_train_loader(splits.train)))
    return method, batch


def test_update_order_and_fixed_optimizer_settings(dance_dir):
    method, batch = _method_and_batch(dance_dir)
    groups = method.optimizers["model"].param_groups
    assert [g["lr"] for g in groups] == [3e-3 * 0.1, 3e-3]  # backbone multiplier honoured
    assert method.optimizers["generator"].defaults["betas"] == (0.5, 0.999)

    def snapshot():
        return {k: [p.detach().clone() for p in m.parameters()] for k, m in method.modules.items()}

    def changed(a, b, key):
        return any(not torch.equal(x, y) for x, y in zip(a[key], b[key], strict=True))

    snaps, step = [snapshot()], method._step

    def recording_step(loss, *keys):
        step(loss, *keys)
        snaps.append(snapshot())

    method._step = recording_step
    logs = method.train_step(batch)
    assert len(snaps) == 4 and all(math.isfinite(v) for v in logs.values())
    moved = [
        {k for k in method.modules if changed(before, after, k)}
        for before, after in pairwise(snaps)
    ]
    assert moved == [{"disc_image"}, {"disc_pose"}, {"model", "generator"}]


def test_a_few_steps_reduce_the_encoder_loss(dance_dir):
    method, batch = _method_and_batch(dance_dir)
    logs = [method.train_step(batch) for _ in range(12)]
    assert logs[-1]["loss"] < 0.7 * logs[0]["loss"]
    assert logs[-1]["loss_recon"] < logs[0]["loss_recon"]


def _modules(path):
    return load_checkpoint(path)["modules"]


def test_train_evaluate_and_resume_reproduce(dance_dir, tmp_path):
    straight = reid.train(
        "st-reidnet",
        st_config(epochs=2, eval_every=2),
        dance_dir,
        "dancereid",
        tmp_path / "a",
        device="cpu",
        progress=False,
    )
    first = reid.train(
        "st-reidnet",
        st_config(epochs=1),
        dance_dir,
        "dancereid",
        tmp_path / "b",
        device="cpu",
        progress=False,
    )
    reid.train(
        "st-reidnet",
        st_config(epochs=2),
        dance_dir,
        "dancereid",
        first,
        resume=True,
        device="cpu",
        progress=False,
    )
    ma, mb = _modules(straight / "last.pt"), _modules(first / "last.pt")
    assert set(ma) == {"model", "generator", "disc_image", "disc_pose"}
    for net in ma:
        for key in ma[net]:
            assert torch.equal(ma[net][key], mb[net][key]), (net, key)
    report = reid.evaluate(straight / "best.pt", dance_dir, "dancereid", device="cpu")
    assert report["protocol"] == "single_gallery_shot" and 0 <= report["mAP"] <= 1
    enc = reid.load_encoder(straight / "best.pt")
    assert enc.dim == 64  # the tiny backbone's pre-BN feature
