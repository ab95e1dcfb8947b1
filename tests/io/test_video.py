"""Outputs that must never be half-written: VideoWriter, write_atomic, output directories."""

from __future__ import annotations

import os

import numpy as np
import pytest

from core.errors import UserError
from core.files import write_atomic
from mplt.io.files import ensure_writable_dir
from mplt.io.sources import open_source
from mplt.io.video import VideoWriter, part_path


def frames(n: int, width: int = 64, height: int = 32) -> list[np.ndarray]:
    return [np.full((height, width, 3), 10 + 15 * i, np.uint8) for i in range(n)]


def test_video_has_all_frames_and_no_part_file(tmp_path):
    path = tmp_path / "video.mp4"
    with VideoWriter(path, 25, (64, 32), crf=18) as writer:
        assert part_path(path) == tmp_path / "video.part.mp4"
        for frame in frames(12):
            writer.write(frame)
        assert not path.exists()  # only the .part file is written while encoding
    assert sorted(os.listdir(tmp_path)) == ["video.mp4"]
    with open_source(path) as source:
        assert (source.info.width, source.info.height, source.info.fps) == (64, 32, 25.0)
        levels = [float(f.mean()) for _, f in source]
    assert len(levels) == 12
    np.testing.assert_allclose(levels, [10 + 15 * i for i in range(12)], atol=3)


def test_exception_inside_with_leaves_no_file(tmp_path):
    path = tmp_path / "video.mp4"
    with pytest.raises(KeyError):
        with VideoWriter(path, 25, (64, 32)) as writer:
            writer.write(frames(1)[0])
            raise KeyError("boom")
    assert os.listdir(tmp_path) == []


def test_odd_sizes_are_padded_to_even(tmp_path):
    path = tmp_path / "odd.mp4"
    with VideoWriter(path, 10, (63, 31)) as writer:
        for frame in frames(3, 63, 31):
            writer.write(frame)
    with open_source(path) as source:
        assert (source.info.width, source.info.height) == (64, 32)
        assert len(list(source)) == 3


def test_wrong_frames_and_empty_videos_are_refused(tmp_path):
    path = tmp_path / "video.mp4"
    with pytest.raises(ValueError, match="frame must be uint8"):
        with VideoWriter(path, 25, (64, 32)) as writer:
            writer.write(np.zeros((32, 64, 3), np.float32))
    with pytest.raises(ValueError, match="no frames"):
        with VideoWriter(path, 25, (64, 32)):
            pass
    assert os.listdir(tmp_path) == []
    with pytest.raises(ValueError, match="crf"):
        VideoWriter(path, 25, (64, 32), crf=60)


def test_write_atomic_replaces_and_leaves_no_temp_files(tmp_path):
    path = tmp_path / "summary.json"
    write_atomic(path, "first")
    write_atomic(path, "second ✓")
    assert path.read_text(encoding="utf-8") == "second ✓"
    write_atomic(path, b"\x00\x01")
    assert path.read_bytes() == b"\x00\x01"
    assert os.listdir(tmp_path) == ["summary.json"]
    assert oct(path.stat().st_mode & 0o777) != oct(0o600)  # not mkstemp's private mode


def test_write_atomic_failure_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "config.yaml"
    path.write_text("old")

    def fail(*_):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        write_atomic(path, "new")
    assert path.read_text() == "old"
    assert os.listdir(tmp_path) == ["config.yaml"]


def test_ensure_writable_dir(tmp_path):
    target = ensure_writable_dir(tmp_path / "runs" / "a" / "b")
    assert target.is_dir()
    assert ensure_writable_dir(target) == target
    (tmp_path / "file").write_text("x")
    with pytest.raises(UserError, match="is a file, not a directory"):
        ensure_writable_dir(tmp_path / "file")
    with pytest.raises(UserError, match="cannot create output directory"):
        ensure_writable_dir(tmp_path / "file" / "sub")
