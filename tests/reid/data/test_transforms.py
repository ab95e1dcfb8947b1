"""Training transforms: random erasing, the methods' crops, grey images and edge maps."""

from __future__ import annotations

import numpy as np
import torch
import torchvision.transforms.v2 as T
from PIL import Image, ImageFilter, ImageOps

from reid.config import IhdaConfig, ReidConfig
from reid.data import RandomErasing
from reid.data.transforms import (
    ImageConversion,
    RandomSizedRectCrop,
    build_train_transform,
    image_conversion,
)


def test_random_erasing_pastes_a_rectangle_at_varied_positions():
    torch.manual_seed(0)
    eraser = RandomErasing(prob=1.0, area_min=0.05, area_max=0.1, fill="mean")
    corners = set()
    for _ in range(20):
        img = torch.ones(3, 64, 32)
        out = eraser(img)
        changed = (out != img).any(0).numpy()
        ys, xs = np.nonzero(changed)
        assert changed.sum() == (np.ptp(ys) + 1) * (np.ptp(xs) + 1)  # one filled rectangle
        assert 0.03 * 64 * 32 <= changed.sum() <= 0.12 * 64 * 32
        corners.add((ys.min(), xs.min()))
    assert len(corners) > 10  # not pasted at a fixed place (the original code's bug)


def _ops(transform) -> list[type]:
    return [type(op) for op in transform.transforms]


def test_baseline_augmentation_is_the_rectangle_crop_and_the_eraser():
    """ST-ReIDNet's baseline: random-sized rectangle crop (no pad crop), eraser p 0.75."""
    t = build_train_transform(ReidConfig().data)
    assert RandomSizedRectCrop in _ops(t) and T.RandomCrop not in _ops(t)
    eraser = next(op for op in t.transforms if isinstance(op, RandomErasing))
    assert (eraser.prob, eraser.area) == (0.75, (0.02, 0.2))
    torch.manual_seed(0)
    out = t(Image.new("RGB", (50, 120), (200, 30, 30)))
    assert out.shape == (3, 256, 128)


def test_ihda_grey_jitter_and_target_rotation():
    data = IhdaConfig().data
    source, target = build_train_transform(data), build_train_transform(data, 15.0)
    assert T.ColorJitter in _ops(source) and T.RandomRotation not in _ops(source)
    rotation = next(op for op in target.transforms if isinstance(op, T.RandomRotation))
    assert list(rotation.degrees) == [-15.0, 15.0]
    # grey, 3 equal channels, before augmentation (train) and at test
    rgb = Image.new("RGB", (16, 32), (200, 30, 30))
    grey = np.asarray(image_conversion(data)(rgb))
    assert grey.shape == (32, 16, 3) and (grey == grey[..., :1]).all()
    assert grey[0, 0, 0] == round(0.299 * 200 + 0.587 * 30 + 0.114 * 30)


def test_photo_edge_maps_leave_sketches_alone():
    """IHDA's shoes: photos become inverted FIND_EDGES maps (dark lines on white)."""
    img = Image.new("RGB", (32, 32), "white")
    img.paste((0, 0, 0), (8, 8, 24, 24))
    convert = ImageConversion(photo_edges=True)
    edges = np.asarray(convert(img))
    expected = np.asarray(ImageOps.invert(img.convert("L").filter(ImageFilter.FIND_EDGES)))
    assert (edges[..., 0] == expected).all() and (edges == edges[..., :1]).all()
    assert edges[16, 16, 0] == 255 and edges[7:9, 16, 0].min() < 128  # flat inside, line at edge
    assert convert(img, sketch=True) is img
