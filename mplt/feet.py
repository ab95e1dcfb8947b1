"""Where each person meets the ground in the image: the lowest foreground row near the box bottom.

A detector's box bottom is a poor foot row: on PETS S2L1 (768x576, people 50-130 px tall) the
offline YOLOv8s box bottoms sit 1.9 % of the person's height above the ground-truth bottom
(median; IQR 7.8 %, Faster R-CNN's 9.2 %), and every pixel of foot row is a step along the
ray, long at a distance. With a static camera the image itself says where the feet are: below
them is background. :class:`FootFinder` keeps a background model of the video (OpenCV's MOG2
subtractor, its shadows labelled apart and not counted, since a cast shadow reaches below the
feet: in a first trial on PETS with YOLOv8s boxes the ground error was 0.322 m without, 0.180 m
with) and, for every box, takes the lowest row, from ``window_up`` of the box height above its
bottom to ``window_down`` below, where at least ``min_fill`` of the box's middle half of
columns are foreground, within the run of such rows that holds the body: a gap of more than
``max_gap`` of the box height ends it (speckle of the codec below the feet is not them).

No foot row (NaN; the box bottom stands in) where the finder cannot tell:

* another box reaches into the window (the person behind another has the other's legs
  below it: without this rule PETS streaming HOTA / IDF1 / ID switches fell 41.9 / 60.5 / 17
  -> 37.9 / 54.3 / 25, with it 42.2 / 63.7 / 17, both before the warm-up below);
* no foreground near the bottom (the first frames, a person standing still long enough to
  become background);
* foreground down to the window's lower edge (something below the person);
* more than ``max_foreground`` (3 %) of the rows outside every person in the foreground: the
  background itself changed (the camera moved, the light changed). Measured (MOG2 with the
  defaults, the real detections' boxes, frames 31 on): a still camera leaves at most 1.2 %
  there (PETS 1.2 % Faster R-CNN / 0.9 % YOLOv8s, TUD-Stadtmitte 0.3 %, TUD-Campus 0.4 %);
  the same videos panned by 1 px a frame at least 4.7 % (medians 12.8 / 8.8 / 4.7 %). The
  whole-frame share is no test: a pan of 1-8 px a frame marks only 9-30 % of PETS.

Measured with the default settings, streaming (``bench/foot_rows.py``; detections matched to
the ground truth): on PETS with YOLOv8s boxes 64 % of them get a foot row, which sits +0.2 %
of the height from the ground-truth bottom (IQR 4.6 %), and the single detections' median
ground error falls 0.289 -> 0.182 m; Faster R-CNN boxes (82 % found) 0.320 -> 0.186 m; the
same scene placed on a 2048x1024 panorama (people at 44 % of the size, 81 % found) 0.326 ->
0.223 m. Tracked (``bench/tracker_lab.py``, ``feet.source`` foreground against box), the
finished tracks' median ground error: 0.197 -> 0.158 m (PETS, Faster R-CNN), 0.201 -> 0.173
(PETS 360), 0.320 -> 0.173 (PETS, YOLOv8s); the mean over the real suite HOTA / IDF1 / ID
switches streaming 41.1 / 62.2 / 14.6 -> 41.9 / 64.1 / 14.1, finished 45.3 / 66.7 / 10.4 ->
45.9 / 68.1 / 10.0. The ``max_gap`` rule: single detections 0.183 / 0.187 / 0.224 m without
it, 0.201 / 0.216 / 0.224 m when no gap at all is bridged (the legs of a real person show
holes).

On a panorama only the rows that can hold feet are modelled, those below the camera's horizon,
which cuts the cost (PETS placed on the sphere, 2 CPU cores: 14 ms per 2048x1024 frame, 44 ms
per 3840x1920 one; MOG2 on a whole 3840x1920 frame of noise took 63 ms).

The first ``warmup_frames`` (30) frames give no foot rows: a young background holds the people
of the first frames and shows ghosts where they left. Without the wait the first 100 PETS
frames (Faster R-CNN) fell streaming HOTA / IDF1 49.4 / 70.3 -> 46.5 / 63.8 and finished HOTA
54.1 -> 50.2; with it 49.5 / 70.6 and 54.2.

Where it loses: on the synthetic regression panorama (ray-traced cylinders on a noiseless
background, h264 at crf 28) the boxes come from the exact geometry (people under 25 px tall:
bottoms within +-0.5 px, IQR) and MOG2, whose background there has almost no variance, marks
the codec's faint ringing below the feet: the foot rows end a median 0.2-1.9 px below the true
bottom (by size) and the tracked ground error
rises 0.144 -> 0.26 m. A larger least variance (MOG2's ``varMin`` 16 instead of 4) mends that
(single detections 0.265 -> 0.215 m there) but loses on every real sequence (finished 0.158 /
0.173 / 0.173 -> 0.159 / 0.182 / 0.179 m, PETS IDF1 67.3 -> 63.7), so MOG2's own is kept.
A moving camera (a handheld or helmet 360 camera) has no background: ``moving_frames`` (30)
frames in a row over ``max_foreground`` stop the finder
for the rest of the video (``stopped_at``), which then costs nothing and leaves the box bottoms;
``feet.source: box`` skips the model from the start.
"""

from __future__ import annotations

import cv2
import numpy as np

from core.errors import UserError
from mplt.geometry.boxes import as_boxes
from mplt.geometry.camera import Camera

_GRID = 64  # pixels between the probes that find the highest row below the horizon


def first_ground_row(camera: Camera) -> int:
    """The highest image row whose rays can point below the horizon (0 if any row can)."""
    us = np.arange(0.5, camera.width, _GRID)
    vs = np.arange(0.5, camera.height, _GRID)
    grid = np.stack(np.meshgrid(us, vs), -1).reshape(-1, 2)
    down = (camera.pixel_to_ray(grid)[:, 2] < 0).reshape(len(vs), len(us)).any(axis=1)
    if not down.any():
        return camera.height
    return int(max(0.0, vs[np.argmax(down)] - _GRID))


class FootFinder:
    """Foot rows of people from the foreground of a static camera's frames.

    Args:
        camera: the camera of the frames (its size, seam and horizon).
        history_frames: frames the background remembers (MOG2's history); a person standing
            still that long fades into the background.
        var_threshold: MOG2's squared Mahalanobis distance for a foreground pixel.
        min_fill: part of the box's middle half of columns a row needs in the foreground.
        window_up: how far above the box bottom the foot row is searched, in box heights.
        window_down: and how far below.
        max_foreground: above this part of the modelled rows in the foreground outside every
            person (their boxes, a tenth wider and ``window_down`` deeper) no box gets a foot
            row: the background itself changed (the camera moved, the light changed).
        warmup_frames: frames learnt before the first foot row (a young background holds the
            people of the first frames and shows ghosts where they left).
        max_gap: the longest gap (in box heights, at least a pixel) bridged between foreground
            rows below the body; the foot row ends the run of rows that holds the body.
        moving_frames: after the warm-up, this many frames in a row over ``max_foreground``
            stop the finder for the rest of the video (a moving camera: no background to
            model; box bottoms from then on, at no cost); 0 = never.
    """

    def __init__(
        self,
        camera: Camera,
        history_frames: int = 200,
        var_threshold: float = 16.0,
        min_fill: float = 0.1,
        window_up: float = 0.3,
        window_down: float = 0.3,
        max_foreground: float = 0.03,
        warmup_frames: int = 30,
        max_gap: float = 0.1,
        moving_frames: int = 30,
    ) -> None:
        if not (
            history_frames >= 1
            and var_threshold > 0
            and 0 < min_fill <= 1
            and window_up > 0
            and window_down > 0
            and 0 < max_foreground <= 1
            and warmup_frames >= 0
            and max_gap >= 0
            and moving_frames >= 0
        ):
            raise UserError(
                "foot settings need history_frames >= 1, var_threshold > 0, 0 < min_fill <= 1, "
                "window_up > 0, window_down > 0, 0 < max_foreground <= 1, warmup_frames >= 0, "
                f"max_gap >= 0 and moving_frames >= 0, got {history_frames}, {var_threshold}, "
                f"{min_fill}, {window_up}, {window_down}, {max_foreground}, {warmup_frames}, "
                f"{max_gap}, {moving_frames}"
            )
        self.camera = camera
        self.min_fill = float(min_fill)
        self.window_up = float(window_up)
        self.window_down = float(window_down)
        self.max_foreground = float(max_foreground)
        self.warmup_frames = int(warmup_frames)
        self.max_gap = float(max_gap)
        self.moving_frames = int(moving_frames)
        #: frames learnt when the finder stopped for a moving camera (None: running)
        self.stopped_at: int | None = None
        self._learnt = 0
        self._busy = 0  # consecutive frames over max_foreground after the warm-up
        self._raw: np.ndarray | None = None  # MOG2's output for the last frame's modelled rows
        self.top = first_ground_row(camera) if camera.x_period is not None else 0
        self._subtractor = cv2.createBackgroundSubtractorMOG2(
            history=int(history_frames), varThreshold=float(var_threshold), detectShadows=True
        )

    @property
    def foreground(self) -> np.ndarray | None:
        """``(H, W)`` uint8 mask of the last frame, 255 = foreground (rows above the modelled
        ones too: unknown, so nothing is left out there); None before the first frame, when
        the frame's background changed as a whole, and once stopped. Built when asked for
        (only the colour embedder wants it)."""
        if self._raw is None:
            return None
        mask = np.empty((self.camera.height, self.camera.width), np.uint8)
        mask[: self.top] = 255
        mask[self.top :] = cv2.threshold(self._raw, 254, 255, cv2.THRESH_BINARY)[1]
        return mask

    def update(self, frame: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        """Learn ``frame`` into the background and find the feet of ``boxes`` in it.

        Args:
            frame: ``(H, W, 3)`` uint8 image of the camera; the frames of one video in order.
            boxes: ``(N, 4)`` xyxy pixels (seam-unwrapped on a panorama); N may be 0.

        Returns:
            ``(N,)`` float64 image rows, pixels: the bottom edge of the lowest foreground row
            of each person's feet (a box bottom's convention); NaN where not found.
        """
        b = as_boxes(boxes)
        out = np.full(len(b), np.nan)
        self._raw = None
        if self.top >= self.camera.height or self.stopped_at is not None:
            return out
        raw = self._subtractor.apply(np.ascontiguousarray(frame[self.top :]))
        mask = raw == 255  # 127: a shadow, background here
        self._learnt += 1
        busy = self._unexplained(mask, b) > self.max_foreground
        if not busy:
            self._raw = raw
        if self._learnt > self.warmup_frames:
            self._busy = self._busy + 1 if busy else 0
            if self.moving_frames and self._busy >= self.moving_frames:
                # A moving camera has no background: stop paying for the model.
                self.stopped_at = self._learnt
                self._subtractor = None
        if self._learnt <= self.warmup_frames or not len(b) or busy:
            return out
        h = b[:, 3] - b[:, 1]
        w = b[:, 2] - b[:, 0]
        windows = np.column_stack(
            [
                b[:, 0] + 0.25 * w,
                b[:, 3] - self.window_up * h,
                b[:, 2] - 0.25 * w,
                b[:, 3] + self.window_down * h,
            ]
        )
        # Another person in the window: whose feet the foreground shows is unclear.
        crowded = self.camera.box_space.iou(windows, b) > 0
        np.fill_diagonal(crowded, False)
        for k, window in enumerate(windows):
            if crowded[k].any():
                continue
            cols, lo, hi = self._pixels(window, mask.shape)
            if not len(cols) or hi <= lo:
                continue
            fill = mask[lo:hi][:, cols].mean(axis=1)
            found = np.flatnonzero(fill >= self.min_fill)
            # The run of rows that holds the body: below a longer gap is noise or something else.
            gap = max(1, round(self.max_gap * h[k]))  # rows of background allowed in the run
            breaks = np.flatnonzero(np.diff(found) > gap + 1)
            if len(breaks):
                found = found[: breaks[0] + 1]
            # Foreground down to the window's (or the image's) end: something else below.
            if len(found) and found[-1] + 1 < hi - lo:
                out[k] = self.top + lo + found[-1] + 1
        return out

    def _unexplained(self, mask: np.ndarray, boxes: np.ndarray) -> float:
        """Part of ``mask`` (the modelled rows) in the foreground outside every person.

        Each box is widened by a tenth of its width on each side and reaches ``window_down``
        below (feet, shadow); what is left moving is background that changed.
        """
        if not len(boxes):
            return float(mask.mean())
        rest = mask.copy()
        h = boxes[:, 3] - boxes[:, 1]
        w = boxes[:, 2] - boxes[:, 0]
        covers = np.column_stack(
            [
                boxes[:, 0] - 0.1 * w,
                boxes[:, 1],
                boxes[:, 2] + 0.1 * w,
                boxes[:, 3] + self.window_down * h,
            ]
        )
        for cover in covers:
            cols, lo, hi = self._pixels(cover, rest.shape)
            rest[lo:hi, cols] = False
        return float(rest.mean())

    def _pixels(self, box: np.ndarray, shape: tuple[int, ...]) -> tuple[np.ndarray, int, int]:
        """The mask's columns (seam-wrapped, at least one) and rows ``lo:hi`` of an xyxy box."""
        start = int(np.floor(box[0]))
        cols = np.arange(start, max(int(np.ceil(box[2])), start + 1))
        cols = self.camera.box_space.wrap_x(cols.astype(float)).astype(int)
        cols = cols[(cols >= 0) & (cols < shape[1])]
        lo = max(0, int(np.floor(box[1])) - self.top)
        hi = min(shape[0], int(np.ceil(box[3])) - self.top)
        return cols, lo, hi
