"""ECN-FMCL: EMA update, MoCo-style logits with the fixed label column, softmax neighbour
targets, training through ``reid.train`` and exact resume."""

import csv
import dataclasses
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
import yaml

import reid
from core.config import config_from_dict, updated
from reid.config import FmclConfig
from reid.data.datasets import read_dataset
from reid.engine import load_checkpoint, seed_everything
from reid.losses.fmcl import ema_update, momentum_logits, momentum_neighbour_targets, soft_entropy
from reid.methods import METHODS
from reid.methods.fmcl import Fmcl, target_heads
from tests.reid.test_ecn import ecn_config

REPO = Path(__file__).resolve().parents[2]


def fmcl_config(target: Path, **train) -> FmclConfig:
    return ecn_config(target, FmclConfig, **train)


def test_config_defaults_match_yaml_and_registration():
    assert METHODS.get("ecn-fmcl") is Fmcl and Fmcl.config_class is FmclConfig
    data = yaml.safe_load((REPO / "configs/reid/ecn-fmcl.yaml").read_text())
    assert config_from_dict(FmclConfig, data) == FmclConfig()
    assert set(data) == {f.name for f in dataclasses.fields(FmclConfig)}
    f = FmclConfig().fmcl
    assert (f.ema_alpha_early, f.ema_alpha, f.ema_early_epochs) == (0.01, 0.999, 25)
    assert (f.temperature, f.knn, f.knn_start_epoch, f.soft_ce_weight) == (0.07, 18, 20, 1.0)
    assert (FmclConfig().ecn.lmd, FmclConfig().ecn.dropout) == (0.3, 0.4)


def test_ema_update_hand_computed_and_rate_schedule(target_dir):
    ema, net = torch.nn.Linear(2, 1), torch.nn.Linear(2, 1)
    with torch.no_grad():
        ema.weight[:] = torch.tensor([[1.0, 2.0]])
        ema.bias[:] = 4.0
        net.weight[:] = torch.tensor([[3.0, -2.0]])
        net.bias[:] = 0.0
    ema_update(ema, net, 0.75)
    # 0.75 * [1, 2] + 0.25 * [3, -2] = [1.5, 1]; 0.75 * 4 + 0.25 * 0 = 3
    torch.testing.assert_close(ema.weight, torch.tensor([[1.5, 1.0]]))
    torch.testing.assert_close(ema.bias, torch.tensor([3.0]))
    assert net.weight.tolist() == [[3.0, -2.0]]
    method = Fmcl(fmcl_config(target_dir), 6, torch.device("cpu"))
    assert [method.ema_rate(e) for e in (0, 25, 26)] == [0.01, 0.01, 0.999]
    assert not any(p.requires_grad for p in method.modules["ema"].parameters())


def test_label_column_is_the_own_memory_slot_plus_one():
    t = 0.07
    memory = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
    q = torch.tensor([[0.6, 0.8], [1.0, 0.0]])  # image 2 equals slot 2, image 0 slot 0
    k = torch.tensor([[0.0, 1.0], [0.8, 0.6]])
    idx = torch.tensor([2, 0])
    logits = momentum_logits(q, k, memory, t)
    expected = torch.tensor([[0.8, 0.6, 0.8, 1.0], [0.8, 1.0, 0.0, 0.6]]) / t
    torch.testing.assert_close(logits, expected)
    # The own slot's similarity (1.0) sits in column idx + 1, not idx.
    assert logits[torch.arange(2), idx + 1].tolist() == pytest.approx([1 / t, 1 / t])
    assert logits[torch.arange(2), idx].tolist() == pytest.approx([0.8 / t, 0.8 / t])
    fixed = F.cross_entropy(logits, idx + 1).item()
    denom = [sum(math.exp(v) for v in row) for row in expected.tolist()]
    assert fixed == pytest.approx(-sum(1 / t - math.log(d) for d in denom) / 2, rel=1e-5)
    assert fixed < F.cross_entropy(logits, idx).item()


def test_neighbour_targets_skip_top_match_softmax_weights():
    logits = torch.tensor([[5.0, 4.0, 3.0, 2.0, 1.0], [0.0, 9.0, 1.0, 8.0, 2.0]])
    labels = torch.tensor([4, 1])
    w = momentum_neighbour_targets(logits, labels, k=2)
    # Top match skipped (row 0: col 0; row 1: col 1); the next two share a softmax of their
    # logits (4 vs 3; 8 vs 2), then the own column gets 1 (row 1: the skipped top match).
    a, b = 1 / (1 + math.exp(-1)), 1 / (1 + math.exp(-6))
    expected = torch.tensor([[0, a, 1 - a, 0, 1.0], [0, 1.0, 0, b, 1 - b]])
    torch.testing.assert_close(w, expected)
    torch.testing.assert_close(
        momentum_neighbour_targets(logits, labels, k=0), F.one_hot(labels, 5).float()
    )


def test_soft_entropy_against_teacher():
    x, y = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 0.0]])
    assert soft_entropy(x, y).item() == pytest.approx(
        -0.5 * (math.log(math.e / (math.e + 1)) + math.log(1 / (math.e + 1)))
    )


def test_steps_reduce_the_loss_with_fixed_label(market_dir, target_dir, tmp_path):
    cfg = fmcl_config(target_dir)
    cfg = updated(cfg, {"data.erase_prob": 0.0, "data.hflip_prob": 0.0, "ecn.dropout": 0.0})
    seed_everything(0)
    method = Fmcl(cfg, 6, torch.device("cpu"))
    batch = next(iter(method.build_train_loader(read_dataset("market1501", market_dir).train)))
    method.set_train_mode(True)
    idx = batch.target.index
    with torch.no_grad():
        q, _ = target_heads(method.model, batch.target.images)
        k, _ = target_heads(method.modules["ema"], batch.target.images)
        logits = momentum_logits(q, k, method.memory.features.clone(), 0.07)
    losses = [method.train_step(batch) for _ in range(12)]
    expected = F.cross_entropy(logits, idx + 1).item()
    assert losses[0]["loss_un"] == pytest.approx(expected, rel=1e-4)
    torch.testing.assert_close(method.memory.features.norm(dim=1), torch.ones(36))
    assert losses[-1]["loss"] < 0.7 * losses[0]["loss"]
    assert losses[-1]["loss_un"] < losses[1]["loss_un"]

    run = reid.train(
        "ecn-fmcl",
        fmcl_config(target_dir, epochs=3),
        market_dir,
        "market1501",
        tmp_path / "r",
        device="cpu",
        progress=False,
    )
    rows = list(csv.DictReader((run / "metrics.csv").open()))
    assert float(rows[-1]["loss"]) < float(rows[0]["loss"]) and rows[-1]["mAP"] != ""
    assert reid.load_encoder(run / "best.pt").dim == 64


def test_resume_reproduces_an_uninterrupted_run(market_dir, target_dir, tmp_path):
    def cfg(epochs):
        c = fmcl_config(target_dir, epochs=epochs, eval_every=0)
        # exercise kNN and the late EMA rate
        changes = {"fmcl.knn": 3, "fmcl.knn_start_epoch": 1, "fmcl.ema_early_epochs": 0}
        return updated(c, {**changes, "fmcl.ema_alpha": 0.5})

    kw = {"device": "cpu", "progress": False}
    straight = reid.train("ecn-fmcl", cfg(2), market_dir, "market1501", tmp_path / "a", **kw)
    part = reid.train("ecn-fmcl", cfg(1), market_dir, "market1501", tmp_path / "b", **kw)
    reid.train("ecn-fmcl", cfg(2), market_dir, "market1501", part, resume=True, **kw)
    a, b = load_checkpoint(straight / "last.pt"), load_checkpoint(part / "last.pt")
    assert torch.equal(a["ecn_memory"], b["ecn_memory"])
    for name in ("model", "ema"):
        for key, value in a["modules"][name].items():
            assert torch.equal(value, b["modules"][name][key]), (name, key)
    assert not torch.equal(
        a["modules"]["model"]["embed.weight"], a["modules"]["ema"]["embed.weight"]
    )
