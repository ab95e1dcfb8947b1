"""IHDA losses, including the fixed domain-loss sign."""

from __future__ import annotations

import math

import pytest
import torch

from reid.config import (
    IhdaSection,
)
from reid.losses.ihda import attribute_consistency, attribute_entropy, domain_loss, hetero_triplet
from reid.models import build_backbone
from reid.models.ihda_net import IhdaNet


def test_entropy_and_consistency_hand_computed():
    zero = torch.zeros(2, 3)  # phi = 0.5 everywhere
    assert attribute_entropy(zero).item() == pytest.approx(3 * 0.5 * math.log(2), rel=1e-4)
    # Confident predictions have (near) zero entropy: minimisation pushes phi to 0 or 1.
    assert attribute_entropy(torch.full((2, 3), 20.0)).item() < 1e-4
    a = torch.tensor([[0.0, 0.0]])
    b = torch.tensor([[math.log(3.0), 0.0]])  # sigmoid = 0.75
    assert attribute_consistency(a, b).item() == pytest.approx(0.25**2)
    assert attribute_consistency(b, b).item() == 0.0


def test_hetero_triplet_hand_computed():
    sketch = torch.tensor([[0.0, 0.0], [3.0, 0.0]])
    photo = torch.tensor([[1.0, 0.0], [2.0, 0.0]])
    pids = torch.tensor([0, 1])
    # anchor 0: |a-p|^2 = 1, |a-n|^2 = 4 -> relu(1 - 4 + 0.3) = 0; anchor 1: 1 - 4 + 0.3 < 0.
    assert hetero_triplet(sketch, photo, pids, 0.3).item() == 0.0
    # swapped photos: anchor 0: 4 - 1 + 0.3 = 3.3; anchor 1: 4 - 1 + 0.3 = 3.3
    assert hetero_triplet(sketch, photo.flip(0), pids, 0.3).item() == pytest.approx(3.3)


def test_domain_loss_sign_classifier_descends_encoder_ascends():
    """The fixed bug: C_d minimises +CE on raw logits; the feature gets -lambda x dCE."""
    logits = torch.tensor([[2.0, 0.0, 0.0]])
    d = torch.tensor([0])
    expected = -math.log(math.exp(2) / (math.exp(2) + 2))
    assert domain_loss(logits, d).item() == pytest.approx(expected)
    torch.manual_seed(0)
    net = IhdaNet(
        build_backbone("tiny", 1, False), 4, 3, IhdaSection(att_hidden=8, domain_hidden=8)
    ).eval()
    g = torch.randn(6, net.dim, requires_grad=True)
    doms = torch.tensor([0, 0, 1, 1, 2, 2])
    net.grl.lambda_ = 0.5
    loss = domain_loss(net.domain_logits(g), doms)
    loss.backward()
    grad_rev = g.grad.clone()
    # Same loss without reversal: feature gradient = -grad_rev / 0.5.
    g2 = g.detach().clone().requires_grad_(True)
    domain_loss(net.domain_head(g2), doms).backward()
    torch.testing.assert_close(grad_rev, -0.5 * g2.grad)
    # A gradient-descent step on C_d lowers the domain CE (it learns to separate domains).
    w = net.domain_head[-1].weight
    before = loss.item()
    with torch.no_grad():
        for p in net.domain_head.parameters():
            p -= 0.1 * p.grad
    assert domain_loss(net.domain_logits(g), doms).item() < before
    assert w.grad is not None
