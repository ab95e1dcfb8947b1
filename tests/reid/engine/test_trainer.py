"""The training loop: resuming reproduces an uninterrupted run."""

from __future__ import annotations

import csv

import torch

import reid
from reid.engine import load_checkpoint
from tests.reid.helpers import tiny_config


def _weights(path):
    return load_checkpoint(path)["modules"]["model"]


def test_resume_reproduces_an_uninterrupted_run(market_dir, tmp_path):
    straight = reid.train(
        "baseline",
        tiny_config(epochs=2),
        market_dir,
        "market1501",
        tmp_path / "a",
        device="cpu",
        progress=False,
    )
    first = reid.train(
        "baseline",
        tiny_config(epochs=1),
        market_dir,
        "market1501",
        tmp_path / "b",
        device="cpu",
        progress=False,
    )
    cfg2 = tiny_config(epochs=2)
    reid.train(
        "baseline", cfg2, market_dir, "market1501", first, resume=True, device="cpu", progress=False
    )
    wa, wb = _weights(straight / "last.pt"), _weights(first / "last.pt")
    assert wa.keys() == wb.keys()
    for key in wa:
        assert torch.equal(wa[key], wb[key]), key
    rows_a = list(csv.DictReader((straight / "metrics.csv").open()))
    rows_b = list(csv.DictReader((first / "metrics.csv").open()))
    assert [r["loss"] for r in rows_a] == [r["loss"] for r in rows_b] and len(rows_a) == 2
