"""Run directories that are owned: never overwritten, locked while written, replaced late.

:func:`claim_run_dir` is called once every input has been checked and before any output file
is opened. It refuses a directory that already holds files (a finished, failed or foreign run:
a run is never overwritten) unless ``overwrite`` is asked for, and a directory another process
is writing (``RUN/.lock``, held with ``fcntl.flock`` for the whole run: the kernel drops it when
the writer dies, even by SIGKILL, so a stale lock file never blocks). With ``overwrite`` the new
run is written into the sibling ``RUN.new`` and swapped in by :meth:`RunClaim.publish` only once
it has finished, so a failed or interrupted replacement leaves the old run intact.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from pathlib import Path
from typing import IO

from core.errors import UserError
from mplt.io.files import ensure_writable_dir

LOCK_NAME = ".lock"


def _entries(path: Path) -> list[str]:
    """Names in ``path`` except the lock file (a dead run's lock does not make it a run)."""
    if not path.is_dir():
        return []
    return sorted(p.name for p in path.iterdir() if p.name != LOCK_NAME)


def _holder(path: Path) -> str | None:
    """Who holds ``path``'s run lock now (``process N``), or None when nobody does."""
    lock = path / LOCK_NAME
    if not lock.is_file():
        return None
    try:
        handle = open(lock, encoding="utf-8")
    except OSError:
        return None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = handle.read().strip()
            return f"process {pid}" if pid.isdigit() else "another process"
        fcntl.flock(handle, fcntl.LOCK_UN)
    return None


def _in_use(path: Path, holder: str) -> UserError:
    return UserError(
        f"run directory {path} is being written by another mplt track ({holder}); "
        "wait for it to finish or choose another --out"
    )


def _describe_run(path: Path) -> str:
    summary = path / "summary.json"
    try:
        status = json.loads(summary.read_text(encoding="utf-8")).get("status")
    except (OSError, ValueError, AttributeError):
        status = None
    if isinstance(status, str):
        return f"already holds a run (status {status})"
    return "is not empty"


class RunClaim:
    """A run directory this process owns while the run writes it.

    Attributes:
        final: the run directory the user asked for.
        path: where the files are written: ``final``, or ``final.new`` when replacing a run.
    """

    def __init__(self, final: Path, path: Path, lock: IO[str]) -> None:
        self.final = final
        self.path = path
        self._lock: IO[str] | None = lock

    @property
    def replacing(self) -> bool:
        """Whether an existing run is replaced when this one has finished."""
        return self.path != self.final

    def publish(self) -> None:
        """The finished run takes the place of the run it replaces (nothing to do otherwise)."""
        if not self.replacing:
            return
        old = self.final.with_name(f".{self.final.name}.old-{os.getpid()}")
        os.replace(self.final, old)
        os.replace(self.path, self.final)
        shutil.rmtree(old, ignore_errors=True)
        self.path = self.final

    def release(self) -> None:
        """Remove the lock file and drop the lock; safe to call twice."""
        if self._lock is None:
            return
        (self.path / LOCK_NAME).unlink(missing_ok=True)
        self._lock.close()
        self._lock = None


def claim_run_dir(final: str | Path, *, overwrite: bool = False) -> RunClaim:
    """Own run directory ``final`` for a new run (see the module doc).

    Raises:
        UserError: ``final`` holds files and ``overwrite`` is False; another process is writing
            it (or its replacement); it is a file or cannot be created or written.
    """
    final = Path(final)
    if final.exists() and not final.is_dir():
        raise UserError(f"output path {final} is a file, not a directory; choose another --out")
    holder = _holder(final)
    if holder is not None:
        raise _in_use(final, holder)
    path = final
    if _entries(final):
        if not overwrite:
            raise UserError(
                f"run directory {final} {_describe_run(final)}; choose another --out, or pass "
                "--overwrite to replace it once the new run has finished"
            )
        path = final.with_name(f"{final.name}.new")
        holder = _holder(path)
        if holder is not None:
            raise _in_use(path, holder)
        # What is left there is an earlier replacement that never finished: ours to discard.
        shutil.rmtree(path, ignore_errors=True)
    ensure_writable_dir(path)
    try:
        lock = open(path / LOCK_NAME, "a+", encoding="utf-8")
    except OSError as exc:
        raise UserError(
            f"cannot create files in {path} ({exc.strerror}); choose a writable --out"
        ) from None
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        raise _in_use(path, "another process") from None
    # Another writer may have started between the checks and the lock.
    if path == final and _entries(final):
        lock.close()
        raise UserError(
            f"run directory {final} {_describe_run(final)}; choose another --out, or pass "
            "--overwrite to replace it once the new run has finished"
        )
    lock.seek(0)
    lock.truncate()
    lock.write(str(os.getpid()))
    lock.flush()
    return RunClaim(final, path, lock)
