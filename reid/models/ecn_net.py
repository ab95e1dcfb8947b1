"""ECN's network (seeds.md 3.b): backbone -> global pool (pool5 g, the test feature) ->
Linear(C -> features) -> BN -> e; source head ReLU(e) -> Dropout -> Linear(features -> N_src);
target feature f = Dropout(L2norm(e)) for the exemplar memory."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from core.errors import UserError
from reid.models.reidnet import global_pool


class EcnNet(nn.Module):
    """Backbone -> pool5 -> FC + BN embedding; source classifier and target feature heads."""

    def __init__(
        self,
        backbone: nn.Module,
        num_classes: int,
        *,
        features: int = 4096,
        dropout: float = 0.5,
        pooling: str = "avg",
        freeze_early: bool = True,
        output_feature: str = "pool5",
    ) -> None:
        super().__init__()
        if output_feature not in ("pool5", "embedding"):
            raise UserError(
                f"ecn.output_feature must be 'pool5' or 'embedding', got {output_feature!r};"
                f" set one of them"
            )
        self.backbone = backbone
        self.pool = global_pool(pooling)
        self.embed = nn.Linear(backbone.out_channels, features)
        nn.init.kaiming_normal_(self.embed.weight, mode="fan_out")
        nn.init.zeros_(self.embed.bias)
        self.embed_bn = nn.BatchNorm1d(features)
        self.drop = nn.Dropout(dropout)
        self.classifier = nn.Linear(features, num_classes) if num_classes > 0 else None
        if self.classifier is not None:
            nn.init.normal_(self.classifier.weight, std=0.001)
            nn.init.zeros_(self.classifier.bias)
        self.output_feature = output_feature
        self.dim = backbone.out_channels if output_feature == "pool5" else features
        # ECN fixes conv1..layer2 (ImageNet low-level filters); only ResNet trunks have them.
        self.frozen: list[nn.Module] = []
        if freeze_early and hasattr(backbone, "stem") and hasattr(backbone, "layers"):
            self.frozen = [backbone.stem, backbone.layers[0], backbone.layers[1]]
            for m in self.frozen:
                m.requires_grad_(False)

    def train(self, mode: bool = True) -> EcnNet:
        """Train/eval mode; the frozen stages (and their BN statistics) always stay in eval."""
        super().train(mode)
        for m in self.frozen:
            m.eval()
        return self

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """pool5 g (N, C) of images x (N, 3, H, W)."""
        return self.pool(self.backbone(x)).flatten(1)

    def embedding(self, g: torch.Tensor) -> torch.Tensor:
        """e = BN(FC(g)), (N, features)."""
        return self.embed_bn(self.embed(g))

    def forward_source(self, x: torch.Tensor) -> torch.Tensor:
        """Source identity logits (N, num_classes)."""
        if self.classifier is None:
            raise UserError("this ECN network has no source classifier (built for inference)")
        return self.classifier(self.drop(F.relu(self.embedding(self.features(x)))))

    def forward_target(self, x: torch.Tensor) -> torch.Tensor:
        """Target memory feature f = Dropout(L2norm(e)), (N, features)."""
        return self.drop(F.normalize(self.embedding(self.features(x)).float(), dim=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Test embedding (N, dim), not normalised: pool5 (default) or the embedding e."""
        g = self.features(x)
        return g if self.output_feature == "pool5" else self.embedding(g)
