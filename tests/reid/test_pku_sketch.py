"""PKU-Sketch reader, 10-split protocol and sketch -> photo evaluation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import reid
from core.errors import DatasetError, UserError
from reid.data import pku_sketch
from reid.data.datasets import DATASETS, read_dataset
from reid.data.pku_sketch import (
    PHOTO,
    PKU_TRAIN_PER_STYLE,
    SKETCH,
    split_identities,
    train_counts,
)
from reid.evaluation import evaluate_checkpoint, evaluate_split_checkpoints
from reid.evaluation.pku_sketch import pku_test_ids, splits_of
from reid.metrics.sketch import evaluate_sketch_splits
from tests.reid.conftest import remove, save, tiny_config

STYLES = {"a_5.txt": (1, 2, 3, 4, 5), "b_3.txt": (6, 7, 8)}


def make_pku(root: Path, styles=STYLES) -> Path:
    for name, ids in styles.items():
        (root / "styleAnnotation").mkdir(parents=True, exist_ok=True)
        (root / "styleAnnotation" / name).write_text("\n".join(map(str, ids)) + "\n")
        for pid in ids:
            save(root / "sketch" / f"{pid}.jpg", pid, 0)
            for k in (1, 2):
                save(root / "photo" / f"{pid}_{k:02d}_{100 + k}.jpg", pid, k)
    return root


def test_reader_layout_modalities_and_registration(tmp_path):
    root = make_pku(tmp_path / "pku")
    assert {"pku-sketch", "pku-sketch-1", "pku-sketch-10"} <= set(DATASETS.names())
    splits = read_dataset("pku-sketch-2", root)
    train_ids, test_ids = split_identities(list(STYLES.values()), 2)
    assert splits.name == "pku-sketch-2"
    assert sorted({s.pid for s in splits.query}) == test_ids.tolist()
    assert all(s.extra["modality"] == SKETCH and s.camid == 2 for s in splits.query)
    assert all(s.extra["modality"] == PHOTO for s in splits.gallery)
    assert len(splits.gallery) == 2 * len(test_ids) and len(splits.query) == len(test_ids)
    assert sorted(s.camid for s in splits.gallery if s.pid == test_ids[0]) == [0, 1]
    assert splits.num_train_pids == len(train_ids) == 6
    assert len(splits.train) == 3 * 6 and {s.pid for s in splits.train} == set(range(6))
    # "pku-sketch" is split 1; an archive unpacked one level deep is found.
    nested = read_dataset("pku-sketch", tmp_path)
    assert [s.pid for s in nested.query] == [
        s.pid for s in read_dataset("pku-sketch-1", root).query
    ]


@pytest.mark.parametrize(
    ("missing", "match"),
    [
        ("styleAnnotation", "missing folder 'styleAnnotation'"),
        ("photo", "missing folder 'photo'"),
        ("sketch/8.jpg", r"ids \[8\] lack a photo or a sketch"),
    ],
)
def test_errors_name_what_is_missing(tmp_path, missing, match):
    root = make_pku(tmp_path / "pku")
    remove(root / missing)
    with pytest.raises(DatasetError, match=match) as err:
        read_dataset("pku-sketch", root)
    assert "\n" not in str(err.value)


def test_unannotated_and_bad_style_files(tmp_path):
    root = make_pku(tmp_path / "pku")
    (root / "styleAnnotation" / "b_3.txt").write_text("6 7\n")
    with pytest.raises(DatasetError, match=r"ids \[8\] are in no styleAnnotation"):
        read_dataset("pku-sketch", root)
    (root / "styleAnnotation" / "b_3.txt").write_text("6 seven 8\n")
    with pytest.raises(DatasetError, match="not a list of integer ids"):
        read_dataset("pku-sketch", root)
    with pytest.raises(DatasetError, match="does not exist"):
        read_dataset("pku-sketch", tmp_path / "nowhere")


def test_train_counts_pku_release_and_proportional():
    assert train_counts([46, 20, 80, 33, 21]) == PKU_TRAIN_PER_STYLE
    assert sum(PKU_TRAIN_PER_STYLE) == 150
    # 8 ids -> 6 train; 3.75 / 2.25 -> floors 3 / 2, the leftover to the larger remainder.
    assert train_counts([5, 3]) == (4, 2)
    assert train_counts([]) == ()


def test_splits_disjoint_sized_per_style_and_seeded():
    groups = [
        list(range(46)),
        list(range(100, 120)),
        list(range(200, 280)),
        list(range(300, 333)),
        list(range(400, 421)),
    ]
    seen = set()
    for k in range(1, 11):
        train, test = split_identities(groups, k)
        assert len(train) == 150 and len(test) == 50
        assert not set(train) & set(test)
        assert set(train) | set(test) == {i for g in groups for i in g}
        for g, n in zip(groups, PKU_TRAIN_PER_STYLE, strict=True):
            assert len(set(train) & set(g)) == n
        again = split_identities(groups, k)
        np.testing.assert_array_equal(again[0], train)
        seen.add(tuple(test))
    assert len(seen) == 10  # every split differs
    other_seed = split_identities(groups, 1, seed=5)[1]
    assert tuple(other_seed) != tuple(split_identities(groups, 1)[1])


def test_split_errors():
    with pytest.raises(UserError, match="start at 1"):
        split_identities([[1, 2]], 0)
    with pytest.raises(UserError, match="overlap"):
        split_identities([[1, 2], [2, 3]], 1)
    with pytest.raises(UserError, match="cannot draw 3"):
        split_identities([[1, 2]], 1, train_per_style=[3])
    with pytest.raises(UserError, match="2 style groups"):
        split_identities([[1], [2]], 1, train_per_style=[1])


def _toy(ids, noise=0.0):
    """Photos (2 per id) and one sketch per id; features = one-hot id (+ noise)."""
    pids = np.repeat(ids, 3)
    modality = np.tile([PHOTO, PHOTO, SKETCH], len(ids))
    feats = np.eye(max(ids) + 1)[pids] + noise
    return feats, pids, modality


def test_evaluate_perfect_and_hand_computed_ranking():
    feats, pids, modality = _toy([1, 2, 3, 4])
    result = evaluate_sketch_splits(
        feats, pids, modality, [np.array([1, 2]), np.array([3, 4])]
    )
    assert result["rank1"] == result["mAP"] == 1.0 and result["num_trials"] == 2
    assert result["rank1_std"] == 0.0 and result["photo_to_sketch"]["rank1"] == 1.0
    # Sketch of id 1 resembles id 2's photos: ranks its true photos 3rd and 4th.
    feats = feats.astype(float)
    feats[2] = feats[3]  # sketch of id 1 := a photo of id 2
    one = evaluate_sketch_splits(feats, pids, modality, [np.array([1, 2])])
    trial = one["trials"][0]
    assert trial["rank1"] == 0.5  # the id-2 sketch still finds its photo first
    assert trial["rank5"] == 1.0
    assert trial["mAP"] == pytest.approx((0.5 * (1 / 3 + 2 / 4) + 1.0) / 2)


def test_evaluate_errors():
    feats, pids, modality = _toy([1, 2])
    with pytest.raises(ValueError, match="differ in length"):
        evaluate_sketch_splits(feats[:-1], pids, modality, [np.array([1])])
    with pytest.raises(UserError, match="at least one split"):
        evaluate_sketch_splits(feats, pids, modality, [])
    with pytest.raises(UserError, match="0 test sketches"):
        evaluate_sketch_splits(feats, pids, modality, [np.array([9])])
    with pytest.raises(UserError, match="not a PKU-Sketch dataset"):
        splits_of("pku-sketch-x")


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
