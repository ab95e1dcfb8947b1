"""FMCL's momentum pieces: EMA, MoCo-style logits with the fixed label column, soft targets."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from reid.losses.fmcl import ema_update, momentum_logits, momentum_neighbour_targets, soft_entropy
from reid.methods.fmcl import Fmcl
from tests.reid.helpers import (
    fmcl_config,
)


def test_ema_update_hand_computed_and_rate_schedule(target_dir):
    ema, net = torch.nn.Linear(2, 1), torch.nn.Linear(2, 1)
    with torch.no_grad():
        ema.weight[:] = torch.tensor([[1.0, 2.0]])
        ema.bias[:] = 4.0
        net.weight[:] = torch.tensor([[3.0, -2.0]])
        net.bias[:] = 0.0
    ema_update(ema, net, 0.75)
    # 0.75 * [1, 2] + 0.25 * [3, -2] = [1.5, 1]; 0.75 * 4 + 0.25 * 0 = 3
    torch.testing.assert_close(ema.weight, torch.tensor([[1.5, 1.0]]))
    torch.testing.assert_close(ema.bias, torch.tensor([3.0]))
    assert net.weight.tolist() == [[3.0, -2.0]]
    method = Fmcl(fmcl_config(target_dir), 6, torch.device("cpu"))
    assert [method.ema_rate(e) for e in (0, 25, 26)] == [0.01, 0.01, 0.999]
    assert not any(p.requires_grad for p in method.modules["ema"].parameters())


def test_label_column_is_the_own_memory_slot_plus_one():
    t = 0.07
    memory = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
    q = torch.tensor([[0.6, 0.8], [1.0, 0.0]])  # image 2 equals slot 2, image 0 slot 0
    k = torch.tensor([[0.0, 1.0], [0.8, 0.6]])
    idx = torch.tensor([2, 0])
    logits = momentum_logits(q, k, memory, t)
    expected = torch.tensor([[0.8, 0.6, 0.8, 1.0], [0.8, 1.0, 0.0, 0.6]]) / t
    torch.testing.assert_close(logits, expected)
    # The own slot's similarity (1.0) sits in column idx + 1, not idx.
    assert logits[torch.arange(2), idx + 1].tolist() == pytest.approx([1 / t, 1 / t])
    assert logits[torch.arange(2), idx].tolist() == pytest.approx([0.8 / t, 0.8 / t])
    fixed = F.cross_entropy(logits, idx + 1).item()
    denom = [sum(math.exp(v) for v in row) for row in expected.tolist()]
    assert fixed == pytest.approx(-sum(1 / t - math.log(d) for d in denom) / 2, rel=1e-5)
    assert fixed < F.cross_entropy(logits, idx).item()


def test_neighbour_targets_skip_top_match_softmax_weights():
    logits = torch.tensor([[5.0, 4.0, 3.0, 2.0, 1.0], [0.0, 9.0, 1.0, 8.0, 2.0]])
    labels = torch.tensor([4, 1])
    w = momentum_neighbour_targets(logits, labels, k=2)
    # Top match skipped (row 0: col 0; row 1: col 1); the next two share a softmax of their
    # logits (4 vs 3; 8 vs 2), then the own column gets 1 (row 1: the skipped top match).
    a, b = 1 / (1 + math.exp(-1)), 1 / (1 + math.exp(-6))
    expected = torch.tensor([[0, a, 1 - a, 0, 1.0], [0, 1.0, 0, b, 1 - b]])
    torch.testing.assert_close(w, expected)
    torch.testing.assert_close(
        momentum_neighbour_targets(logits, labels, k=0), F.one_hot(labels, 5).float()
    )


def test_soft_entropy_against_teacher():
    x, y = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 0.0]])
    assert soft_entropy(x, y).item() == pytest.approx(
        -0.5 * (math.log(math.e / (math.e + 1)) + math.log(1 / (math.e + 1)))
    )
