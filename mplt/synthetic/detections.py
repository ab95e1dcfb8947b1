"""Detections derived from ground truth with a detector-like noise model.

The same model serves synthetic panoramas (visibility measured on the ray-traced render) and
real perspective clips with MOT ground truth (visibility estimated from overlapping boxes by
:func:`occlusion_visibility`), so trackers can be compared on identical, controlled input:

* recall falls with occlusion: a person with visible fraction ``v`` is found with probability
  ``recall * clip((v - min_visible) / (full_visible - min_visible), 0, 1)``;
* misses come in runs, as a real detector's do (a pose or a background it does not like lasts):
  with the person identities given, each person's misses are a two-state Markov chain with
  that miss probability and runs of ``miss_run_frames`` frames on average;
* a partly hidden person is boxed around the visible part only (``visible_boxes``), as a real
  detector does;
* every box edge is jittered by Gaussian noise proportional to the box size (``jitter``);
* scores are high for clearly visible people and lower for occluded ones;
* false positives (Poisson, ``false_positives`` per frame) are person-sized boxes at random
  places, with low scores.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class DetectionNoise:
    """Parameters of the detection noise model (see the module docstring).

    Attributes:
        recall: probability of detecting a fully visible person, in [0, 1].
        min_visible: visible fraction below which a person is never detected.
        full_visible: visible fraction from which ``recall`` applies in full.
        jitter: standard deviation of each box edge as a fraction of the box width (x edges)
            or height (y edges).
        jitter_x: the x edges' own fraction of the width, when it differs (real detectors
            wander sideways with the arms and legs: 0.13-0.18 against 0.02-0.07 for y edges);
            None: ``jitter``.
        false_positives: mean number of false detections per frame.
        score_std: standard deviation of the detection scores.
        visible_boxes: box only the visible part of a partly hidden person.
        miss_run_frames: mean length, in frames, of a run of misses of one person (1: each
            frame independent; needs the identities in :func:`synthesize_detections`).

    ``bench/fit_detection_noise.py`` fits these to a real detector on real footage
    (``bench/results/detection_noise.md``).
    """

    recall: float = 0.9
    min_visible: float = 0.25
    full_visible: float = 0.75
    jitter: float = 0.04
    false_positives: float = 0.2
    score_std: float = 0.08
    visible_boxes: bool = True
    miss_run_frames: float = 1.0
    jitter_x: float | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.recall <= 1.0:
            raise ValueError(f"recall must be in [0, 1], got {self.recall}")
        if not 0.0 <= self.min_visible < self.full_visible <= 1.0:
            raise ValueError(
                "need 0 <= min_visible < full_visible <= 1, got "
                f"{self.min_visible}, {self.full_visible}"
            )
        if self.jitter < 0 or self.false_positives < 0 or self.score_std < 0:
            raise ValueError("jitter, false_positives and score_std must be >= 0")
        if self.jitter_x is not None and not self.jitter_x >= 0:
            raise ValueError(f"jitter_x must be >= 0, got {self.jitter_x}")
        if not self.miss_run_frames >= 1.0:
            raise ValueError(f"miss_run_frames must be >= 1, got {self.miss_run_frames}")

    def as_dict(self) -> dict[str, float | bool]:
        return asdict(self)

    def visibility_weight(self, visible_fraction: np.ndarray) -> np.ndarray:
        """(N,) in [0, 1]: how clearly each person can be seen (0 hidden .. 1 fully visible)."""
        v = np.asarray(visible_fraction, float)
        return np.clip((v - self.min_visible) / (self.full_visible - self.min_visible), 0.0, 1.0)


def occlusion_visibility(
    boxes: np.ndarray, period: float | None = None, grid: tuple[int, int] = (24, 12)
) -> tuple[np.ndarray, np.ndarray]:
    """Visible fraction and visible box of each person from the boxes of one frame alone.

    A person is hidden by anyone whose box reaches lower in the image (feet nearer the camera
    on a ground plane seen from above). Each box is sampled on a ``grid`` (rows, columns) of
    cell centres; a cell is hidden when it lies in a box in front.

    Args:
        boxes: (N, 4) ``xyxy`` pixels (seam-unwrapped when ``period`` is given); N may be 0.
        period: panorama width for boxes crossing the seam, None for a flat image.
        grid: sample cells per box, rows x columns.

    Returns:
        visible_fraction (N,) and visible_boxes (N, 4) (cell edges; NaN rows when hidden).
    """
    boxes = np.asarray(boxes, float).reshape(-1, 4)
    n = len(boxes)
    if n == 0:
        return np.zeros(0), np.zeros((0, 4))
    gr, gc = grid
    fy = (np.arange(gr) + 0.5) / gr
    fx = (np.arange(gc) + 0.5) / gc
    w = boxes[:, 2] - boxes[:, 0]
    h = boxes[:, 3] - boxes[:, 1]
    px = boxes[:, 0, None, None] + w[:, None, None] * fx[None, None, :]  # (N, 1, gc)
    py = boxes[:, 1, None, None] + h[:, None, None] * fy[None, :, None]  # (N, gr, 1)
    px, py = np.broadcast_arrays(px, py)
    dx = px[..., None] - boxes[None, None, None, :, 0]  # (N, gr, gc, N)
    if period is not None:
        dx = np.mod(dx, period)
    inside = (dx >= 0) & (dx < w) & (py[..., None] >= boxes[:, 1]) & (py[..., None] < boxes[:, 3])
    front = boxes[None, :, 3] > boxes[:, None, 3]  # (N, N): row is behind column
    hidden = (inside & front[:, None, None, :]).any(-1)  # (N, gr, gc)
    seen = ~hidden
    fraction = seen.mean(axis=(1, 2))
    rows_seen, cols_seen = seen.any(2), seen.any(1)
    visible_boxes = np.full((n, 4), np.nan)
    any_seen = fraction > 0
    r0 = np.argmax(rows_seen, 1)
    r1 = gr - np.argmax(rows_seen[:, ::-1], 1)
    c0 = np.argmax(cols_seen, 1)
    c1 = gc - np.argmax(cols_seen[:, ::-1], 1)
    visible_boxes[any_seen] = np.stack(
        [
            boxes[:, 0] + w * c0 / gc,
            boxes[:, 1] + h * r0 / gr,
            boxes[:, 0] + w * c1 / gc,
            boxes[:, 1] + h * r1 / gr,
        ],
        1,
    )[any_seen]
    return fraction, visible_boxes


def _markov_hits(
    frames: np.ndarray, people: np.ndarray, p_hit: np.ndarray, noise: DetectionNoise, rng
) -> np.ndarray:
    """(R,) bool: detected, each person's misses a Markov chain whose stationary miss
    probability is ``1 - p_hit`` (row by row) and whose miss runs last ``miss_run_frames``."""
    stay = 1.0 - 1.0 / noise.miss_run_frames  # P(miss | missed the frame before)
    p_miss = np.clip(1.0 - p_hit, 0.0, 1.0)
    # P(miss | found the frame before) that keeps the stationary miss probability p_miss.
    with np.errstate(divide="ignore", invalid="ignore"):
        start = np.clip(p_miss * (1.0 - stay) / (1.0 - p_miss), 0.0, 1.0)
    start = np.where(p_miss >= 1.0, 1.0, start)
    u = rng.random(len(frames))
    found = np.empty(len(frames), bool)
    order = np.lexsort((frames, people))
    prev_person, prev_frame, missed = None, None, False
    for i in order.tolist():
        following = people[i] == prev_person and frames[i] == prev_frame + 1
        if not following:
            missed = u[i] < p_miss[i]
        elif missed:
            missed = u[i] < max(stay, p_miss[i]) if p_miss[i] > 0 else False
        else:
            missed = u[i] < start[i]
        found[i] = not missed
        prev_person, prev_frame = people[i], frames[i]
    return found


def synthesize_detections(
    frames: np.ndarray,
    boxes: np.ndarray,
    visible_fraction: np.ndarray,
    visible_boxes: np.ndarray,
    *,
    num_frames: int,
    image_width: int,
    noise: DetectionNoise,
    rng: np.random.Generator,
    period: float | None = None,
    people: np.ndarray | None = None,
) -> np.ndarray:
    """Detector-like detections from ground truth, as MOTChallenge detection rows.

    Args:
        frames: (R,) 0-based frame of each ground-truth person.
        boxes: (R, 4) ``xyxy`` ground-truth boxes, 0-based pixels (seam-unwrapped on a panorama).
        visible_fraction: (R,) share of each person that is visible.
        visible_boxes: (R, 4) boxes of the visible parts (NaN rows where hidden).
        num_frames: frames in the sequence (false positives go in any of them).
        image_width: image width, pixels (where false positives may be placed).
        noise: the noise model.
        rng: random generator; the same state gives the same detections.
        period: panorama width (boxes are wrapped to ``x1`` in [0, period)), None for a flat
            image (boxes are kept inside it horizontally).
        people: (R,) identity of each ground-truth person, for runs of misses
            (``noise.miss_run_frames``); None: independent misses.

    Returns:
        (D, 10) float64 rows ``frame, -1, left, top, width, height, score, -1, -1, -1`` in file
        conventions (1-based frames and pixels), sorted by frame.
    """
    boxes = np.asarray(boxes, float).reshape(-1, 4)
    r = len(boxes)
    weight = noise.visibility_weight(visible_fraction)
    p_hit = noise.recall * weight
    if people is None or noise.miss_run_frames <= 1.0:
        found = rng.random(r) < p_hit
    else:
        found = _markov_hits(np.asarray(frames), np.asarray(people), p_hit, noise, rng)
    base = boxes.copy()
    if noise.visible_boxes:
        partial = (np.asarray(visible_fraction) < 1.0) & np.isfinite(visible_boxes).all(1)
        base[partial] = visible_boxes[partial]
    size = np.tile(base[:, 2:] - base[:, :2], 2)  # w, h, w, h
    jx = noise.jitter if noise.jitter_x is None else noise.jitter_x
    noisy = (
        base + rng.normal(0.0, 1.0, (r, 4)) * np.array([jx, noise.jitter, jx, noise.jitter]) * size
    )
    score = np.clip(0.55 + 0.4 * weight + rng.normal(0.0, noise.score_std, r), 0.05, 1.0)
    det_frames, det_boxes, det_scores = frames[found], noisy[found], score[found]

    # False positives: a random person-sized box from the sequence placed at a random column.
    n_fp = rng.poisson(noise.false_positives * num_frames) if r else 0
    if n_fp:
        template = boxes[rng.integers(r, size=n_fp)]
        w = template[:, 2] - template[:, 0]
        left = rng.uniform(0.0, 1.0, n_fp) * (image_width - (0.0 if period is not None else w))
        fp = np.column_stack([left, template[:, 1], left + w, template[:, 3]])
        det_frames = np.concatenate([det_frames, rng.integers(num_frames, size=n_fp)])
        det_boxes = np.concatenate([det_boxes, fp])
        det_scores = np.concatenate([det_scores, rng.uniform(0.1, 0.65, n_fp)])

    x1 = np.minimum(det_boxes[:, 0], det_boxes[:, 2])
    x2 = np.maximum(det_boxes[:, 0], det_boxes[:, 2])
    y1 = np.minimum(det_boxes[:, 1], det_boxes[:, 3])
    y2 = np.maximum(det_boxes[:, 1], det_boxes[:, 3])
    x2, y2 = np.maximum(x2, x1 + 2.0), np.maximum(y2, y1 + 2.0)
    if period is not None:
        shift = np.floor(x1 / period) * period
        x1, x2 = x1 - shift, x2 - shift
    else:
        x1, x2 = np.clip(x1, 0.0, image_width - 2.0), np.clip(x2, 2.0, image_width)
    order = np.argsort(det_frames, kind="stable")
    rows = np.column_stack(
        [
            det_frames + 1,
            np.full(len(x1), -1.0),
            x1 + 1.0,
            y1 + 1.0,
            x2 - x1,
            y2 - y1,
            det_scores,
            np.full((len(x1), 3), -1.0),
        ]
    )
    return rows[order].reshape(-1, 10)
