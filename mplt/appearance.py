"""Appearance features for re-identification: rectified person crops and embedders.

:func:`extract_crops` cuts each person out of the frame as an upright perspective view
(through :func:`mplt.geometry.rectified_crop_maps`, so a person across the panorama's seam
or tilted near the nadir comes out whole and upright). An :class:`Embedder` turns crops into
L2-normalised feature vectors whose cosine similarity says "same person".

The built-in :class:`ColourEmbedder` needs no weights: colour histograms of six horizontal
body stripes (head ... feet). :class:`ImagenetEmbedder` uses ImageNet features of a backbone
whose weights install with the package (``mplt[offline]``); :class:`ReidEmbedder` a trained
re-ID model; :class:`FusedEmbedder` the colour statistics and a re-ID model side by side (the
re-tracking of ``mplt track --adapt``). All are registered in :data:`EMBEDDERS`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import cv2
import numpy as np

from core.errors import UserError
from core.registry import Registry
from mplt.geometry import rectified_crop_maps

if TYPE_CHECKING:
    import torch

    from mplt.config import EmbedderConfig
    from mplt.geometry import Camera

#: cv2.remap refuses destination images with 32767 rows or more.
_MAX_REMAP_ROWS = 32000


@runtime_checkable
class Embedder(Protocol):
    """Appearance features of the people in a frame.

    Attributes:
        name: what runs, e.g. ``"colour"``, for the run summary.
        dim: feature length D.
        camera: the camera of the frames (its rays rectify the crops); replaced when the
            camera's tilt is estimated during a run.
    """

    name: str
    dim: int
    camera: Camera | None
    #: whether :meth:`embed` uses a ``foreground`` mask (the pipeline builds one only then;
    #: an embedder without this attribute is called without it)
    uses_foreground: bool

    def embed(
        self, frame: np.ndarray, boxes: np.ndarray, foreground: np.ndarray | None = None
    ) -> np.ndarray:
        """Features of each box.

        Args:
            frame: ``(H, W, 3)`` RGB uint8.
            boxes: ``(N, 4)`` xyxy pixels (seam-unwrapped on a panorama); N may be 0.
            foreground: optional ``(H, W)`` uint8 mask of ``frame``, 255 where something
                moves (:attr:`mplt.feet.FootFinder.foreground`); embedders that can use it
                leave the background out, the others ignore it.

        Returns:
            ``(N, D)`` float32, rows L2-normalised.
        """
        ...


#: ``embedder.kind`` -> builder ``(cfg: EmbedderConfig, camera: Camera | None) -> Embedder``,
#: or None for ``none`` (no appearance features: motion alone matches).
EMBEDDERS: Registry[Callable[[EmbedderConfig, Camera | None], Embedder | None]] = Registry(
    "embedder.kind"
)


def _axis_aligned_maps(
    boxes: np.ndarray, out_hw: tuple[int, int], margin: float
) -> tuple[np.ndarray, np.ndarray]:
    """Remap maps of crops centred on the boxes, height ``(1 + margin)`` box heights, aspect
    of ``out_hw`` (for an uncalibrated image, where no rays are known)."""
    h, w = out_hw
    centre = 0.5 * (boxes[:, :2] + boxes[:, 2:])  # (N, 2)
    crop_h = (boxes[:, 3] - boxes[:, 1]) * (1.0 + margin)
    step = (crop_h / h)[:, None]  # source pixels per crop pixel, square
    cols = (np.arange(w) + 0.5 - 0.5 * w)[None, :] * step + centre[:, :1] - 0.5
    rows = (np.arange(h) + 0.5 - 0.5 * h)[None, :] * step + centre[:, 1:] - 0.5
    map_x = np.broadcast_to(cols[:, None, :], (len(boxes), h, w))
    map_y = np.broadcast_to(rows[:, :, None], (len(boxes), h, w))
    return map_x.astype(np.float32), map_y.astype(np.float32)


#: relative enlargement of each box's vertical extent in a crop
CROP_MARGIN = 0.1


def crop_maps(
    camera: Camera | None, boxes: np.ndarray, out_hw: tuple[int, int], margin: float
) -> tuple[np.ndarray, np.ndarray, bool]:
    """``cv2.remap`` maps ``(N, h, w)`` of the crops of :func:`extract_crops`, and whether
    their columns wrap around (a panorama's seam)."""
    if camera is None:
        return (*_axis_aligned_maps(boxes, out_hw, margin), False)
    # map_x is wrapped into [0, W) on a panorama: sampling must wrap across the seam
    return (*rectified_crop_maps(camera, boxes, out_hw, margin), camera.x_period is not None)


def extract_crops(
    frame: np.ndarray,
    camera: Camera | None,
    boxes: np.ndarray,
    out_hw: tuple[int, int] = (128, 64),
    margin: float = CROP_MARGIN,
) -> np.ndarray:
    """Upright crops of people, seam-aware on panoramas.

    Args:
        frame: ``(H, W, 3)`` RGB uint8 image of ``camera`` (or ``(H, W)``: one channel,
            such as a mask).
        camera: the camera of ``frame``; None for an uncalibrated image (plain axis-aligned
            crops).
        boxes: ``(N, 4)`` xyxy pixels (seam-unwrapped on a panorama).
        out_hw: crop (height, width), px.
        margin: relative enlargement of each box's vertical extent.

    Returns:
        ``(N, h, w, 3)`` uint8 RGB crops (``(N, h, w)`` of a one-channel image); N = 0 gives
        ``(0, h, w, 3)``.
    """
    h, w = int(out_hw[0]), int(out_hw[1])
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    if len(boxes) == 0:
        return np.zeros((0, h, w, *frame.shape[2:]), frame.dtype)
    return remap_crops(frame, *crop_maps(camera, boxes, (h, w), margin))


def remap_crops(image: np.ndarray, map_x: np.ndarray, map_y: np.ndarray, wrap: bool) -> np.ndarray:
    """The crops of ``image`` (``(H, W, C)`` or ``(H, W)``) along the ``(N, h, w)`` maps of
    :func:`crop_maps`: ``(N, h, w, C)`` or ``(N, h, w)`` of ``image``'s dtype. Maps computed
    once cut several images of one frame alike (a frame and its foreground mask)."""
    n, h, w = map_x.shape
    border = cv2.BORDER_WRAP if wrap else cv2.BORDER_REPLICATE
    # All crops stacked vertically: one remap call per chunk instead of one per crop.
    map_x, map_y = map_x.reshape(n * h, w), map_y.reshape(n * h, w)
    rows = max(h, _MAX_REMAP_ROWS // h * h)
    parts = [
        cv2.remap(
            image, map_x[r : r + rows], map_y[r : r + rows], cv2.INTER_LINEAR, borderMode=border
        )
        for r in range(0, n * h, rows)
    ]
    return np.concatenate(parts).reshape(n, h, w, *image.shape[2:])


def device_crops(
    frame: np.ndarray,
    camera: Camera | None,
    boxes: np.ndarray,
    out_hw: tuple[int, int],
    device: str | torch.device,
    margin: float = CROP_MARGIN,
) -> torch.Tensor:
    """The crops of :func:`extract_crops`, cut on a torch ``device`` (``grid_sample``): the
    frame goes there once, the crops stay there.

    Returns:
        ``(N, 3, h, w)`` float32 RGB in [0, 1] on ``device``.
    """
    from mplt.io.resample import frame_tensor, remap, remap_grid

    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    map_x, map_y, wrap = crop_maps(camera, boxes, out_hw, margin)
    size = (frame.shape[1], frame.shape[0])
    grid = remap_grid(map_x, map_y, size, wrap=wrap, device=device)
    return remap(frame_tensor(frame, device), grid, wrap=wrap, rows=out_hw[0]).div_(255.0)


class ColourEmbedder:
    """Colour statistics of body parts: stripes x hue/saturation (+ grey levels) histograms.

    Each crop is cut into ``stripes`` horizontal bands (head to feet). Per band, coloured
    pixels (saturation and value above thresholds) vote into ``hue_bins x sat_bins`` bins
    (hue shared linearly between the two nearest bins, so a colour on a bin edge does not
    flip), grey/black/white pixels into ``grey_bins`` brightness bins. Votes are weighted by a
    Gaussian across the crop width (the person is in the middle; the sides are background).
    Each band's histogram is normalised to sum 1, square-rooted (Hellinger) and the whole
    vector L2-normalised, so the cosine of two features is the mean Bhattacharyya
    coefficient of their bands. Given a static camera's foreground mask (:meth:`embed`), the
    background's pixels vote with ``foreground_floor`` only: on the real suite's 20 replays
    (README, *The person's colours, not the wall's*) streaming HOTA / IDF1 / ID switches 45.7
    / 69.1 / 9.8 -> 46.1 / 69.5 / 9.2.

    Args:
        camera: the frames' camera (None: uncalibrated image).
        crop_height, crop_width: rectified crop size, px.
        stripes, hue_bins, sat_bins, grey_bins: histogram layout.
        min_saturation, min_value: in [0, 1]; below either a pixel counts as grey.
        sigma: width of the foreground weight, as a fraction of the crop width.
        foreground_floor: with a foreground mask, a background pixel's vote weight (1: the
            mask is not used).
        foreground_min_px: boxes narrower than this (image pixels) ignore the mask (too
            coarse there).
        foreground_min_fill: crops less foreground than this (a young background, someone
            standing still) ignore the mask.
    """

    name = "colour"

    def __init__(
        self,
        camera: Camera | None,
        *,
        crop_height: int = 128,
        crop_width: int = 64,
        stripes: int = 6,
        hue_bins: int = 8,
        sat_bins: int = 3,
        grey_bins: int = 4,
        min_saturation: float = 0.2,
        min_value: float = 0.15,
        sigma: float = 0.25,
        foreground_floor: float = 0.2,
        foreground_min_px: float = 20.0,
        foreground_min_fill: float = 0.15,
    ) -> None:
        if min(crop_height, crop_width, stripes, hue_bins, sat_bins, grey_bins) < 1:
            raise ValueError("crop size and histogram bins must be positive")
        if not (0.0 <= foreground_floor <= 1.0 and foreground_min_px >= 0.0):
            raise UserError(
                "embedder foreground_floor must be in [0, 1] and foreground_min_px >= 0, got "
                f"{foreground_floor} and {foreground_min_px}; fix the embedder section"
            )
        self.foreground_floor = float(foreground_floor)
        self.uses_foreground = self.foreground_floor < 1.0
        self.foreground_min_px = float(foreground_min_px)
        self.foreground_min_fill = float(foreground_min_fill)
        if crop_height < stripes:
            raise ValueError(f"crop_height {crop_height} is smaller than stripes {stripes}")
        self.camera = camera
        self.crop_hw = (int(crop_height), int(crop_width))
        self.stripes, self.hue_bins, self.sat_bins = int(stripes), int(hue_bins), int(sat_bins)
        self.grey_bins = int(grey_bins)
        self.bins = self.hue_bins * self.sat_bins + self.grey_bins  # per stripe
        self.dim = self.stripes * self.bins
        self.min_saturation, self.min_value = float(min_saturation), float(min_value)
        h, w = self.crop_hw
        x = (np.arange(w) + 0.5) / w - 0.5
        self._weight = np.broadcast_to(np.exp(-0.5 * (x / sigma) ** 2), (h, w))
        self._stripe = np.broadcast_to((np.arange(h) * self.stripes // h)[:, None], (h, w))
        # Every per-pixel quantity depends on one uint8 HSV channel (or on saturation and
        # value together): lookup tables over 0..255 replace the float maths per pixel.
        level = np.arange(256) / 255.0
        pos = np.arange(256) / 256.0 * self.hue_bins - 0.5  # hue between two bin centres
        lower = np.floor(pos)
        self._frac = pos - lower
        hue0 = lower.astype(np.int64) % self.hue_bins
        # the bin indices of the two hues, in steps of a hue's saturation bins
        self._hue0 = hue0 * self.sat_bins
        self._hue1 = (hue0 + 1) % self.hue_bins * self.sat_bins
        self._sat_bin = np.clip(
            ((level - self.min_saturation) / (1.0 - self.min_saturation) * self.sat_bins).astype(
                np.int64
            ),
            0,
            self.sat_bins - 1,
        )
        self._grey = self.hue_bins * self.sat_bins + np.clip(
            (level * self.grey_bins).astype(np.int64), 0, self.grey_bins - 1
        )
        self._coloured_s, self._coloured_v = level >= self.min_saturation, level >= self.min_value

    def embed(
        self, frame: np.ndarray, boxes: np.ndarray, foreground: np.ndarray | None = None
    ) -> np.ndarray:
        """``(N, D)`` float32 unit features of the people in ``boxes`` (see :class:`Embedder`).

        With a ``foreground`` mask the background's pixels vote with ``foreground_floor``
        (a static camera: the pavement or wall behind a person is not their clothes).
        """
        boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
        if foreground is None or self.foreground_floor >= 1.0 or not len(boxes):
            return self.embed_crops(extract_crops(frame, self.camera, boxes, self.crop_hw))
        if foreground.shape != frame.shape[:2]:
            raise ValueError(f"foreground must be {frame.shape[:2]}, got {foreground.shape}")
        maps = crop_maps(self.camera, boxes, self.crop_hw, CROP_MARGIN)
        crops = remap_crops(frame, *maps)
        weights = np.ones(crops.shape[:3])
        wide = np.flatnonzero(boxes[:, 2] - boxes[:, 0] >= self.foreground_min_px)
        if len(wide):  # the mask cut exactly like their crops
            map_x, map_y, wrap = maps
            mask = remap_crops(foreground, map_x[wide], map_y[wide], wrap) / 255.0
            fill = (mask * self._weight).sum(axis=(1, 2)) / self._weight.sum()
            used = fill >= self.foreground_min_fill
            weights[wide[used]] = self.foreground_floor + (1.0 - self.foreground_floor) * mask[used]
        return self.embed_crops(crops, weights)

    def embed_crops(self, crops: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        """Features of rectified crops.

        Args:
            crops: ``(N, h, w, 3)`` RGB uint8 with ``(h, w)`` = the crop size.
            weights: optional ``(N, h, w)`` non-negative per-pixel vote weights, multiplied
                into the Gaussian across the width (e.g. a foreground mask cut like the
                crops); a band whose weights are all zero gives an empty histogram.

        Returns:
            ``(N, D)`` float32, rows L2-normalised.
        """
        n = len(crops)
        if n == 0:
            return np.zeros((0, self.dim), np.float32)
        if crops.shape[1:] != (*self.crop_hw, 3):
            raise ValueError(
                f"crops must be (N, {self.crop_hw[0]}, {self.crop_hw[1]}, 3), got {crops.shape}"
            )
        h, w = self.crop_hw
        if weights is not None and np.shape(weights) != (n, h, w):
            raise ValueError(f"weights must be ({n}, {h}, {w}), got {np.shape(weights)}")
        # HSV_FULL: hue over the whole 0..255 range rather than OpenCV's 0..179
        hsv = cv2.cvtColor(
            np.ascontiguousarray(crops).reshape(n * h, w, 3), cv2.COLOR_RGB2HSV_FULL
        ).reshape(n, h, w, 3)
        hue, sat, val = hsv[..., 0], hsv[..., 1], hsv[..., 2]
        colour = self._coloured_s[sat] & self._coloured_v[val]
        base = (np.arange(n)[:, None, None] * self.stripes + self._stripe) * self.bins
        weight = np.broadcast_to(self._weight, (n, h, w))
        if weights is not None:
            weight = weight * np.asarray(weights, np.float64)
        sat_bin = self._sat_bin[sat]
        bin_a = base + np.where(colour, self._hue0[hue] + sat_bin, self._grey[val])
        bin_b = base + self._hue1[hue] + sat_bin
        frac = self._frac[hue]
        weight_a = np.where(colour, weight * (1.0 - frac), weight)
        weight_b = np.where(colour, weight * frac, 0.0)
        size = n * self.dim
        hist = np.bincount(bin_a.ravel(), weight_a.ravel(), size)
        hist += np.bincount(bin_b.ravel(), weight_b.ravel(), size)
        hist = hist.reshape(n, self.stripes, self.bins)
        hist /= np.maximum(hist.sum(axis=2, keepdims=True), 1e-12)
        feat = np.sqrt(hist).reshape(n, self.dim)
        feat /= np.maximum(np.linalg.norm(feat, axis=1, keepdims=True), 1e-12)
        return feat.astype(np.float32)


@EMBEDDERS.register("colour")
def _colour(cfg: EmbedderConfig, camera: Camera | None) -> ColourEmbedder:
    return ColourEmbedder(
        camera,
        crop_height=cfg.crop_height,
        crop_width=cfg.crop_width,
        foreground_floor=cfg.foreground_floor,
        foreground_min_px=cfg.foreground_min_px,
    )


class EncoderEmbedder:
    """A :class:`reid.Encoder` behind the :class:`Embedder` interface.

    Crops are rectified and seam-aware like the colour embedder's, at the encoder's own input
    size, and go through the network in batches of ``batch_size`` (fp16 autocast on CUDA).
    With ``crops_on_device`` (default: when the encoder runs on CUDA) they are cut where the
    encoder runs (:func:`device_crops`) and never come back to the host.
    """

    uses_foreground = False  # the network sees whole crops, as it was trained

    def __init__(
        self,
        camera: Camera | None,
        encoder,
        name: str,
        batch_size: int = 64,
        crops_on_device: bool | None = None,
    ) -> None:
        import torch

        self.encoder = encoder
        self.camera = camera
        self.batch_size = int(batch_size)
        self.dim = encoder.dim
        self.name = name
        self.crop_hw = (encoder.height, encoder.width)
        self._autocast = encoder.device.type == "cuda"
        self.crops_on_device = self._autocast if crops_on_device is None else bool(crops_on_device)
        self._torch = torch

    def embed(
        self, frame: np.ndarray, boxes: np.ndarray, foreground: np.ndarray | None = None
    ) -> np.ndarray:
        """``(N, D)`` float32 unit features of the people in ``boxes`` (``foreground``
        unused)."""
        boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
        if len(boxes) == 0:
            return np.zeros((0, self.dim), np.float32)
        if self.crops_on_device:
            crops = device_crops(frame, self.camera, boxes, self.crop_hw, self.encoder.device)
        else:
            crops = extract_crops(frame, self.camera, boxes, self.crop_hw)
        with self._torch.autocast("cuda", dtype=self._torch.float16, enabled=self._autocast):
            parts = [
                self.encoder.embed_crops(crops[i : i + self.batch_size])
                for i in range(0, len(crops), self.batch_size)
            ]
        feat = np.concatenate(parts).astype(np.float32)
        # fp16 rounding: renormalise so the features stay exactly unit length
        return feat / np.maximum(np.linalg.norm(feat, axis=1, keepdims=True), 1e-12)


class ReidEmbedder(EncoderEmbedder):
    """A trained re-ID encoder (``mplt train``): :class:`EncoderEmbedder` of its checkpoint."""

    def __init__(
        self, camera: Camera | None, checkpoint: str, *, device: str = "auto", batch_size: int = 64
    ) -> None:
        import reid

        if not Path(checkpoint).is_file():
            raise UserError(
                f"re-ID checkpoint {checkpoint} does not exist; pass the best.pt "
                "of a `mplt train` run"
            )
        try:
            encoder = reid.load_encoder(checkpoint, device=device)
        except (reid.UserError, RuntimeError) as exc:
            raise UserError(f"cannot load re-ID checkpoint {checkpoint}: {exc}") from None
        super().__init__(camera, encoder, f"reid:{Path(checkpoint).name}", batch_size)


class ImagenetEmbedder(EncoderEmbedder):
    """ImageNet features, no re-ID training: the offline-pretrained MobileNetV2's globally
    averaged last map (:func:`reid.imagenet_encoder`) on the rectified crops."""

    def __init__(
        self,
        camera: Camera | None,
        *,
        crop_height: int = 128,
        crop_width: int = 64,
        device: str = "auto",
        batch_size: int = 64,
    ) -> None:
        import reid

        encoder = reid.imagenet_encoder("mobilenetv2", crop_height, crop_width, device)
        super().__init__(camera, encoder, "imagenet:mobilenetv2", batch_size)


def fuse_features(colour: np.ndarray, encoder: np.ndarray, colour_weight: float) -> np.ndarray:
    """``(N, Dc)`` and ``(N, De)`` unit features -> ``(N, Dc + De)`` float32 unit features whose
    cosine is ``colour_weight * cos_colour + (1 - colour_weight) * cos_encoder``."""
    if not 0.0 < colour_weight < 1.0:
        raise ValueError(f"colour_weight must be in (0, 1), got {colour_weight}")
    parts = []
    for feats, weight in ((colour, colour_weight), (encoder, 1.0 - colour_weight)):
        norm = np.maximum(np.linalg.norm(feats, axis=1, keepdims=True), 1e-12)
        parts.append(np.sqrt(weight) * feats / norm)
    return np.hstack(parts).astype(np.float32)


class FusedEmbedder:
    """Colour statistics and a re-ID encoder's features side by side.

    Features are ``[sqrt(w) * colour, sqrt(1 - w) * encoder]`` with ``w`` = ``colour_weight``
    (:func:`fuse_features`): still unit length, and the cosine of two is ``w * cos_colour +
    (1 - w) * cos_encoder``, so the tracker's appearance gates keep their meaning for any
    ``w``. Why both: the colour features hold IDs where an encoder adapted on a few hundred
    crops of one video confuses people, and the encoder separates people the histograms
    cannot (measured in ``bench/results/adapt.md``).
    """

    def __init__(
        self, colour: ColourEmbedder, encoder: EncoderEmbedder, colour_weight: float = 0.5
    ) -> None:
        if not 0.0 < colour_weight < 1.0:
            raise ValueError(f"colour_weight must be in (0, 1), got {colour_weight}")
        self.colour, self.encoder, self.colour_weight = colour, encoder, float(colour_weight)
        self.name = f"colour+{encoder.name}"
        self.dim = colour.dim + encoder.dim
        self.uses_foreground = colour.uses_foreground

    @property
    def camera(self) -> Camera | None:
        return self.colour.camera

    @camera.setter
    def camera(self, camera: Camera | None) -> None:
        self.colour.camera = self.encoder.camera = camera

    def embed(
        self, frame: np.ndarray, boxes: np.ndarray, foreground: np.ndarray | None = None
    ) -> np.ndarray:
        """``(N, D_colour + D_encoder)`` float32 unit features of the people in ``boxes``."""
        colour = self.colour.embed(frame, boxes, foreground)
        encoder = self.encoder.embed(frame, boxes)
        return fuse_features(colour, encoder, self.colour_weight)


@EMBEDDERS.register("imagenet")
def _imagenet(cfg: EmbedderConfig, camera: Camera | None) -> Embedder:
    return ImagenetEmbedder(
        camera,
        crop_height=cfg.crop_height,
        crop_width=cfg.crop_width,
        device=cfg.device,
        batch_size=cfg.batch_size,
    )


@EMBEDDERS.register("reid")
def _reid(cfg: EmbedderConfig, camera: Camera | None) -> ReidEmbedder:
    if not cfg.checkpoint:
        raise UserError(
            f"embedder.kind={cfg.kind} needs a checkpoint; pass --reid runs/reid/.../best.pt "
            "(train one with `mplt train`) or runs/x/adapt/adapted.pt (`mplt adapt`)"
        )
    return ReidEmbedder(camera, cfg.checkpoint, device=cfg.device, batch_size=cfg.batch_size)


@EMBEDDERS.register("fused")
def _fused(cfg: EmbedderConfig, camera: Camera | None) -> Embedder:
    return FusedEmbedder(_colour(cfg, camera), _reid(cfg, camera), cfg.colour_weight)


@EMBEDDERS.register("none")
def _none(cfg: EmbedderConfig, camera: Camera | None) -> Embedder | None:
    return None


def build_embedder(cfg: EmbedderConfig, camera: Camera | None) -> Embedder | None:
    """The embedder the ``embedder`` config section asks for; None for ``kind: none``.

    Raises:
        UserError: unknown kind, or a kind that cannot run here (with what to do).
    """
    return EMBEDDERS.get(cfg.kind)(cfg, camera)
