"""Streaming renderer: frames and their tracks in, the annotated H.264 video out."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Self

import numpy as np

from core.errors import UserError
from core.types import Tracks
from mplt.geometry import Camera
from mplt.io.video import VideoWriter
from mplt.render.layout import FrameComposer
from mplt.render.mapgeom import MapPose


class VideoRenderer:
    """Draws every frame with a :class:`~mplt.render.layout.FrameComposer` and encodes it.

    Used by ``mplt track --render`` frame by frame and by :func:`~mplt.render.render_run`, so
    both produce the same pictures. A context manager: a clean exit moves the video to ``path``;
    an exception (or :meth:`abort`) deletes the partial ``<stem>.part.mp4`` and leaves nothing
    under ``path``.

    Args:
        path: output ``.mp4``; its directory must exist.
        camera: the camera of the input frames (see :class:`~mplt.render.layout.FrameComposer`).
        fps: frames per second of the input (and output).
        pose: the camera on the map; default :meth:`MapPose.from_camera`.
        layout, width, map_size_px, map_range_m, trail_length, show_confidence: see
            :class:`~mplt.render.layout.FrameComposer` (the fields of ``RenderConfig``).
        crf: H.264 quality, 0 (lossless) .. 51; lower is better and bigger.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        camera: Camera,
        fps: float,
        pose: MapPose | None = None,
        layout: str = "side",
        width: int = 1920,
        map_size_px: int = 720,
        map_range_m: float | None = None,
        trail_length: int = 30,
        show_confidence: bool = False,
        crf: int = 23,
    ) -> None:
        if not 0 <= crf <= 51:
            raise UserError(
                f"render.crf must be in 0..51 (lower is better), got {crf}; set e.g. render.crf=23"
            )
        self.composer = FrameComposer(
            camera,
            pose=pose,
            fps=fps,
            layout=layout,
            width=width,
            map_size_px=map_size_px,
            map_range_m=map_range_m,
            trail_length=trail_length,
            show_confidence=show_confidence,
        )
        self.writer = VideoWriter(path, fps, self.composer.size, crf=crf)

    @property
    def path(self) -> Path:
        """The final video file."""
        return self.writer.path

    @property
    def size(self) -> tuple[int, int]:
        """(W, H) of the output video, pixels."""
        return self.composer.size

    @property
    def frames_written(self) -> int:
        return self.writer.frames_written

    def write(self, frame: np.ndarray, tracks: Tracks) -> None:
        """Draw and append one frame ((H, W, 3) uint8 RGB input frame and its tracks)."""
        self.writer.write(self.composer.compose(frame, tracks))

    def close(self) -> Path:
        """Finish the video and move it to :attr:`path`; returns that path."""
        return self.writer.close()

    def abort(self) -> None:
        """Stop and delete the partial video."""
        self.writer.abort()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.writer.__exit__(exc_type, exc, tb)
