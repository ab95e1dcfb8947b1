"""PKU-Sketch protocol of a checkpoint, per split and over all splits."""

from __future__ import annotations

import reid
from reid.data import pku_sketch, read_dataset
from reid.evaluation import evaluate_checkpoint, evaluate_split_checkpoints
from reid.evaluation.pku_sketch import pku_test_ids
from tests.reid.helpers import make_pku, tiny_config


def test_pku_test_ids_match_the_reader(tmp_path):
    root = make_pku(tmp_path / "pku")
    ids = pku_test_ids(pku_sketch.read_style_groups(root), [3])
    assert ids[0].tolist() == sorted({s.pid for s in read_dataset("pku-sketch-3", root).query})


def test_train_on_a_split_then_evaluate_checkpoint(tmp_path):
    root = make_pku(tmp_path / "pku")
    cfg = tiny_config(epochs=1, eval_every=0)
    run = reid.train(
        "baseline", cfg, root, "pku-sketch-1", tmp_path / "run", device="cpu", progress=False
    )
    one = evaluate_checkpoint(run / "best.pt", root, "pku-sketch-1", device="cpu")
    assert one["splits"] == [1] and one["num_trials"] == 1 and 0 <= one["rank1"] <= 1
    every = evaluate_checkpoint(run / "best.pt", root, "pku-sketch", device="cpu")
    assert every["num_trials"] == 10 and 0 <= every["mAP"] <= 1 and "rank1_std" in every
    # reid.evaluate (behind `mplt eval-reid`) chooses this protocol by the dataset name
    via_api = reid.evaluate(run / "best.pt", root, "pku-sketch-1", out_dir=tmp_path, device="cpu")
    assert via_api["trials"] == one["trials"] and (tmp_path / "eval.json").is_file()
    full = evaluate_split_checkpoints([run / "best.pt"] * 2, root, device="cpu")
    assert full["num_trials"] == 2
    assert full["trials"][0] == one["trials"][0]
