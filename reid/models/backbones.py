"""Backbones: (N, 3, H, W) normalised images -> (N, C, h, w) feature maps.

Registry ``BACKBONES``: name -> factory ``(last_stride: int, imagenet: bool) -> nn.Module`` with
an ``out_channels`` attribute. ImageNet weights come from torchvision's cache/download; when
that fails (offline) a one-line notice is printed and the backbone stays randomly initialised.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torchvision
from torch import nn

from core.errors import UserError
from core.notify import notice
from core.registry import Registry

BACKBONES: Registry[Callable[..., nn.Module]] = Registry("backbone")


class _ResNetTrunk(nn.Module):
    """A torchvision ResNet without its pooling and classifier."""

    def __init__(self, net: torchvision.models.ResNet, last_stride: int) -> None:
        super().__init__()
        if last_stride not in (1, 2):
            raise UserError(f"model.last_stride must be 1 or 2, got {last_stride}")
        block = net.layer4[0]
        # Bottleneck strides its 3x3 conv2, BasicBlock its conv1; the shortcut follows suit.
        strided = (
            block.conv2 if isinstance(block, torchvision.models.resnet.Bottleneck) else block.conv1
        )
        strided.stride = (last_stride, last_stride)
        if block.downsample is not None:
            block.downsample[0].stride = (last_stride, last_stride)
        self.stem = nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool)
        self.layers = nn.Sequential(net.layer1, net.layer2, net.layer3, net.layer4)
        self.out_channels = net.fc.in_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(self.stem(x))


def torchvision_model(arch: str, imagenet: bool) -> nn.Module:
    """torchvision's ``arch`` (e.g. "resnet50", "densenet121"), with its ImageNet weights when
    ``imagenet`` and they can be loaded, else randomly initialised (with a notice)."""
    builder = getattr(torchvision.models, arch)
    if imagenet:
        try:
            return builder(weights="IMAGENET1K_V1")
        except (OSError, RuntimeError) as exc:  # URLError is an OSError
            reason = str(exc).splitlines()[0][:120]
            notice(
                f"ImageNet weights for {arch} unavailable ({reason}); using random init "
                f"(pass a local .pth as `pretrained`)"
            )
    return builder(weights=None)


@BACKBONES.register("resnet50")
def resnet50(last_stride: int = 1, imagenet: bool = True) -> nn.Module:
    """ResNet-50, 2048 channels, output stride 16 (last_stride 1) or 32."""
    return _ResNetTrunk(torchvision_model("resnet50", imagenet), last_stride)


@BACKBONES.register("resnet18")
def resnet18(last_stride: int = 1, imagenet: bool = True) -> nn.Module:
    """ResNet-18, 512 channels."""
    return _ResNetTrunk(torchvision_model("resnet18", imagenet), last_stride)


class TinyCNN(nn.Module):
    """Four conv-BN-ReLU stages (16-32-48-64 channels) for tests and smoke runs."""

    def __init__(self, last_stride: int = 1) -> None:
        super().__init__()
        chans, strides, layers, c_in = (16, 32, 48, 64), (2, 2, 2, last_stride), [], 3
        for c, s in zip(chans, strides, strict=True):
            layers += [
                nn.Conv2d(c_in, c, 3, s, 1, bias=False),
                nn.BatchNorm2d(c),
                nn.ReLU(inplace=True),
            ]
            c_in = c
        self.body = nn.Sequential(*layers)
        self.out_channels = c_in

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


@BACKBONES.register("tiny")
def tiny(last_stride: int = 1, imagenet: bool = True) -> nn.Module:
    """:class:`TinyCNN` (``imagenet`` is ignored: it has no pretrained weights)."""
    return TinyCNN(last_stride)


def build_backbone(name: str, last_stride: int, imagenet: bool) -> nn.Module:
    """The backbone registered as ``name``."""
    return BACKBONES.get(name)(last_stride=last_stride, imagenet=imagenet)


def load_pretrained(backbone: nn.Module, path: str) -> int:
    """Load backbone weights from a local file; returns the number of tensors loaded.

    Accepts a torchvision ResNet state dict (``conv1.*``, ``layer1.*``...; ``fc.*`` ignored), a
    plain state dict of this backbone, or a checkpoint of this library (its model's
    ``backbone.*`` tensors). Raises :class:`UserError` when nothing matches.
    """
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError) as exc:
        raise UserError(
            f"cannot read pretrained weights {path}: {exc}; pass a .pth state dict"
        ) from None
    if isinstance(state, dict) and "modules" in state:  # our checkpoint
        state = {
            k[len("backbone.") :]: v
            for k, v in state["modules"]["model"].items()
            if k.startswith("backbone.")
        }
    elif isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    state = {k.removeprefix("module."): v for k, v in state.items()}
    if isinstance(backbone, _ResNetTrunk):
        renamed = {}
        for k, v in state.items():
            if k.split(".")[0] in ("conv1", "bn1"):
                k = {"conv1": "stem.0", "bn1": "stem.1"}[k.split(".")[0]] + k[k.index(".") :]
            elif k.startswith("layer"):
                k = f"layers.{int(k[5]) - 1}{k[6:]}"
            renamed[k] = v
        state = renamed
    own = backbone.state_dict()
    usable = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    if not usable:
        raise UserError(
            f"pretrained weights {path} match none of the backbone's tensors; "
            f"pass weights of the same architecture"
        )
    backbone.load_state_dict(usable, strict=False)
    return len(usable)
