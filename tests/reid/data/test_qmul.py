"""QMUL-Shoes / QMUL-Chairs reader."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import DatasetError
from reid.data import read_dataset
from reid.data.datasets import DATASETS
from tests.reid.helpers import QMUL_TEST as TEST
from tests.reid.helpers import make_qmul, remove, save


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
