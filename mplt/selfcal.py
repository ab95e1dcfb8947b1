"""Camera height and tilt from the people in the video (``--camera-height auto``).

:class:`CameraPoseEstimator` is for panoramas (below); :class:`PerspectivePoseEstimator` for an
uncalibrated perspective video, through a nominal lens (its own docstring).

For a standing person of height ``H`` whose feet are at ground-frame elevation ``e_b`` and
head top at ``e_t``, seen from a camera ``h`` above the ground at horizontal distance ``r``::

    tan e_b = -h / r,   tan e_t = (H - h) / r   =>   h / H = -tan e_b / (tan e_t - tan e_b)

so every detected person gives ``g = h / H`` from the two elevations alone, whatever the
distance. With the population's height prior ``H ~ N(1.70, 0.09) m`` the camera height is
``H * median(g)``. A box's bottom is the near edge of the feet and, seen from above the
heads, its top the far edge of the head (``body_radius_m`` either side of the body's axis):
``tan e_t = (H - h) / (r_feet + 2 rho)`` then, and ``h = (H - 2 rho tan e_t) / (1 - tan e_t /
tan e_b)`` (without that term the estimate is ~1.5 % low for a camera 2 m up, 3 % for
PETS 2009's 7 m). A tilted camera (pitch/roll) shifts the elevations by an amount that
depends on each person's azimuth, which spreads the ``g`` of people in different directions
and at different distances; the tilt is the rotation that makes them agree best (least
robust spread of ``log h``), found by a coarse-to-fine grid search. Yaw does not matter. Tilt
is only estimated once people have been seen all round (:data:`TILT_SECTORS`): people in one
direction at a few distances constrain it too weakly (on PETS 2009, whose people fill a 40
degree sector, a free tilt fit lowered the height by 20 % after 50 frames), and the camera is
then taken as level.

Only boxes that look like whole standing people are used: confident, not touching the
image's top or bottom edge, taller than wide by a standing person's range of proportions,
feet below the horizon. Each person-frame is one sample (the same person in later frames
counts again: the estimate settles once enough *frames* of people are seen, not people).

Measured (``tests/test_selfcal.py``; ``bench/far_field.py`` for real footage): on synthetic
people with heights N(1.70, 0.07) m, camera heights 1-10 m and tilts up to 10 degrees, the
height is within 3 % of the truth after 50 person-frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mplt.geometry.camera import CV_TO_RIG, Equirectangular, Pinhole, nominal_intrinsics, rotations

#: Box proportions (angular height / angular width) accepted as a standing person.
STANDING_ASPECT = (1.6, 6.0)
#: Tilt is estimated when at least this many of 6 azimuth sectors (60 degrees each) hold at
#: least 10 % of the samples each.
TILT_SECTORS = 3


@dataclass(frozen=True)
class CameraPoseEstimate:
    """Camera height and tilt estimated from people.

    Attributes:
        height_m: camera height above the ground, metres.
        height_std_m: its standard deviation (sampling spread and the height prior's
            uncertainty about the population mean), metres.
        pitch_deg, roll_deg: tilt of the camera (conventions of
            :func:`mplt.geometry.rotation_matrix`), degrees; the given ones when it is not
            estimated.
        samples: person-frames used.
        frames: distinct frames they came from.
    """

    height_m: float
    height_std_m: float
    pitch_deg: float
    roll_deg: float
    samples: int
    frames: int

    def to_dict(self) -> dict[str, float | int]:
        return {
            "height_m": round(self.height_m, 4),
            "height_std_m": round(self.height_std_m, 4),
            "pitch_deg": round(self.pitch_deg, 3),
            "roll_deg": round(self.roll_deg, 3),
            "samples": self.samples,
            "frames": self.frames,
        }


class _PeopleSamples:
    """What both estimators share: the people's settings, the kept samples and the height's
    uncertainty (the arguments are documented on the estimators)."""

    def __init__(
        self,
        person_height_m: float,
        mean_height_std_m: float,
        body_radius_m: float,
        box_margins: tuple[float, float],
        min_score: float,
        min_samples: int,
        min_frames: int,
        max_samples: int,
    ) -> None:
        if not (person_height_m > 0 and mean_height_std_m >= 0 and min_samples >= 1):
            raise ValueError("need person_height_m > 0, mean_height_std_m >= 0, min_samples >= 1")
        self.person_height_m = float(person_height_m)
        self.mean_height_std_m = float(mean_height_std_m)
        self.body_radius_m = float(body_radius_m)
        self.box_margins = (float(box_margins[0]), float(box_margins[1]))
        self.min_score = float(min_score)
        self.min_samples, self.min_frames = int(min_samples), int(min_frames)
        self.max_samples = int(max_samples)
        self._frame_of = np.zeros(0, np.int64)  # (S,) frame index of each sample

    @property
    def samples(self) -> int:
        return len(self._frame_of)

    def _boxes(
        self, boxes: np.ndarray, scores: np.ndarray, size: tuple[int, int], margin: float
    ) -> np.ndarray:
        """(M, 4) the confident boxes clear of the image's edges by ``margin`` px (of its top
        and bottom only when ``size`` is ``(0, height)``: a panorama's columns wrap), the
        detector's margins taken off."""
        b = np.asarray(boxes, np.float64).reshape(-1, 4)
        s = np.asarray(scores, np.float64).reshape(-1)
        w, h = size
        ok = (s >= self.min_score) & (b[:, 1] > margin) & (b[:, 3] < h - margin)
        if w:
            ok &= (b[:, 0] > margin) & (b[:, 2] < w - margin)
        b = b[ok].copy()
        tall = b[:, 3] - b[:, 1]
        b[:, 1] += self.box_margins[0] * tall
        b[:, 3] -= self.box_margins[1] * tall
        return b

    def _append(self, frame_index: int, **arrays: np.ndarray) -> int:
        """Keep the new samples ``arrays`` (attribute name -> (M, ...)) of one frame, the
        newest ``max_samples`` of each; returns M."""
        n = 0
        for name, new in arrays.items():
            setattr(self, name, np.concatenate([getattr(self, name), new])[-self.max_samples :])
            n = len(new)
        frames = np.full(n, int(frame_index), np.int64)
        self._frame_of = np.concatenate([self._frame_of, frames])[-self.max_samples :]
        return n

    def _frames(self) -> int | None:
        """Distinct frames seen, or None while there are too few samples or frames."""
        frames = len(np.unique(self._frame_of))
        if self.samples < self.min_samples or frames < self.min_frames:
            return None
        return frames

    def _height_std(self, height: float, rel_sampling: float) -> float:
        """Metres: the sampling error beside the prior's (the mean person height's)."""
        rel_prior = self.mean_height_std_m / self.person_height_m
        return height * float(np.hypot(rel_sampling, rel_prior))


class CameraPoseEstimator(_PeopleSamples):
    """Collects people's foot and head rays over frames and estimates the camera's pose.

    Args:
        width, height: panorama size, px (any full-sphere equirectangular frame).
        person_height_m: mean height of the people (head top to soles), metres.
        mean_height_std_m: uncertainty of that mean for this footage's population, metres
            (not the spread between people, which the samples measure).
        min_score: detections below this confidence are not used.
        body_radius_m: half the body's depth (box bottom and top at its near / far edge).
        box_margins: (top, bottom) fractions of a box's height by which the detector's boxes
            reach above the head and below the feet (:func:`mplt.detection.box_margins_of`);
            taken off each box before its rays are read.
        min_samples, min_frames: below either, :meth:`estimate` refuses to guess (None).
        estimate_tilt: also estimate pitch and roll (once people are seen all round); else
            the camera's tilt is ``pitch_deg`` / ``roll_deg``.
        pitch_deg, roll_deg: the tilt used while (or instead of) estimating it, degrees.
        max_tilt_deg: the tilt searched, degrees each way.
        max_samples: the most recent samples kept (memory and time stay bounded).
    """

    def __init__(
        self,
        width: int,
        height: int,
        *,
        person_height_m: float = 1.70,
        mean_height_std_m: float = 0.03,
        body_radius_m: float = 0.15,
        box_margins: tuple[float, float] = (0.0, 0.0),
        min_score: float = 0.5,
        min_samples: int = 50,
        min_frames: int = 5,
        estimate_tilt: bool = True,
        pitch_deg: float = 0.0,
        roll_deg: float = 0.0,
        max_tilt_deg: float = 15.0,
        max_samples: int = 3000,
    ) -> None:
        super().__init__(
            person_height_m,
            mean_height_std_m,
            body_radius_m,
            box_margins,
            min_score,
            min_samples,
            min_frames,
            max_samples,
        )
        self.camera = Equirectangular(width, height)  # level: rays in the camera's own frame
        self.estimate_tilt = bool(estimate_tilt)
        self.pitch_deg, self.roll_deg = float(pitch_deg), float(roll_deg)
        self.max_tilt_deg = float(max_tilt_deg)
        self._feet = np.zeros((0, 3))  # (S, 3) unit rays, camera frame
        self._heads = np.zeros((0, 3))

    def add(self, boxes: np.ndarray, scores: np.ndarray, frame_index: int) -> int:
        """Take one frame's detections: boxes (N, 4) xyxy pixels (seam-unwrapped), scores (N,).

        Returns:
            How many of them were usable as standing people.
        """
        w, h = self.camera.width, self.camera.height
        b = self._boxes(boxes, scores, (0, h), 0.002 * h)
        if len(b) == 0:
            return 0
        xc = 0.5 * (b[:, 0] + b[:, 2])
        feet = self.camera.pixel_to_ray(np.column_stack([xc, b[:, 3]]))
        heads = self.camera.pixel_to_ray(np.column_stack([xc, b[:, 1]]))
        # Proportions on the sphere: angular height over angular width at the box's middle.
        el_mid = (0.5 - 0.5 * (b[:, 1] + b[:, 3]) / h) * np.pi
        ang_h = (b[:, 3] - b[:, 1]) / h * np.pi
        ang_w = (b[:, 2] - b[:, 0]) / w * 2 * np.pi * np.cos(el_mid)
        with np.errstate(divide="ignore", invalid="ignore"):
            aspect = ang_h / ang_w
        ok = (aspect >= STANDING_ASPECT[0]) & (aspect <= STANDING_ASPECT[1])
        if not ok.any():
            return 0
        return self._append(frame_index, _feet=feet[ok], _heads=heads[ok])

    def _log_heights(self, pitch: np.ndarray, roll: np.ndarray) -> np.ndarray:
        """(T, S) ``log h`` of every sample under each of T tilts (NaN where unusable)."""
        R = rotations(0.0, pitch, roll)  # (T, 3, 3) ground_from_camera
        zf = R[:, 2, :] @ self._feet.T  # (T, S) z of the ground-frame foot rays (unit)
        zh = R[:, 2, :] @ self._heads.T
        tan_b = zf / np.sqrt(np.maximum(1.0 - zf * zf, 1e-12))
        tan_t = zh / np.sqrt(np.maximum(1.0 - zh * zh, 1e-12))
        with np.errstate(divide="ignore", invalid="ignore"):
            denominator = 1.0 - tan_t / tan_b
            # head below the horizon: the camera is above it and sees the far edge of the head
            far = np.where(tan_t < 0, 2.0 * self.body_radius_m * tan_t, 0.0)
            h = (self.person_height_m - far) / denominator
        usable = (tan_b < -np.tan(np.radians(1.0))) & (tan_t > tan_b) & (h > 0)
        return np.where(usable, np.log(np.where(usable, h, 1.0)), np.nan)

    @staticmethod
    def _spread(log_h: np.ndarray) -> np.ndarray:
        """(T,) robust spread of each row: the mean absolute deviation from the median of the
        central 80 % (a few half-visible or sitting people must not decide the tilt)."""
        med = np.nanmedian(log_h, axis=1, keepdims=True)
        dev = np.abs(log_h - med)
        cut = np.nanquantile(dev, 0.8, axis=1, keepdims=True)
        dev = np.where(dev <= cut, dev, np.nan)
        return np.nanmean(dev, axis=1)

    def _tilt(self) -> tuple[float, float]:
        """(pitch, roll) degrees minimising the spread, coarse-to-fine."""
        centre, half, step = np.zeros(2), self.max_tilt_deg, 1.0
        while True:
            grid = np.arange(-half, half + 1e-9, step)
            p, r = np.meshgrid(centre[0] + grid, centre[1] + grid, indexing="ij")
            spread = self._spread(self._log_heights(p.ravel(), r.ravel()))
            best = int(np.nanargmin(spread))
            centre = np.array([p.ravel()[best], r.ravel()[best]])
            if step <= 0.05:
                return float(centre[0]), float(centre[1])
            half, step = 2 * step, step / 4

    def _seen_all_round(self) -> bool:
        az = np.arctan2(self._feet[:, 1], self._feet[:, 0])
        sector = np.floor((az + np.pi) / (np.pi / 3)).astype(np.int64) % 6
        share = np.bincount(sector, minlength=6) / max(len(sector), 1)
        return int((share >= 0.1).sum()) >= TILT_SECTORS

    def estimate(self) -> CameraPoseEstimate | None:
        """The current estimate, or None while too few people have been seen."""
        frames = self._frames()
        if frames is None:
            return None
        tilt = self.estimate_tilt and self._seen_all_round()
        pitch, roll = self._tilt() if tilt else (self.pitch_deg, self.roll_deg)
        log_h = self._log_heights(np.array([pitch]), np.array([roll]))[0]
        log_h = log_h[np.isfinite(log_h)]
        if len(log_h) < self.min_samples:
            return None
        med = float(np.median(log_h))
        # Standard error of a median: 1.2533 sigma / sqrt(n), sigma from the MAD.
        sigma = 1.4826 * float(np.median(np.abs(log_h - med)))
        height = float(np.exp(med))
        std = self._height_std(height, 1.2533 * sigma / np.sqrt(len(log_h)))
        return CameraPoseEstimate(height, std, pitch, roll, len(log_h), frames)


#: Coarse grid of the perspective fit: camera pitch (degrees, positive looking down) and the
#: camera height over the mean person height (log-spaced).
PITCH_RANGE_DEG = (-10.0, 60.0)
HEIGHT_RATIO_RANGE = (0.3, 12.0)


class PerspectivePoseEstimator(_PeopleSamples):
    """Camera height and pitch of an uncalibrated perspective video from the people in it.

    The lens is :func:`mplt.geometry.nominal_intrinsics` (60 degrees across, principal point in
    the middle): the height and pitch are those that make standing people of the mean height,
    seen through that lens, as tall in the image as they are. For a level camera a person's
    height in pixels grows linearly with how far below the horizon their feet are, ``h_px =
    (H / h) (v_feet - v_horizon)``, which fixes the height ratio and the horizon; with a
    tilt the line bends, and the fit is made on the exact projection: for each pitch and height
    (a grid, then a finer one around the best), each box's foot row places the person on the
    ground, their head top is projected back, and the cost is the median absolute log ratio of
    predicted to measured box height (a few sitting, half-boxed or merged people do not decide).
    The lens's focal length cannot be told from people alone: a wrong one stretches the depth
    axis (PETS 2009's lens spans 36 degrees; its estimated pitch and height then are 28
    degrees and 6.2 m against the true 16 and 7.1, and the tracks are still +3.7 HOTA better
    than tracked in the image, ``bench/compare_trackers.py``).

    Args:
        width, height: image size, px.
        person_height_m: mean height of the people (head top to soles), metres.
        mean_height_std_m: uncertainty of that mean for this footage's population, metres.
        box_margins: (top, bottom) fractions of a box's height by which the detector's boxes
            reach above the head and below the feet; taken off each box first.
        min_score: detections below this confidence are not used.
        body_radius_m: half the body's depth (box bottom and top at its near / far edge).
        min_samples, min_frames: below either, :meth:`estimate` refuses to guess (None).
        max_samples: the most recent samples kept.
    """

    def __init__(
        self,
        width: int,
        height: int,
        *,
        person_height_m: float = 1.70,
        mean_height_std_m: float = 0.03,
        body_radius_m: float = 0.15,
        box_margins: tuple[float, float] = (0.0, 0.0),
        min_score: float = 0.5,
        min_samples: int = 100,
        min_frames: int = 5,
        max_samples: int = 3000,
    ) -> None:
        super().__init__(
            person_height_m,
            mean_height_std_m,
            body_radius_m,
            box_margins,
            min_score,
            min_samples,
            min_frames,
            max_samples,
        )
        self.width, self.height = int(width), int(height)
        self.K = nominal_intrinsics(self.width, self.height)
        self.level = Pinhole(self.width, self.height, self.K)  # rays of a level camera
        self._feet = np.zeros((0, 3))  # (S, 3) unit rays of the box bottoms, level camera
        self._rows = np.zeros((0, 2))  # (S, 2) box bottom row and box height, px

    def add(self, boxes: np.ndarray, scores: np.ndarray, frame_index: int) -> int:
        """Take one frame's detections: boxes (N, 4) xyxy pixels, scores (N,).

        Returns:
            How many of them were usable as standing people (whole, confident, upright).
        """
        b = self._boxes(boxes, scores, (self.width, self.height), 0.004 * self.height)
        tall = b[:, 3] - b[:, 1]
        with np.errstate(divide="ignore", invalid="ignore"):
            aspect = tall / (b[:, 2] - b[:, 0])
        ok = (aspect >= STANDING_ASPECT[0]) & (aspect <= STANDING_ASPECT[1])
        if not ok.any():
            return 0
        b = b[ok]
        feet = self.level.pixel_to_ray(np.column_stack([0.5 * (b[:, 0] + b[:, 2]), b[:, 3]]))
        return self._append(frame_index, _feet=feet, _rows=np.column_stack([b[:, 3], tall[ok]]))

    def _costs(self, pitch_deg: float, ratios: np.ndarray) -> np.ndarray:
        """(G,) median absolute log ratio of predicted to measured box heights for a camera
        ``ratios`` (G,) person heights up, pitched by ``pitch_deg``."""
        R = rotations(0.0, pitch_deg, 0.0)  # ground_from_camera
        d = self._feet @ R.T  # (S, 3) foot rays in the ground frame
        down = d[:, 2] < -1e-6
        with np.errstate(divide="ignore", invalid="ignore"):
            a = d / -d[:, 2:3]  # the foot point per unit of camera height, (S, 3)
            away = d * [1.0, 1.0, 0.0] / np.hypot(d[:, :1], d[:, 1:2])  # (S, 3) along the ground
        # Head top relative to the camera, in person heights: ratio * a + z, and from above the
        # heads the box spans the near edge of the feet to the far edge of the head.
        A = (a @ R) @ CV_TO_RIG  # (S, 3) cv-frame part growing with the ratio
        B = (np.array([0.0, 0.0, 1.0]) @ R) @ CV_TO_RIG  # (3,) the person's own height
        C = 2.0 * self.body_radius_m / self.person_height_m * (away @ R) @ CV_TO_RIG
        above = (ratios > 1.0)[:, None, None]
        cv = ratios[:, None, None] * A[None] + B[None, None] + above * C[None]
        foot_row, measured = self._rows[:, 0], self._rows[:, 1]
        with np.errstate(divide="ignore", invalid="ignore"):
            head_row = self.K[1, 1] * cv[..., 1] / cv[..., 2] + self.K[1, 2] + 0.5
            predicted = foot_row[None] - head_row
            err = np.abs(np.log(predicted / measured[None]))
        err = np.where(down[None] & (cv[..., 2] > 0) & (predicted > 0), err, 1.0)
        return np.median(np.minimum(err, 1.0), axis=1)

    def _fit(self) -> tuple[float, float, float]:
        """(pitch degrees, height ratio, cost) of the best fit, coarse to fine."""
        lo, hi = np.log(HEIGHT_RATIO_RANGE)
        pitches = np.arange(PITCH_RANGE_DEG[0], PITCH_RANGE_DEG[1] + 1e-9, 2.0)
        log_ratios = np.linspace(lo, hi, 48)
        step_p, step_r = 2.0, log_ratios[1] - log_ratios[0]
        best = (np.inf, 0.0, 0.0)
        for _ in range(3):
            for p in pitches:
                cost = self._costs(float(p), np.exp(log_ratios))
                k = int(np.argmin(cost))
                if cost[k] < best[0]:
                    best = (float(cost[k]), float(p), float(log_ratios[k]))
            step_p, step_r = step_p / 4, step_r / 4
            pitches = best[1] + np.arange(-4, 5) * step_p
            log_ratios = best[2] + np.arange(-6, 7) * step_r
        return best[1], float(np.exp(best[2])), best[0]

    def estimate(self) -> CameraPoseEstimate | None:
        """The current estimate (roll 0), or None while too few people have been seen."""
        frames = self._frames()
        if frames is None:
            return None
        pitch, ratio, cost = self._fit()
        # the median absolute log residual of a normal spread is 0.6745 sigma
        sigma = cost / 0.6745
        height = ratio * self.person_height_m
        std = self._height_std(height, 1.2533 * sigma / np.sqrt(self.samples))
        return CameraPoseEstimate(height, std, pitch, 0.0, self.samples, frames)
