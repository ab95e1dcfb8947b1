"""Ground position of each detected person, with an uncertainty, for any camera model.

Two cues, both computed from rays in the ground frame (so they hold for panoramas, pinhole
cameras and view mosaics alike; frames in :mod:`mplt.geometry.camera`):

* **Foot cue** (needs the camera height ``h``): the ray through the bottom centre of the box,
  ``(0.5 * (x1 + x2), y2)``, meets the ground at horizontal distance ``d = h / tan(-e_b)``
  where ``e_b`` is the ray's elevation.
* **Height-prior cue** (MPLT's cue, generalised): a vertical person of height ``H`` at
  horizontal distance ``d`` is seen with head-top and foot elevations ``e_t``, ``e_b`` such
  that ``H = d (tan e_t - tan e_b)`` exactly, whatever the camera height. When the feet are
  cut off by the image edge but ``h`` is known, ``d = (H - h) / tan e_t`` instead.

Both measure the range to the front of the body (the nearest foot, the near side of the head),
which is where real tracking ground truth places people: PETS09-S2L1's world positions (MOT15)
are foot points, and against them the calibrated Faster R-CNN tracks' signed range error was
+0.10 m (median) with the body centre 0.12 m further out, -0.02 m without (streaming median
error 0.184 -> 0.165 m; the panorama 0.203 -> 0.177, YOLOv8s 0.181 -> 0.171). ``foot_offset_m``
(default 0) is added to every range where the truth is the body centre instead (the synthetic
scenes' people are cylinders of about 0.22 m radius).

Both give a range along the same horizontal direction (that of the foot ray, or of the head
ray when the feet are cut off); they are fused by inverse variance, generalised to the
correlation the shared foot pixel causes (weights kept in [0, 1]). Variances come from
first-order propagation of the pixel noise (through the camera's local pixel -> angle scale,
measured numerically), of the person-height prior and of the camera-height uncertainty. The
position covariance is ``R(phi) diag(var_range, var_tangential) R(phi)^T`` in the ground
frame, with ``phi`` the direction's angle and ``std_tangential = range * std_azimuth``.

Where both cues are read, they also test the box: a box whose height-prior range exceeds its
foot range by more than ``too_short_sigma`` (4) standard deviations of their difference is too
short for a standing person where its feet are, and gets no position. On PETS with YOLOv8s
boxes a static object at the bottom left (0.83-0.87 m tall where its foot row is, z about -5.2;
true detections' z has its 1st percentile at -1.2) was a confirmed track for all 400 frames;
without a position it never starts one: streaming HOTA / IDF1 / MOTA 39.3 / 57.9 / 22.1 ->
42.2 / 63.1 / 40.0, finished 39.2 / 59.0 / 23.8 -> 42.2 / 64.3 / 41.8 (3 to 5 sigma alike,
6 too loose); the Faster R-CNN sequences are unchanged (``bench/tracker_lab.py``).

Box bottoms carry a bias the cues cannot see: with YOLOv8s boxes on PETS the finished tracks'
median ground error was 0.320 m against 0.197 with the Faster R-CNN's, almost all of it along
the ray (signed range error +0.25 m against +0.11, with ``foot_offset_m`` 0.12 then),
because YOLOv8s boxes sit about 2.4 % of their height higher, and the smoother removes noise,
not a bias. From the boxes alone it cannot be estimated: at PETS' 18-38 m ranges shifting every
box bottom by -4 to +4 % of its height leaves the implied person heights' dependence on range
unchanged (d log H / d range -0.0041 to -0.0039 per m) and moves their median like a taller
person would (1.86 to 1.75 m). The image can: ``foot_rows`` from :mod:`mplt.feet` (the lowest
foreground row near each box bottom, static cameras; ``feet.source: foreground``, the
default) replace the box bottoms where seen, and the finished tracks' error falls to 0.173 m
(YOLOv8s) and 0.158 m (Faster R-CNN).

A foot row is also sharper than a box edge, and says so: its pixel noise is
``hypot(foot_row_std_px, foot_row_std_frac * box height)`` (1.5 px, 4 %) down the image, the
box edge's across it (the row says nothing about the column). Measured on PETS against the
ground-truth box bottoms (robust std, in box heights): foot rows 0.026 / 0.031 / 0.038 (YOLOv8s,
Faster R-CNN, the 2048 panorama's 21 px people), the same detections' box bottoms 0.060 /
0.066 / 0.068. With the box edges' model for both, the single detections' normalised errors
had a median of 0.52-0.73 on foot rows against 1.25-1.37 on box bottoms (1.39 is honest): the
tracker under-trusted its best measurements. The noise fitted to those stds (0.5 px, 3 %)
cost the real regression gate (first 100 PETS frames) an ID switch, and so did anything
sharper than 4 % or 1.25 px: a wrong foot row (a shadow, another person's legs) is then too
sure of itself. 1.5 px / 4 % keeps both gates and gives, on the real suite
(``bench/tracker_lab.py``), streaming ground error 0.185 / 0.201 / 0.181 -> 0.184 / 0.198 /
0.179 m, finished 0.158 / 0.173 / 0.173 -> 0.153 / 0.168 / 0.164 m (PETS perspective, 360,
YOLOv8s) and mean HOTA / IDF1 / ID switches 41.9 / 64.1 / 14.1 -> 42.5 / 64.9 / 13.3 streaming,
45.9 / 68.1 / 10.0 -> 46.6 / 69.0 / 9.1 finished (image-mode TUD unchanged), with the tracker's
``appearance_weight`` then 0.9 (0.75 since: ``trackers/deepsort.py``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np

from core.errors import UserError
from mplt.geometry.boxes import as_boxes
from mplt.geometry.camera import Camera

_STEP_PX = 0.5  # finite-difference step for the local pixel -> angle scale


class LocalizationMethod(enum.IntEnum):
    """Which cue produced a position (values of :attr:`Localization.method`)."""

    NONE = 0  #: no usable cue; the position is NaN
    FOOT = 1  #: foot ray meets the ground (camera height known)
    HEIGHT_PRIOR = 2  #: person-height prior
    FUSED = 3  #: both, fused by inverse variance


@dataclass(frozen=True)
class Localization:
    """Ground positions of N boxes.

    Attributes:
        ground_xy: ``(N, 2)`` float64 metres, ground frame; NaN where unknown.
        ground_cov: ``(N, 2, 2)`` float64 m^2 covariance of ``ground_xy``; NaN where unknown.
        method: ``(N,)`` int8 :class:`LocalizationMethod` values.
    """

    ground_xy: np.ndarray
    ground_cov: np.ndarray
    method: np.ndarray

    def __len__(self) -> int:
        return len(self.method)


class Localizer:
    """Turns person boxes into ground positions for one camera.

    Args:
        camera: any :class:`~mplt.geometry.Camera`; its ``camera_height`` (None = unknown)
            decides whether the foot cue is available.
        person_height_m: height prior for a standing person (head top to soles), metres.
        person_height_std_m: standard deviation of that prior, metres.
        camera_height_std_m: uncertainty of the camera height, metres.
        pixel_std_px: standard deviation of a box edge, pixels, for a box of no size.
        pixel_std_frac: and the part that grows with the box: the edge's standard deviation
            is ``hypot(pixel_std_px, pixel_std_frac * box height)``. A detector's box edges
            wander by a fraction of the person (limbs, posture, the part it sees), so big near
            boxes are not pixel-precise; with a fixed pixel noise near people were
            over-trusted (PETS perspective, Faster R-CNN: median edge error 7 px on 90 px
            boxes; HOTA 30.8 -> see ``trackers/deepsort.py``).
        horizon_margin_deg: rays closer than this to the horizon give no range (the range
            error explodes there).
        edge_margin_px: a box edge this close to an image edge is taken as cut off (the camera
            says where its edges are: :meth:`~mplt.geometry.Camera.cut_off`).
        foot_offset_m: horizontal distance from the visible front of the feet to the body's
            centre, metres, added to every range.
        too_short_sigma: a box seen whole whose height-prior range exceeds its foot range by
            more than this many standard deviations of their difference is too short for a
            standing person where its feet are (a bag, a bench, a sign taken for a person):
            it gets no position (method NONE), so the ground tracker never starts a track
            from it. 0 = no such test.
        foot_row_std_px: standard deviation of a foot row (``foot_rows`` of :meth:`localize`)
            down the image, pixels, for a box of no size...
        foot_row_std_frac: ...and the part that grows with the box height, like the edges'
            (``hypot(foot_row_std_px, foot_row_std_frac * box height)``).
    """

    def __init__(
        self,
        camera: Camera,
        person_height_m: float = 1.70,
        person_height_std_m: float = 0.09,
        camera_height_std_m: float = 0.05,
        pixel_std_px: float = 2.0,
        pixel_std_frac: float = 0.05,
        horizon_margin_deg: float = 3.0,
        edge_margin_px: float = 2.0,
        foot_offset_m: float = 0.0,
        too_short_sigma: float = 4.0,
        foot_row_std_px: float = 1.5,
        foot_row_std_frac: float = 0.04,
    ) -> None:
        values = {
            "person_height_m": person_height_m,
            "person_height_std_m": person_height_std_m,
            "camera_height_std_m": camera_height_std_m,
            "pixel_std_px": pixel_std_px,
        }
        for name, value in values.items():
            if not (np.isfinite(value) and value > 0):
                raise UserError(f"localization setting {name} is {value}; it must be > 0")
        if (
            not 0 <= horizon_margin_deg < 90
            or not edge_margin_px >= 0
            or not foot_offset_m >= 0
            or not too_short_sigma >= 0
        ):
            raise UserError(
                "localization settings need 0 <= horizon_margin_deg < 90, edge_margin_px >= 0, "
                "foot_offset_m >= 0 and too_short_sigma >= 0, got "
                f"{horizon_margin_deg}, {edge_margin_px}, {foot_offset_m}, {too_short_sigma}"
            )
        self.camera = camera
        self.person_height_m = float(person_height_m)
        self.person_height_std_m = float(person_height_std_m)
        self.camera_height_std_m = float(camera_height_std_m)
        self.pixel_std_px = float(pixel_std_px)
        if not (np.isfinite(pixel_std_frac) and pixel_std_frac >= 0):
            raise UserError(
                f"localization setting pixel_std_frac is {pixel_std_frac}; it must be >= 0"
            )
        self.pixel_std_frac = float(pixel_std_frac)
        if not (
            np.isfinite(foot_row_std_px)
            and foot_row_std_px > 0
            and np.isfinite(foot_row_std_frac)
            and foot_row_std_frac >= 0
        ):
            raise UserError(
                "localization settings need foot_row_std_px > 0 and foot_row_std_frac >= 0, "
                f"got {foot_row_std_px} and {foot_row_std_frac}"
            )
        self.foot_row_std_px = float(foot_row_std_px)
        self.foot_row_std_frac = float(foot_row_std_frac)
        self.horizon_margin = np.radians(horizon_margin_deg)
        self.edge_margin_px = float(edge_margin_px)
        self.foot_offset_m = float(foot_offset_m)
        self.too_short_sigma = float(too_short_sigma)

    def localize(self, boxes: np.ndarray, foot_rows: np.ndarray | None = None) -> Localization:
        """Ground positions of people from their boxes.

        Args:
            boxes: ``(N, 4)`` xyxy pixels of the camera's image (seam-unwrapped on a
                panorama); N may be 0.
            foot_rows: ``(N,)`` image rows, pixels, where the feet were seen to meet the
                ground (:class:`mplt.feet.FootFinder`); where finite they replace the box
                bottom in both cues. None or NaN: the box bottom.

        Returns:
            :class:`Localization` with N rows.
        """
        b = as_boxes(boxes)
        n = len(b)
        if n == 0:
            return Localization(np.zeros((0, 2)), np.zeros((0, 2, 2)), np.zeros(0, np.int8))
        top_cut, bottom_cut = self.camera.cut_off(b, self.edge_margin_px)
        seen = np.zeros(n, bool)
        if foot_rows is not None:
            feet = np.asarray(foot_rows, np.float64)
            if feet.shape != (n,):
                raise ValueError(f"foot_rows must have shape ({n},), got {feet.shape}")
            seen = np.isfinite(feet)
            b = b.copy()
            b[seen, 3] = feet[seen]
        xc = 0.5 * (b[:, 0] + b[:, 2])

        # Foot and head points, and each shifted by one step right and down: one camera call.
        pts = np.concatenate([np.column_stack([xc, b[:, 3]]), np.column_stack([xc, b[:, 1]])])
        probe = np.concatenate([pts, pts + [_STEP_PX, 0.0], pts + [0.0, _STEP_PX]])
        r0, ru, rv = self.camera.pixel_to_ray(probe).reshape(3, 2, n, 3)
        horiz = np.hypot(r0[..., 0], r0[..., 1])  # (2, n): foot, head
        el = np.arctan2(r0[..., 2], horiz)
        # (2, N) pixel std of the foot and the head point, across (u) and down (v) the image:
        # a foot row is sharper than a box edge, but only along v.
        size = b[:, 3] - b[:, 1]
        edge_std = np.hypot(self.pixel_std_px, self.pixel_std_frac * size)
        row_std = np.hypot(self.foot_row_std_px, self.foot_row_std_frac * size)
        scale_u = np.stack([edge_std, edge_std]) / _STEP_PX
        scale_v = np.stack([np.where(seen, row_std, edge_std), edge_std]) / _STEP_PX

        def d_el(r: np.ndarray) -> np.ndarray:
            return np.arctan2(r[..., 2], np.hypot(r[..., 0], r[..., 1])) - el

        def d_az(r: np.ndarray) -> np.ndarray:  # signed horizontal angle from r0 to r
            return np.arctan2(
                r0[..., 0] * r[..., 1] - r0[..., 1] * r[..., 0],
                r0[..., 0] * r[..., 0] + r0[..., 1] * r[..., 1],
            )

        with np.errstate(invalid="ignore", divide="ignore"):
            var_el = (scale_u * d_el(ru)) ** 2 + (scale_v * d_el(rv)) ** 2
            var_az = (scale_u * d_az(ru)) ** 2 + (scale_v * d_az(rv)) ** 2
            r_f, v_f, j_f, ok_f = self._foot_cue(el[0], var_el[0], bottom_cut)
            r_h, v_h, j_h, ok_h = self._height_cue(el, var_el, top_cut, bottom_cut)
            r_f, v_f = np.where(ok_f, r_f, 0.0), np.where(ok_f, v_f, 0.0)
            r_h, v_h = np.where(ok_h, r_h, 0.0), np.where(ok_h, v_h, 0.0)
            # Both cues read the foot pixel, so their errors correlate: weight by the
            # generalised least-squares formula for two correlated estimates of one range,
            # with the weights kept in [0, 1] (no extrapolation beyond either cue).
            both = ok_f & ok_h
            cross = np.where(both, j_f * j_h * var_el[0], 0.0)
            var_diff = np.where(both, v_f + v_h - 2 * cross, 0.0)
            too_short = (
                both
                & (self.too_short_sigma > 0)
                & (r_h - r_f > self.too_short_sigma * np.sqrt(np.maximum(var_diff, 0.0)))
            )
            w_f = np.where(
                both, np.clip((v_h - cross) / (v_f + v_h - 2 * cross), 0.0, 1.0), ok_f.astype(float)
            )
            w_h = 1.0 - w_f
            rng = w_f * r_f + w_h * r_h + self.foot_offset_m
            var_r = w_f**2 * v_f + w_h**2 * v_h + 2 * w_f * w_h * cross

            # Shared direction: the foot ray's, or the head ray's when the feet are cut off.
            use = np.where(bottom_cut, 1, 0)
            cols = np.arange(n)
            c, s = (r0[use, cols, :2] / horiz[use, cols, None]).T
            var_t = rng**2 * var_az[use, cols]

        method = ok_f.astype(np.int8) + 2 * ok_h.astype(np.int8)
        method[~(np.isfinite(rng) & np.isfinite(var_t) & np.isfinite(c + s)) | too_short] = 0
        known = method > 0
        xy = self.camera.center()[:2] + rng[:, None] * np.column_stack([c, s])
        off = c * s * (var_r - var_t)
        cov = np.stack(
            [
                np.column_stack([c * c * var_r + s * s * var_t, off]),
                np.column_stack([off, s * s * var_r + c * c * var_t]),
            ],
            1,
        )
        xy[~known] = np.nan
        cov[~known] = np.nan
        return Localization(xy, cov, method)

    def _foot_cue(
        self, e_b: np.ndarray, var_eb: np.ndarray, bottom_cut: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Range, its variance, d(range)/d(foot elevation), usability ``(N,)``: foot cue."""
        h = self.camera.camera_height
        if h is None or not h > 0:
            nan = np.full_like(e_b, np.nan)
            return nan, nan, nan, np.zeros(len(e_b), bool)
        dep = -e_b  # depression of the foot ray below the horizon
        sin_dep = np.sin(dep)
        r = h * np.cos(dep) / sin_dep
        jac = h / sin_dep**2
        var = jac**2 * var_eb + (r / h * self.camera_height_std_m) ** 2
        ok = ~bottom_cut & (dep > self.horizon_margin) & np.isfinite(r) & np.isfinite(var)
        return r, var, jac, ok

    def _height_cue(
        self, el: np.ndarray, var_el: np.ndarray, top_cut: np.ndarray, bottom_cut: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Range, its variance, d(range)/d(foot elevation), usability ``(N,)``: height cue."""
        H, var_H = self.person_height_m, self.person_height_std_m**2
        e_b, e_t = el
        tan_b, tan_t = np.tan(e_b), np.tan(e_t)
        sec2_b, sec2_t = 1.0 + tan_b**2, 1.0 + tan_t**2
        # Both ends visible: d = H / (tan e_t - tan e_b).
        span = tan_t - tan_b
        r = H / span
        jac = H / span**2 * sec2_b
        var = (r / H) ** 2 * var_H + (H / span**2 * sec2_t) ** 2 * var_el[1] + jac**2 * var_el[0]
        ok = ~top_cut & ~bottom_cut & (span > 0)
        # Feet cut off, camera height known: d = (H - h) / tan e_t.
        h = self.camera.camera_height
        if h is not None and h > 0:
            r_c = (H - h) / tan_t
            var_c = (var_H + self.camera_height_std_m**2) / tan_t**2 + (
                (H - h) * sec2_t / tan_t**2
            ) ** 2 * var_el[1]
            ok_c = ~top_cut & bottom_cut & (np.abs(e_t) > self.horizon_margin) & (r_c > 0)
            r, var = np.where(ok_c, r_c, r), np.where(ok_c, var_c, var)
            jac = np.where(ok_c, 0.0, jac)  # the fallback does not read the foot pixel
            ok = ok | ok_c
        return r, var, jac, ok & np.isfinite(r) & np.isfinite(var)
