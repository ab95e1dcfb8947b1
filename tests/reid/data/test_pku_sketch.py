"""PKU-Sketch reader and its 10-split protocol."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import DatasetError, UserError
from reid.data import read_dataset
from reid.data.datasets import DATASETS
from reid.data.pku_sketch import (
    PHOTO,
    PKU_TRAIN_PER_STYLE,
    SKETCH,
    split_identities,
    train_counts,
)
from tests.reid.helpers import PKU_STYLES as STYLES
from tests.reid.helpers import make_pku, remove


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
