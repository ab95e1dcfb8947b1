"""IHDA's network routes sketches to E2."""

from __future__ import annotations

import pytest
import torch

from reid.config import (
    IhdaSection,
)
from reid.models import build_backbone
from reid.models.ihda_net import IhdaNet
from tests.reid.helpers import H, W


def test_forward_routes_sketches_to_e2():
    torch.manual_seed(0)
    net = IhdaNet(
        build_backbone("tiny", 1, False), 0, 3, IhdaSection(att_hidden=8, domain_hidden=8)
    ).eval()
    with torch.no_grad():
        for p in net.sketch_backbone.parameters():
            p.add_(0.5 * torch.randn_like(p))  # E2 != E1
        x = torch.randn(4, 3, H, W)
        mod = torch.tensor([0, 1, 1, 0])
        mixed = net(x, mod)
        torch.testing.assert_close(mixed[[0, 3]], net(x[[0, 3]]))
        torch.testing.assert_close(mixed[[1, 2]], net.forward_sketch(x[[1, 2]]))
        torch.testing.assert_close(net(x, torch.tensor(1)), net.forward_sketch(x))
        torch.testing.assert_close(net(x, torch.zeros(4, dtype=torch.long)), net(x))
        assert not torch.allclose(mixed[[1, 2]], net(x[[1, 2]]))
        assert net(x[:0], mod[:0]).shape == (0, net.dim)
        with pytest.raises(ValueError, match="0 \\(photo\\) or 1 \\(sketch\\)"):
            net(x, torch.tensor([0, 2, 1, 0]))
