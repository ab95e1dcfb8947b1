"""ST-ReIDNet's pose-guided generator and its two discriminators (seeds.md 6.c).

Sizes follow the input: with ``num_down`` = 5 stride-2 stages a 256 x 128 input gives the
paper's 8 x 4 bottleneck; a 64 x 32 test input gives 2 x 1. Image tensors entering G's targets
and the discriminators are in [-1, 1] (G ends in tanh).
"""

from __future__ import annotations

from itertools import pairwise

import torch
from torch import nn

from core.errors import UserError
from reid.models.backbones import build_backbone
from reid.models.reidnet import ReidNet


def gan_init(module: nn.Module) -> None:
    """Conv / linear weights ~ N(0, 0.02), zero bias; BN weight ~ N(1, 0.02), zero bias."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


def bottleneck_size(height: int, width: int, num_down: int) -> tuple[int, int]:
    """Spatial size (h, w) after ``num_down`` stride-2 stages; raises if the input won't divide."""
    f = 2**num_down
    if num_down < 2 or height % f or width % f:
        raise UserError(
            f"st-reidnet input {height}x{width} must be divisible by 2**gan.num_down = {f} "
            "(num_down >= 2); change data.height/width or gan.num_down"
        )
    return height // f, width // f


class PoseGenerator(nn.Module):
    """G(heatmaps (N,K,H,W), appearance (N,A)) -> image (N,3,H,W) in [-1, 1].

    Pose encoder: Conv4x4/2 then (num_down - 1) x [LReLU-Conv4x4/2-BN] with widths ngf x
    (1, 2, 4, 8, 8, ...), then LReLU-Conv(bottleneck kernel)-BN -> pose code (N, pose_dim).
    Decoder on [appearance, pose code] at 1x1: ReLU-ConvT(bottleneck)-BN-Dropout, the mirrored
    (num_down - 1) x [ReLU-ConvT4x4/2-BN-Dropout], ReLU-ConvT4x4/2 -> 3 channels, tanh.
    """

    def __init__(
        self,
        height: int,
        width: int,
        app_dim: int,
        *,
        num_keypoints: int = 17,
        pose_dim: int = 128,
        ngf: int = 64,
        dropout: float = 0.2,
        num_down: int = 5,
    ) -> None:
        super().__init__()
        bh, bw = bottleneck_size(height, width, num_down)
        widths = [ngf * min(2**i, 8) for i in range(num_down)]  # 64,128,256,512,512 at ngf 64
        enc: list[nn.Module] = [nn.Conv2d(num_keypoints, widths[0], 4, 2, 1)]
        for c_in, c_out in pairwise(widths):
            enc += [nn.LeakyReLU(0.2), nn.Conv2d(c_in, c_out, 4, 2, 1), nn.BatchNorm2d(c_out)]
        enc += [
            nn.LeakyReLU(0.2),
            nn.Conv2d(widths[-1], pose_dim, (bh, bw)),
            nn.BatchNorm2d(pose_dim),
        ]
        self.pose_encoder = nn.Sequential(*enc)
        dec: list[nn.Module] = [
            nn.ReLU(),
            nn.ConvTranspose2d(app_dim + pose_dim, widths[-1], (bh, bw)),
            nn.BatchNorm2d(widths[-1]),
            nn.Dropout(dropout),
        ]
        for c_in, c_out in pairwise(widths[::-1]):
            dec += [
                nn.ReLU(),
                nn.ConvTranspose2d(c_in, c_out, 4, 2, 1),
                nn.BatchNorm2d(c_out),
                nn.Dropout(dropout),
            ]
        dec += [nn.ReLU(), nn.ConvTranspose2d(widths[0], 3, 4, 2, 1), nn.Tanh()]
        self.decoder = nn.Sequential(*dec)
        gan_init(self)

    def forward(self, heatmaps: torch.Tensor, appearance: torch.Tensor) -> torch.Tensor:
        code = self.pose_encoder(heatmaps)  # (N, pose_dim, 1, 1)
        z = torch.cat([appearance[:, :, None, None].to(code.dtype), code], dim=1)
        return self.decoder(z)


class ImageDiscriminator(ReidNet):
    """D_i: a re-ID net (ResNet-18, last stride 2, max pool, BNNeck) with one real/fake logit.

    All its BatchNorm layers stay in eval mode (running statistics frozen), as the original.
    """

    def __init__(self, backbone: str = "resnet18", imagenet: bool = True) -> None:
        super().__init__(build_backbone(backbone, 2, imagenet), 1, pooling="max", bnneck=True)

    def train(self, mode: bool = True) -> ImageDiscriminator:
        super().train(mode)
        for m in self.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.eval()
        return self

    def forward(self, images: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        """images (N,3,H,W) in [-1, 1] -> logits (N,)."""
        return self.forward_train(images).logits[:, 0]


class PatchDiscriminator(nn.Module):
    """D_p: PatchGAN on [heatmaps, image]: C(ndf)/2 - C(2ndf)/2 - C(4ndf)/2 - C(8ndf)/1 - C1/1,
    4x4 kernels, BN + LeakyReLU(0.2) after all but the first and last -> patch logits."""

    def __init__(self, in_channels: int = 20, ndf: int = 64) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(in_channels, ndf, 4, 2, 1), nn.LeakyReLU(0.2)]
        c = ndf
        for mult, stride in ((2, 2), (4, 2), (8, 1)):
            layers += [
                nn.Conv2d(c, ndf * mult, 4, stride, 1, bias=False),
                nn.BatchNorm2d(ndf * mult),
                nn.LeakyReLU(0.2),
            ]
            c = ndf * mult
        layers.append(nn.Conv2d(c, 1, 4, 1, 1))
        self.net = nn.Sequential(*layers)
        gan_init(self)

    def forward(self, heatmaps: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
        """heatmaps (N,K,H,W), images (N,3,H,W) -> patch logits (N,1,h,w)."""
        return self.net(torch.cat([heatmaps, images.to(heatmaps.dtype)], dim=1))
