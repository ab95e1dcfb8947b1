"""ECN's exemplar memory and invariance losses."""

from __future__ import annotations

import math

import pytest
import torch

from reid.losses.exemplar import ExemplarMemory, invariance_loss, neighbourhood_targets


def test_memory_update_momentum_and_normalisation():
    mem = ExemplarMemory(3, 2)
    mem.features[0] = torch.tensor([1.0, 0.0])
    mem.update(torch.tensor([[0.0, 1.0], [3.0, 4.0]]), torch.tensor([0, 2]), alpha=0.5)
    s = 1 / math.sqrt(2)
    torch.testing.assert_close(mem.features, torch.tensor([[s, s], [0.0, 0.0], [0.6, 0.8]]))
    # A repeated slot is updated sequentially: [1,0] first, then mixed with [0,1].
    mem.update(torch.tensor([[2.0, 0.0], [0.0, 1.0]]), torch.tensor([1, 1]), alpha=0.5)
    torch.testing.assert_close(mem.features[1], torch.tensor([s, s]))
    # alpha 0 overwrites (ECN's epoch 0).
    mem.update(torch.tensor([[0.0, -2.0]]), torch.tensor([0]), alpha=0.0)
    torch.testing.assert_close(mem.features[0], torch.tensor([0.0, -1.0]))


def test_exemplar_invariance_is_softmax_ce_with_temperature():
    mem = ExemplarMemory(3, 2)
    mem.features[:] = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
    f = torch.tensor([[0.8, 0.6]])
    logits = mem.logits(f, beta=0.05)
    sims = [0.8, 0.6, 0.96]
    torch.testing.assert_close(logits[0], torch.tensor(sims) / 0.05)
    expected = -(sims[0] / 0.05 - math.log(sum(math.exp(s / 0.05) for s in sims)))
    assert invariance_loss(logits, torch.tensor([0])).item() == pytest.approx(expected, rel=1e-5)


def test_neighbourhood_weights_share_one_over_k():
    logits = torch.tensor([[5.0, 4.0, 3.0, 2.0, 1.0, 0.0], [0.0, 9.0, 1.0, 8.0, 2.0, 3.0]])
    own = torch.tensor([5, 1])
    w = neighbourhood_targets(logits, own, k=2)
    torch.testing.assert_close(w, torch.tensor([[0.5, 0.5, 0, 0, 0, 1.0], [0, 1.0, 0, 0.5, 0, 0]]))
    log_p = torch.log_softmax(logits, 1)
    expected = (
        -((0.5 * log_p[0, 0] + 0.5 * log_p[0, 1] + log_p[0, 5]) + (log_p[1, 1] + 0.5 * log_p[1, 3]))
        / 2
    )
    assert invariance_loss(logits, own, knn=2).item() == pytest.approx(expected.item(), rel=1e-6)
    # k = 0: plain exemplar invariance.
    torch.testing.assert_close(
        invariance_loss(logits, own, 0), torch.nn.functional.cross_entropy(logits, own)
    )
