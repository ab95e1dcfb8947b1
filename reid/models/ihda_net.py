"""IHDA's network (seeds.md 2.b): photo encoder E1, sketch encoder E2 (a copy of E1 at start),
identity head BN (frozen bias) -> Dropout -> Linear, attribute head and a 3-domain classifier
behind a gradient reversal layer.

SE-ResNeXt-50 is not in torchvision, so E1 / E2 are the framework's backbones
(``model.backbone``: resnet50 as in the paper, ``tiny`` for tests) with global average pooling;
the attribute head and domain classifier are 2-hidden-layer MLPs (paper width 512).
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from core.errors import UserError
from reid.config import IhdaSection
from reid.models.grl import GradientReversal


def _mlp(dim: int, hidden: int, out: int, dropout: float | None) -> nn.Sequential:
    layers: list[nn.Module] = []
    for c_in in (dim, hidden):
        layers += [nn.Linear(c_in, hidden), nn.BatchNorm1d(hidden), nn.LeakyReLU(0.1)]
        if dropout is not None:
            layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(hidden, out))
    for m in layers:
        if isinstance(m, nn.Linear):
            nn.init.kaiming_normal_(m.weight, a=0.1)
            nn.init.zeros_(m.bias)
    return nn.Sequential(*layers)


class IhdaNet(nn.Module):
    """E1 (``backbone``), E2 (``sketch_backbone``), identity / attribute / domain heads."""

    def __init__(
        self,
        backbone: nn.Module,
        num_classes: int,
        num_attributes: int,
        s: IhdaSection,
    ) -> None:
        super().__init__()
        dim = backbone.out_channels
        self.backbone, self.sketch_backbone = backbone, copy.deepcopy(backbone)
        self.bn = nn.BatchNorm1d(dim)
        self.bn.bias.requires_grad_(False)
        self.drop = nn.Dropout(s.id_dropout if s.step == 2 else 0.0)
        self.classifier = nn.Linear(dim, num_classes) if num_classes > 0 else None
        self.attribute_head = _mlp(dim, s.att_hidden, num_attributes, s.att_dropout)
        self.domain_head = _mlp(dim, s.domain_hidden, 3, None)
        self.grl = GradientReversal(0.0)
        self.dim = dim

    def features(self, x: torch.Tensor, sketch: bool = False) -> torch.Tensor:
        """GAP feature (N, D) of images x (N, 3, H, W) through E2 (``sketch``) or E1."""
        net = self.sketch_backbone if sketch else self.backbone
        return F.adaptive_avg_pool2d(net(x), 1).flatten(1)

    def features_pair(
        self, x: torch.Tensor, sketch: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(f1, f2): GAP of the penultimate stage (N, D3) (ResNet layer3, the released code's
        f1) and of the last stage (N, D) (= :meth:`features`)."""
        net = self.sketch_backbone if sketch else self.backbone
        mid, last = net.stages(x)
        return (
            F.adaptive_avg_pool2d(mid, 1).flatten(1),
            F.adaptive_avg_pool2d(last, 1).flatten(1),
        )

    def id_logits(self, g: torch.Tensor) -> torch.Tensor:
        """Identity logits (N, num_classes) of features g (N, D)."""
        if self.classifier is None:
            raise UserError("this IHDA network has no identity classifier (built for inference)")
        return self.classifier(self.drop(self.bn(g)))

    def domain_logits(self, g: torch.Tensor) -> torch.Tensor:
        """3-domain logits (N, 3) of C_d(GRL(g)); g's gradient is reversed and scaled."""
        return self.domain_head(self.grl(g))

    def forward(self, x: torch.Tensor, modality: torch.Tensor | None = None) -> torch.Tensor:
        """Test embedding BN(E feature), (N, D), of images x (N, 3, H, W).

        ``modality`` (N,) or scalar: 0 = photo (E1), 1 = sketch (E2), the codes of
        ``extra["modality"]``, so modality-aware evaluators (PKU-Sketch, QMUL) route each image
        to its own encoder; None embeds every image with E1.
        """
        if modality is None:
            return self.bn(self.features(x))
        mod = torch.as_tensor(modality, device=x.device).expand(len(x))
        if ((mod != 0) & (mod != 1)).any():
            raise ValueError(f"IHDA modality must be 0 (photo) or 1 (sketch), got {mod.tolist()}")
        is_sketch = mod == 1
        if is_sketch.all() or not is_sketch.any():
            return self.bn(self.features(x, sketch=bool(is_sketch.any())))
        gp = self.features(x[~is_sketch])
        gk = self.features(x[is_sketch], sketch=True)
        g = gp.new_empty(len(x), gp.shape[1])
        g[~is_sketch], g[is_sketch] = gp, gk.to(gp.dtype)
        return self.bn(g)

    def forward_sketch(self, x: torch.Tensor) -> torch.Tensor:
        """Sketch test embedding: BN(E2 feature), (N, D)."""
        return self.bn(self.features(x, sketch=True))
