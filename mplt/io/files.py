"""Output directories and the per-frame line writers (atomic writes: :mod:`core.files`)."""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType
from typing import IO

from core.errors import UserError


def ensure_writable_dir(path: str | Path) -> Path:
    """Create directory ``path`` (and parents) if needed and check that files can be written.

    Raises:
        UserError: the path is a file, cannot be created, or is not writable.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise UserError(
            f"output path {path} is a file, not a directory; choose another output directory"
        )
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise UserError(
            f"cannot create output directory {path} ({reason}); choose a writable location"
        ) from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise UserError(
            f"output directory {path} is not writable; fix its permissions or choose another"
        )
    return path


def write_error(path: str | Path, exc: OSError) -> UserError:
    """The one-line error of a failed write (a full disk, a file size limit, a read-only
    filesystem)."""
    reason = exc.strerror or type(exc).__name__
    return UserError(f"cannot write {path} ({reason}); free disk space or choose another --out")


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
        try:
            self._file: IO[str] | None = open(self.path, "w", encoding="utf-8", newline="\n")
        except OSError as exc:
            raise write_error(self.path, exc) from None

    def _append(self, text: str) -> None:
        if self._file is None:
            raise ValueError(f"{type(self).__name__} for {self.path} is closed")
        if text:
            try:
                self._file.write(text)
                self._file.flush()
            except OSError as exc:
                raise write_error(self.path, exc) from None

    def close(self) -> None:
        """Flush and close the file; safe to call twice."""
        if self._file is not None:
            handle, self._file = self._file, None
            try:
                handle.close()
            except OSError as exc:
                raise write_error(self.path, exc) from None

    def __enter__(self) -> FrameLineWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
