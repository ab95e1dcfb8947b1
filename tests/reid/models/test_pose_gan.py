"""ST-ReIDNet's generator and discriminators."""

from __future__ import annotations

import torch

from reid.models.pose_gan import (
    ImageDiscriminator,
    PatchDiscriminator,
    PoseGenerator,
)
from tests.reid.helpers import ST_H as H
from tests.reid.helpers import ST_W as W


def test_network_output_shapes():
    torch.manual_seed(0)
    G = PoseGenerator(H, W, app_dim=64, pose_dim=16, ngf=8).eval()
    out = G(torch.rand(2, 17, H, W), torch.randn(2, 64))
    assert out.shape == (2, 3, H, W) and out.abs().max() <= 1
    assert G.pose_encoder(torch.rand(2, 17, H, W)).shape == (2, 16, 1, 1)
    D_i = ImageDiscriminator("tiny", imagenet=False).train()
    assert D_i(torch.rand(3, 3, H, W)).shape == (3,)
    assert all(not m.training for m in D_i.modules() if isinstance(m, torch.nn.BatchNorm2d))
    D_p = PatchDiscriminator(20, ndf=8)
    # 64x32 -> 32x16 -> 16x8 -> 8x4 -> 7x3 -> 6x2 patches
    assert D_p(torch.rand(2, 17, H, W), torch.rand(2, 3, H, W)).shape == (2, 1, 6, 2)
