"""``mplt render``: draw a finished (or interrupted) run again from its saved tracks.

Reads ``tracks.jsonl`` (the tracks of every processed frame), ``summary.json`` (input video,
frame size and rate, camera model and height) and ``config.yaml`` (camera pose, calibration
file), rebuilds the run's camera with the one camera factory
(:func:`mplt.geometry.build_camera`), decodes the input video again and feeds both to the same
:class:`~mplt.render.VideoRenderer` that ``mplt track --render`` uses. Nothing is detected
or tracked again. The output covers exactly the frames the run processed (the whole video
unless the run was started with ``--start``/``--max-frames`` or interrupted).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import yaml

from core.config import config_from_dict, kwargs_of
from core.errors import UserError
from core.files import write_atomic
from core.notify import notice
from core.types import Tracks
from mplt.config import CameraConfig, RenderConfig
from mplt.geometry import Camera, Pinhole, build_camera, nominal_intrinsics
from mplt.io.files import ensure_writable_dir
from mplt.io.jsonl import read_jsonl, tracks_from_record
from mplt.io.sources import VideoInfo, open_source
from mplt.render.layout import FrameComposer
from mplt.render.mapgeom import MapPose
from mplt.render.video import VideoRenderer

_LIVE_PREFIXES = ("rtsp://", "rtsps://", "rtmp://", "http://", "https://")


@dataclass(frozen=True)
class RunInfo:
    """What :func:`render_run` needs to know about a run directory.

    Attributes:
        run_dir: the directory.
        source: input as recorded in ``summary.json``.
        frame_size: (W, H) of the input frames, pixels.
        fps: frames per second.
        first: 0-based index of the first frame in ``tracks.jsonl``.
        count: number of frames from ``first`` to the last one in ``tracks.jsonl``.
        camera: what rebuilds the run's camera: the model actually used and the height, as
            ``summary.json`` records them, and the rest of ``config.yaml``'s ``camera``
            section (pose, calibration file; defaults when absent).
    """

    run_dir: Path
    source: str
    frame_size: tuple[int, int]
    fps: float
    first: int
    count: int
    camera: CameraConfig


def load_run(run_dir: str | Path) -> RunInfo:
    """Read a run directory's summary, config and frame range.

    Raises:
        UserError: the directory, ``tracks.jsonl`` or ``summary.json`` is missing or unreadable,
            or the run has no frames.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise UserError(
            f"run directory {run_dir} does not exist; pass the directory `mplt track` wrote "
            "(e.g. runs/sample)"
        )
    tracks_file = run_dir / "tracks.jsonl"
    if not tracks_file.is_file():
        raise UserError(
            f"{run_dir} has no tracks.jsonl, so it is not an mplt run; pass the directory "
            "`mplt track` wrote, or track the video first"
        )
    try:
        summary = json.loads((run_dir / "summary.json").read_text())
        inp = summary["input"]
        frame_size = (int(inp["width"]), int(inp["height"]))
        fps, source = float(inp["fps"]), str(inp["source"])
        camera_model = str(summary["camera"]["model"])
        height = summary["camera"].get("height_m")
        tilt = {
            key: float(summary["camera"][key])
            for key in ("pitch_deg", "roll_deg")
            if summary["camera"].get(key) is not None
        }
    except (OSError, ValueError, KeyError, TypeError) as exc:
        what = "is missing" if isinstance(exc, FileNotFoundError) else "is unreadable"
        raise UserError(
            f"{run_dir / 'summary.json'} {what}; it is written by `mplt track` at the start of "
            "a run: re-run the tracking"
        ) from None
    config: dict[str, Any] = {}
    if (run_dir / "config.yaml").is_file():
        try:
            loaded = yaml.safe_load((run_dir / "config.yaml").read_text())
            config = loaded if isinstance(loaded, dict) else {}
        except yaml.YAMLError:
            notice(f"{run_dir / 'config.yaml'} is not valid YAML; assuming a level camera")
    frames = [tracks_from_record(record).frame_index + 1 for record in read_jsonl(tracks_file)]
    if not frames:
        raise UserError(f"run {run_dir} tracked no frames (empty tracks.jsonl); nothing to render")
    first, last = min(frames) - 1, max(frames) - 1
    section = config.get("camera") if isinstance(config.get("camera"), dict) else {}
    # strict=False: a key an older mplt wrote is no reason to refuse rendering its run.
    camera = config_from_dict(
        CameraConfig, {**section, "model": camera_model, "height_m": height, **tilt}, strict=False
    )
    return RunInfo(run_dir, source, frame_size, fps, first, last - first + 1, camera)


def iter_run_tracks(run: RunInfo) -> Iterator[Tracks]:
    """The tracks of every frame ``run.first .. run.first + run.count - 1``, in order; frames
    without a line in ``tracks.jsonl`` get no tracks."""
    index = run.first
    for record in read_jsonl(run.run_dir / "tracks.jsonl"):
        tracks = tracks_from_record(record)
        while index < tracks.frame_index:
            yield Tracks.empty(index)
            index += 1
        if tracks.frame_index == index:
            yield tracks
            index += 1
    while index < run.first + run.count:
        yield Tracks.empty(index)
        index += 1


def run_camera(run: RunInfo) -> tuple[Camera, MapPose]:
    """The run's camera, rebuilt by the camera factory, and its pose on the map.

    When a pinhole run's calibration cannot be read any more, a notice says so and a level
    pinhole of the frame size stands in (the drawing needs only the size and that there are
    ground positions), with the map centred on the world origin.
    """
    try:
        camera = build_camera(run.camera, run.frame_size)
    except UserError as exc:
        if run.camera.model != "pinhole":
            raise
        notice(f"{exc}; the map is centred on the world origin without a view direction")
        return Pinhole(*run.frame_size, nominal_intrinsics(*run.frame_size)), MapPose()
    return camera, MapPose.from_camera(camera)


def resolve_source(run: RunInfo, video: str | Path | None) -> str:
    if video is not None:
        if not Path(video).exists():
            raise UserError(
                f"video {video} does not exist; pass the run's input video with --video"
            )
        return str(video)
    source = run.source
    if source.lower().startswith(_LIVE_PREFIXES) or source.isdigit():
        raise UserError(
            f"run {run.run_dir} was made from a live source ({source}), which cannot be replayed; "
            "pass a recording of it with --video"
        )
    candidates = [Path(source)]
    if not Path(source).is_absolute():
        # A relative path was relative to where `mplt track` ran: usually above runs/<name>.
        candidates.append(run.run_dir.resolve().parent.parent / source)
    for path in candidates:
        if path.exists():
            return str(path)
    raise UserError(
        f"source video {source} of run {run.run_dir} is not there any more; "
        "pass its new location with --video PATH"
    )


def check_video(info: VideoInfo, run: RunInfo, source: str) -> None:
    if (info.width, info.height) != run.frame_size:
        raise UserError(
            f"video {source} is {info.width}x{info.height} but run {run.run_dir} was tracked on "
            f"{run.frame_size[0]}x{run.frame_size[1]} frames; pass the run's video with --video"
        )
    if abs(info.fps - run.fps) > 0.01 * run.fps:
        raise UserError(
            f"video {source} has {info.fps:g} frames/s but run {run.run_dir} was tracked at "
            f"{run.fps:g}; pass the run's video with --video"
        )
    # The container's count is an estimate (a frame or two off for odd files).
    if info.frame_count is not None and info.frame_count < run.count - 2:
        _short_video(source, run, run.first + info.frame_count)


def _short_video(source: str, run: RunInfo, frames: int) -> None:
    raise UserError(
        f"video {source} has {frames} frames but run {run.run_dir} covers frames "
        f"{run.first + 1}..{run.first + run.count}; pass the run's video with --video"
    )


def _check_output(path: Path, suffix: str) -> Path:
    if path.suffix.lower() != suffix:
        raise UserError(f"output {path} must be a {suffix} file; choose a name ending in {suffix}")
    if path.is_dir():
        raise UserError(f"output {path} is a directory; give a file name ending in {suffix}")
    ensure_writable_dir(path.parent)
    return path


def composer_kwargs(run: RunInfo, cfg: RenderConfig) -> dict[str, Any]:
    """Keyword arguments of :class:`FrameComposer`/:class:`VideoRenderer` for a run."""
    camera, pose = run_camera(run)
    return {
        "camera": camera,
        "pose": pose,
        "fps": run.fps,
        **kwargs_of(cfg, exclude=("crf",)),
    }


def render_run(
    run_dir: str | Path,
    *,
    video: str | Path | None = None,
    out: str | Path | None = None,
    cfg: RenderConfig | None = None,
    snapshot: int | None = None,
    progress: bool = True,
) -> Path:
    """Render a run's saved tracks onto its video again; returns the file written.

    Args:
        run_dir: the directory ``mplt track`` wrote.
        video: the input video, when it is no longer where ``summary.json`` says.
        out: output file; default ``run_dir/video.mp4`` (or ``run_dir/snapshot_<N>.png``).
        cfg: layout, sizes, map range, trails (``RenderConfig()`` when None).
        snapshot: a frame number (1-based, as in the output files): write that one frame as a
            PNG instead of the video, with the trails and map range it has in the video.
        progress: show a progress bar (frames/s, ETA) on stderr.

    Raises:
        UserError: missing run directory, tracks or video, a video that does not match the run
            (size, frame rate or too few frames), an unwritable output, a snapshot frame the
            run does not have. Nothing is left under the output name on failure.
    """
    cfg = cfg or RenderConfig()
    run = load_run(run_dir)
    source = resolve_source(run, video)
    kwargs = composer_kwargs(run, cfg)
    if snapshot is not None:
        return _render_snapshot(run, source, kwargs, int(snapshot), out)
    path = _check_output(Path(out) if out else run.run_dir / "video.mp4", ".mp4")
    with open_source(source, start=run.first, max_frames=run.count) as frames:
        check_video(frames.info, run, source)
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(
                total=run.count,
                unit="frame",
                dynamic_ncols=True,
                file=sys.stderr,
                desc=f"render {path.name}",
            )
        try:
            with VideoRenderer(path, crf=cfg.crf, **kwargs) as renderer:
                for (_, frame), tracks in zip(frames, iter_run_tracks(run), strict=False):
                    renderer.write(frame, tracks)
                    if bar is not None:
                        bar.update(1)
                if renderer.frames_written < run.count:
                    _short_video(source, run, run.first + renderer.frames_written)
        finally:
            if bar is not None:
                bar.close()
    return path


def _render_snapshot(
    run: RunInfo, source: str, kwargs: dict[str, Any], frame_no: int, out: str | Path | None
) -> Path:
    first, last = run.first + 1, run.first + run.count
    if not first <= frame_no <= last:
        raise UserError(
            f"frame {frame_no} is not in run {run.run_dir} (frames {first}..{last}); "
            f"pick a snapshot frame between {first} and {last}"
        )
    path = _check_output(Path(out) if out else run.run_dir / f"snapshot_{frame_no}.png", ".png")
    composer = FrameComposer(**kwargs)
    with open_source(source, start=frame_no - 1, max_frames=1) as frames:
        check_video(
            VideoInfo(frames.info.width, frames.info.height, frames.info.fps, None, source),
            run,
            source,
        )
        frame = next(iter(frames))[1]
    image = None
    for tracks in iter_run_tracks(run):
        # Earlier frames only advance the trails and the map range, as in the video.
        if tracks.frame_index < frame_no - 1:
            composer.observe(tracks)
        else:
            image = composer.compose(frame, tracks)
            break
    ok, png = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    if not ok:
        raise UserError(f"could not encode {path} as PNG; check free memory")
    write_atomic(path, png.tobytes())
    return path
