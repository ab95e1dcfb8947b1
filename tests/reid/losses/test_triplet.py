"""Batch-hard triplet loss against a loop reference."""

from __future__ import annotations

import pytest
import torch

from reid.losses import TripletLoss


def reference_triplet(x, y, margin):
    losses = []
    for i in range(len(y)):
        pos = [torch.dist(x[i], x[j]) for j in range(len(y)) if j != i and y[j] == y[i]]
        neg = [torch.dist(x[i], x[j]) for j in range(len(y)) if y[j] != y[i]]
        if pos and neg:
            d = max(pos) - min(neg)
            losses.append(
                torch.log1p(torch.exp(d)) if margin is None else torch.clamp(d + margin, min=0)
            )
    return torch.stack(losses).mean()


@pytest.mark.parametrize("margin", [None, 0.3])
def test_batch_hard_triplet_matches_loop(margin):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(12, 5, generator=g)
    y = torch.tensor([0, 0, 0, 1, 1, 2, 2, 2, 3, 3, 4, 5])  # ids 4, 5 have no positive
    got = TripletLoss(margin)(x, y)
    assert got.item() == pytest.approx(reference_triplet(x, y, margin).item(), rel=1e-5)
    mask = torch.arange(12) < 5
    got_masked = TripletLoss(margin)(x, y, anchor_mask=mask)
    assert got_masked.item() != pytest.approx(got.item())


def test_triplet_gradient_is_finite_for_duplicates():
    x = torch.ones(4, 3, requires_grad=True)
    TripletLoss(None)(x, torch.tensor([0, 0, 1, 1])).backward()
    assert torch.isfinite(x.grad).all()
