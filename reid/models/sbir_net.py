"""Zero-shot SBIR networks (seeds.md 4.b): two non-shared encoders and the domain classifier.

Each encoder is DenseNet-121 ``features`` + global max pool -> 1024-d (the reference's
MaxPool2d(7) at 224x224), or the ``tiny`` CNN for tests. The domain classifier D
([Linear-BN-ReLU] x 4 -> Linear -> 1 logit) sits behind the method's gradient reversal layer.
"""

from __future__ import annotations

import torch
from torch import nn

from reid.models.backbones import TinyCNN, torchvision_model


class SbirEncoder(nn.Module):
    """Backbone feature map -> global max pool -> (N, dim) embedding (no head, no norm)."""

    def __init__(self, backbone: str, imagenet: bool) -> None:
        super().__init__()
        if backbone == "densenet121":
            self.body, self.dim = torchvision_model("densenet121", imagenet).features, 1024
        elif backbone == "tiny":
            self.body = TinyCNN(2)
            self.dim = self.body.out_channels
        else:
            raise ValueError(f"sbir backbone must be 'densenet121' or 'tiny', got {backbone!r}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (N,3,H,W) -> (N, dim)."""
        return torch.amax(self.body(x), dim=(2, 3))


class DomainClassifier(nn.Module):
    """[Linear(d, d)-BN-ReLU] x 4 -> Linear(d, 1): logit of "photo" (sketch = 0)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for _ in range(4):
            layers += [nn.Linear(dim, dim), nn.BatchNorm1d(dim), nn.ReLU(inplace=True)]
        self.net = nn.Sequential(*layers, nn.Linear(dim, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(1)


class SbirNet(nn.Module):
    """Both encoders; ``forward`` embeds photos, :meth:`embed_sketch` sketches."""

    def __init__(self, backbone: str, imagenet: bool) -> None:
        super().__init__()
        self.sketch = SbirEncoder(backbone, imagenet)
        self.photo = SbirEncoder(backbone, imagenet)
        self.dim = self.photo.dim

    def embed_sketch(self, x: torch.Tensor) -> torch.Tensor:
        return self.sketch(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.photo(x)
