"""DNS losses on hand-computed cases."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from reid.losses.dns import circle_loss, domain_distillation_term, ema_update, mmd_rbf


def test_circle_loss_hand_computed():
    e1, e2 = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    feats, pids = torch.stack([e1, 2 * e1, e2]), torch.tensor([0, 0, 1])
    # Anchors 0, 1: s_p = 1, s_n = 0, alpha = m; both exponents -gamma m^2; anchor 2: no positive.
    expected = math.log1p(math.exp(-2 * 2.0 * 0.25))
    assert float(circle_loss(feats, pids, margin=0.5, gamma=2.0)) == pytest.approx(
        expected, rel=1e-5
    )
    assert float(circle_loss(feats[:2], pids[:2])) == 0.0  # no negatives at all


def test_mmd_hand_computed_and_zero_for_equal_sets():
    x, y = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 3.0]])
    # |x - y|^2 = 2 (normalised), sigma0 = 2 / 4 = 0.5, bandwidths 0.5 * 2^i.
    kxy = sum(math.exp(-2 / (0.5 * 2**i)) for i in range(5))
    assert float(mmd_rbf(x, y)) == pytest.approx(10 - 2 * kxy, rel=1e-5)
    z = torch.randn(6, 4)
    assert float(mmd_rbf(z, z.clone())) == pytest.approx(0.0, abs=1e-6)


def test_domain_distillation_uniform_case_and_ema():
    n, feats, pids = 5, torch.randn(4, 3), torch.tensor([0, 1, 0, 1])
    layers = [nn.Linear(3, n, bias=False) for _ in range(4)]
    for lin in layers:
        nn.init.zeros_(lin.weight)
    # Uniform predictions: KL = 0, each CE = log n.
    term = domain_distillation_term(feats, pids, *layers, ce_weight=0.25)
    assert float(term.detach()) == pytest.approx(0.25 * 2 * math.log(n), rel=1e-5)
    nn.init.ones_(layers[0].weight)
    ema_update(layers[2], layers[0], tau=0.2)
    assert torch.allclose(layers[2].weight, torch.full((n, 3), 0.2))
