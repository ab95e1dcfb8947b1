"""Real footage with ground truth for the benchmarks: clips, their panoramic placements, and
real detectors' detections, built once and cached.

Clips (``../shared/data``, research use with acknowledgement, see its README; nothing derived
from them is committed except results tables):

* ``PETS09-S2L1`` -- the first 400 frames of PETS 2009 S2L1 View 001 (University of Reading),
  768 x 576 at 7 fps, calibrated (camera 7.07 m above the ground, people 12-38 m away), MOT15
  ground truth with ground positions in metres, and the Faster R-CNN detections of the SORT
  authors (``det_frcnn.txt``).
* ``TUD-Stadtmitte`` (179 frames) and ``TUD-Campus`` (71 frames) -- MOTChallenge 2015 (TU
  Darmstadt), 640 x 480 at 25 fps, uncalibrated, ground truth from the PyPI package
  ``motmetrics``.

A *pillar clip* (:func:`pillar_clip`) is a clip with a full-height pillar painted over it, for
long occlusions of real people: its ground truth and given detections lose what the pillar hides.

A *sequence* is a clip as a tracker sees it: the perspective clip itself, or the clip placed
on the sphere (:mod:`mplt.synthetic.placement`) at a panorama size, through the seam. Each
sequence folder holds ``video.mp4`` (panoramas only; perspective sequences read the clip),
``gt.txt`` (MOT rows in the sequence's pixels, ground x, y in its ground frame or -1) and
``meta.json``. Detections of a real detector on the perspective clip are computed once
(:func:`clip_detections`) and carried to a panorama by the same placement
(:func:`sequence_detections`), so every tracker gets identical real detections.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mplt.geometry import Pinhole
from mplt.io.mot import read_mot
from mplt.io.sources import open_source
from mplt.io.video import VideoWriter
from mplt.synthetic.placement import Placement, place_calibrated, place_uncalibrated

ROOT = Path(__file__).resolve().parents[1]

DATA = Path(os.environ.get("MPLT_SHARED_DATA", ROOT.parent / "shared" / "data"))
CACHE = Path(os.environ.get("MPLT_BENCH_CACHE", ROOT / "bench" / ".cache"))


@dataclass(frozen=True)
class Clip:
    """A real perspective clip with ground truth."""

    name: str
    video: Path
    gt: Path
    fps: float
    calib: Path | None = None  #: OpenCV pinhole calibration (world frame, ground z = 0)
    given_detections: dict[str, Path] | None = None  #: detector name -> MOT det file
    #: uncalibrated clips: the field of view and tilt they are given on the sphere
    hfov_deg: float = 70.0
    pitch_deg: float = 5.0
    #: x range (clip pixels) of a pillar painted over the clip, full height (:func:`pillar_clip`)
    pillar: tuple[int, int] | None = None

    @property
    def size(self) -> tuple[int, int]:
        with open_source(str(self.video), max_frames=1) as src:
            return src.info.width, src.info.height

    def camera(self) -> Pinhole | None:
        return None if self.calib is None else Pinhole.from_file(self.calib)


def _motmetrics_gt(name: str) -> Path:
    import motmetrics

    return Path(motmetrics.__file__).parent / "data" / name / "gt.txt"


def clips() -> dict[str, Clip]:
    """The clips available on this machine (``../shared/data``)."""
    pets = DATA / "PETS09-S2L1-1-400"
    out = {
        "PETS09-S2L1": Clip(
            "PETS09-S2L1",
            pets / "PETS09-S2L1-1-400.mp4",
            pets / "gt.txt",
            7.0,
            calib=pets / "calib_opencv.json",
            given_detections={"frcnn": pets / "det_frcnn.txt"},
        ),
        "TUD-Stadtmitte": Clip(
            "TUD-Stadtmitte", DATA / "TUD-Stadtmitte.mp4", _motmetrics_gt("TUD-Stadtmitte"), 25.0
        ),
        "TUD-Campus": Clip(
            "TUD-Campus", DATA / "TUD-Campus.mp4", _motmetrics_gt("TUD-Campus"), 25.0
        ),
    }
    return {k: c for k, c in out.items() if c.video.is_file() and c.gt.is_file()}


#: Ground-truth IDs that are one person. MOT gives someone who leaves the view and comes back a
#: new ID; in PETS S2L1's first 400 frames two people do: ID 19 (long black coat, out through
#: the right edge at frame 147) returns as 1 (frame 224) and 15 (leather jacket, a white paper
#: in hand, out at frame 206) as 14 (frame 231), told by looking at their crops side by side.
#: ``{clip: {later: earlier}}``.
SAME_PERSON = {"PETS09-S2L1": {1: 19, 14: 15}}


def person_gt(gt: Path, clip: str) -> Path | None:
    """``gt`` with the IDs of :data:`SAME_PERSON` joined, written beside it as
    ``gt_person.txt`` (ground truth of people, not of visits); None for a clip without
    returns."""
    same = SAME_PERSON.get(clip.removesuffix(PILLAR_TAG))
    if not same:
        return None
    out = gt.with_name("gt_person.txt")
    if not out.is_file() or out.stat().st_mtime < gt.stat().st_mtime:
        rows = read_mot(gt)
        ids = rows[:, 1].copy()
        for later, earlier in same.items():
            ids[rows[:, 1] == later] = earlier
        rows[:, 1] = ids
        write_rows(out, rows)
    return out


def gt_rows(clip: Clip) -> np.ndarray:
    """(R, 10) MOT rows of the clip's ground truth, ignored rows (conf 0) dropped."""
    rows = read_mot(clip.gt)
    return rows[rows[:, 6] != 0]


# -- a pillar in front of the scene ---------------------------------------------------------

#: Where a pillar stands in front of each clip: x range in clip pixels, chosen where most
#: people pass behind it (PETS: 18 passages, median 3.5 s hidden; TUD-Stadtmitte: 5, 1.6 s).
PILLARS = {"PETS09-S2L1": (360, 498), "TUD-Stadtmitte": (400, 515)}
#: name suffix of a pillar clip
PILLAR_TAG = "-pillar"
#: a box this much (of its width) behind the pillar is hidden: dropped from the ground truth
#: and the detections, and a tracker's box there is not scored (:func:`visible_rows`)
HIDDEN = 0.5
PILLAR_BGR = (62, 66, 70)


def hidden_fraction(boxes: np.ndarray, band: tuple[int, int]) -> np.ndarray:
    """``(N, 4)`` xyxy pixels -> ``(N,)`` share of each box's width behind the band ``x0, x1``."""
    b = np.asarray(boxes, np.float64).reshape(-1, 4)
    inside = np.clip(np.minimum(b[:, 2], band[1]) - np.maximum(b[:, 0], band[0]), 0.0, None)
    return inside / np.maximum(b[:, 2] - b[:, 0], 1e-9)


def _behind(rows: np.ndarray, band: tuple[int, int], *, cut: bool) -> np.ndarray:
    """MOT rows without those hidden behind ``band``; ``cut``: a partly hidden box is cut to
    its larger visible side, as a detector sees the person."""
    x0 = rows[:, 2] - 1.0
    boxes = np.stack([x0, rows[:, 3], x0 + rows[:, 4], rows[:, 3] + rows[:, 5]], axis=1)
    out = rows[hidden_fraction(boxes, band) < HIDDEN].copy()
    if cut:
        left = np.clip(band[0] - (out[:, 2] - 1.0), 0.0, out[:, 4])
        right = np.clip(out[:, 2] - 1.0 + out[:, 4] - band[1], 0.0, out[:, 4])
        covered = left + right < out[:, 4]
        keep_left = covered & (left >= right)
        keep_right = covered & (right > left)
        out[keep_left, 4] = left[keep_left]
        out[keep_right, 2] = band[1] + 1.0
        out[keep_right, 4] = right[keep_right]
    return out


def pillar_clip(clip: Clip) -> Clip:
    """``clip`` with a pillar of :data:`PILLARS` painted over it, full height: everyone who
    walks behind it is hidden for seconds and comes back on the other side, a long occlusion
    with real people and a real detector. Its ground truth leaves out the hidden boxes
    (:data:`HIDDEN`); given detections lose them too and partly hidden ones are cut to their
    visible side (the others' detector is run on the painted video). Written once."""
    band = PILLARS[clip.name]
    folder = CACHE / "pillar" / clip.name
    folder.mkdir(parents=True, exist_ok=True)
    video, gt = folder / "video.mp4", folder / "gt.txt"
    meta = {"band": list(band), "hidden": HIDDEN, "colour": list(PILLAR_BGR)}
    meta_file = folder / "meta.json"
    given = {name: folder / f"det-{name}.txt" for name in clip.given_detections or {}}
    name = clip.name + PILLAR_TAG
    if not meta_file.is_file() or json.loads(meta_file.read_text()) != meta:
        # what was built from another pillar is stale: its sequences and detections (the
        # lab's recordings notice the new detections themselves)
        for stale in CACHE.glob(f"seq/{name}*"):
            shutil.rmtree(stale)
        for stale in CACHE.glob(f"det/{name}-*"):
            stale.unlink()
        write_rows(gt, _behind(gt_rows(clip), band, cut=False))
        for detector, path in given.items():
            rows = read_mot(clip.given_detections[detector])
            write_rows(path, _behind(rows, band, cut=True))
        with (
            open_source(str(clip.video)) as src,
            VideoWriter(video, clip.fps, clip.size, crf=18) as writer,
        ):
            for _, frame in src:
                frame = frame.copy()
                frame[:, band[0] : band[1]] = PILLAR_BGR
                writer.write(frame)
        meta_file.write_text(json.dumps(meta, indent=2))
    return dataclasses.replace(
        clip,
        name=name,
        video=video,
        gt=gt,
        given_detections=given or None,
        pillar=band,
    )


def visible_rows(rows: np.ndarray, hidden: np.ndarray, width: int | None) -> np.ndarray:
    """MOT rows of a tracker's output without the boxes mostly (:data:`HIDDEN` of their area)
    on the ``(H, W)`` bool mask ``hidden``: where the ground truth has nobody to match, as a
    don't-care region; ``width``: a panorama's (box columns wrap around the seam)."""
    if not len(rows):
        return rows
    h, w = hidden.shape
    # one extra column and row of zeros in front: the integral image's usual border
    integral = np.zeros((h + 1, w + 1))
    integral[1:, 1:] = hidden.astype(np.float64).cumsum(0).cumsum(1)
    x0 = np.round(rows[:, 2] - 1.0).astype(int)
    y0 = np.clip(np.round(rows[:, 3] - 1.0).astype(int), 0, h)
    x1 = np.round(rows[:, 2] - 1.0 + rows[:, 4]).astype(int)
    y1 = np.clip(np.round(rows[:, 3] - 1.0 + rows[:, 5]).astype(int), 0, h)

    def columns(a: np.ndarray, b: np.ndarray) -> np.ndarray:  # hidden pixels in columns [a, b)
        return integral[y1, b] - integral[y0, b] - integral[y1, a] + integral[y0, a]

    if width is None:
        covered = columns(np.clip(x0, 0, w), np.clip(x1, 0, w))
    else:  # a box through the seam: its columns are summed a lap at a time
        covered = np.zeros(len(rows))
        for lap in (-w, 0, w):
            covered += columns(np.clip(x0 + lap, 0, w), np.clip(x1 + lap, 0, w))
    area = np.maximum((x1 - x0) * (y1 - y0), 1)
    return rows[covered / area < HIDDEN]


# -- placements ---------------------------------------------------------------------------


def placement(
    clip: Clip,
    width: int,
    height: int | None = None,
    *,
    azimuth_deg: float = 180.0,
    hfov_deg: float | None = None,
    pitch_deg: float | None = None,
) -> Placement:
    """The clip on a ``width`` x ``height`` panorama (default 2:1), its centre at ``azimuth_deg``
    (180: through the seam). Uncalibrated clips get ``hfov_deg`` and ``pitch_deg`` (default
    the clip's)."""
    camera = clip.camera()
    if camera is not None:
        return place_calibrated(camera, width, height, azimuth_deg=azimuth_deg)
    w, h = clip.size
    return place_uncalibrated(
        w,
        h,
        width,
        height,
        hfov_deg=hfov_deg or clip.hfov_deg,
        pitch_deg=clip.pitch_deg if pitch_deg is None else pitch_deg,
        azimuth_deg=azimuth_deg,
    )


def carry_rows(rows: np.ndarray, place: Placement | None) -> np.ndarray:
    """MOT rows of the clip -> rows of the panorama (boxes by their outline, ground x, y by the
    rigid motion); rows whose box the panorama does not see are dropped. None: unchanged."""
    if place is None:
        return rows.copy()
    x1y1 = rows[:, 2:4] - 1.0
    boxes = place.boxes(np.concatenate([x1y1, x1y1 + rows[:, 4:6]], axis=1))
    keep = (
        np.isfinite(boxes).all(axis=1) & (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
    )
    out = rows[keep].copy()
    boxes = boxes[keep]
    out[:, 2:4] = boxes[:, :2] + 1.0
    out[:, 4:6] = boxes[:, 2:] - boxes[:, :2]
    if out.shape[1] >= 9:
        known = (out[:, 7] != -1) | (out[:, 8] != -1)
        xy = place.ground(out[:, 7:9])
        out[:, 7:9] = np.where(known[:, None] & np.isfinite(xy), xy, -1.0)
    return out


def write_rows(path: Path, rows: np.ndarray) -> None:
    """MOT rows as text (the precision of :mod:`mplt.io.mot`)."""
    lines = [
        f"{int(r[0])},{int(r[1])},{r[2]:.2f},{r[3]:.2f},{r[4]:.2f},{r[5]:.2f},{r[6]:.3f},"
        + ",".join(
            f"{v:.3f}" if v != -1 else "-1" for v in (r[7:10] if len(r) >= 10 else (-1, -1, -1))
        )
        for r in rows
    ]
    path.write_text("".join(line + "\n" for line in lines))


@dataclass(frozen=True)
class Sequence:
    """A clip as a tracker sees it: perspective, or on the sphere."""

    name: str
    clip: Clip
    folder: Path
    width: int
    height: int
    frames: int
    panorama: bool
    camera_height: float | None  #: metres; None when unknown (uncalibrated clips)
    place: Placement | None = None

    @property
    def video(self) -> Path:
        return self.folder / "video.mp4" if self.panorama else self.clip.video

    @property
    def gt(self) -> Path:
        return self.folder / "gt.txt"

    @property
    def fps(self) -> float:
        return self.clip.fps

    def hidden_mask(self) -> np.ndarray | None:
        """``(height, width)`` bool, True where the clip's pillar hides the scene in this
        sequence's pixels; None without a pillar."""
        if self.clip.pillar is None:
            return None
        w, h = self.clip.size
        mask = np.zeros((h, w, 3), np.uint8)
        mask[:, self.clip.pillar[0] : self.clip.pillar[1]] = 255
        if self.place is not None:
            mask = self.place.frame(mask)
        return mask[..., 0] > 127

    def track_args(self, *, height: bool = True) -> list[str]:
        """``mplt track`` options that describe this sequence's camera."""
        if not self.panorama:
            return ["--calib", str(self.clip.calib)] if self.clip.calib else []
        if height and self.camera_height is not None:
            return ["--camera-height", f"{self.camera_height:.4f}"]
        return []


def perspective_sequence(clip: Clip, max_frames: int | None = None) -> Sequence:
    """The clip itself (calibrated clips keep their world frame)."""
    folder = CACHE / "seq" / clip.name
    folder.mkdir(parents=True, exist_ok=True)
    w, h = clip.size
    rows = gt_rows(clip)
    if max_frames is not None:
        rows = rows[rows[:, 0] <= max_frames]
    frames = int(rows[:, 0].max())
    if not (folder / "gt.txt").is_file():
        write_rows(folder / "gt.txt", rows)
    camera = clip.camera()
    return Sequence(
        clip.name,
        clip,
        folder,
        w,
        h,
        frames,
        False,
        None if camera is None else camera.camera_height,
    )


def sphere_sequence(
    clip: Clip,
    width: int,
    height: int | None = None,
    *,
    max_frames: int | None = None,
    hfov_deg: float | None = None,
    pitch_deg: float | None = None,
    azimuth_deg: float = 180.0,
    tag: str = "",
) -> Sequence:
    """The clip placed on a panorama through the seam; the video is written once."""
    height = height or width // 2
    place = placement(
        clip, width, height, azimuth_deg=azimuth_deg, hfov_deg=hfov_deg, pitch_deg=pitch_deg
    )
    name = f"{clip.name}-360-{width}x{height}{tag}"
    folder = CACHE / "seq" / name
    folder.mkdir(parents=True, exist_ok=True)
    rows = gt_rows(clip)
    if max_frames is not None:
        rows = rows[rows[:, 0] <= max_frames]
    frames = int(rows[:, 0].max())
    meta = {
        "clip": clip.name,
        "width": width,
        "height": height,
        "frames": frames,
        "azimuth_deg": azimuth_deg,
        "hfov_deg": hfov_deg or (None if clip.calib else clip.hfov_deg),
        "pitch_deg": pitch_deg,
        "camera_height_m": place.pano.camera_height,
    }
    meta_file = folder / "meta.json"
    if not meta_file.is_file() or json.loads(meta_file.read_text()) != meta:
        write_rows(folder / "gt.txt", carry_rows(rows, place))
        started = time.perf_counter()
        with (
            open_source(str(clip.video), max_frames=frames) as src,
            VideoWriter(folder / "video.mp4", clip.fps, (width, height), crf=18) as writer,
        ):
            for _, frame in src:
                writer.write(place.frame(frame))
        print(
            f"wrote {folder} ({frames} frames, {time.perf_counter() - started:.0f} s)",
            file=sys.stderr,
        )
        meta_file.write_text(json.dumps(meta, indent=2))
    return Sequence(
        name, clip, folder, width, height, frames, True, place.pano.camera_height, place
    )


# -- detections ---------------------------------------------------------------------------


def _detector(name: str):
    from mplt.config import DetectorConfig
    from mplt.detection import build_detector

    if name == "yolov8s":
        # Low threshold: the trackers apply their own (BYTE uses the weak ones).
        return build_detector(DetectorConfig(backend="yolo", confidence_threshold=0.05), None)
    if name == "hog":
        return build_detector(DetectorConfig(backend="hog", confidence_threshold=0.0), None)
    raise ValueError(f"unknown detector {name!r}")


def clip_detections(clip: Clip, detector: str) -> np.ndarray:
    """(R, 10) MOT det rows of ``detector`` ("frcnn" where given, "yolov8s", "hog") on the
    perspective clip, computed once and cached."""
    if clip.given_detections and detector in clip.given_detections:
        rows = read_mot(clip.given_detections[detector])
        rows[:, 7:10] = -1
        return rows
    cache = CACHE / "det" / f"{clip.name}-{detector}.txt"
    if not cache.is_file():
        cache.parent.mkdir(parents=True, exist_ok=True)
        det = _detector(detector)
        out = []
        started = time.perf_counter()
        with open_source(str(clip.video)) as src:
            batch: list[tuple[int, np.ndarray]] = []
            for item in src:
                batch.append(item)
                if len(batch) == 8:
                    out += _rows(det, batch)
                    batch = []
            out += _rows(det, batch)
        rows = np.array(out).reshape(-1, 10)
        write_rows(cache, rows)
        print(
            f"{detector} on {clip.name}: {len(rows)} boxes, {time.perf_counter() - started:.0f} s",
            file=sys.stderr,
        )
    return read_mot(cache)


def _rows(det, batch: list[tuple[int, np.ndarray]]) -> list[list[float]]:
    if not batch:
        return []
    out = []
    for (index, _), (boxes, scores) in zip(batch, det.detect([f for _, f in batch]), strict=True):
        for b, s in zip(boxes, scores, strict=True):
            out.append([index + 1, -1, b[0] + 1, b[1] + 1, b[2] - b[0], b[3] - b[1], s, -1, -1, -1])
    return out


def sequence_detections(seq: Sequence, detector: str) -> Path:
    """The det file of ``detector`` for ``seq`` (carried to the panorama for sphere sequences)."""
    path = seq.folder / f"det-{detector}.txt"
    if not path.is_file():
        rows = clip_detections(seq.clip, detector)
        rows = rows[rows[:, 0] <= seq.frames]
        write_rows(path, carry_rows(rows, seq.place))
    return path
