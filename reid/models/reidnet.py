"""The re-ID network: backbone -> global pooling -> BNNeck -> classifier (seeds.md 6.b)."""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from core.errors import UserError
from reid.config import ModelConfig
from reid.models.backbones import build_backbone, load_pretrained


class TrainOutput(NamedTuple):
    """Training-time outputs: pre-BN feature g (N,D), BN feature f (N,D), logits (N,classes)."""

    feature: torch.Tensor
    bn_feature: torch.Tensor
    logits: torch.Tensor


def global_pool(pooling: str) -> nn.Module:
    """Global ``max`` or ``avg`` pooling of a backbone's (N, C, h, w) map to (N, C, 1, 1)."""
    if pooling not in ("max", "avg"):
        raise UserError(
            f"model.pooling must be 'max' or 'avg', got {pooling!r}; set --set model.pooling=avg"
        )
    return nn.AdaptiveMaxPool2d(1) if pooling == "max" else nn.AdaptiveAvgPool2d(1)


class BNNeck(nn.Module):
    """BatchNorm1d with a frozen zero bias (Luo et al. 2019) followed by a bias-free classifier.

    With ``enabled`` False the BN is an identity and the classifier sits on the raw feature.
    Classifier weights ~ N(0, 0.001); ``num_classes`` 0 builds no classifier (inference).
    """

    def __init__(self, dim: int, num_classes: int, enabled: bool = True) -> None:
        super().__init__()
        if enabled:
            self.bn = nn.BatchNorm1d(dim)
            nn.init.ones_(self.bn.weight)
            nn.init.zeros_(self.bn.bias)
            self.bn.bias.requires_grad_(False)
        else:
            self.bn = nn.Identity()
        self.classifier = nn.Linear(dim, num_classes, bias=False) if num_classes > 0 else None
        if self.classifier is not None:
            nn.init.normal_(self.classifier.weight, std=0.001)

    def forward(self, g: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """g (N,D) -> (f (N,D), logits (N,classes)); logits are empty (N,0) without a classifier."""
        f = self.bn(g)
        logits = self.classifier(f) if self.classifier is not None else g.new_zeros(g.shape[0], 0)
        return f, logits


class ReidNet(nn.Module):
    """Backbone + global pooling + BNNeck; ``forward`` returns the test embedding (N, D)."""

    def __init__(
        self,
        backbone: nn.Module,
        num_classes: int,
        *,
        pooling: str = "max",
        bnneck: bool = True,
        test_feature: str = "bn",
    ) -> None:
        super().__init__()
        if test_feature not in ("bn", "pre_bn"):
            raise UserError(
                f"model.test_feature must be 'bn' or 'pre_bn', got {test_feature!r};"
                f" set one of them"
            )
        self.backbone = backbone
        self.pool = global_pool(pooling)
        self.neck = BNNeck(backbone.out_channels, num_classes, bnneck)
        self.test_feature = test_feature
        self.dim = backbone.out_channels

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Pre-BN global feature g (N, D) of images x (N, 3, H, W)."""
        return self.pool(self.backbone(x)).flatten(1)

    def forward_train(self, x: torch.Tensor) -> TrainOutput:
        """All training outputs for images x (N, 3, H, W)."""
        g = self.features(x)
        f, logits = self.neck(g)
        return TrainOutput(g, f, logits)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Test embedding (N, D), not normalised: BN feature or pre-BN feature per config."""
        g = self.features(x)
        return self.neck.bn(g) if self.test_feature == "bn" else g


def build_reidnet(
    model_cfg: ModelConfig, num_classes: int, pretrained: str | None = None
) -> ReidNet:
    """A :class:`ReidNet` from ``model_cfg``; ``pretrained``: local backbone weights."""
    imagenet = model_cfg.imagenet and pretrained is None
    backbone = build_backbone(model_cfg.backbone, model_cfg.last_stride, imagenet)
    if pretrained is not None:
        load_pretrained(backbone, pretrained)
    return ReidNet(
        backbone,
        num_classes,
        pooling=model_cfg.pooling,
        bnneck=model_cfg.bnneck,
        test_feature=model_cfg.test_feature,
    )
