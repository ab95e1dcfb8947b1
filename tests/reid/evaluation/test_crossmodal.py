"""Cross-modality protocols through reid.train / reid.evaluate (DNS on tiny SYSU-MM01)."""

from __future__ import annotations

import csv

import pytest

import reid
from reid.engine import load_checkpoint
from reid.evaluation import (
    EvalOptions,
    evaluate_checkpoint,
)
from tests.reid.helpers import tiny_dns_config


def test_train_through_reid_train_and_evaluate_checkpoint(sysu_dir, tmp_path):
    run = reid.train(
        "dns",
        tiny_dns_config(),
        sysu_dir,
        "sysu-mm01",
        tmp_path / "run",
        device="cpu",
        progress=False,
    )
    with open(run / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2 and all(float(r["loss"]) > 0 for r in rows)
    for mode in ("all", "indoor"):
        res = evaluate_checkpoint(
            run / "last.pt",
            sysu_dir,
            "sysu-mm01",
            options=EvalOptions(mode=mode, trials=3),
            device="cpu",
        )
        assert res["protocol"] == f"sysu-{mode}" and res["num_trials"] == 3
        assert 0.0 <= res["mAP"] <= 1.0 and "rank1_std" in res
    # reid.evaluate (behind `mplt eval-reid --mode`) chooses the SYSU protocol by dataset name
    via_api = reid.evaluate(
        run / "last.pt", sysu_dir, "sysu-mm01", out_dir=tmp_path, mode="indoor", device="cpu"
    )
    assert via_api["protocol"] == "sysu-indoor" and via_api["num_trials"] == 10


def test_best_checkpoint_is_chosen_by_the_crossmodal_protocol(sysu_dir, tmp_path):
    run = reid.train(
        "dns",
        tiny_dns_config(),
        sysu_dir,
        "sysu-mm01",
        tmp_path / "run",
        device="cpu",
        progress=False,
    )
    rows = list(csv.DictReader((run / "metrics.csv").open()))
    best = load_checkpoint(run / "best.pt")
    logged = next(r for r in rows if int(r["epoch"]) == best["epoch"])
    report = reid.evaluate(
        run / "best.pt", sysu_dir, "sysu-mm01", out_dir=tmp_path / "e", device="cpu"
    )
    assert report["protocol"] == "sysu-all" and "rank1_std" in logged
    assert float(logged["mAP"]) == pytest.approx(report["mAP"])
    assert best["trainer"]["best_map"] == pytest.approx(report["mAP"])
