"""QMUL-Shoes / QMUL-Chairs reader and the acc@1 / acc@10 paired-retrieval protocol."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import reid
from core.config import updated
from core.errors import DatasetError, UserError
from reid.data.datasets import DATASETS, read_dataset
from reid.evaluation import embed_modality, evaluate_checkpoint
from reid.evaluation.features import embed_sbir
from reid.metrics.sbir import evaluate_pairs
from tests.reid.conftest import person, remove, save, tiny_config

TRAIN, TEST = (1, 2, 3, 4, 5, 6), (7, 8, 9, 10, 11)


def make_qmul(root: Path, train=TRAIN, test=TEST) -> Path:
    for part, ids in (("train", train), ("test", test)):
        for i in ids:
            save(root / part / "images" / f"{i}.jpg", i, 0)
            grey = person(i, 1).mean(2, keepdims=True).repeat(3, 2).astype(np.uint8)
            (root / part / "sketches").mkdir(parents=True, exist_ok=True)
            Image.fromarray(grey).save(root / part / "sketches" / f"{i}.png")
    return root


def test_reader_pairs_modalities_and_registration(tmp_path):
    root = make_qmul(tmp_path / "shoes")
    assert {"qmul-shoes", "qmul-chairs"} <= set(DATASETS.names())
    splits = read_dataset("qmul-shoes", root)
    assert splits.name == "qmul-shoes"
    # pair order (numeric, so 10 and 11 come after 9), sketch k <-> photo k
    assert [s.pid for s in splits.query] == [s.pid for s in splits.gallery] == list(TEST)
    assert [Path(s.path).name for s in splits.query][-2:] == ["10.png", "11.png"]
    assert all(s.extra["modality"] == 1 and s.camid == 1 for s in splits.query)
    assert all(s.extra["modality"] == 0 and s.camid == 0 for s in splits.gallery)
    assert len(splits.train) == 12 and splits.num_train_pids == 6
    assert sorted({s.pid for s in splits.train}) == list(range(6))
    # an archive unpacked one level deep is found; chairs read the same layout
    assert read_dataset("qmul-chairs", tmp_path).name == "qmul-chairs"


@pytest.mark.parametrize(
    ("missing", "match"),
    [
        ("test/sketches", "missing folder 'test/sketches'"),
        ("train/images", "missing folder 'train/images'"),
        ("test/images/9.jpg", r"test pairs \[9\] lack a photo or a sketch"),
    ],
)
def test_errors_name_what_is_missing(tmp_path, missing, match):
    root = make_qmul(tmp_path / "shoes")
    remove(root / missing)
    with pytest.raises(DatasetError, match=match) as err:
        read_dataset("qmul-shoes", root)
    assert "\n" not in str(err.value)


def test_bad_names_and_empty_folders(tmp_path):
    root = make_qmul(tmp_path / "shoes")
    save(root / "test" / "images" / "shoe_x.jpg", 1, 0)
    with pytest.raises(DatasetError, match="not named <pair number>"):
        read_dataset("qmul-shoes", root)
    (root / "test" / "images" / "shoe_x.jpg").unlink()
    for p in (root / "test" / "sketches").iterdir():
        p.unlink()
    with pytest.raises(DatasetError, match="no images in 'test/sketches'"):
        read_dataset("qmul-shoes", root)
    with pytest.raises(DatasetError, match="does not exist"):
        read_dataset("qmul-shoes", tmp_path / "nowhere")


def test_acc_at_k_constructed_case():
    photos = np.eye(12)[:, :12]
    perfect = evaluate_pairs(photos * 3.0, photos)  # scale does not matter (cosine)
    assert perfect["acc@1"] == perfect["acc@10"] == 1.0 and perfect["num_pairs"] == 12
    # sketch 0 looks like photo 1 (rank 2); sketch 2 is orthogonal to every photo except
    # the 11 it is closer to (rank 12: beyond 10)
    sketches = photos.copy()
    sketches[0] = photos[1] + 0.5 * photos[0]
    sketches[2] = 0.1 * photos[2] + photos[np.r_[0:2, 3:12]].sum(0)
    r = evaluate_pairs(sketches, photos)
    assert r["acc@1"] == pytest.approx(10 / 12)
    assert r["acc@10"] == pytest.approx(11 / 12)
    assert set(r["photo_to_sketch"]) == {"acc@1", "acc@10"}
    empty = evaluate_pairs(np.zeros((0, 4)), np.zeros((0, 4)))
    assert empty["acc@1"] == 0.0 and empty["num_pairs"] == 0
    with pytest.raises(ValueError, match="3 sketch features but 2"):
        evaluate_pairs(np.zeros((3, 4)), np.zeros((2, 4)))


class _TwoBranch(torch.nn.Module):
    """Photos -> (1, 0), sketches -> (0, 1): tells which branch embedded an image."""

    def forward(self, x: torch.Tensor, modality: torch.Tensor) -> torch.Tensor:
        m = modality.float()[:, None]
        return torch.cat([1 - m, m], 1) + 0 * x.mean((1, 2, 3))[:, None]


def test_modality_models_embed_sketches_with_their_sketch_branch(tmp_path):
    splits = read_dataset("qmul-shoes", make_qmul(tmp_path / "shoes"))
    model, cfg = _TwoBranch(), tiny_config()
    cpu = torch.device("cpu")
    sk = embed_modality(model, cfg, splits.query, 1, cpu)
    ph = embed_modality(model, cfg, splits.gallery, 0, cpu)
    np.testing.assert_allclose(sk, np.tile([0.0, 1.0], (len(TEST), 1)))
    np.testing.assert_allclose(ph, np.tile([1.0, 0.0], (len(TEST), 1)))


def test_baseline_checkpoint_end_to_end(tmp_path):
    root = make_qmul(tmp_path / "shoes")
    run = reid.train(
        "baseline", tiny_config(epochs=1, eval_every=0), root, "qmul-shoes", tmp_path / "run",
        device="cpu", progress=False,
    )
    report = evaluate_checkpoint(run / "best.pt", root, "qmul-shoes", device="cpu")
    assert report["num_pairs"] == len(TEST) and report["protocol"] == "qmul"
    assert 0.0 <= report["acc@1"] <= report["acc@10"] == 1.0  # 5 pairs: top 10 holds all
    assert report["epoch"] == 1
    # reid.evaluate (behind `mplt eval-reid`) chooses this protocol by the dataset name
    via_api = reid.evaluate(run / "best.pt", root, "qmul-shoes", out_dir=tmp_path, device="cpu")
    assert via_api["acc@1"] == report["acc@1"] and (tmp_path / "eval.json").is_file()
    with pytest.raises(UserError, match="not a QMUL dataset"):
        evaluate_checkpoint(run / "best.pt", root, "sketchy", protocol="qmul", device="cpu")


def test_sbir_checkpoint_uses_its_sketch_encoder(tmp_path):
    from reid.methods.load import load_method
    from tests.reid.test_sbir import make_sbir, tiny_cfg

    sbir_root = make_sbir(tmp_path / "sketchy")
    cfg = tiny_cfg()
    cfg = updated(cfg, {"train.epochs": 1})
    run = reid.train("sbir", cfg, sbir_root, "sketchy", tmp_path / "run", device="cpu",
                     progress=False)
    root = make_qmul(tmp_path / "shoes")
    report = evaluate_checkpoint(run / "last.pt", root, "qmul-shoes", device="cpu")
    impl, _ = load_method(run / "last.pt", torch.device("cpu"))
    splits = read_dataset("qmul-shoes", root)
    cpu = torch.device("cpu")
    direct = evaluate_pairs(
        embed_sbir(impl.model.sketch, splits.query, impl.cfg.data, cpu),
        embed_sbir(impl.model.photo, splits.gallery, impl.cfg.data, cpu),
    )
    assert report["acc@1"] == direct["acc@1"] and report["num_pairs"] == len(TEST)
