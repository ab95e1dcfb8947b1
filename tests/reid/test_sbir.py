import csv
import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

import reid
from core.config import config_from_dict, updated
from core.errors import DatasetError
from reid.config import SbirConfig
from reid.data.datasets import read_dataset
from reid.data.sbir import negative_class_probs, zero_shot_split
from reid.engine import load_checkpoint
from reid.evaluation import evaluate_checkpoint
from reid.evaluation.visualize import save_retrieval_png
from reid.methods.sbir import Sbir
from reid.metrics.sbir import map_at_all, pair_accuracy, precision_at_k

REPO = Path(__file__).resolve().parents[2]
CLASSES = ["cat", "dog", "car", "bus", "cup"]


def _img(path: Path, cls: int, k: int, sketch: bool) -> None:
    rng = np.random.default_rng([cls, k, int(sketch)])
    colour = np.random.default_rng(cls).integers(0, 256, 3)
    img = np.full((24, 24, 3), 255 if sketch else colour, np.float64)
    img[6:18, 6:18] = colour if sketch else 255 - colour
    img += rng.normal(0, 10, img.shape)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(path)


def make_sbir(root: Path, train=CLASSES[:3], test=CLASSES[3:], n=4, vectors=True) -> Path:
    for c, name in enumerate(CLASSES):
        for k in range(n):
            _img(root / "sketches" / name / f"{k}.png", c, k, True)
            _img(root / "photos" / name / f"{k}.jpg", c, k, False)
    (root / "train_labels.txt").write_text("\n".join(train) + "\n")
    (root / "test_labels.txt").write_text("\n".join(test) + "\n")
    if vectors:
        np.save(root / "train_embeddings.npy", np.eye(len(train), 4, dtype=np.float32))
    return root


def tiny_cfg() -> SbirConfig:
    cfg = SbirConfig()
    cfg = updated(
        cfg,
        {
            "model.backbone": "tiny",
            "model.imagenet": False,
            "data.height": 32,
            "data.width": 32,
            "data.batch_size": 4,
            "data.workers": 0,
            "data.test_batch_size": 8,
            "train.epochs": 2,
            "train.eval_every": 0,
            "sbir.grl_start_epoch": 1,
            "sbir.grl_threshold_epoch": 2,
        },
    )
    return cfg


def test_config_yaml_equals_defaults():
    data = yaml.safe_load((REPO / "configs/reid/sbir.yaml").read_text())
    assert config_from_dict(SbirConfig, data) == SbirConfig()
    assert set(data) == {f.name for f in dataclasses.fields(SbirConfig)}
    s = SbirConfig().sbir
    assert (s.triplet_loss_ratio, s.domain_loss_ratio, s.grl_threshold_epoch) == (1.0, 0.5, 25)
    assert SbirConfig().optim.lr == 1e-3
    assert reid.config_class("sbir") is SbirConfig


def test_reader_zero_shot_split(tmp_path):
    splits = read_dataset("sketchy", make_sbir(tmp_path / "d"))
    assert {s.extra["cls"] for s in splits.train} == set(CLASSES[:3])
    assert {s.extra["cls"] for s in splits.query} == {"bus", "cup"}
    assert all(s.camid == 0 for s in splits.query) and all(s.camid == 1 for s in splits.gallery)
    assert len(splits.train) == 3 * 4 * 2 and len(splits.gallery) == 8
    assert splits.num_train_pids == 3
    assert {s.pid for s in splits.query} == {3, 4}
    assert read_dataset("tu-berlin", tmp_path / "d").name == "tu-berlin"


def test_split_errors(tmp_path):
    with pytest.raises(DatasetError, match="both seen and unseen"):
        zero_shot_split(["a", "b"], ["b"], {"a", "b"}, "sketchy")
    with pytest.raises(DatasetError, match="no photos"):
        zero_shot_split(["a"], ["z"], {"a"}, "sketchy")
    with pytest.raises(DatasetError, match="sketches"):
        read_dataset("sketchy", tmp_path)
    root = make_sbir(tmp_path / "d")
    (root / "test_labels.txt").unlink()
    with pytest.raises(DatasetError, match="test_labels.txt is missing"):
        read_dataset("sketchy", root)


def test_map_and_precision_hand_computed():
    # query 0 (class 0): ranking [rel, irr, rel, irr] -> AP = (1/1 + 2/3) / 2 = 5/6
    # query 1 (class 1): ranking [irr, rel, irr, rel] -> AP = (1/2 + 2/4) / 2 = 1/2
    g = np.array([0, 1, 0, 1])
    d = np.array([[0.1, 0.2, 0.3, 0.4], [0.1, 0.2, 0.3, 0.4]])
    q = np.array([0, 1])
    assert map_at_all(d, q, g) == pytest.approx((5 / 6 + 1 / 2) / 2)
    assert precision_at_k(d, q, g, k=1) == pytest.approx(0.5)
    assert precision_at_k(d, q, g, k=100) == pytest.approx(0.5)
    assert precision_at_k(d, q, np.array([0, 0, 1, 1]), k=2) == pytest.approx(0.5)
    assert map_at_all(np.zeros((0, 3)), np.array([]), g[:3]) == 0.0
    assert map_at_all(d, np.array([7, 7]), g) == 0.0


def test_pair_accuracy():
    d = np.array([[0.0, 1.0, 2.0], [0.5, 0.9, 0.1], [3.0, 2.0, 1.0]])
    # match ranks: q0 -> 0, q1 -> 2, q2 -> 0
    assert pair_accuracy(d, (1, 2, 3)) == pytest.approx(
        {"acc@1": 2 / 3, "acc@2": 2 / 3, "acc@3": 1.0}
    )
    assert pair_accuracy(np.zeros((0, 0))) == {"acc@1": 0.0, "acc@10": 0.0}


def test_negative_class_probs():
    vec = np.array([[0.0, 0.0], [1.0, 0.0], [3.0, 0.0]])
    p = negative_class_probs(3, vec)
    # class 0: distances 1 and 3 -> weights 1 and 1/3 -> probs 3/4, 1/4
    assert p[0] == pytest.approx([0.0, 0.75, 0.25])
    assert np.allclose(p.sum(1), 1.0) and np.all(np.diag(p) == 0)
    assert negative_class_probs(3, None)[1] == pytest.approx([0.5, 0.0, 0.5])


def test_train_steps_reduce_loss_and_grl_ramp(tmp_path):
    root = make_sbir(tmp_path / "d")
    splits = read_dataset("sketchy", root)
    torch.manual_seed(0)
    cfg = tiny_cfg()
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
    method = Sbir(tiny_cfg(), splits.num_train_pids, torch.device("cpu"))
    method.build_train_loader(splits.train)
    assert "uniformly" in capsys.readouterr().err


def test_reid_train_and_evaluate(tmp_path):
    root = make_sbir(tmp_path / "d")
    run = reid.train(
        "sbir", tiny_cfg(), root, "sketchy", tmp_path / "run", device="cpu", progress=False
    )
    report = evaluate_checkpoint(run / "last.pt", root, "sketchy", device="cpu", out_dir=run)
    assert 0.0 <= report["mAP@all"] <= 1.0 and report["num_query"] == 8
    assert Path(report["retrieval_png"]).is_file()
    assert report["epoch"] == 2
    via_api = reid.evaluate(run / "last.pt", root, "sketchy", out_dir=tmp_path / "e", device="cpu")
    assert via_api["mAP@all"] == report["mAP@all"] and (tmp_path / "e" / "eval.json").is_file()


def test_retrieval_png(tmp_path):
    root = make_sbir(tmp_path / "d")
    splits = read_dataset("sketchy", root)
    d = np.random.default_rng(0).random((len(splits.query), len(splits.gallery)))
    png = save_retrieval_png(
        tmp_path / "r.png",
        d,
        [s.path for s in splits.query],
        np.array([s.pid for s in splits.query]),
        [s.path for s in splits.gallery],
        np.array([s.pid for s in splits.gallery]),
        num_queries=2,
        topk=3,
    )
    assert png.stat().st_size > 0


def test_training_evaluates_with_the_sbir_protocol(tmp_path):
    root = make_sbir(tmp_path / "d")
    cfg = updated(tiny_cfg(), {"train.eval_every": 1})
    run = reid.train("sbir", cfg, root, "sketchy", tmp_path / "run", device="cpu", progress=False)
    rows = list(csv.DictReader((run / "metrics.csv").open()))
    assert [r["mAP@all"] != "" for r in rows] == [True, True]
    best = load_checkpoint(run / "best.pt")
    logged = next(r for r in rows if int(r["epoch"]) == best["epoch"])
    report = reid.evaluate(run / "best.pt", root, "sketchy", out_dir=tmp_path / "e", device="cpu")
    assert float(logged["mAP@all"]) == pytest.approx(report["mAP@all"])
    assert report["protocol"] == "sbir" and Path(report["retrieval_png"]).is_file()
