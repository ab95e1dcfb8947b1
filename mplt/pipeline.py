"""The streaming ``mplt track`` pipeline: source -> detect -> localize -> embed -> track -> sinks.

Frames are decoded lazily and processed in small batches, so memory does not grow with the
length of the video. Every frame goes through :class:`PanoramaTracker`: the batch is detected
at once (:meth:`PanoramaTracker.detect`), then each frame is localized, embedded and tracked
(:meth:`PanoramaTracker.track`) -- the same object serves a frame-by-frame loop of one's own
(:meth:`PanoramaTracker.update`). Outputs are appended frame by frame; ``config.yaml`` and
``summary.json`` are replaced atomically, so a run killed at any point leaves valid files up to
the last finished frame.
"""

from __future__ import annotations

import contextlib
import json
import queue
import resource
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NamedTuple

import cv2
import numpy as np

from core.config import dump_config, kwargs_of, updated
from core.errors import Terminated, UserError
from core.files import write_atomic
from core.types import Detections, Tracks, TrackState
from mplt.appearance import build_embedder
from mplt.config import TrackConfig
from mplt.detection import Detector, SharedDetector, box_margins_of, build_detector
from mplt.feet import FootFinder
from mplt.finish import FINISH_FIELDS, Finisher, FinishSettings
from mplt.geometry import Camera, box_centre_azel, build_camera, estimates_height
from mplt.io.files import unique_dir, write_error
from mplt.io.jsonl import JsonlWriter, tracks_from_record
from mplt.io.mot import MotWriter, read_checked_detections
from mplt.io.rundir import RunClaim, claim_run_dir
from mplt.io.sources import FrameSource, VideoInfo, open_source
from mplt.localize import Localizer
from mplt.selfcal import CameraPoseEstimate, CameraPoseEstimator, PerspectivePoseEstimator
from mplt.version import __version__
from trackers import TRACKERS

STAGES = ("decode", "detect", "localize", "embed", "track", "write", "render")


@dataclass
class StageTimer:
    """Wall-clock seconds spent per pipeline stage."""

    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))

    @contextlib.contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] += time.perf_counter() - start


def as_detections(detections: Detections | np.ndarray, frame_index: int) -> Detections:
    """Detections handed to :meth:`PanoramaTracker.update`, numbered ``frame_index``.

    Args:
        detections: a :class:`Detections`, or an ``(N, 5)`` array ``[x1, y1, x2, y2, score]``
            of xyxy pixels (seam-unwrapped on a panorama) and confidences in [0, 1], or
            ``(N, 6)`` with a class column last, which is ignored (everyone is a person).
        frame_index: 0-based frame number the detections get.

    Raises:
        ValueError: an array of another shape.
    """
    if isinstance(detections, Detections):
        return detections.replace(frame_index=frame_index)
    rows = np.asarray(detections, np.float64)
    if rows.size == 0:
        rows = rows.reshape(0, 5)
    if rows.ndim != 2 or rows.shape[1] not in (5, 6):
        raise ValueError(
            "detections must be Detections or an (N, 5) / (N, 6) array "
            f"[x1, y1, x2, y2, score(, class)], got shape {rows.shape}"
        )
    return Detections.from_boxes(rows[:, :4], rows[:, 4], frame_index)


class TrackedFrame(NamedTuple):
    """A frame whose tracking is done (:meth:`PanoramaTracker.push`).

    Attributes:
        index: 0-based frame number.
        detections: its people, with ground positions (where known) and appearance features.
        tracks: every live track after the frame (tentative, confirmed, lost).
    """

    index: int
    detections: Detections
    tracks: Tracks


#: The height estimate is used once its relative standard deviation is this small ...
SETTLE_REL_STD = 0.04
#: ... and is asked for every this many frames until then, then every REFINE_EVERY frames;
#: a refined estimate replaces the one in use when it differs by more than REFINE_CHANGE.
ESTIMATE_EVERY, REFINE_EVERY, REFINE_CHANGE = 5, 100, 0.03
#: A camera whose height is estimated lower than this many person heights is tracked in image
#: space (tracker mode ``auto``): seen from about head height the feet lie near the horizon and
#: their distances are poor. TUD-Stadtmitte, estimated 1.5 m up: ground tracking HOTA 45.8
#: against 47.7 in the image (perspective), 44.7 / 70.5 / 9 ID switches against 50.1 / 82.7 / 3
#: on the sphere; PETS 2009, 6.2-7 m: 40.9 against 37.2 (perspective, uncalibrated), 47.9
#: against 35.4 (sphere); bench/compare_trackers.py. An uncalibrated perspective camera that
#: low gets no ground at all; a panorama keeps its positions.
MIN_GROUND_HEIGHT_RATIO = 1.5


class PanoramaTracker:
    """Detect -> localize -> embed -> track, one frame at a time: the path of every frame of
    ``mplt track``, for a loop of one's own (like BoxMOT's ``tracker.update(dets, img)``)::

        tracker = PanoramaTracker(build_camera(CameraConfig(height_m=2.0), (W, H)), fps=25.0)
        for frame in frames:
            tracks = tracker.update(frame, dets)  # (N, 5) [x1, y1, x2, y2, score], or None

    With ``camera.height_m: auto`` (the default) on a panorama, the camera's height (and its
    pitch and roll, once people are seen all round) is estimated from the people
    (:mod:`mplt.selfcal`); the estimate replaces the height prior as soon as it settles and is
    refined as the video goes on; one below :data:`MIN_GROUND_HEIGHT_RATIO` person heights that
    settles before the first frame is tracked makes the tracker mode ``auto`` track in image
    space (positions are still reported). On an uncalibrated perspective video its height and pitch
    through a nominal lens are estimated the same way; a camera at least
    :data:`MIN_GROUND_HEIGHT_RATIO` person heights up becomes a
    :class:`~mplt.geometry.NominalPinhole` that gives ground positions, and when it settles
    before the first frame is tracked (``delay_frames``) the tracker mode ``auto`` tracks on
    the ground; a lower one stays in image space. With ``delay_frames > 0`` (what ``mplt
    track`` uses), :meth:`push` holds up to that many frames back until it has settled, so
    that every frame is localized with it; :meth:`update` never waits (``delay_frames = 0``):
    until the estimate settles, positions come from the height prior alone.

    Args:
        camera: the camera of the frames (:func:`mplt.geometry.build_camera`); whether it
            gives ground positions decides localization and the tracker mode ``auto``.
        config: camera, detector, localization, embedder and tracker settings; default
            ``TrackConfig()``. Its ``output`` and ``render`` sections are not read.
        fps: frame rate of the frames (the Kalman time step, ``tracker.max_age_s``).
        detector: the detector for frames given without detections; default: built from
            ``config.detector`` when first needed.
        delay_frames: how many frames :meth:`push` may hold back while the camera height is
            being estimated (0: none).

    With ``config.detect_every`` N > 1 only the first frame after construction (or
    :meth:`reset`) and every N-th after it are detected and embedded; the tracks of the
    frames between are the tracker's predictions (detections given for them are not used),
    and a track is confirmed after ``ceil(tracker.n_init / N)`` detections.

    Attributes:
        camera: the camera in use (replaced when its height is estimated).
        timer: seconds spent per stage (``detect``, ``localize``, ``embed``, ``track``).
        mode: the tracker mode used, ``ground`` or ``image``.
        embedder: the appearance embedder, or None (``embedder.kind: none``).
        pose_estimate: the camera height estimate in use, or None.
        settled_at: 0-based frame whose detections settled the estimate, or None.

    Raises:
        UserError: a setting that does not fit the camera (with what to do).
    """

    def __init__(
        self,
        camera: Camera,
        config: TrackConfig | None = None,
        *,
        fps: float,
        detector: Detector | None = None,
        delay_frames: int = 0,
    ) -> None:
        cfg = config or TrackConfig()
        self.camera = camera
        self.config = cfg
        self.timer = StageTimer()
        self._detector = detector
        self.embedder = build_embedder(cfg.embedder, camera)
        ground = camera.has_ground
        self.localizer = Localizer(camera, **kwargs_of(cfg.localize)) if ground else None
        # an uncalibrated camera may get its ground from the people: foot rows from the start
        self._feet_wanted = ground or estimates_height(cfg.camera, camera)
        self.feet = self._foot_finder()
        mode = cfg.tracker.mode
        if mode == "auto":
            # Without a camera height (none given, none estimated) positions rest on the
            # height prior alone, and tracking them loses to tracking the boxes (PETS on the
            # sphere: HOTA 31.2 -> 35.5, ID switches 81 -> 26, bench/compare_trackers.py).
            known = camera.camera_height is not None or estimates_height(cfg.camera, camera)
            mode = "ground" if ground and known else "image"
        if mode == "ground" and not ground:
            raise UserError(
                "tracker.mode=ground needs ground positions, which an uncalibrated perspective "
                "video does not have; pass --calib FILE or use tracker.mode=image (or auto: "
                "ground once the camera's height is estimated from the people)"
            )
        self.mode = mode
        self._fps = float(fps)
        self.tracker = self._build_tracker(mode)
        self._tracked = 0  # frames tracked since construction or reset
        if delay_frames < 0:
            raise ValueError(f"delay_frames must be >= 0, got {delay_frames}")
        self.delay_frames = int(delay_frames)
        self._pose: CameraPoseEstimator | PerspectivePoseEstimator | None = None
        if estimates_height(cfg.camera, camera) and camera.kind == "image":
            self._pose = PerspectivePoseEstimator(
                camera.width,
                camera.height,
                person_height_m=cfg.localize.person_height_m,
                box_margins=self._box_margins(detector),
            )
        elif estimates_height(cfg.camera, camera):
            c = cfg.camera
            self._pose = CameraPoseEstimator(
                camera.width,
                camera.height,
                person_height_m=cfg.localize.person_height_m,
                # a tilt the user gave is kept; a level camera may turn out tilted
                estimate_tilt=c.pitch_deg == 0.0 and c.roll_deg == 0.0,
                pitch_deg=c.pitch_deg,
                roll_deg=c.roll_deg,
                box_margins=self._box_margins(detector),
            )
        self.pose_estimate: CameraPoseEstimate | None = None
        #: the estimate in use is below MIN_GROUND_HEIGHT_RATIO person heights
        self.too_low = False
        self.settled_at: int | None = None
        # detections, or the index of a frame tracked by prediction alone (detect_every)
        self._pending: deque[Detections | int] = deque()
        self._next_index = 0
        self._pushed = 0
        self._asked_at = -(10**9)

    def _build_tracker(self, mode: str) -> Any:
        cfg = self.config
        # tracker.n_init counts frames: a track seen on every N-th frame is confirmed after
        # as long (HOTA +0.4 to +11 with detect_every 2-5 on the real suite, bench/detect_every.py)
        n_init = -(-cfg.tracker.n_init // cfg.detect_every)
        return TRACKERS.get(cfg.tracker.name)(
            **kwargs_of(cfg.tracker, exclude=("name", "mode", "n_init", *FINISH_FIELDS)),
            n_init=n_init,
            mode=mode,
            fps=self._fps,
            box_space=self.camera.box_space,
        )

    @property
    def detector(self) -> Detector:
        """The detector for frames given without detections (built on first use)."""
        if self._detector is None:
            self._detector = build_detector(self.config.detector, self.camera)
            if self._pose is not None:
                self._pose.box_margins = self._box_margins(self._detector)
        return self._detector

    def _box_margins(self, detector: Detector | None) -> tuple[float, float]:
        """The box margins the height estimate takes off: the configured ones, or with
        ``auto`` those of the detector that finds the people (0 for given detections)."""
        c = self.config.camera
        measured = (0.0, 0.0) if detector is None else box_margins_of(detector)
        top = measured[0] if c.auto_box_top == "auto" else float(c.auto_box_top)
        bottom = measured[1] if c.auto_box_bottom == "auto" else float(c.auto_box_bottom)
        return top, bottom

    @property
    def box_margins(self) -> list[float] | None:
        """(top, bottom) box margins the height estimate takes off; None when not estimating."""
        return None if self._pose is None else list(self._pose.box_margins)

    @property
    def height_from_people(self) -> bool:
        """Whether the camera height is estimated from the people (``height_m: auto``)."""
        return self._pose is not None

    @property
    def estimating(self) -> bool:
        """Whether the camera height is being estimated and has not settled yet."""
        return self._pose is not None and self.pose_estimate is None

    def detects(self, ahead: int = 0) -> bool:
        """Whether the frame pushed ``ahead`` frames after the next one is a detection frame
        (``config.detect_every``), e.g. to detect only those of a batch."""
        return (self._pushed + ahead) % self.config.detect_every == 0

    def update(
        self, frame: np.ndarray, detections: Detections | np.ndarray | None = None
    ) -> Tracks:
        """Track the people of the next frame; frames count from 0 (construction or reset).

        Args:
            frame: ``(H, W, 3)`` uint8 RGB image of the camera.
            detections: the frame's people (see :func:`as_detections`; N may be 0); None
                runs the detector on ``frame``.

        Returns:
            Every live track: tentative (id -1), confirmed and lost (coasting), see
            :class:`~core.types.Tracks`; ground positions NaN in image mode.

        Raises:
            ValueError: a frame of another size than the camera's, malformed detections, or
                a tracker made with ``delay_frames > 0`` (use :meth:`push`).
        """
        if self.delay_frames:
            raise ValueError("update() never waits: use push() and flush() with delay_frames")
        return self.push(frame, detections)[-1].tracks

    def detect(self, frames: Sequence[np.ndarray], indices: Sequence[int]) -> list[Detections]:
        """Run the detector once on a batch of frames.

        Args:
            frames: ``(H, W, 3)`` uint8 RGB images of the camera.
            indices: their 0-based frame numbers.

        Returns:
            One :class:`Detections` per frame (no ground positions or embeddings yet: those
            come in :meth:`push`).
        """
        if not frames:
            return []
        with self.timer("detect"):
            results = self.detector.detect(list(frames))
            return [
                Detections.from_boxes(boxes, scores, frame_index=index)
                for index, (boxes, scores) in zip(indices, results, strict=True)
            ]

    def push(
        self, frame: np.ndarray, detections: Detections | np.ndarray | None = None
    ) -> list[TrackedFrame]:
        """Take the next frame; returns the frames whose tracking is now done, in order.

        The frame's appearance features are taken now; localization and tracking wait while
        the camera height is being estimated (at most ``delay_frames`` frames), so the list
        is empty for held-back frames and holds several once the estimate settles.

        Args:
            frame: ``(H, W, 3)`` uint8 RGB image of the camera (the embedder's crops).
            detections: its people (see :func:`as_detections`), numbered by ``frame_index``
                when a :class:`Detections` (a jump of k counts as k frames); None runs the
                detector. Ground positions given with them (e.g. by a 3D detector) win over
                the localizer's. Not used on a frame between detection frames
                (:meth:`detects`), except for its ``frame_index``.

        Raises:
            ValueError: a frame of another size than the camera's, or malformed detections.
        """
        self._check_frame(frame)
        detect = self.detects()
        self._pushed += 1
        if not detect:
            index = self._next_index
            if isinstance(detections, Detections):
                index = detections.frame_index
            self._next_index = index + 1
            return self._release(index)
        if detections is None:
            dets = self.detect([frame], [self._next_index])[0]
        elif isinstance(detections, Detections):
            dets = detections
        else:
            dets = as_detections(detections, self._next_index)
        self._next_index = dets.frame_index + 1
        if self.feet is not None:
            with self.timer("localize"):
                dets = dets.replace(foot_rows=self.feet.update(frame, dets.boxes))
        if self.embedder is not None:
            with self.timer("embed"):
                if self.feet is not None and getattr(self.embedder, "uses_foreground", False):
                    feats = self.embedder.embed(frame, dets.boxes, self.feet.foreground)
                else:
                    feats = self.embedder.embed(frame, dets.boxes)
                dets = dets.replace(embeddings=feats)
        if self._pose is not None:
            self._observe(dets)
        return self._release(dets)

    def _release(self, item: Detections | int) -> list[TrackedFrame]:
        """Queue a frame; track the frames that need not wait for the camera height."""
        self._pending.append(item)
        done = []
        while self._pending and (not self.estimating or len(self._pending) > self.delay_frames):
            done.append(self._localize_and_track(self._pending.popleft()))
        return done

    def flush(self) -> list[TrackedFrame]:
        """The frames still held back (end of the input): tracked with what is known now."""
        if self._pose is not None and self.estimating:
            self._ask(force=True)
        done = [self._localize_and_track(d) for d in self._pending]
        self._pending.clear()
        return done

    # -- the camera height ------------------------------------------------------------------

    def _observe(self, dets: Detections) -> None:
        """Feed the height estimator and use its estimate when it has settled or moved."""
        assert self._pose is not None
        with self.timer("localize"):
            self._pose.add(dets.boxes, dets.scores, dets.frame_index)
            every = ESTIMATE_EVERY if self.estimating else REFINE_EVERY
            if dets.frame_index - self._asked_at >= every:
                self._ask()

    def _ask(self, force: bool = False) -> None:
        """Ask the estimator; use a settled (or, with ``force``, any) estimate."""
        assert self._pose is not None
        self._asked_at = self._next_index - 1
        est = self._pose.estimate()
        if est is None or (est.height_std_m > SETTLE_REL_STD * est.height_m and not force):
            return
        current = self.pose_estimate
        if current is not None and abs(est.height_m / current.height_m - 1) <= REFINE_CHANGE:
            return
        if self.settled_at is None:
            self.settled_at = self._asked_at
        self.pose_estimate = est
        changes = {"height_m": est.height_m, "pitch_deg": est.pitch_deg, "roll_deg": est.roll_deg}
        low = est.height_m < MIN_GROUND_HEIGHT_RATIO * self.config.localize.person_height_m
        self.too_low = low
        if isinstance(self._pose, PerspectivePoseEstimator):
            if low:  # about head height: positions would be poor, the image is better
                self._feet_wanted, self.feet = False, None
                return
            changes["model"] = "nominal"
        camera = build_camera(
            updated(self.config.camera, changes), (self.camera.width, self.camera.height)
        )
        self.camera = camera
        wanted = "image" if low else "ground"
        if (
            camera.has_ground
            and self.config.tracker.mode == "auto"
            and self._tracked == 0
            and wanted != self.mode
        ):
            self.mode = wanted
            self.tracker = self._build_tracker(wanted)
        self.localizer = Localizer(camera, **kwargs_of(self.config.localize))
        if self.embedder is not None:
            self.embedder.camera = camera
        set_camera = getattr(self._detector, "set_camera", None)
        if set_camera is not None:
            set_camera(camera)

    # -- localize and track -----------------------------------------------------------------

    def _localize_and_track(self, dets: Detections | int) -> TrackedFrame:
        if isinstance(dets, int):  # between detection frames: the first frame is detected
            return TrackedFrame(dets, Detections.empty(dets), self.tracker.predict(dets))
        if self.localizer is not None and len(dets):
            with self.timer("localize"):
                loc = self.localizer.localize(dets.boxes, dets.foot_rows)
                # Given positions come without a covariance, so they borrow the localizer's.
                given = np.isfinite(dets.ground_xy).all(axis=1)
                usable = given & np.isfinite(loc.ground_cov).all(axis=(1, 2))
                xy = np.where(given[:, None], dets.ground_xy, loc.ground_xy)
                xy[given & ~usable] = np.nan
                dets = dets.replace(ground_xy=xy, ground_cov=loc.ground_cov)
        with self.timer("track"):
            tracks = self.tracker.update(dets)
        self._tracked += 1
        if self.mode == "image" and self.localizer is not None and len(tracks):
            # image-mode tracks report their matched detection's position (NaN while coasting)
            det = tracks.detection_indices
            xy = np.full((len(tracks), 2), np.nan)
            xy[det >= 0] = dets.ground_xy[det[det >= 0]]
            tracks = replace(tracks, ground_xy=xy)
        return TrackedFrame(dets.frame_index, dets, tracks)

    def _check_frame(self, frame: np.ndarray) -> None:
        size = (self.camera.height, self.camera.width)
        if np.shape(frame)[:2] != size:
            raise ValueError(f"frame must be {size[1]}x{size[0]}, got shape {np.shape(frame)}")

    def _foot_finder(self) -> FootFinder | None:
        """Foot rows from the foreground where positions are localized (``feet.source``)."""
        feet = self.config.feet
        if not self._feet_wanted or feet.source != "foreground":
            return None
        return FootFinder(self.camera, **kwargs_of(feet, exclude=("source",)))

    def reset(self) -> None:
        """Forget every track and held-back frame (another video follows); IDs and frame
        numbers start again. A camera height estimated so far is kept."""
        self.tracker.reset()
        self._tracked = 0
        self.feet = self._foot_finder()  # another background
        self._pending.clear()
        self._next_index = 0
        self._pushed = 0
        self._asked_at = -(10**9)


def _select_output(tracks: Tracks, cfg: TrackConfig) -> Tracks:
    keep = tracks.states == TrackState.CONFIRMED
    if cfg.output.write_tentative:
        keep |= tracks.states == TrackState.TENTATIVE
    if cfg.output.write_lost:
        keep |= tracks.states == TrackState.LOST
    return tracks.select(keep)


def default_run_dir(source: str) -> Path:
    """``runs/<video name>`` (made unique)."""
    stem = Path(source).stem if not source.isdigit() else f"webcam{source}"
    return unique_dir(Path("runs") / (stem or "stream"))


class _Progress:
    """tqdm progress bar with frames/s and ETA, on stderr; silent when disabled."""

    def __init__(self, total: int | None, enabled: bool) -> None:
        self._bar = None
        if enabled:
            from tqdm import tqdm

            self._bar = tqdm(total=total, unit="frame", dynamic_ncols=True, file=sys.stderr)

    def update(self, n: int, people: int) -> None:
        if self._bar is not None:
            self._bar.set_postfix(people=people, refresh=False)
            self._bar.update(n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


class _Prefetch:
    """A source's frames decoded ahead in a thread while the pipeline works on earlier ones.

    At most ``size`` frames wait in a bounded queue, so memory stays flat; the order is the
    source's, and an error of the decoder is raised after the frames decoded before it, as
    the source itself would. :meth:`close` stops the thread (before the source is closed).
    """

    _END = object()

    def __init__(self, source: FrameSource, size: int) -> None:
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=size)
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._decode, args=(iter(source),), name="mplt-decode", daemon=True
        )
        self._thread.start()

    def _decode(self, frames: Iterator[tuple[int, np.ndarray]]) -> None:
        try:
            for item in frames:
                if not self._put(item):
                    return
            self._put(self._END)
        except BaseException as exc:  # handed to the pipeline's thread, raised there
            self._put(exc)

    def _put(self, item: Any) -> bool:
        """Queue ``item`` unless the pipeline has stopped; whether it was queued."""
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self) -> Iterator[tuple[int, np.ndarray]]:
        while True:
            item = self._queue.get()
            if item is self._END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


def _batches(
    source: Iterable[tuple[int, np.ndarray]], size: int, timer: StageTimer
) -> Iterator[list[tuple[int, np.ndarray]]]:
    """Batches of ``size`` frames; the decode stage is the time spent waiting for them."""
    frames = iter(source)
    while True:
        batch: list[tuple[int, np.ndarray]] = []
        try:
            with timer("decode"):
                for _ in range(size):
                    item = next(frames, None)
                    if item is None:
                        break
                    batch.append(item)
        except UserError:
            # A decoder that fails mid-batch: the frames it did give are still tracked.
            if batch:
                yield batch
            raise
        if not batch:
            return
        yield batch


def _height_source(cfg: TrackConfig, camera: Camera, estimate: CameraPoseEstimate | None) -> str:
    """Where the camera height of a run came from, for ``summary.json``."""
    if not camera.has_ground:
        return "none"
    if estimate is not None:
        return "estimated from the people"
    if camera.kind == "pinhole":
        return "calibration"
    if isinstance(cfg.camera.height_m, (int, float)):
        return "given"
    return "unknown"


def _pack(frame: np.ndarray) -> bytes:
    """A frame kept for the renderer while it waits, JPEG-compressed (a few % of its size)."""
    ok, data = cv2.imencode(".jpg", frame[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 95])
    if not ok:
        raise UserError("could not compress a frame for the renderer; check free memory")
    return data.tobytes()


def _unpack(frame: np.ndarray | bytes) -> np.ndarray:
    if isinstance(frame, np.ndarray):
        return frame
    return cv2.imdecode(np.frombuffer(frame, np.uint8), cv2.IMREAD_COLOR)[..., ::-1].copy()


def _peak_memory_mb() -> float:
    # ru_maxrss is KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_track(
    source_spec: str,
    cfg: TrackConfig,
    out_dir: str | Path | None = None,
    *,
    start: int = 0,
    max_frames: int | None = None,
    detections_file: str | Path | None = None,
    progress: bool = True,
    overwrite: bool = False,
    allow_empty_detections: bool = False,
    shared_detector: SharedDetector | None = None,
) -> dict[str, Any]:
    """Track every person in a video; returns the summary also written to ``summary.json``.

    Args:
        source_spec: video file, folder of images, stream URL or webcam index.
        cfg: resolved configuration (written to ``config.yaml`` in the run directory).
        out_dir: run directory; default ``runs/<video name>`` (made unique). A directory that
            holds files is refused (see :func:`mplt.io.rundir.claim_run_dir`).
        start: first frame to process (0-based).
        max_frames: stop after this many frames.
        detections_file: MOTChallenge detections to track instead of running the detector.
        progress: show a progress bar on stderr.
        overwrite: replace the run in ``out_dir`` once this one has finished.
        allow_empty_detections: a detections file without rows is accepted (a video without
            people) instead of being an error.
        shared_detector: detect through this model, shared with runs in other threads
            (:func:`mplt.detection.shared_model`), instead of loading one.

    Raises:
        UserError: a bad input or setting (before anything is written), a run directory that
            is taken, or a failure during the run (``summary.json`` then says ``failed`` with
            the reason), also a video shorter than its container says (``truncated``).
    """
    check_settings(cfg)
    with open_source(source_spec, start=start, max_frames=max_frames) as source:
        info = source.info
        camera = build_camera(cfg.camera, (info.width, info.height))
        given_detections = None
        if detections_file is not None:
            limit = info.total_frames
            if limit is not None and not Path(source_spec).is_dir():
                limit += TRUNCATION_SLACK  # a container's frame count is an estimate
            given_detections = read_checked_detections(
                detections_file,
                (info.width, info.height),
                frame_limit=limit,
                allow_empty=allow_empty_detections,
            )
        run_dir = Path(out_dir) if out_dir else default_run_dir(source_spec)
        pipeline = _Pipeline(cfg, camera, info, run_dir, given_detections, shared_detector)
        # Only now that every input and setting has been checked does the run leave a trace.
        claim = claim_run_dir(run_dir, overwrite=overwrite)
        try:
            pipeline.run_dir = claim.path
            try:
                write_atomic(claim.path / "config.yaml", dump_config(cfg))
            except OSError as exc:
                raise write_error(claim.path / "config.yaml", exc) from None
            return pipeline.run(source, start, max_frames, progress, claim)
        finally:
            claim.release()


#: Settings of a run with a range, as (key, lowest, highest or None, interval): "[]" both
#: ends allowed, "(]" the lowest excluded, "[)" the highest, "()" both excluded. A key a
#: config lacks is skipped.
_RANGES: tuple[tuple[str, float, float | None, str], ...] = (
    ("batch_frames", 1, None, "[]"),
    ("detect_every", 1, None, "[]"),
    ("decode_ahead", 0, None, "[]"),
    ("camera.auto_height_delay_s", 0, None, "[]"),
    ("camera.auto_box_top", 0, 0.5, "[)"),
    ("camera.auto_box_bottom", 0, 0.5, "[)"),
    ("detector.confidence_threshold", 0, 1, "[]"),
    ("detector.nms_iou_threshold", 0, 1, "[]"),
    ("detector.imgsz", 1, None, "[]"),
    ("detector.tile_overlap", 0, 0.9, "[]"),
    ("detector.seam_pad_px", 0, None, "[]"),
    ("detector.target_px", 0, None, "(]"),
    ("detector.max_range_m", 0, None, "(]"),
    ("detector.near_views", 0, None, "[]"),
    ("detector.min_box_height_px", 0, None, "[]"),
    ("detector.batch_size", 1, None, "[]"),
    ("feet.history_frames", 1, None, "[]"),
    ("feet.var_threshold", 0, None, "(]"),
    ("feet.min_fill", 0, 1, "(]"),
    ("feet.window_up", 0, None, "(]"),
    ("feet.window_down", 0, None, "(]"),
    ("feet.max_foreground", 0, 1, "(]"),
    ("feet.warmup_frames", 0, None, "[]"),
    ("feet.max_gap", 0, None, "[]"),
    ("feet.moving_frames", 0, None, "[]"),
    ("embedder.crop_height", 1, None, "[]"),
    ("embedder.crop_width", 1, None, "[]"),
    ("embedder.batch_size", 1, None, "[]"),
    ("embedder.colour_weight", 0, 1, "()"),
    ("tracker.max_cosine_distance", 0, 2, "[]"),
    ("tracker.nn_budget", 1, None, "[]"),
    ("tracker.feature_ema", 0, 1, "[]"),
    ("tracker.gating_probability", 0, 1, "()"),
    ("tracker.appearance_weight", 0, 1, "[]"),
    ("tracker.cascade_min_iou", 0, 1, "[]"),
    ("tracker.n_init", 1, None, "[]"),
    ("tracker.max_age_frames", 1, None, "[]"),
    ("tracker.max_age_s", 0, None, "[]"),
    ("tracker.max_iou_distance", 0, 1, "[]"),
    ("tracker.min_score_new_track", 0, 1, "[]"),
    ("tracker.high_score", 0, 1, "[]"),
    ("tracker.low_max_iou_distance", 0, 1, "[]"),
    ("tracker.ground_match_radius_m", 0, None, "(]"),
    ("tracker.max_speed_mps", 0, None, "(]"),
    ("tracker.accel_std", 0, None, "(]"),
    ("tracker.init_speed_std", 0, None, "(]"),
    ("tracker.reid_window_s", 0, None, "[]"),
    ("tracker.reid_max_cosine", 0, 2, "[]"),
    ("tracker.reid_speed_mps", 0, None, "[]"),
    ("tracker.finish_smooth_accel_mps2", 0, None, "[]"),
    ("fleet.workers", 1, None, "[]"),
    ("fleet.retries", 0, None, "[]"),
    ("fleet.ray_num_cpus", 0, None, "[]"),
    ("fleet.ray_num_gpus", 0, None, "[]"),
    ("render.width", 16, None, "[]"),
    ("render.map_size_px", 16, None, "[]"),
    ("render.map_range_m", 0, None, "(]"),
    ("render.trail_length", 0, None, "[]"),
    ("render.crf", 0, 51, "[]"),
    ("adapt.min_conf", 0, 1, "[]"),
    ("adapt.min_frames", 2, None, "[]"),
    ("adapt.max_gap_frames", 0, None, "[]"),
    ("adapt.max_tracklet_frames", 0, None, "[]"),
    ("adapt.frame_step", 1, None, "[]"),
    ("adapt.max_crops_per_id", 2, None, "[]"),
    ("adapt.time_segments", 1, None, "[]"),
    ("adapt.holdout_block_frames", 1, None, "[]"),
    ("adapt.holdout_every", 2, None, "[]"),
    ("adapt.epochs", 1, None, "[]"),
    ("adapt.max_steps_per_epoch", 1, None, "[]"),
    ("adapt.batch_ids", 2, None, "[]"),
    ("adapt.crops_per_id", 2, None, "[]"),
    ("adapt.lr", 0, None, "(]"),
    ("adapt.knn", 0, None, "[]"),
    ("adapt.iterations", 1, None, "[]"),
    ("adapt.min_gain", 0, None, "[]"),
    ("adapt.retrack_gate", 0, 2, "(]"),
)


def check_settings(cfg: TrackConfig) -> None:
    """Settings whose type is right but whose value makes no run (checked before any output).

    A device is checked even when nothing would run on it (given detections, colour
    features): a typo there is a typo the user should hear about.
    """
    for key, low, high, interval in _RANGES:
        section, _, name = key.rpartition(".")
        value = getattr(getattr(cfg, section) if section else cfg, name, None)
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            continue  # None (the default) or "auto"; the type itself is checked on loading
        too_low = value <= low if interval[0] == "(" else value < low
        too_high = high is not None and (value >= high if interval[1] == ")" else value > high)
        if too_low or too_high:
            if high is not None:
                bounds = f"in {interval[0]}{low:g}, {high:g}{interval[1]}"
            else:
                bounds = f"greater than {low:g}" if interval[0] == "(" else f"at least {low:g}"
            raise UserError(
                f"config {key} must be {bounds}, got {value:g}; set another value "
                f"(--set {key}=...; configs/track.yaml has the defaults)"
            )
    devices = {cfg.detector.device, cfg.embedder.device, cfg.adapt.device} - {"auto"}
    if devices:
        from mplt.detection.yolo import resolve_device

        for device in sorted(devices):
            resolve_device(device)


class _Interrupts:
    """Ctrl-C (SIGINT) and SIGTERM stop a run between frames, outputs finalised.

    Inside :meth:`held` a signal waits until the block ends, so that one frame's lines reach
    every sink or none (a Ctrl-C between ``tracks.txt`` and ``tracks.jsonl`` left one frame
    more in the first). Only the main thread can take signals; elsewhere both are no-ops.
    """

    def __init__(self) -> None:
        self._holding = False
        self._pending: KeyboardInterrupt | None = None

    def _handler(self, signum: int, frame: Any) -> None:
        exc = (
            Terminated("terminated by SIGTERM") if signum == signal.SIGTERM else KeyboardInterrupt()
        )
        if self._holding:
            self._pending = exc
            return
        raise exc

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {
            sig: signal.signal(sig, self._handler) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        self._holding = True
        try:
            yield
        finally:
            self._holding = False
        if self._pending is not None:
            exc, self._pending = self._pending, None
            raise exc


#: summary.json is rewritten at most this often while a run goes (seconds).
SUMMARY_EVERY_S = 1.0
#: A video may yield this many frames fewer than its container's duration x frame rate
#: promises before it counts as truncated (the estimate rounds).
TRUNCATION_SLACK = 2


class _Pipeline:
    """One run's stages and sinks; :func:`run_track` is the public entry point."""

    def __init__(
        self,
        cfg: TrackConfig,
        camera: Camera,
        info: VideoInfo,
        run_dir: Path,
        given_detections: dict[int, Detections] | None,
        shared: SharedDetector | None = None,
    ) -> None:
        self.cfg = cfg
        self.camera = camera
        self.info = info
        self.run_dir = run_dir
        self.given = given_detections
        # Built here, not on first use, so that a detector that cannot run fails before any
        # output file is written.
        detector = None
        if given_detections is None:
            detector = build_detector(cfg.detector, camera, shared)
        self.detector_name = "given detections" if detector is None else detector.name
        delay = 0
        if estimates_height(cfg.camera, camera):
            delay = max(0, round(cfg.camera.auto_height_delay_s * info.fps))
        self.tracker = PanoramaTracker(
            camera, cfg, fps=info.fps, detector=detector, delay_frames=delay
        )
        # frames waiting for their tracks, for the renderer (JPEG while the height settles)
        self._held: dict[int, np.ndarray | bytes] = {}
        self._interrupts = _Interrupts()
        self.timer = self.tracker.timer
        if cfg.output.render:
            from mplt.render import plan_layout

            # A bad layout must fail before any output file is opened.
            plan_layout(
                cfg.render.layout,
                (info.width, info.height),
                width=cfg.render.width,
                map_size_px=cfg.render.map_size_px,
                has_ground=camera.has_ground,
            )
        self.final_dir = run_dir
        self.reason: str | None = None
        self.frames_done = 0
        self.last_frame = -1
        self.detection_count = 0
        self.confirmed_ids: set[int] = set()
        self.max_people = 0
        self.finisher = (
            Finisher(camera.box_space, info.fps, FinishSettings.of(cfg.tracker))
            if cfg.tracker.finish
            else None
        )

    def _detect(self, batch: list[tuple[int, np.ndarray]]) -> list[Detections]:
        """The batch's detections; frames between detection frames get empty ones, which
        only carry their index (:meth:`PanoramaTracker.detects`)."""
        wanted = [item for j, item in enumerate(batch) if self.tracker.detects(j)]
        if self.given is None:
            found = self.tracker.detect([frame for _, frame in wanted], [i for i, _ in wanted])
        else:
            with self.timer("detect"):
                found = [
                    self.given.get(index, Detections.empty(index)).replace(frame_index=index)
                    for index, _ in wanted
                ]
        by_index = {d.frame_index: d for d in found}
        return [by_index.get(index, Detections.empty(index)) for index, _ in batch]

    def summary(self, status: str, wall_s: float) -> dict[str, Any]:
        n = max(self.frames_done, 1)
        camera = self.tracker.camera
        estimate = self.tracker.pose_estimate
        if not camera.has_ground and estimate is not None:
            localization = (
                f"none (uncalibrated perspective video, camera estimated {estimate.height_m:.2f} m "
                "up: too low for ground positions; image-space tracking)"
            )
        elif not camera.has_ground:
            localization = "none (uncalibrated perspective video: image-space tracking)"
        elif self.tracker.too_low and self.tracker.mode == "image":
            localization = (
                "foot point on the ground fused with the person-height prior (camera estimated "
                f"{estimate.height_m:.2f} m up: too low to track on the ground; image-space "
                "tracking, positions reported)"
            )
        elif camera.camera_height is None:
            localization = (
                "height prior only (camera height not settled from the people: too few seen; "
                "pass --camera-height)"
                if self.tracker.height_from_people
                else "height prior only (camera height unknown; pass --camera-height)"
            )
        else:
            localization = "foot point on the ground fused with the person-height prior"
            feet = self.tracker.feet
            if feet is not None and feet.stopped_at is not None:
                localization += (
                    f" (foot rows stopped after {feet.stopped_at} frames: the camera moves; "
                    "box bottoms)"
                )
            elif feet is not None:
                localization += " (foot rows from the foreground where seen, else box bottoms)"
        embedder = self.tracker.embedder
        return {
            "mplt_version": __version__,
            "status": status,
            "input": {
                "source": self.info.source,
                "width": self.info.width,
                "height": self.info.height,
                "fps": self.info.fps,
                "frame_count": self.info.frame_count,
                "decoder": self.info.decoder,
            },
            "run_dir": str(self.run_dir),
            "frames_processed": self.frames_done,
            "last_frame": self.last_frame + 1,
            "reason": self.reason,
            "camera": {
                "model": camera.kind,
                "height_m": camera.camera_height,
                # the tilt in use (estimated or given); None for a calibrated camera's own
                "pitch_deg": getattr(camera, "pitch_deg", None),
                "roll_deg": getattr(camera, "roll_deg", None),
                "height_source": _height_source(self.cfg, camera, estimate),
                "height_estimate": None if estimate is None else estimate.to_dict(),
                "height_settled_at_frame": (
                    None if self.tracker.settled_at is None else self.tracker.settled_at + 1
                ),
                "height_box_margins": self.tracker.box_margins,
            },
            "localization": localization,
            "detector": self.detector_name,
            "embedder": None if embedder is None else embedder.name,
            "tracker": {"name": self.cfg.tracker.name, "mode": self.tracker.mode},
            "counts": {
                "detections": self.detection_count,
                "tracks_confirmed": len(self.confirmed_ids),
                "max_people_in_frame": self.max_people,
            },
            "timing": {
                "wall_s": round(wall_s, 3),
                "fps": round(self.frames_done / wall_s, 3) if wall_s > 0 else None,
                "ms_per_frame": {k: round(1000 * v / n, 3) for k, v in self.timer.seconds.items()},
            },
            "peak_memory_mb": round(_peak_memory_mb(), 1),
            "outputs": sorted(p.name for p in self.run_dir.iterdir() if not p.name.startswith(".")),
        }

    def run(
        self,
        source: FrameSource,
        start: int,
        max_frames: int | None,
        progress: bool,
        claim: RunClaim,
    ) -> dict[str, Any]:
        # frame_count already counts from `start` and stops at `max_frames`
        total = self.info.frame_count
        if total is None and max_frames is not None:
            total = max_frames
        bar = _Progress(total, progress)
        started = time.perf_counter()
        self._write_summary("running", started)
        status, error = "finished", None
        decoded = 0
        try:
            with contextlib.ExitStack() as stack:
                mot = stack.enter_context(MotWriter(self.run_dir / "tracks.txt"))
                jsonl = stack.enter_context(JsonlWriter(self.run_dir / "tracks.jsonl"))
                renderer = self._open_renderer(stack)
                frames: Iterable[tuple[int, np.ndarray]] = source
                if self.cfg.decode_ahead > 0:
                    frames = stack.enter_context(
                        contextlib.closing(_Prefetch(source, self.cfg.decode_ahead))
                    )
                written_at = time.perf_counter()
                try:
                    with self._interrupts.installed():
                        for batch in _batches(frames, self.cfg.batch_frames, self.timer):
                            decoded += len(batch)
                            people = 0
                            detected = self._detect(batch)
                            for (index, frame), dets in zip(batch, detected, strict=True):
                                if renderer is not None:
                                    waiting = self.tracker.estimating
                                    self._held[index] = _pack(frame) if waiting else frame
                                for done in self.tracker.push(frame, dets):
                                    people = self._write(done, mot, jsonl, renderer)
                            bar.update(len(batch), people)
                            if time.perf_counter() - written_at >= SUMMARY_EVERY_S:
                                self._write_summary("running", started)
                                written_at = time.perf_counter()
                        for done in self.tracker.flush():
                            self._write(done, mot, jsonl, renderer)
                except KeyboardInterrupt as exc:
                    status, error = "interrupted", exc
                    self.reason = str(exc) or "interrupted by Ctrl-C (SIGINT)"
                except UserError as exc:
                    status, error = "failed", exc
                    self.reason = str(exc)
                except Exception as exc:
                    status, error = "failed", exc
                    self.reason = f"{type(exc).__name__}: {exc}"
                finally:
                    bar.close()
                if status != "finished":
                    # Frames held back while the camera height settles are decoded and
                    # detected: track and write them too. The run has already failed, so a
                    # second failure here (the same full disk) only ends that early.
                    with contextlib.suppress(Exception):
                        for done in self.tracker.flush():
                            self._write(done, mot, jsonl, renderer)
        except UserError as exc:
            # a sink that fails while it closes (a full disk)
            status, error = "failed", exc
            self.reason = str(exc)
        announced = self.info.frame_count
        short = announced is not None and decoded < announced - TRUNCATION_SLACK
        if status == "finished" and short:
            status = "truncated"
            self.reason = f"read {decoded} of the {announced} frames the container announces"
            error = UserError(
                f"video {self.info.source} ended after {decoded} of the {announced} frames its "
                f"container announces (a truncated file); the tracks of the {decoded} frames "
                f"read are in {self.run_dir}; re-download or re-encode the video"
            )
        if status == "finished" and self.finisher is not None:
            try:
                self.finisher.write(self.run_dir, self.tracker.camera)
            except OSError as exc:
                status, error = "failed", write_error(self.run_dir / "tracks_final.txt", exc)
                self.reason = str(error)
        summary = self._write_summary(status, started)
        if status == "finished":
            claim.publish()
            self.run_dir = claim.path
            summary["run_dir"] = str(self.run_dir)
        if error is not None:
            raise error
        return summary

    def _write_summary(self, status: str, started: float) -> dict[str, Any]:
        """Rewrite ``summary.json`` (atomically) with the run as it stands."""
        summary = self.summary(status, time.perf_counter() - started)
        if status == "finished":
            summary["run_dir"] = str(self.final_dir)
        try:
            write_atomic(self.run_dir / "summary.json", json.dumps(summary, indent=2))
        except OSError as exc:
            raise write_error(self.run_dir / "summary.json", exc) from None
        return summary

    def _write(self, done: TrackedFrame, mot: MotWriter, jsonl: JsonlWriter, renderer: Any) -> int:
        """Write one tracked frame to every sink; returns the number of people written."""
        with self._interrupts.held():
            return self._write_frame(done, mot, jsonl, renderer)

    def _write_frame(
        self, done: TrackedFrame, mot: MotWriter, jsonl: JsonlWriter, renderer: Any
    ) -> int:
        index = done.index
        out = _select_output(done.tracks, self.cfg)
        with self.timer("write"):
            azel = box_centre_azel(self.tracker.camera, out.boxes)
            # tracks.jsonl first: killed between the two (SIGKILL cannot be held), tracks.txt
            # never holds a frame that tracks.jsonl lacks
            written = jsonl.write(index, index / self.info.fps, out, azel)
            mot.write(index, out)
        if renderer is not None:
            with self.timer("render"):
                # the tracks as tracks.jsonl holds them: `mplt render` redraws this frame exactly
                renderer(_unpack(self._held.pop(index)), tracks_from_record(written))
        if self.finisher is not None:
            early = self.tracker.tracker.take_early_frames()
            self.finisher.add(done.tracks, done.detections, early)
        self.detection_count += len(done.detections)
        self.confirmed_ids.update(out.ids[out.states == TrackState.CONFIRMED].tolist())
        self.max_people = max(self.max_people, len(out))
        self.frames_done += 1
        self.last_frame = index
        return len(out)

    def _open_renderer(self, stack: contextlib.ExitStack) -> Any:
        """The same drawing as ``mplt render``, streamed: ``render(frame, tracks)`` or None."""
        if not self.cfg.output.render:
            return None
        from mplt.render import VideoRenderer

        renderer = stack.enter_context(
            VideoRenderer(
                self.run_dir / "video.mp4",
                camera=self.camera,
                fps=self.info.fps,
                **kwargs_of(self.cfg.render),
            )
        )
        return renderer.write
