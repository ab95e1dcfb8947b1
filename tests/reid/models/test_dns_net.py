"""DNS network pieces: HSS, GeM, modality routing."""

from __future__ import annotations

import pytest
import torch

from reid.models.dns_net import HSS, DnsNet, gem
from tests.reid.helpers import H, W


def test_hss_gem_and_modality_routing():
    x = torch.randn(2, 16, 6, 3)
    assert HSS(16)(x).shape == x.shape
    assert torch.allclose(gem(torch.full((1, 2, 3, 3), 2.0)), torch.full((1, 2), 2.0))
    vals = torch.tensor([1.0, 8.0]).view(1, 1, 1, 2)
    assert float(gem(vals)) == pytest.approx(((1 + 512) / 2) ** (1 / 3), rel=1e-5)
    net = DnsNet(4, "tiny", False).eval()
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    grey = (torch.rand(2, 1, H, W).expand(2, 3, H, W) - mean) / std
    colour = (torch.rand(2, 3, H, W) - mean) / std
    batch = torch.cat([grey, colour])
    assert net.is_grey(batch).tolist() == [True, True, False, False]
    with torch.no_grad():
        auto = net(batch)
        explicit = torch.cat([net(grey, 1), net(colour, 0)])
        out = net.forward_train(colour, grey)
    assert torch.allclose(auto, explicit, atol=1e-5) and auto.shape == (4, 64)
    assert out.z.shape == out.z_hat.shape == (4, 64) and out.logits.shape == (4, 4)
