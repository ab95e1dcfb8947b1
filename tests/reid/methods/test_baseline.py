"""The baseline: loss goes down, it learns the colours, triplet sampling on DanceReID."""

from __future__ import annotations

import csv

import torch

import reid
from core.config import updated
from reid.data import read_dataset
from reid.data.loader import build_train_loader
from reid.engine import seed_everything
from reid.methods import Baseline
from tests.reid.helpers import make_dancereid, tiny_config


def test_a_few_baseline_steps_reduce_the_loss(market_dir):
    cfg = tiny_config()
    cfg = updated(cfg, {"data.erase_prob": 0.0, "data.hflip_prob": 0.0})
    splits = read_dataset("market1501", market_dir)
    seed_everything(0)
    method = Baseline(cfg, splits.num_train_pids, torch.device("cpu"))
    batch = next(iter(build_train_loader(splits.train, cfg.data, seed=0)))
    losses = [method.train_step(batch)["loss"] for _ in range(15)]
    assert losses[-1] < 0.7 * losses[0]


def test_training_on_colours_beats_the_untrained_model(market_dir, tmp_path):
    cfg = tiny_config(epochs=4, eval_before=True, eval_every=4)
    run = reid.train(
        "baseline", cfg, market_dir, "market1501", tmp_path / "run", device="cpu", progress=False
    )
    rows = list(csv.DictReader((run / "metrics.csv").open()))
    assert float(rows[-1]["mAP"]) >= float(rows[0]["mAP"])
    assert float(rows[-1]["mAP"]) > 0.8


def test_dancereid_and_triplet_sampling_train(tmp_path):
    root = make_dancereid(tmp_path / "dance")
    cfg = tiny_config(epochs=1)
    cfg = updated(cfg, {"data.sampler": "st", "data.batch_size": 12})
    run = reid.train(
        "baseline", cfg, root, "dancereid", tmp_path / "run", device="cpu", progress=False
    )
    report = reid.evaluate(run / "best.pt", root, "dancereid", device="cpu")
    assert report["protocol"] == "single_gallery_shot" and 0 <= report["rank1"] <= 1
