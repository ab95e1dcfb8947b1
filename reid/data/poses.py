"""Pose inputs of ST-ReIDNet (seeds.md 6.c): keypoints, Gaussian heatmaps, skeleton masks.

Keypoints are COCO-17 (x, y) in pixels of the image they belong to, array (17, 2) float32 with
NaN rows for missing keypoints. Pixel (row i, column j) sits at coordinate (x=j, y=i), the
convention of pose estimators' integer pixel outputs. A keypoint is missing when it is NaN,
negative, exactly (0, 0) (the "undetected" marker of pose-tracker dumps) or outside the image.

Keypoints come from the dataset (DanceReID ``poses/*.txt``, ``Sample.extra["pose"]``) or, for
datasets without them, from an ultralytics pose model run once and cached as ``.npy``.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np
import torch
import torchvision.transforms.v2.functional as TF
from torch.utils.data import DataLoader, Dataset

from core.errors import UserError
from core.files import atomic_path
from core.notify import notice
from reid.config import DataConfig, PoseConfig
from reid.data.dancereid import read_pose
from reid.data.datasets import Sample
from reid.data.loader import epoch_loader
from reid.data.samplers import build_sampler
from reid.data.transforms import IMAGENET_MEAN, IMAGENET_STD, load_image, random_erasing

NUM_KEYPOINTS = 17
NOSE = 0
#: COCO-17 limbs as (a, b, thick): head and limbs thin, torso and neck thick (seeds 6.c).
LIMBS = (
    (0, 1, False), (0, 2, False), (1, 3, False), (2, 4, False),  # head
    (5, 7, False), (7, 9, False), (6, 8, False), (8, 10, False),  # arms
    (11, 13, False), (13, 15, False), (12, 14, False), (14, 16, False),  # legs
    (5, 6, True), (11, 12, True), (5, 11, True), (6, 12, True),  # torso
    (0, 5, True), (0, 6, True),  # neck
)  # fmt: skip


def valid_keypoints(kpts: np.ndarray, height: int, width: int) -> np.ndarray:
    """(K,) bool: keypoint (K, 2) present and inside an image of ``height`` x ``width`` px."""
    x, y = kpts[:, 0], kpts[:, 1]
    with np.errstate(invalid="ignore"):
        inside = (x >= 0) & (y >= 0) & (x <= width - 1) & (y <= height - 1)
    return np.isfinite(kpts).all(1) & inside & ~((x == 0) & (y == 0))


def pose_heatmaps(kpts: np.ndarray, height: int, width: int, sigma: float) -> np.ndarray:
    """(K, H, W) float32 heatmaps: a Gaussian of ``sigma`` px at each keypoint, peak 1.

    Args:
        kpts: (K, 2) keypoints (x, y) in pixels of the H x W image; missing ones give a zero
            channel.
    """
    ok = valid_keypoints(kpts, height, width)
    xs = np.arange(width, dtype=np.float32)
    ys = np.arange(height, dtype=np.float32)
    k = np.where(ok[:, None], kpts, 0.0).astype(np.float32)
    gx = np.exp(-((xs[None, :] - k[:, :1]) ** 2) / (2 * sigma**2))  # (K, W)
    gy = np.exp(-((ys[None, :] - k[:, 1:]) ** 2) / (2 * sigma**2))  # (K, H)
    maps = gy[:, :, None] * gx[:, None, :]
    peak = maps.reshape(len(k), -1).max(1).clip(min=1e-12)
    return (maps / peak[:, None, None] * ok[:, None, None]).astype(np.float32)


def skeleton_mask(kpts: np.ndarray, height: int, width: int) -> np.ndarray:
    """(H, W) float32 binary mask: filled circles at keypoints and thick limb lines.

    Sizes follow the paper at 256 px height (circle radius 10, nose 20; limb thickness 20,
    torso/neck 30) and scale with ``height``.
    """
    ok = valid_keypoints(kpts, height, width)
    scale = height / 256.0
    mask = np.zeros((height, width), np.uint8)
    pts = np.where(ok[:, None], kpts, 0.0).round().astype(np.int32)
    for i in np.flatnonzero(ok):
        radius = max(1, round((20 if i == NOSE else 10) * scale))
        cv2.circle(mask, (int(pts[i, 0]), int(pts[i, 1])), radius, 1, thickness=-1)
    for a, b, thick in LIMBS:
        if ok[a] and ok[b]:
            t = max(1, round((30 if thick else 20) * scale))
            cv2.line(mask, tuple(map(int, pts[a])), tuple(map(int, pts[b])), 1, thickness=t)
    return mask.astype(np.float32)


# -- keypoint sources ------------------------------------------------------------------------


def keypoint_cache_path(samples: Sequence[Sample], cache_dir: str | None) -> Path:
    """The .npy file caching detected keypoints of ``samples`` (named by a hash of their paths)
    in ``cache_dir``, or in ``.keypoints`` beside the images."""
    paths = [s.path for s in samples]
    digest = hashlib.sha1("\n".join(paths).encode()).hexdigest()[:16]
    folder = Path(cache_dir) if cache_dir else Path(os.path.commonpath(paths)) / ".keypoints"
    return folder / f"keypoints_{digest}.npy"


def _detect_keypoints(paths: Sequence[str], weights: str, min_conf: float) -> np.ndarray:
    """(N, 17, 2) keypoints of the largest person per image from an ultralytics pose model."""
    from ultralytics import YOLO

    model = YOLO(weights)
    out = np.full((len(paths), NUM_KEYPOINTS, 2), np.nan, np.float32)
    for i, result in enumerate(model.predict(list(paths), stream=True, verbose=False)):
        kp = result.keypoints
        if kp is None or kp.xy.shape[0] == 0:
            continue
        wh = result.boxes.xywh[:, 2:].prod(1).cpu().numpy()
        j = int(np.argmax(wh))
        xy = kp.xy[j].cpu().numpy()
        conf = kp.conf[j].cpu().numpy() if kp.conf is not None else np.ones(len(xy))
        out[i] = np.where((conf >= min_conf)[:, None], xy, np.nan)
    return out


def load_keypoints(
    samples: Sequence[Sample],
    keypoint_model: str | None = None,
    cache_dir: str | None = None,
    min_confidence: float = 0.3,
) -> np.ndarray:
    """(N, 17, 2) float32 keypoints of ``samples`` in their images' pixels (NaN = missing).

    Dataset pose files (``extra["pose"]``) are read when every sample has one; otherwise the
    cache is loaded, or ``keypoint_model`` (ultralytics pose weights, e.g. ``yolo11n-pose.pt``)
    runs once and fills it.

    Raises:
        UserError: no pose files, no cache and no usable ``keypoint_model``.
    """
    pose_files = [(s.extra or {}).get("pose") for s in samples]
    if all(pose_files):
        return np.stack([read_pose(p) for p in pose_files])
    cache = keypoint_cache_path(samples, cache_dir)
    if cache.is_file():
        kpts = np.load(cache)
        if kpts.shape == (len(samples), NUM_KEYPOINTS, 2):
            return kpts.astype(np.float32)
    if not keypoint_model:
        missing = sum(p is None for p in pose_files)
        raise UserError(
            f"st-reidnet needs body keypoints but {missing} training images have no pose file "
            f"and no cache {cache} exists; set pose.keypoint_model to ultralytics pose weights "
            "(a local yolo11n-pose.pt, or that name to download it when online)"
        )
    if os.sep in keypoint_model and not Path(keypoint_model).is_file():
        raise UserError(
            f"pose.keypoint_model {keypoint_model} does not exist; pass a local ultralytics "
            "pose weights file such as yolo11n-pose.pt"
        )
    notice(
        f"detecting keypoints of {len(samples)} images with {keypoint_model} "
        f"(once; cached in {cache})"
    )
    try:
        kpts = _detect_keypoints([s.path for s in samples], keypoint_model, min_confidence)
    except (OSError, RuntimeError, ConnectionError) as exc:
        raise UserError(
            f"pose model {keypoint_model} could not run ({str(exc).splitlines()[0][:100]}); "
            "pass a local ultralytics pose weights file as pose.keypoint_model"
        ) from None
    cache.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(cache) as tmp:
        np.save(tmp, kpts)
    return kpts


# -- training data ---------------------------------------------------------------------------


class PoseBatch(NamedTuple):
    """A collated ST-ReIDNet batch of B images (B = 3b: anchors | positives | negatives).

    images (B,3,H,W) ImageNet-normalised, erased (E's input); targets (B,3,H,W) in [-1, 1],
    not erased (G's targets, D's reals); heatmaps (B,17,H,W) in [0, 1]; masks (B,1,H,W) {0,1};
    pids, camids, index (B,) int64.
    """

    images: torch.Tensor
    targets: torch.Tensor
    heatmaps: torch.Tensor
    masks: torch.Tensor
    pids: torch.Tensor
    camids: torch.Tensor
    index: torch.Tensor


class PoseDataset(Dataset):
    """Resize, joint h-flip of image/heatmaps/mask, random erasing of E's input only.

    Keypoint channels are not swapped left/right on a flip (as the original code).
    """

    def __init__(
        self,
        samples: Sequence[Sample],
        keypoints: np.ndarray,
        data_cfg: DataConfig,
        pose_cfg: PoseConfig,
    ) -> None:
        if len(keypoints) != len(samples):
            raise ValueError(f"{len(keypoints)} keypoint sets for {len(samples)} samples")
        self.samples, self.keypoints = list(samples), keypoints
        self.h, self.w = data_cfg.height, data_cfg.width
        self.hflip_prob = data_cfg.hflip_prob
        self.pose_cfg = pose_cfg
        self.eraser = random_erasing(data_cfg)

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int) -> PoseBatch:
        s = self.samples[i]
        pil = load_image(s.path)
        kpts = self.keypoints[i] * np.array([self.w / pil.width, self.h / pil.height], np.float32)
        img = TF.to_dtype(TF.to_image(pil), torch.float32, scale=True)
        img = TF.resize(img, [self.h, self.w], antialias=True)
        sigma = self.pose_cfg.sigma * self.h / 256.0
        if self.pose_cfg.aug == "gauss":
            sigma += float(torch.randint(-1, 2, ())) * self.h / 256.0
        heat = torch.from_numpy(pose_heatmaps(kpts, self.h, self.w, sigma))
        mask = torch.from_numpy(skeleton_mask(kpts, self.h, self.w))[None]
        if float(torch.rand(())) < self.hflip_prob:
            img, heat, mask = img.flip(-1), heat.flip(-1), mask.flip(-1)
        erased = TF.normalize(self.eraser(img), list(IMAGENET_MEAN), list(IMAGENET_STD))
        return PoseBatch(erased, img * 2 - 1, heat, mask, s.pid, s.camid, i)


def build_pose_loader(
    samples: Sequence[Sample],
    keypoints: np.ndarray,
    data_cfg: DataConfig,
    pose_cfg: PoseConfig,
    seed: int,
) -> DataLoader:
    """Training loader of :class:`PoseBatch` with the configured (triplet) batch sampler."""
    if pose_cfg.aug not in ("gauss", "none"):
        raise UserError(
            f"pose.aug must be 'gauss' or 'none', got {pose_cfg.aug!r}; set one of them"
        )
    return epoch_loader(
        PoseDataset(samples, keypoints, data_cfg, pose_cfg),
        build_sampler(samples, data_cfg, seed),
        data_cfg.workers,
    )
