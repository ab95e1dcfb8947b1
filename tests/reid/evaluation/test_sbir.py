"""Zero-shot SBIR protocol, at training time and of a checkpoint."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

import reid
from core.config import updated
from reid.engine import load_checkpoint
from reid.evaluation import evaluate_checkpoint
from tests.reid.helpers import make_sbir, tiny_sbir_config


def test_reid_train_and_evaluate(tmp_path):
    root = make_sbir(tmp_path / "d")
    run = reid.train(
        "sbir", tiny_sbir_config(), root, "sketchy", tmp_path / "run", device="cpu", progress=False
    )
    report = evaluate_checkpoint(run / "last.pt", root, "sketchy", device="cpu", out_dir=run)
    assert 0.0 <= report["mAP@all"] <= 1.0 and report["num_query"] == 8
    assert Path(report["retrieval_png"]).is_file()
    assert report["epoch"] == 2
    via_api = reid.evaluate(run / "last.pt", root, "sketchy", out_dir=tmp_path / "e", device="cpu")
    assert via_api["mAP@all"] == report["mAP@all"] and (tmp_path / "e" / "eval.json").is_file()


def test_training_evaluates_with_the_sbir_protocol(tmp_path):
    root = make_sbir(tmp_path / "d")
    cfg = updated(tiny_sbir_config(), {"train.eval_every": 1})
    run = reid.train("sbir", cfg, root, "sketchy", tmp_path / "run", device="cpu", progress=False)
    rows = list(csv.DictReader((run / "metrics.csv").open()))
    assert [r["mAP@all"] != "" for r in rows] == [True, True]
    best = load_checkpoint(run / "best.pt")
    logged = next(r for r in rows if int(r["epoch"]) == best["epoch"])
    report = reid.evaluate(run / "best.pt", root, "sketchy", out_dir=tmp_path / "e", device="cpu")
    assert float(logged["mAP@all"]) == pytest.approx(report["mAP@all"])
    assert report["protocol"] == "sbir" and Path(report["retrieval_png"]).is_file()
