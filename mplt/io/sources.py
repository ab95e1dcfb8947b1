"""Frame sources: video files, stream URLs, webcams and image folders, decoded lazily.

Every source yields ``(frame_index, frame)`` pairs where ``frame_index`` is the 0-based index of
the frame in the *whole* input (so ``start=100`` yields 100, 101, ...) and ``frame`` is a fresh,
writable ``uint8`` array of shape (H, W, 3) in RGB order. Only one frame is held at a time, so
memory stays constant however long the input is.

Files and URLs are decoded by an ``ffmpeg`` subprocess (``imageio-ffmpeg``) writing raw RGB24
frames into a pipe; closing the source (or the iterator, or leaving the ``with`` block)
terminates that process.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import UserError

#: Extensions (lower case) of the files a folder source reads, in natural order of their names.
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"})
#: URL schemes handed to ffmpeg as network streams.
URL_SCHEMES = ("rtsp://", "rtsps://", "rtmp://", "http://", "https://")
#: Frame rate assumed when the input does not carry one (image folders, some streams).
DEFAULT_FPS = 30.0


@dataclass(frozen=True)
class VideoInfo:
    """What a :class:`FrameSource` will produce.

    Attributes:
        width: frame width, pixels.
        height: frame height, pixels.
        fps: frames per second (``DEFAULT_FPS`` when the input does not say).
        frame_count: frames the source will yield (after ``start`` and ``max_frames``), or
            None when unknown (streams, webcams). For files it is estimated from the container's
            duration and frame rate, so it can be off by a frame or two for odd files.
        source: the input as given (path, URL or webcam index).
        start: index of the first frame yielded.
        total_frames: frames of the whole input (before ``start`` and ``max_frames``), the
            container's estimate for files; None when unknown.
        decoder: what decodes the frames, for the run summary: ``ffmpeg`` (a CPU
            subprocess), ``opencv`` (a webcam) or ``images`` (a folder, OpenCV per file).
    """

    width: int
    height: int
    fps: float
    frame_count: int | None
    source: str
    start: int = 0
    total_frames: int | None = None
    decoder: str = "ffmpeg"


class FrameSource:
    """A lazily decoded sequence of RGB frames; use as a context manager and iterate once.

    Create with :func:`open_source`. Opening already decodes the first frame, so a bad input
    fails there with an :class:`~core.errors.UserError` rather than in the middle of a run.
    """

    def __init__(
        self,
        info: VideoInfo,
        frames: Generator[np.ndarray, None, None],
        max_frames: int | None,
        closer: Callable[[], None] | None = None,
    ) -> None:
        self.info = info
        self._frames = frames
        self._max_frames = max_frames
        self._closer = closer
        self._iterated = False
        self._closed = False

    def __iter__(self) -> Iterator[tuple[int, np.ndarray]]:
        """Yield ``(frame_index, frame)``: 0-based index in the input, (H, W, 3) uint8 RGB."""
        if self._iterated:
            raise RuntimeError("a FrameSource can be iterated only once; open the input again")
        self._iterated = True
        return self._iterate()

    def _iterate(self) -> Generator[tuple[int, np.ndarray], None, None]:
        try:
            # islice stops before decoding a frame past max_frames
            frames = itertools.islice(self._frames, self._max_frames)
            for offset, frame in enumerate(frames):
                yield self.info.start + offset, frame
        finally:
            self.close()

    def close(self) -> None:
        """Stop decoding and release the input (terminates ffmpeg); safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self._frames.close()
        if self._closer is not None:
            self._closer()

    def __enter__(self) -> FrameSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        # A source dropped without close() must not leave an ffmpeg process behind.
        if not getattr(self, "_closed", True):
            self.close()


def open_source(
    spec: str | Path,
    start: int = 0,
    max_frames: int | None = None,
    *,
    fps: float | None = None,
) -> FrameSource:
    """Open a video file, stream URL, webcam index or image folder for lazy reading.

    Args:
        spec: a video file, a folder of images (read in natural name order), a URL
            (``rtsp://``, ``http(s)://``, ``rtmp://``) or a webcam index such as ``"0"``.
        start: 0-based index of the first frame to yield. Files seek there directly (ffmpeg
            input seeking) when the frame rate is known; other inputs decode and drop frames.
        max_frames: stop after this many frames; None = until the input ends.
        fps: frame rate for inputs that do not carry one (image folders; streams and webcams
            that report none); default ``DEFAULT_FPS``. Ignored for inputs that report a rate.

    Returns:
        An open :class:`FrameSource`; its first frame is already decoded.

    Raises:
        UserError: the input does not exist, cannot be decoded, has no frames (also when
            ``start`` lies beyond its end), or an image folder is empty or mixes frame sizes.
        ValueError: ``start`` < 0, ``max_frames`` < 1 or ``fps`` <= 0 (programming errors).
    """
    if start < 0:
        raise ValueError(f"start must be >= 0, got {start}")
    if max_frames is not None and max_frames < 1:
        raise ValueError(f"max_frames must be >= 1 or None, got {max_frames}")
    if fps is not None and not fps > 0:
        raise ValueError(f"fps must be > 0, got {fps}")
    text = str(spec)
    path = Path(text)
    if text.lower().startswith(URL_SCHEMES):
        return _open_ffmpeg(text, start, max_frames, fps)
    if text.isdigit() and not path.exists():
        return _open_webcam(int(text), start, max_frames, fps)
    if path.is_dir():
        return _open_folder(path, start, max_frames, fps)
    if not path.exists():
        raise UserError(
            f"input {text} does not exist; pass a video file, an image folder, "
            "a stream URL or a webcam index"
        )
    return _open_ffmpeg(text, start, max_frames, fps)


def _limit(count: int | None, max_frames: int | None) -> int | None:
    if count is None:
        return None
    return count if max_frames is None else min(count, max_frames)


def _beyond_end(spec: str, start: int, total: int | None = None) -> UserError:
    if start == 0:
        return UserError(f"{spec} contains no frames; check the input (try `ffprobe {spec}`)")
    known = f" (it has {total} frames)" if total is not None else ""
    return UserError(
        f"start frame {start} is beyond the end of {spec}{known}; choose a smaller --start"
    )


# --------------------------------------------------------------------------- ffmpeg


def _ffmpeg_reason(stderr: str) -> str:
    """The most telling line of an ffmpeg error log, without the ``[demuxer @ 0x..]`` prefix."""
    if "does not contain any stream" in stderr:
        return "it has no video stream"
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip() and "===" not in ln]
    if not lines:
        return "ffmpeg gave no reason"
    last = re.sub(r"^\[[^\]]*\]\s*", "", lines[-1])
    return re.sub(r"^Error opening input files?:\s*", "", last)


def _start_ffmpeg(
    spec: str, input_params: list[str]
) -> tuple[Generator[Any, None, None], dict[str, Any]]:
    import imageio_ffmpeg  # deferred: only file/URL sources need it

    gen = imageio_ffmpeg.read_frames(
        spec, pix_fmt="rgb24", input_params=["-hide_banner", *input_params]
    )
    try:
        meta = next(gen)
    except Exception as exc:
        gen.close()
        raise UserError(
            f"cannot decode video {spec}: {_ffmpeg_reason(str(exc))}; "
            f"is it a video file? try `ffprobe {spec}`"
        ) from None
    return gen, meta


def _open_ffmpeg(spec: str, start: int, max_frames: int | None, fps: float | None) -> FrameSource:
    live = spec.lower().startswith(("rtsp://", "rtsps://", "rtmp://"))
    # TCP avoids the packet loss (smeared frames) that RTSP over UDP shows on busy networks.
    base_params = ["-rtsp_transport", "tcp"] if spec.lower().startswith("rtsp") else []
    gen, meta = _start_ffmpeg(spec, base_params)
    width, height = (int(v) for v in meta["size"])
    native_fps = float(meta.get("fps") or 0.0)
    duration = float(meta.get("duration") or 0.0)
    total = round(duration * native_fps) if duration > 0 and native_fps > 0 else None

    skip = start
    first_raw: list[bytes] = []
    if start > 0 and total is not None and not live:
        # Seek half a frame early: the first frame kept is then exactly frame `start` whatever
        # the rounding of its timestamp; ffmpeg's accurate seek drops the frames before it.
        seek_s = (start - 0.5) / native_fps
        seek_gen, _ = _start_ffmpeg(spec, [*base_params, "-ss", f"{seek_s:.6f}"])
        first_raw = list(itertools.islice(seek_gen, 1))
        if first_raw:
            gen.close()
            gen, skip = seek_gen, 0
        else:
            seek_gen.close()
            if start >= total:
                gen.close()
                raise _beyond_end(spec, start, total)
            # The container promised more frames than seeking found (bad index or timestamps):
            # fall back to decoding from the beginning and dropping frames.

    frame_bytes = width * height * 3

    def decode() -> Generator[np.ndarray, None, None]:
        index = start - skip
        try:
            for raw in itertools.chain(first_raw, gen):
                if len(raw) != frame_bytes:
                    raise RuntimeError(f"got {len(raw)} bytes for a {width}x{height} frame")
                if index >= start:
                    yield np.frombuffer(raw, np.uint8).reshape(height, width, 3).copy()
                index += 1
        except RuntimeError as exc:
            raise UserError(
                f"decoding {spec} failed near frame {index}: {_ffmpeg_reason(str(exc))}; "
                "the file may be truncated or corrupt (try re-encoding it with ffmpeg)"
            ) from None
        finally:
            gen.close()

    # A zero estimate next to a decoded frame means the estimate is wrong: report unknown.
    remaining = None if total is None else max(total - start, 0) or None
    return _prime(
        spec,
        decode(),
        VideoInfo(
            width=width,
            height=height,
            fps=native_fps if native_fps > 0 else (fps or DEFAULT_FPS),
            frame_count=_limit(remaining, max_frames),
            source=spec,
            start=start,
            total_frames=total,
        ),
        max_frames,
        total,
    )


def _prime(
    spec: str,
    frames: Generator[np.ndarray, None, None],
    info: VideoInfo,
    max_frames: int | None,
    total: int | None,
    closer: Callable[[], None] | None = None,
) -> FrameSource:
    """Decode the first frame now (so bad inputs fail at open) and put it back in front."""
    try:
        first = next(frames)
    except StopIteration:
        if closer is not None:
            closer()
        raise _beyond_end(spec, info.start, total) from None
    except BaseException:
        frames.close()
        if closer is not None:
            closer()
        raise

    def chained() -> Generator[np.ndarray, None, None]:
        try:
            yield first
            yield from frames
        finally:
            frames.close()

    return FrameSource(info, chained(), max_frames, closer)


# --------------------------------------------------------------------------- webcam


def _open_webcam(index: int, start: int, max_frames: int | None, fps: float | None) -> FrameSource:
    import cv2  # deferred: cv2 is heavy and only webcams and folders need it

    capture = cv2.VideoCapture(index)
    if not capture.isOpened():
        capture.release()
        raise UserError(
            f"cannot open webcam {index}; check that it is connected and not in use, "
            "or pass another index or a video file"
        )
    width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
    height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
    reported_fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)

    def grab() -> Generator[np.ndarray, None, None]:
        for _ in range(start):
            if not capture.grab():
                return
        while True:
            ok, bgr = capture.read()
            if not ok:
                return
            yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

    info = VideoInfo(
        width=width,
        height=height,
        fps=reported_fps if reported_fps > 0 else (fps or DEFAULT_FPS),
        frame_count=None,
        source=str(index),
        start=start,
        decoder="opencv",
    )
    return _prime(str(index), grab(), info, max_frames, None, closer=capture.release)


# --------------------------------------------------------------------------- image folder


def _natural_key(path: Path) -> list[Any]:
    """Sort key putting ``img2.png`` before ``img10.png``."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path.name)]


def _read_image(path: Path) -> np.ndarray:
    import cv2

    # imdecode(fromfile) instead of imread: works for non-ASCII paths on every platform.
    data = np.fromfile(path, np.uint8)
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if bgr is None:
        raise UserError(f"cannot read image {path}; is it a valid image file? remove or replace it")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def _open_folder(
    folder: Path, start: int, max_frames: int | None, fps: float | None
) -> FrameSource:
    files = sorted(
        (p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file()),
        key=_natural_key,
    )
    if not files:
        kinds = ", ".join(sorted(IMAGE_EXTENSIONS))
        raise UserError(f"folder {folder} contains no images ({kinds}); point to a frame folder")
    if start >= len(files):
        raise _beyond_end(str(folder), start, len(files))
    first = _read_image(files[start])
    height, width = first.shape[:2]

    def read() -> Generator[np.ndarray, None, None]:
        yield first
        for path in files[start + 1 :]:
            image = _read_image(path)
            if image.shape[:2] != (height, width):
                raise UserError(
                    f"image {path.name} is {image.shape[1]}x{image.shape[0]} but the folder's "
                    f"frames are {width}x{height}; all frames must have the same size"
                )
            yield image

    info = VideoInfo(
        width=width,
        height=height,
        fps=fps or DEFAULT_FPS,
        frame_count=_limit(len(files) - start, max_frames),
        source=str(folder),
        start=start,
        total_frames=len(files),
        decoder="images",
    )
    return _prime(str(folder), read(), info, max_frames, len(files))
