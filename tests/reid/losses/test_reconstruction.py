"""ST-ReIDNet's masked L1 reconstruction loss."""

from __future__ import annotations

import math

import torch

from reid.losses.reconstruction import masked_l1


def test_masked_l1_hand_computed():
    out = torch.zeros(1, 1, 2, 2)
    target = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
    mask = torch.tensor([[[[1.0, 0.0], [0.0, 0.0]]]])
    # L1 = 2.5, masked L1 = 1/4; (2.5 + 9 * 0.25) / 10
    assert math.isclose(float(masked_l1(out, target, mask, 9.0)), 0.475, rel_tol=1e-6)
    assert float(masked_l1(out, target, None, 9.0)) == 2.5
