"""The streaming ``mplt track`` pipeline: source -> detect -> localize -> embed -> track -> sinks.

Frames are decoded lazily and processed in small batches, so memory does not grow with the
length of the video. Outputs are appended frame by frame; ``config.yaml`` and ``summary.json``
are replaced atomically, so a run killed at any point leaves valid files up to the last
finished frame.
"""

from __future__ import annotations

import contextlib
import json
import resource
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mplt.version import __version__
from mplt.appearance import build_embedder
from core.config import dump_config, kwargs_of
from mplt.config import TrackConfig
from mplt.detection import build_detector
from core.errors import UserError
from mplt.geometry import Camera, box_centre_azel, build_camera
from core.files import write_atomic
from mplt.io.files import ensure_writable_dir, unique_dir
from mplt.io.jsonl import JsonlWriter
from mplt.io.mot import MotWriter, read_mot_detections
from mplt.io.sources import FrameSource, VideoInfo, open_source
from mplt.localize import Localizer
from core.types import Detections, Tracks, TrackState
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


def _batches(source: FrameSource, size: int, timer: StageTimer) -> Iterator[list[tuple[int, np.ndarray]]]:
    frames = iter(source)
    while True:
        batch = []
        with timer("decode"):
            for _ in range(size):
                item = next(frames, None)
                if item is None:
                    break
                batch.append(item)
        if not batch:
            return
        yield batch


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
) -> dict[str, Any]:
    """Track every person in a video; returns the summary also written to ``summary.json``.

    Args:
        source_spec: video file, folder of images, stream URL or webcam index.
        cfg: resolved configuration (written to ``config.yaml`` in the run directory).
        out_dir: run directory; default ``runs/<video name>`` (never overwrites a run).
        start: first frame to process (0-based).
        max_frames: stop after this many frames.
        detections_file: MOTChallenge detections to track instead of running the detector.
        progress: show a progress bar on stderr.
    """
    given_detections = read_mot_detections(detections_file) if detections_file else None
    with open_source(source_spec, start=start, max_frames=max_frames) as source:
        info = source.info
        camera = build_camera(cfg.camera, (info.width, info.height))
        run_dir = Path(out_dir) if out_dir else default_run_dir(source_spec)
        pipeline = _Pipeline(cfg, camera, info, run_dir, given_detections)
        # Only now that every input and setting has been checked does the run leave a trace.
        ensure_writable_dir(run_dir)
        write_atomic(run_dir / "config.yaml", dump_config(cfg))
        return pipeline.run(source, start, max_frames, progress)


class _Pipeline:
    """One run's stages and sinks; :func:`run_track` is the public entry point."""

    def __init__(
        self,
        cfg: TrackConfig,
        camera: Camera,
        info: VideoInfo,
        run_dir: Path,
        given_detections: dict[int, Detections] | None,
    ) -> None:
        self.cfg = cfg
        self.camera = camera
        self.info = info
        self.run_dir = run_dir
        self.given = given_detections or {}
        self.detector = None if given_detections is not None else build_detector(cfg.detector, camera)
        self.embedder = build_embedder(cfg.embedder, camera)
        ground = camera.has_ground
        self.localizer = Localizer(camera, **kwargs_of(cfg.localize)) if ground else None
        mode = cfg.tracker.mode
        if mode == "auto":
            mode = "ground" if ground else "image"
        if mode == "ground" and not ground:
            raise UserError(
                "tracker.mode=ground needs ground positions, which an uncalibrated perspective "
                "video does not have; pass --calib FILE or use tracker.mode=image"
            )
        self.tracker_mode = mode
        if cfg.output.render:
            from mplt.render import plan_layout

            # A bad layout must fail before any output file is opened.
            plan_layout(
                cfg.render.layout,
                (info.width, info.height),
                width=cfg.render.width,
                map_size_px=cfg.render.map_size_px,
                has_ground=ground,
            )
        tracker_cls = TRACKERS.get(cfg.tracker.name)
        self.tracker = tracker_cls(
            **kwargs_of(cfg.tracker, exclude=("name", "mode")),
            mode=mode,
            fps=info.fps,
            box_space=camera.box_space,
        )
        self.timer = StageTimer()
        self.frames_done = 0
        self.last_frame = -1
        self.detection_count = 0
        self.confirmed_ids: set[int] = set()
        self.max_people = 0

    def _detect(self, batch: list[tuple[int, np.ndarray]]) -> list[Detections]:
        with self.timer("detect"):
            if self.detector is None:
                return [
                    self.given.get(index, Detections.empty(index)).replace(frame_index=index)
                    for index, _ in batch
                ]
            results = self.detector.detect([frame for _, frame in batch])
            return [
                Detections.from_boxes(boxes, scores, frame_index=index)
                for (index, _), (boxes, scores) in zip(batch, results, strict=True)
            ]

    def _enrich(self, frame: np.ndarray, dets: Detections) -> Detections:
        if self.localizer is not None and len(dets):
            with self.timer("localize"):
                loc = self.localizer.localize(dets.boxes)
                # Positions given with the detections (e.g. from a 3D detector) win; they
                # come without a covariance, so they borrow the localizer's.
                given = np.isfinite(dets.ground_xy).all(axis=1)
                usable = given & np.isfinite(loc.ground_cov).all(axis=(1, 2))
                xy = np.where(given[:, None], dets.ground_xy, loc.ground_xy)
                xy[given & ~usable] = np.nan
                dets = dets.replace(ground_xy=xy, ground_cov=loc.ground_cov)
        if self.embedder is not None:
            with self.timer("embed"):
                dets = dets.replace(embeddings=self.embedder.embed(frame, dets.boxes))
        return dets

    def summary(self, status: str, wall_s: float) -> dict[str, Any]:
        n = max(self.frames_done, 1)
        cam_h = self.camera.camera_height
        if not self.camera.has_ground:
            localization = "none (uncalibrated perspective video: image-space tracking)"
        elif cam_h is None:
            localization = "height prior only (camera height unknown; pass --camera-height)"
        else:
            localization = "foot point on the ground fused with the person-height prior"
        return {
            "mplt_version": __version__,
            "status": status,
            "input": {
                "source": self.info.source,
                "width": self.info.width,
                "height": self.info.height,
                "fps": self.info.fps,
                "frame_count": self.info.frame_count,
            },
            "run_dir": str(self.run_dir),
            "frames_processed": self.frames_done,
            "last_frame": self.last_frame + 1,
            "camera": {"model": self.camera.kind, "height_m": cam_h},
            "localization": localization,
            "detector": "given detections" if self.detector is None else self.detector.name,
            "embedder": None if self.embedder is None else self.embedder.name,
            "tracker": {"name": self.cfg.tracker.name, "mode": self.tracker_mode},
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
        self, source: FrameSource, start: int, max_frames: int | None, progress: bool
    ) -> dict[str, Any]:
        total = self.info.frame_count
        if total is not None:
            total = max(total - start, 0)
            if max_frames is not None:
                total = min(total, max_frames)
        elif max_frames is not None:
            total = max_frames
        bar = _Progress(total, progress)
        started = time.perf_counter()
        write_atomic(self.run_dir / "summary.json", json.dumps(self.summary("running", 0.0), indent=2))
        status = "finished"
        with contextlib.ExitStack() as stack:
            mot = stack.enter_context(MotWriter(self.run_dir / "tracks.txt"))
            jsonl = stack.enter_context(JsonlWriter(self.run_dir / "tracks.jsonl"))
            renderer = self._open_renderer(stack)
            try:
                for batch in _batches(source, self.cfg.batch_frames, self.timer):
                    people = 0
                    for (index, frame), dets in zip(batch, self._detect(batch), strict=True):
                        dets = self._enrich(frame, dets)
                        with self.timer("track"):
                            tracks = self.tracker.update(dets)
                        out = _select_output(tracks, self.cfg)
                        with self.timer("write"):
                            mot.write(index, out)
                            azel = box_centre_azel(self.camera, out.boxes)
                            jsonl.write(index, index / self.info.fps, out, azel)
                        if renderer is not None:
                            with self.timer("render"):
                                renderer(frame, out)
                        self.detection_count += len(dets)
                        self.confirmed_ids.update(out.ids[out.states == TrackState.CONFIRMED].tolist())
                        self.max_people = max(self.max_people, len(out))
                        people = len(out)
                        self.frames_done += 1
                        self.last_frame = index
                    bar.update(len(batch), people)
            except KeyboardInterrupt:
                status = "interrupted"
            finally:
                bar.close()
        summary = self.summary(status, time.perf_counter() - started)
        write_atomic(self.run_dir / "summary.json", json.dumps(summary, indent=2))
        if status == "interrupted":
            raise KeyboardInterrupt
        return summary

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
