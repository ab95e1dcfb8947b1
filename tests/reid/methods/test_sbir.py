"""Zero-shot SBIR training steps, GRL ramp and the uniform-negatives notice."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from reid.data import read_dataset
from reid.methods.sbir import Sbir
from tests.reid.helpers import make_sbir, tiny_sbir_config


def test_train_steps_reduce_loss_and_grl_ramp(tmp_path):
    root = make_sbir(tmp_path / "d")
    splits = read_dataset("sketchy", root)
    torch.manual_seed(0)
    cfg = tiny_sbir_config()
    method = Sbir(cfg, splits.num_train_pids, torch.device("cpu"))
    loader = method.build_train_loader(splits.train)
    batch = next(iter(loader))
    assert batch.sketch.shape == (4, 3, 32, 32)
    assert method.grl.lambda_ == 0.0
    with torch.no_grad():
        method.set_train_mode(True)
        first = float(method.losses(batch)["loss_triplet"])
    method.set_train_mode(True)
    for _ in range(15):
        method.train_step(batch)
    with torch.no_grad():
        last = float(method.losses(batch)["loss_triplet"])
    assert last < first
    method.step_schedulers()
    assert method.grl.lambda_ == pytest.approx(0.5)  # epoch 1 of ramp (1 -> 2): 1/2
    method.step_schedulers()
    assert method.grl.lambda_ == 1.0


def test_uniform_negatives_notice(tmp_path, capsys):
    root = make_sbir(tmp_path / "d", vectors=False)
    splits = read_dataset("sketchy", root)
    method = Sbir(tiny_sbir_config(), splits.num_train_pids, torch.device("cpu"))
    method.build_train_loader(splits.train)
    assert "uniformly" in capsys.readouterr().err


def test_domain_classifier_sees_one_domain_per_call(tmp_path):
    """The reference calls D on positives, negatives and sketches separately, so its BatchNorm
    never mixes sketches with photos; the loss is the sum of the three batch-mean BCEs."""
    root = make_sbir(tmp_path / "d")
    splits = read_dataset("sketchy", root)
    torch.manual_seed(0)
    method = Sbir(tiny_sbir_config(), splits.num_train_pids, torch.device("cpu"))
    batch = next(iter(method.build_train_loader(splits.train)))
    method.set_train_mode(True)
    domain = method.modules["domain"]
    calls = []
    hook = domain.register_forward_hook(lambda m, args, out: calls.append(args[0].detach()))
    with torch.no_grad():
        got = float(method.losses(batch)["loss_domain"])
    hook.remove()
    b = batch.sketch.shape[0]
    assert [len(c) for c in calls] == [b, b, b]
    with torch.no_grad():
        expected = sum(
            float(F.binary_cross_entropy_with_logits(domain(x), torch.full((b,), y)))
            for x, y in zip(calls, (1.0, 1.0, 0.0), strict=True)
        )
    assert got == pytest.approx(expected, rel=1e-5)
