"""The public Python API: ``mplt.track`` for a whole video, ``mplt.PanoramaTracker`` per frame.

``mplt track`` (the command) is :func:`track` with the options as keywords::

    result = mplt.track("video.mp4", camera_height=2.0, out="runs/video")
    result.summary["counts"]["tracks_confirmed"], result.tracks_txt

and :class:`PanoramaTracker` is the per-frame work of that run, for a loop of one's own::

    camera = mplt.geometry.build_camera(CameraConfig(height_m=2.0), (width, height))
    tracker = mplt.PanoramaTracker(camera, fps=25.0)
    tracks = tracker.update(frame, dets)  # dets: (N, 5) [x1, y1, x2, y2, score], or None

Both raise :class:`core.errors.UserError` for anything the caller can fix, with what to do.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import mplt.pipeline
from core.config import apply_override, config_from_dict, config_to_dict, load_config, updated
from mplt.config import TrackConfig
from mplt.pipeline import PanoramaTracker

if TYPE_CHECKING:
    from mplt.detection import SharedDetector

__all__ = ["PanoramaTracker", "TrackResult", "track"]


@dataclass(frozen=True)
class TrackResult:
    """What :func:`track` wrote.

    Attributes:
        summary: the contents of ``summary.json`` (counts, timings, camera, ...).
        run_dir: the run directory.
        tracks_txt: MOTChallenge tracks with ground positions.
        tracks_jsonl: one line per frame, every track's details.
        config_yaml: the resolved configuration.
        summary_json: the summary file.
        video_mp4: the annotated video, or None when not rendered.
    """

    summary: dict[str, Any]
    run_dir: Path
    tracks_txt: Path
    tracks_jsonl: Path
    config_yaml: Path
    summary_json: Path
    video_mp4: Path | None


def _resolve_config(
    config: TrackConfig | str | Path | None, overrides: Iterable[str]
) -> TrackConfig:
    if isinstance(config, TrackConfig):
        data = config_to_dict(config)
        for assignment in overrides:
            apply_override(data, assignment)
        return config_from_dict(TrackConfig, data)
    return load_config(TrackConfig, config, overrides)


def resolve_track_config(
    config: TrackConfig | str | Path | None,
    overrides: Iterable[str] = (),
    *,
    camera_height: float | str | None = None,
    calib: str | Path | None = None,
    render: bool = False,
) -> TrackConfig:
    """The configuration :func:`track` runs with (arguments as there), checked.

    Raises:
        UserError: a bad file, override or setting.
    """
    cfg = _resolve_config(config, overrides)
    changes: dict[str, Any] = {}
    if camera_height is not None:
        changes["camera.height_m"] = camera_height
    if calib is not None:
        changes["camera.calib"] = str(calib)
    if render:
        changes["output.render"] = True
    if changes:
        cfg = updated(cfg, changes)
    mplt.pipeline.check_settings(cfg)
    return cfg


def track(
    source: str | Path,
    *,
    config: TrackConfig | str | Path | None = None,
    out: str | Path | None = None,
    camera_height: float | str | None = None,
    calib: str | Path | None = None,
    detections: str | Path | None = None,
    start: int = 0,
    max_frames: int | None = None,
    render: bool = False,
    progress: bool = False,
    overrides: Iterable[str] = (),
    overwrite: bool = False,
    allow_empty_detections: bool = False,
    shared_detector: SharedDetector | None = None,
) -> TrackResult:
    """Detect, localize and track every person in a video; the outputs of ``mplt track``.

    Args:
        source: video file, folder of images, stream URL or webcam index.
        config: a :class:`~mplt.config.TrackConfig`, or a YAML file of one
            (``configs/track.yaml``); default the defaults.
        out: run directory; default ``runs/<video name>`` (made unique). A directory that
            holds a run is refused unless ``overwrite``.
        camera_height: camera height above the ground, metres, or ``"auto"``
            (``camera.height_m``; the config's default is auto: estimated from the people).
        calib: pinhole calibration file of a perspective video (``camera.calib``).
        detections: MOTChallenge detections to track instead of running the detector.
        start: first frame to process (0-based).
        max_frames: stop after this many frames.
        render: also write the annotated ``video.mp4`` (as does ``output.render: true``).
        progress: show a progress bar on stderr.
        overrides: ``section.key=value`` settings applied to ``config`` first, as ``--set``.
        overwrite: replace the run in ``out`` once the new one has finished.
        allow_empty_detections: a ``detections`` file without rows is no error.
        shared_detector: detect through this model, shared with runs in other threads
            (:func:`mplt.detection.shared_model`; ``mplt track`` of many videos with
            ``--shared-model``), instead of loading one.

    Raises:
        UserError: a missing input, a bad setting or an unwritable run directory; nothing is
            written then.
    """
    cfg = resolve_track_config(
        config, overrides, camera_height=camera_height, calib=calib, render=render
    )
    summary = mplt.pipeline.run_track(
        str(source),
        cfg,
        out,
        start=start,
        max_frames=max_frames,
        detections_file=detections,
        progress=progress,
        overwrite=overwrite,
        allow_empty_detections=allow_empty_detections,
        shared_detector=shared_detector,
    )
    run_dir = Path(summary["run_dir"])
    video = run_dir / "video.mp4"
    return TrackResult(
        summary=summary,
        run_dir=run_dir,
        tracks_txt=run_dir / "tracks.txt",
        tracks_jsonl=run_dir / "tracks.jsonl",
        config_yaml=run_dir / "config.yaml",
        summary_json=run_dir / "summary.json",
        video_mp4=video if cfg.output.render else None,
    )
