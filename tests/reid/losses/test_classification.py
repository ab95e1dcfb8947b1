"""Label-smoothed cross-entropy."""

from __future__ import annotations

import math

import pytest
import torch

from reid.losses import CrossEntropyLabelSmooth


def test_label_smoothed_ce_by_hand():
    logits = torch.tensor([[math.log(1.0), math.log(3.0)]])  # p = (1/4, 3/4)
    target = torch.tensor([1])
    eps = 0.1
    q = torch.tensor([eps / 2, 1 - eps + eps / 2])
    expected = -(q * torch.log(torch.tensor([0.25, 0.75]))).sum()
    assert CrossEntropyLabelSmooth(eps)(logits, target).item() == pytest.approx(
        expected.item(), rel=1e-6
    )
    assert CrossEntropyLabelSmooth(0.0)(logits, target).item() == pytest.approx(
        -math.log(0.75), rel=1e-6
    )
