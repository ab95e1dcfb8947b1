"""SBIR scores: mAP@all, precision@k, paired acc@k."""

from __future__ import annotations

import numpy as np
import pytest

from reid.metrics.sbir import evaluate_pairs, map_at_all, pair_accuracy, precision_at_k


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
