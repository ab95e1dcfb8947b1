"""ECN-FMCL: training through reid.train with the fixed label, exact resume."""

from __future__ import annotations

import csv

import pytest
import torch
import torch.nn.functional as F

import reid
from core.config import updated
from reid.data import read_dataset
from reid.engine import load_checkpoint, seed_everything
from reid.losses.fmcl import momentum_logits
from reid.methods.fmcl import Fmcl, target_heads
from tests.reid.helpers import fmcl_config


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
