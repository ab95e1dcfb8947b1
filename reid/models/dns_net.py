"""DNS network (seeds.md 5.b): modality-specific stems, shared ResNet stages with Heterogeneous
Space Shifting (HSS) blocks, GeM pooling, BNNeck, and the training-only Common Space Shifting
(CSS) MLP plus the domain-distillation classifiers.

Modality 0 = visible, 1 = infrared / thermal / sketch. ``backbone="tiny"`` swaps the ResNet-50
stages for small conv stages (tests, smoke runs) with the same structure.
"""

from __future__ import annotations

import copy
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from core.errors import UserError
from reid.data.transforms import IMAGENET_MEAN, IMAGENET_STD
from reid.models.backbones import torchvision_model


class HSS(nn.Module):
    """Heterogeneous Space Shifting on (B, C, H, W) maps.

    Shift bias ``S = softmax_H(max_W X) * softmax_W(max_H X)`` (per-channel outer product),
    ``X' = X + S``; coordinate attention (a_h, a_w) computed on X' with a C -> m -> C bottleneck,
    m = max(8, C // 32), h-swish; output ``X * a_h * a_w`` (attention on the original X).
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        m = max(8, channels // 32)
        self.reduce = nn.Conv2d(channels, m, 1)
        self.bn = nn.BatchNorm2d(m)
        self.att_h = nn.Conv2d(m, channels, 1, bias=False)
        self.att_w = nn.Conv2d(m, channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        b_h = torch.softmax(x.amax(dim=3, keepdim=True), dim=2)  # (B,C,H,1)
        b_w = torch.softmax(x.amax(dim=2, keepdim=True), dim=3)  # (B,C,1,W)
        shifted = x + b_h * b_w
        z_h = shifted.mean(dim=3, keepdim=True)  # (B,C,H,1)
        z_w = shifted.mean(dim=2, keepdim=True).transpose(2, 3)  # (B,C,W,1)
        y = F.hardswish(self.bn(self.reduce(torch.cat([z_h, z_w], dim=2))))
        y_h, y_w = torch.split(y, [h, w], dim=2)
        a_h = torch.sigmoid(self.att_h(y_h))  # (B,C,H,1)
        a_w = torch.sigmoid(self.att_w(y_w.transpose(2, 3)))  # (B,C,1,W)
        return x * a_h * a_w


def gem(x: torch.Tensor, p: float = 3.0, eps: float = 1e-12) -> torch.Tensor:
    """Generalized-mean pooling: (B, C, H, W) non-negative -> (B, C), ``mean(x^p)^(1/p)``."""
    return x.clamp_min(eps).pow(p).mean(dim=(2, 3)).pow(1.0 / p)


class CSS(nn.Module):
    """Common Space Shifting: ``Zh = MLP(LayerNorm(g + softmax(g)))``, MLP D -> 4D -> D, GELU,
    dropout after each linear layer."""

    def __init__(self, dim: int, dropout: float = 0.01) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(
            nn.Linear(dim, 4 * dim),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(4 * dim, dim),
            nn.Dropout(dropout),
        )

    def forward(self, g: torch.Tensor) -> torch.Tensor:
        return self.mlp(self.norm(g + torch.softmax(g, dim=1)))


class DnsOutput(NamedTuple):
    """Training outputs over [visible; infrared]: pre-BN Z, Z_bn, ID logits, CSS feature Zh."""

    z: torch.Tensor
    z_bn: torch.Tensor
    logits: torch.Tensor
    z_hat: torch.Tensor


def _conv_stage(c_in: int, c_out: int, stride: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()
    )


def _stages(backbone: str, imagenet: bool) -> tuple[nn.Module, nn.Module, nn.Module, nn.Module]:
    """(visible stem, infrared stem, layer3, layer4 with stride 1)."""
    if backbone == "tiny":
        stem = nn.Sequential(_conv_stage(3, 16, 2), _conv_stage(16, 32, 2))
        return stem, copy.deepcopy(stem), _conv_stage(32, 48, 2), _conv_stage(48, 64, 1)
    if backbone != "resnet50":
        raise UserError(
            f"dns backbone must be resnet50 or tiny, got {backbone!r};"
            f" set model.backbone to one of them"
        )
    net = torchvision_model("resnet50", imagenet)
    block = net.layer4[0]
    block.conv2.stride = (1, 1)
    block.downsample[0].stride = (1, 1)
    stem = nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool, net.layer1, net.layer2)
    # Both stems start from the same ImageNet weights and then train separately.
    return stem, copy.deepcopy(stem), net.layer3, net.layer4


class DnsNet(nn.Module):
    """Dual-stem encoder. ``forward(x, modality)`` -> (N, D) test feature (``test_feature``
    "bn" = Z_bn, "pre_bn" = Z); ``forward_train(x_vis, x_ir)`` -> :class:`DnsOutput`.

    With ``modality=None`` each image is routed by its content: grey images (all channels
    equal after undoing the ImageNet normalisation: IR, thermal, sketch) take the infrared
    stem, colour images the visible one, so the single-input encoder interface still works.
    """

    def __init__(
        self,
        num_classes: int,
        backbone: str = "resnet50",
        imagenet: bool = True,
        gem_p: float = 3.0,
        css_dropout: float = 0.01,
        test_feature: str = "bn",
    ) -> None:
        super().__init__()
        if test_feature not in ("bn", "pre_bn"):
            raise UserError(
                f"model.test_feature must be bn or pre_bn, got {test_feature!r}; set one of them"
            )
        self.stem_vis, self.stem_ir, self.layer3, self.layer4 = _stages(backbone, imagenet)
        c3 = self.layer3[-1].bn3.num_features if backbone == "resnet50" else 48
        self.dim = 2048 if backbone == "resnet50" else 64
        self.hss3, self.hss4 = HSS(c3), HSS(self.dim)
        self.gem_p, self.test_feature = gem_p, test_feature
        self.bottleneck = nn.BatchNorm1d(self.dim)
        nn.init.ones_(self.bottleneck.weight)
        nn.init.zeros_(self.bottleneck.bias)
        self.classifier = nn.Linear(self.dim, num_classes, bias=False)
        self.css = CSS(self.dim, css_dropout)
        self.cls_vis = nn.Linear(self.dim, num_classes, bias=False)
        self.cls_ir = nn.Linear(self.dim, num_classes, bias=False)
        for lin in (self.classifier, self.cls_vis, self.cls_ir):
            nn.init.normal_(lin.weight, std=0.001)
        self.ema_vis = copy.deepcopy(self.cls_vis).requires_grad_(False)
        self.ema_ir = copy.deepcopy(self.cls_ir).requires_grad_(False)
        self.register_buffer("_mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), False)
        self.register_buffer("_std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), False)

    def _shared(self, maps: torch.Tensor) -> torch.Tensor:
        return self.hss4(self.layer4(self.hss3(self.layer3(maps))))

    def _stems(self, x: torch.Tensor, is_ir: torch.Tensor) -> torch.Tensor:
        if bool(is_ir.all()):
            return self.stem_ir(x)
        if not bool(is_ir.any()):
            return self.stem_vis(x)
        vis, ir = self.stem_vis(x[~is_ir]), self.stem_ir(x[is_ir])
        out = vis.new_empty((len(x), *vis.shape[1:]))
        out[~is_ir], out[is_ir] = vis, ir
        return out

    def is_grey(self, x: torch.Tensor, tol: float = 0.02) -> torch.Tensor:
        """(N,) bool: images whose RGB channels agree within ``tol`` (in [0, 1] units)."""
        raw = x.float() * self._std + self._mean
        return (raw.amax(1) - raw.amin(1)).amax(dim=(1, 2)) <= tol

    def forward_train(self, x_vis: torch.Tensor, x_ir: torch.Tensor) -> DnsOutput:
        """x_vis, x_ir (P*K, 3, H, W) each; outputs are over the concatenation [vis; ir]."""
        maps = F.relu(self._shared(torch.cat([self.stem_vis(x_vis), self.stem_ir(x_ir)])))
        z = gem(maps, self.gem_p)
        z_bn = self.bottleneck(z)
        z_hat = self.css(maps.mean(dim=(2, 3)))
        return DnsOutput(z, z_bn, self.classifier(z_bn), z_hat)

    def forward(self, x: torch.Tensor, modality: int | torch.Tensor | None = None) -> torch.Tensor:
        """x (N, 3, H, W) normalised -> (N, D) feature (not L2-normalised).

        ``modality``: 0 (visible stem), 1 (infrared stem), an (N,) tensor of those, or None
        (route by :meth:`is_grey`).
        """
        if modality is None:
            is_ir = self.is_grey(x)
        elif isinstance(modality, torch.Tensor):
            is_ir = modality.to(x.device).bool()
        else:
            is_ir = torch.full((len(x),), bool(modality), device=x.device)
        z = gem(F.relu(self._shared(self._stems(x, is_ir))), self.gem_p)
        return self.bottleneck(z) if self.test_feature == "bn" else z
