"""reid.train / reid.evaluate: the run folder, its artefacts and the errors."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import torch
import yaml

import reid
from core.config import config_from_dict
from core.errors import UserError
from reid.config import (
    ReidConfig,
)
from reid.engine import load_checkpoint
from tests.reid.helpers import tiny_config


def test_run_folder_artefacts_and_errors(market_dir, tmp_path):
    cfg = tiny_config(epochs=2, eval_before=True)
    run = reid.train(
        "baseline", cfg, market_dir, "market1501", tmp_path / "run", device="cpu", progress=False
    )
    for name in ("best.pt", "last.pt", "metrics.csv", "curves.png", "config.yaml"):
        assert (run / name).is_file(), name
    rows = list(csv.DictReader((run / "metrics.csv").open()))
    assert (
        [r["epoch"] for r in rows] == ["0", "1", "2"]
        and rows[0]["loss"] == ""
        and rows[2]["mAP"] != ""
    )
    ckpt = load_checkpoint(run / "last.pt")
    assert ckpt["epoch"] == 2 and ckpt["method"] == "baseline" and ckpt["input"]["height"] == 32
    assert set(ckpt["rng"]) >= {"python", "numpy", "torch"} and "model" in ckpt["optimizers"]
    assert config_from_dict(ReidConfig, ckpt["config"]) == cfg
    assert yaml.safe_load((run / "config.yaml").read_text())["model"]["backbone"] == "tiny"
    with pytest.raises(UserError, match="already holds a run"):
        reid.train("baseline", cfg, market_dir, "market1501", run, device="cpu", progress=False)
    with pytest.raises(UserError, match="cannot resume"):
        reid.train(
            "baseline", cfg, market_dir, "market1501", tmp_path / "x", resume=True, device="cpu"
        )

    report = reid.evaluate(
        run / "best.pt", market_dir, "market1501", out_dir=tmp_path / "eval", device="cpu"
    )
    assert 0 <= report["mAP"] <= 1 and report["num_query"] == 4 and report["protocol"] == "market"
    assert Path(report["ranking_png"]).is_file() and (tmp_path / "eval" / "eval.json").is_file()
    reranked = reid.evaluate(
        run / "best.pt",
        market_dir,
        "market1501",
        out_dir=tmp_path / "eval",
        rerank=True,
        device="cpu",
    )
    assert reranked["rerank"] is True and 0 <= reranked["mAP"] <= 1
    with pytest.raises(UserError, match="not a reid checkpoint"):
        torch.save({"a": torch.zeros(1)}, tmp_path / "junk.pt")
        reid.evaluate(tmp_path / "junk.pt", market_dir, "market1501", device="cpu")
