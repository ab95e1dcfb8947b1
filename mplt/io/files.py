"""Small filesystem helpers: atomic replacement and output directories."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from types import TracebackType
from typing import IO

from mplt.errors import MpltError


def write_atomic(path: str | Path, data: str | bytes) -> Path:
    """Write ``data`` to ``path`` so that readers see either the old or the complete new file.

    The data goes to a temporary file in the same directory (same filesystem, so the final
    ``os.replace`` is atomic), is flushed and fsync'ed, then renamed over ``path``. A failure
    leaves no temporary file behind.

    Args:
        path: destination file; its directory must exist.
        data: text (written as UTF-8) or bytes.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.
    """
    path = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as tmp:
            tmp.write(payload)
            tmp.flush()
            os.fsync(tmp.fileno())
        # mkstemp creates 0600; give the file the permissions a plain open() would.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_name, 0o666 & ~umask)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return path


def ensure_writable_dir(path: str | Path) -> Path:
    """Create directory ``path`` (and parents) if needed and check that files can be written.

    Raises:
        MpltError: the path is a file, cannot be created, or is not writable.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise MpltError(
            f"output path {path} is a file, not a directory; choose another output directory"
        )
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise MpltError(
            f"cannot create output directory {path} ({reason}); choose a writable location"
        ) from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise MpltError(
            f"output directory {path} is not writable; fix its permissions or choose another"
        )
    return path


def unique_dir(base: Path) -> Path:
    """``base`` if free, else ``base-2``, ``base-3``...: a run never overwrites another."""
    if not base.exists() or not any(base.iterdir()):
        return base
    n = 2
    while (candidate := base.with_name(f"{base.name}-{n}")).exists():
        n += 1
    return candidate


class FrameLineWriter:
    """Base of the per-frame text writers: whole lines, one write call and a flush per frame.

    The file is created (truncated) on open, so a run that is killed leaves whole lines up to
    the last finished frame. Use as a context manager.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._file: IO[str] | None = open(self.path, "w", encoding="utf-8", newline="\n")

    def _append(self, text: str) -> None:
        if self._file is None:
            raise ValueError(f"{type(self).__name__} for {self.path} is closed")
        if text:
            self._file.write(text)
            self._file.flush()

    def close(self) -> None:
        """Flush and close the file; safe to call twice."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> FrameLineWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
