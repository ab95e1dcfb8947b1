"""Image transforms: PIL RGB image -> normalised float tensor (3, H, W).

Random ops draw from torch's global generator (seeded per epoch/worker by the engine), so
runs are reproducible.
"""

from __future__ import annotations

import math

import torch
import torchvision.transforms.v2 as T
from PIL import Image, ImageFilter, ImageOps

from core.errors import UserError
from reid.config import DataConfig

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class RandomErasing:
    """Random erasing (Zhong et al. 2020) on a (3, H, W) tensor in [0, 1], before normalisation.

    With probability ``prob`` try up to 100 rectangles of area in [area_min, area_max] * H * W
    and aspect (h / w) log-uniform in [aspect_min, 1 / aspect_min]; the first that fits is
    filled at its sampled top-left corner (ST-ReIDNet's code pasted at a fixed offset instead,
    a bug, seeds 6.b). ``fill`` "random": per-pixel uniform noise; "mean": the ImageNet mean.
    """

    def __init__(
        self,
        prob: float = 0.5,
        area_min: float = 0.02,
        area_max: float = 0.4,
        aspect_min: float = 0.3,
        fill: str = "random",
    ) -> None:
        if fill not in ("random", "mean"):
            raise ValueError(f"erase fill must be 'random' or 'mean', got {fill!r}")
        self.prob, self.area = prob, (area_min, area_max)
        self.log_aspect = (math.log(aspect_min), -math.log(aspect_min))
        self.fill = fill

    def __call__(self, img: torch.Tensor) -> torch.Tensor:
        if self.prob <= 0 or torch.rand(()) >= self.prob:
            return img
        _, h, w = img.shape
        for _ in range(100):
            area = h * w * float(torch.empty(()).uniform_(*self.area))
            aspect = math.exp(float(torch.empty(()).uniform_(*self.log_aspect)))
            eh, ew = round(math.sqrt(area * aspect)), round(math.sqrt(area / aspect))
            if 0 < eh < h and 0 < ew < w:
                y = int(torch.randint(0, h - eh + 1, ()))
                x = int(torch.randint(0, w - ew + 1, ()))
                img = img.clone()
                if self.fill == "random":
                    img[:, y : y + eh, x : x + ew] = torch.rand(3, eh, ew)
                else:
                    img[:, y : y + eh, x : x + ew] = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
                return img
        return img


class RandomSizedRectCrop:
    """ECN's crop of a PIL image: up to 10 tries of area fraction U(area) and aspect h/w
    U(aspect); the first that fits is cut at a uniform position and resized to (height, width);
    otherwise the whole image is resized. Draws from torch's global generator."""

    def __init__(
        self,
        height: int,
        width: int,
        area: tuple[float, float] = (0.64, 1.0),
        aspect: tuple[float, float] = (2.0, 3.0),
    ) -> None:
        self.size, self.area, self.aspect = (width, height), area, aspect

    def __call__(self, img: Image.Image) -> Image.Image:
        w, h = img.size
        for _ in range(10):
            area = h * w * float(torch.empty(()).uniform_(*self.area))
            aspect = float(torch.empty(()).uniform_(*self.aspect))
            ch, cw = round(math.sqrt(area * aspect)), round(math.sqrt(area / aspect))
            if 0 < cw <= w and 0 < ch <= h:
                x = int(torch.randint(0, w - cw + 1, ()))
                y = int(torch.randint(0, h - ch + 1, ()))
                return img.crop((x, y, x + cw, y + ch)).resize(self.size, Image.BILINEAR)
        return img.resize(self.size, Image.BILINEAR)


class ImageConversion:
    """What a loaded PIL RGB image becomes before any augmentation, train and test alike
    (IHDA, seeds.md 2.d): ``grayscale`` -> grey replicated to 3 channels; ``photo_edges`` ->
    photos (not sketches) as inverted edge maps (PIL FIND_EDGES, then inverted: dark lines on
    white, like a sketch). Neither: the image unchanged."""

    def __init__(self, grayscale: bool = False, photo_edges: bool = False) -> None:
        self.grayscale, self.photo_edges = grayscale, photo_edges

    def __call__(self, img: Image.Image, sketch: bool = False) -> Image.Image:
        if self.photo_edges and not sketch:
            return ImageOps.invert(img.convert("L").filter(ImageFilter.FIND_EDGES)).convert("RGB")
        if self.grayscale:
            return img.convert("L").convert("RGB")
        return img


def image_conversion(data_cfg: DataConfig) -> ImageConversion:
    """:class:`ImageConversion` with the ``data.grayscale`` / ``data.photo_edges`` settings."""
    return ImageConversion(data_cfg.grayscale, data_cfg.photo_edges)


def random_erasing(data_cfg: DataConfig) -> RandomErasing:
    """:class:`RandomErasing` with the ``data.erase_*`` settings."""
    return RandomErasing(
        data_cfg.erase_prob,
        data_cfg.erase_area_min,
        data_cfg.erase_area_max,
        data_cfg.erase_aspect_min,
        data_cfg.erase_fill,
    )


def build_train_transform(data_cfg: DataConfig, rotation_deg: float = 0.0) -> T.Compose:
    """Training augmentation: crop (``data.crop``: "rect" = random-sized rectangle crop and
    resize; "pad" = resize, then pad + random crop when ``data.pad`` > 0), h-flip, a random
    rotation in +-``rotation_deg`` (before the pad crop, as IHDA's target images), colour jitter
    (``data.color_jitter``), random erasing, ImageNet normalisation."""
    if data_cfg.crop not in ("pad", "rect"):
        raise UserError(
            f"data.crop must be 'pad' or 'rect', got {data_cfg.crop!r}; set one of them"
        )
    size = (data_cfg.height, data_cfg.width)
    ops: list = []
    if data_cfg.crop == "rect":
        area, aspect = (
            (data_cfg.crop_area_min, 1.0),
            (data_cfg.crop_aspect_min, data_cfg.crop_aspect_max),
        )
        ops.append(RandomSizedRectCrop(data_cfg.height, data_cfg.width, area, aspect))
    ops += [
        T.ToImage(),
        T.Resize(size, antialias=True),
        T.RandomHorizontalFlip(data_cfg.hflip_prob),
    ]
    if data_cfg.crop == "pad" and data_cfg.pad > 0:
        ops.append(T.Pad(data_cfg.pad))
    if rotation_deg > 0:
        ops.append(T.RandomRotation(rotation_deg))
    if data_cfg.crop == "pad" and data_cfg.pad > 0:
        ops.append(T.RandomCrop(size))
    if data_cfg.color_jitter > 0:
        j = data_cfg.color_jitter
        ops.append(T.ColorJitter(brightness=j, contrast=j, saturation=j, hue=j))
    ops += [
        T.ToDtype(torch.float32, scale=True),
        random_erasing(data_cfg),
        T.Normalize(IMAGENET_MEAN, IMAGENET_STD),
    ]
    return T.Compose(ops)


def build_test_transform(height: int, width: int) -> T.Compose:
    """Resize and normalise only."""
    return T.Compose(
        [
            T.ToImage(),
            T.Resize((height, width), antialias=True),
            T.ToDtype(torch.float32, scale=True),
            T.Normalize(IMAGENET_MEAN, IMAGENET_STD),
        ]
    )


def load_image(path: str) -> Image.Image:
    """An image file as a PIL RGB image."""
    with Image.open(path) as img:
        return img.convert("RGB")
