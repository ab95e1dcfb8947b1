"""Zero-shot SBIR readers (Sketchy, TU-Berlin) and negative-class sampling."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import DatasetError
from reid.data import read_dataset
from reid.data.sbir import negative_class_probs, zero_shot_split
from tests.reid.helpers import SBIR_CLASSES as CLASSES
from tests.reid.helpers import make_sbir


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
    with pytest.raises(DatasetError, match=r"test_labels.txt is missing"):
        read_dataset("sketchy", root)


def test_negative_class_probs():
    vec = np.array([[0.0, 0.0], [1.0, 0.0], [3.0, 0.0]])
    p = negative_class_probs(3, vec)
    # class 0: distances 1 and 3 -> weights 1 and 1/3 -> probs 3/4, 1/4
    assert p[0] == pytest.approx([0.0, 0.75, 0.25])
    assert np.allclose(p.sum(1), 1.0) and np.all(np.diag(p) == 0)
    assert negative_class_probs(3, None)[1] == pytest.approx([0.5, 0.0, 0.5])
