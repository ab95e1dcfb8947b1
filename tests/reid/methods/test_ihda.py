"""IHDA: step 1 then step 2 training; PKU-Sketch evaluation routes sketches to E2."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch

import reid
from core.config import updated
from reid.data import read_dataset
from reid.data.pku_sketch import read_pku_images, read_style_groups
from reid.engine.ramps import dann_sigmoid_ramp
from reid.evaluation import pku_sketch
from reid.evaluation.features import extract_features
from reid.evaluation.pku_sketch import pku_test_ids
from reid.methods.ihda import Ihda
from reid.methods.load import load_method
from reid.metrics.sketch import evaluate_sketch_splits
from reid.models.ihda_net import IhdaNet
from tests.reid.helpers import (
    H,
    W,
    ihda_config,
    make_grey_pku,
    make_market,
    write_attributes,
)


@pytest.fixture(scope="module")
def dirs(tmp_path_factory):
    market = make_market(tmp_path_factory.mktemp("ihda_market"))
    attrs = write_attributes(market / "market_attribute.mat", range(1, 11))
    pku = make_grey_pku(tmp_path_factory.mktemp("pku"))
    return market, attrs, pku


def losses(run: Path) -> list[float]:
    with open(run / "metrics.csv") as f:
        return [float(r["loss"]) for r in csv.DictReader(f)]


@pytest.mark.slow
def test_step1_then_step2_train_and_reduce_the_loss(dirs, tmp_path):
    market, attrs, pku = dirs
    run1 = reid.train(
        "ihda",
        ihda_config(attrs, 1),
        market,
        "market1501",
        tmp_path / "s1",
        device="cpu",
        progress=False,
    )
    l1 = losses(run1)
    assert len(l1) == 3 and l1[-1] < l1[0]
    cfg2 = ihda_config(attrs, 2, pku, step1_checkpoint=str(run1 / "last.pt"), grl_iters=8)
    run2 = reid.train(
        "ihda", cfg2, market, "market1501", tmp_path / "s2", device="cpu", progress=False
    )
    with open(run2 / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    l2 = [float(r["loss"]) for r in rows]
    assert l2[-1] < l2[0]
    # 6 train ids / 3 pairs = 2 steps per epoch: epoch means of the ramp at iterations (0,1),
    # (2,3), (4,5) of 8.
    for e, r in enumerate(rows):
        want = np.mean([dann_sigmoid_ramp(i / 8) for i in (2 * e, 2 * e + 1)])
        assert float(r["grl"]) == pytest.approx(want, rel=1e-5)
    ckpt = torch.load(run2 / "last.pt", weights_only=True)
    assert ckpt["ihda_iteration"] == 6 and ckpt["num_classes"] == 6
    # The step-2 checkpoint rebuilds for evaluation (E1 photo embedding).
    enc = reid.load_encoder(run2 / "last.pt")
    x = torch.randn(2, 3, H, W)
    assert enc(x).shape[0] == 2


class _SketchEncoder(torch.nn.Module):
    def __init__(self, net: IhdaNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.forward_sketch(x)


class _PhotoEncoder(torch.nn.Module):
    """E1 alone (no modality argument, so the evaluator cannot route anything to E2)."""

    def __init__(self, net: IhdaNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def test_pku_evaluation_of_a_checkpoint_embeds_sketches_with_e2(dirs, tmp_path, monkeypatch):
    market, attrs, pku = dirs
    cfg = ihda_config(attrs, 1, lambda2=0.0, attribute_file=None)
    cfg = updated(cfg, {"train.epochs": 1, "train.max_steps_per_epoch": 1})
    run = reid.train(
        "ihda", cfg, market, "market1501", tmp_path / "s1", device="cpu", progress=False
    )
    ckpt = torch.load(run / "last.pt", weights_only=True)
    gen = torch.Generator().manual_seed(0)
    for k, v in ckpt["modules"]["model"].items():
        if k.startswith("sketch_backbone.") and v.is_floating_point():
            v.add_(0.5 * torch.randn(v.shape, generator=gen))  # make E2 differ from E1
    torch.save(ckpt, tmp_path / "ihda.pt")

    seen = {}

    def spy(model, samples, data_cfg, device):
        seen["feats"] = extract_features(model, samples, data_cfg, device)
        return seen["feats"]

    monkeypatch.setattr(pku_sketch, "extract_features", spy)
    report = reid.evaluate(
        tmp_path / "ihda.pt", pku, "pku-sketch-1", out_dir=tmp_path, device="cpu"
    )
    impl, _ = load_method(tmp_path / "ihda.pt", torch.device("cpu"))
    net, data = impl.model, impl.cfg.data
    photos, sketches = read_pku_images(pku)
    cpu = torch.device("cpu")
    e1_photos = extract_features(_PhotoEncoder(net), photos, data, cpu)
    e2_sketches = extract_features(_SketchEncoder(net), sketches, data, cpu)
    e1_sketches = extract_features(_PhotoEncoder(net), sketches, data, cpu)
    # the engine's own extraction (training-time evaluation too) routes by modality
    np.testing.assert_allclose(
        extract_features(net, sketches, data, cpu), e2_sketches, rtol=1e-4, atol=1e-5
    )
    n = len(photos)
    np.testing.assert_allclose(seen["feats"][:n], e1_photos, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(seen["feats"][n:], e2_sketches, rtol=1e-4, atol=1e-5)
    assert not np.allclose(e2_sketches, e1_sketches, atol=1e-3)
    # the reported metrics are those of the routed features
    direct = evaluate_sketch_splits(
        np.concatenate([e1_photos, e2_sketches]),
        np.array([s.pid for s in photos + sketches]),
        np.array([s.extra["modality"] for s in photos + sketches]),
        pku_test_ids(read_style_groups(pku), [1]),
    )
    assert report["trials"][0] == pytest.approx(direct["trials"][0])


def test_adam_betas_and_layer3_triplet_of_the_released_code(dirs):
    """The released code: Adam betas (0.5, 0.999); the triplet on layer4's and layer3's GAP."""
    market, attrs, _ = dirs
    cfg = ihda_config(attrs, 1, lambda2=0.0)
    splits = read_dataset("market1501", market)
    torch.manual_seed(0)
    method = Ihda(cfg, splits.num_train_pids, torch.device("cpu"))
    assert {g["betas"] for g in method.optimizers["model"].param_groups} == {(0.5, 0.999)}
    batch = next(iter(method.build_train_loader(splits.train)))
    method.set_train_mode(False)  # no dropout: the same features twice
    with torch.no_grad():
        got = method.losses_step1(batch)["loss_tri"]
        g3, g = method.model.features_pair(batch.images)
        want = method.triplet(g, batch.pids) + method.triplet(g3, batch.pids)
        assert g3.shape == (len(batch.images), 48) and g.shape[1] == method.model.dim
        assert torch.allclose(got, want)
        alone = Ihda(updated(cfg, {"ihda.layer3_triplet": False}), 6, torch.device("cpu"))
        alone.model.load_state_dict(method.model.state_dict())
        alone.set_train_mode(False)
        assert torch.allclose(alone.losses_step1(batch)["loss_tri"], method.triplet(g, batch.pids))
