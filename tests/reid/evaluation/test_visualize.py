"""Retrieval pictures."""

from __future__ import annotations

import numpy as np

from reid.data import read_dataset
from reid.evaluation.visualize import save_retrieval_png
from tests.reid.helpers import make_sbir


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
