"""H.264 MP4 writer that never leaves a half-written file under the final name."""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from core.errors import UserError
from core.files import publish


def part_path(path: str | Path) -> Path:
    """Where :class:`VideoWriter` writes while encoding: ``video.mp4`` -> ``video.part.mp4``."""
    path = Path(path)
    return path.with_name(f"{path.stem}.part{path.suffix}")


class VideoWriter:
    """Encode RGB frames to an H.264 MP4 (yuv420p) through an ffmpeg subprocess.

    Frames go to ``<stem>.part<suffix>`` next to ``path``; a clean :meth:`close` renames that
    file to ``path``, while leaving the ``with`` block by an exception (or :meth:`abort`)
    deletes it. Odd frame sizes are padded by one black row/column, since yuv420p needs even
    sizes.

    Args:
        path: output file, normally ``*.mp4``; its directory must exist.
        fps: frames per second.
        size: (width, height) of the frames in pixels.
        crf: x264 constant rate factor, 0 (lossless) .. 51 (worst); 23 is x264's default,
            lower is better and bigger.
        preset: x264 speed/size trade-off (``ultrafast`` .. ``veryslow``).
    """

    def __init__(
        self,
        path: str | Path,
        fps: float,
        size: tuple[int, int],
        *,
        crf: int = 23,
        preset: str = "medium",
    ) -> None:
        import imageio_ffmpeg  # deferred: only rendering needs it

        width, height = (int(v) for v in size)
        if width < 1 or height < 1:
            raise ValueError(f"size must be positive (width, height), got {size}")
        if not fps > 0:
            raise ValueError(f"fps must be > 0, got {fps}")
        if not 0 <= crf <= 51:
            raise ValueError(f"crf must be in 0..51, got {crf}")
        self.path = Path(path)
        self.part = part_path(self.path)
        self.size = (width, height)
        self.frames_written = 0
        output_params = ["-crf", str(crf), "-preset", preset, "-movflags", "+faststart"]
        if width % 2 or height % 2:
            output_params += ["-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2"]
        self._writer: Generator[None, Any, None] | None = imageio_ffmpeg.write_frames(
            str(self.part),
            (width, height),
            fps=float(fps),
            codec="libx264",
            pix_fmt_out="yuv420p",
            quality=None,
            macro_block_size=1,
            ffmpeg_log_level="error",
            output_params=output_params,
        )
        self._writer.send(None)

    def write(self, frame: np.ndarray) -> None:
        """Append one (H, W, 3) uint8 RGB frame of the size given at construction."""
        if self._writer is None:
            raise ValueError(f"VideoWriter for {self.path} is closed")
        width, height = self.size
        if frame.shape != (height, width, 3) or frame.dtype != np.uint8:
            raise ValueError(
                f"frame must be uint8 ({height}, {width}, 3), got {frame.dtype} {frame.shape}"
            )
        try:
            self._writer.send(np.ascontiguousarray(frame))
        except OSError as exc:
            self.abort()
            raise UserError(
                f"cannot write video {self.path}: {str(exc).splitlines()[0]}; "
                "check free disk space and permissions"
            ) from None
        self.frames_written += 1

    def close(self) -> Path:
        """Finish encoding and move the file to its final name; returns that path.

        Raises:
            ValueError: no frame was written (nothing to save; the partial file is removed).
            UserError: ffmpeg produced no output file.
        """
        if self._writer is None:
            return self.path
        self._writer.close()  # waits for ffmpeg to finish the file
        self._writer = None
        if self.frames_written == 0:
            self.part.unlink(missing_ok=True)
            raise ValueError(f"no frames were written to {self.path}")
        if not self.part.is_file() or self.part.stat().st_size == 0:
            self.part.unlink(missing_ok=True)
            raise UserError(
                f"ffmpeg wrote no video to {self.path}; check free disk space and the ffmpeg log"
            )
        publish(self.part, self.path)
        return self.path

    def abort(self) -> None:
        """Stop encoding and delete the partial file; safe to call twice."""
        if self._writer is not None:
            writer, self._writer = self._writer, None
            writer.close()
        self.part.unlink(missing_ok=True)

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
