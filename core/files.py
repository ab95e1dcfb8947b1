"""Atomic file replacement: readers see either the old file or the complete new one."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


def publish(tmp_name: str | Path, path: str | Path) -> None:
    """A finished temporary file beside ``path`` (same filesystem) becomes ``path``, atomically:
    fsync'ed, given a plain open()'s permissions, renamed over ``path``. For files another
    program writes (an encoder's ``.part`` file); :func:`atomic_path` uses it too."""
    with open(tmp_name, "rb") as tmp:
        os.fsync(tmp.fileno())
    # mkstemp creates 0600; give the file the permissions a plain open() would.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp_name, 0o666 & ~umask)
    os.replace(tmp_name, path)


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path`` to write to; renamed over ``path`` on a clean exit.

    For writers that want a file name (``torch.save``, ``np.save``, ``fig.savefig``,
    ``onnx.save``). The temporary file keeps ``path``'s suffix, so writers that choose a
    format by the suffix still do. On an exception nothing is left behind and ``path`` is
    untouched.

    >>> with atomic_path("out/model.pt") as tmp:  # doctest: +SKIP
    ...     torch.save(state, tmp)
    """
    path = Path(path)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}", dir=path.parent
    )
    os.close(fd)
    try:
        yield Path(tmp_name)
        publish(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def write_atomic(path: str | Path, data: str | bytes) -> Path:
    """Write ``data`` (text as UTF-8, or bytes) to ``path`` atomically; returns the path.

    The data goes to a temporary file in the same directory (same filesystem, so the final
    ``os.replace`` is atomic), is fsync'ed, then renamed over ``path``; its directory must
    exist. A failure leaves no temporary file behind.
    """
    payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    with atomic_path(path) as tmp:
        tmp.write_bytes(payload)
    return Path(path)
