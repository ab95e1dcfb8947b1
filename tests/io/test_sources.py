"""Frame sources: lazy decoding, start/max_frames, image folders, errors, process cleanup."""

from __future__ import annotations

import os
import time
import types
from pathlib import Path

import cv2
import numpy as np
import pytest

from core.errors import UserError
from mplt.io.sources import VideoInfo, open_source


def ffmpeg_children() -> list[int]:
    """PIDs of ffmpeg processes started by this test process (Linux /proc)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        state = stat[stat.rindex(")") + 2 :].split()[0]
        if ppid == os.getpid() and "ffmpeg" in comm and state != "Z":
            pids.append(int(entry.name))
    return pids


def wait_no_ffmpeg(timeout: float = 3.0) -> list[int]:
    end = time.monotonic() + timeout
    while (left := ffmpeg_children()) and time.monotonic() < end:
        time.sleep(0.02)
    return left


def level(frame: np.ndarray) -> float:
    return float(frame.mean())


def test_video_file_reads_every_frame_with_metadata(tiny_video, tiny_level):
    with open_source(tiny_video) as source:
        assert source.info == VideoInfo(64, 32, 25.0, 10, str(tiny_video), 0, total_frames=10)
        frames = list(source)
    assert [i for i, _ in frames] == list(range(10))
    for i, frame in frames:
        assert frame.shape == (32, 64, 3) and frame.dtype == np.uint8
        assert frame.flags.writeable
        assert level(frame) == pytest.approx(tiny_level(i), abs=3)


def test_iteration_is_a_lazy_generator_and_single_pass(tiny_video):
    with open_source(tiny_video) as source:
        it = iter(source)
        assert isinstance(it, types.GeneratorType)
        first = next(it)
        second = next(it)
        assert first[0] == 0 and second[0] == 1
        assert first[1] is not second[1]
        with pytest.raises(RuntimeError, match="only once"):
            iter(source)


@pytest.mark.parametrize(
    ("start", "max_frames", "expected"),
    [(0, None, range(10)), (3, 4, range(3, 7)), (7, None, range(7, 10)), (9, 5, [9]), (0, 1, [0])],
)
def test_start_and_max_frames_pick_the_right_frames(
    tiny_video, tiny_level, start, max_frames, expected
):
    with open_source(tiny_video, start=start, max_frames=max_frames) as source:
        assert source.info.start == start
        assert source.info.frame_count == len(expected)
        got = [(i, level(frame)) for i, frame in source]
    assert [i for i, _ in got] == list(expected)
    for i, value in got:
        assert value == pytest.approx(tiny_level(i), abs=3)


@pytest.mark.parametrize("start", [10, 25])
def test_start_beyond_the_end_is_an_error(tiny_video, start):
    with pytest.raises(UserError, match=f"start frame {start} is beyond the end") as err:
        open_source(tiny_video, start=start)
    assert "\n" not in str(err.value)
    assert not wait_no_ffmpeg()


def test_closing_the_source_terminates_ffmpeg(large_video):
    source = open_source(large_video)
    assert ffmpeg_children(), "the decoder should wait on the full pipe while we do not read"
    with source:
        for i, _ in source:
            if i == 2:
                break
    assert not wait_no_ffmpeg()


def test_closing_the_iterator_terminates_ffmpeg(large_video):
    source = open_source(large_video)
    it = iter(source)
    next(it)
    assert ffmpeg_children()
    it.close()
    assert not wait_no_ffmpeg()


def test_reading_to_the_end_leaves_no_process(tiny_video):
    with open_source(tiny_video, start=4) as source:
        assert len(list(source)) == 6
    assert not wait_no_ffmpeg()


def write_images(folder: Path, names_and_levels: list[tuple[str, int]], size=(40, 20)) -> None:
    folder.mkdir(exist_ok=True)
    for name, value in names_and_levels:
        image = np.zeros((size[1], size[0], 3), np.uint8)
        image[..., 0] = value  # red channel in RGB; written as BGR below
        assert cv2.imwrite(str(folder / name), image[..., ::-1])


def test_image_folder_in_natural_order_as_rgb(tmp_path):
    write_images(
        tmp_path / "frames",
        [("f10.png", 100), ("f2.png", 20), ("f1.png", 10), ("f3.bmp", 30)],
    )
    (tmp_path / "frames" / "notes.txt").write_text("not an image")
    with open_source(tmp_path / "frames", fps=12.5) as source:
        folder = str(tmp_path / "frames")
        assert source.info == VideoInfo(40, 20, 12.5, 4, folder, 0, 4, decoder="images")
        frames = list(source)
    assert [i for i, _ in frames] == [0, 1, 2, 3]
    assert [int(f[0, 0, 0]) for _, f in frames] == [10, 20, 30, 100]  # f1, f2, f3, f10
    assert all(int(f[..., 1:].max()) == 0 for _, f in frames)  # red stays in channel 0


def test_image_folder_start_max_frames_and_default_fps(tmp_path):
    write_images(tmp_path / "frames", [(f"{i:03d}.jpg", 40 * i) for i in range(5)])
    with open_source(tmp_path / "frames", start=1, max_frames=3) as source:
        assert source.info.fps == 30.0
        assert source.info.frame_count == 3
        assert [i for i, _ in source] == [1, 2, 3]
    with pytest.raises(UserError, match="beyond the end"):
        open_source(tmp_path / "frames", start=5)


def test_image_folder_with_changing_size_fails_naming_the_image(tmp_path):
    write_images(tmp_path / "frames", [("a1.png", 1), ("a2.png", 2)])
    write_images(tmp_path / "frames", [("a3.png", 3)], size=(41, 20))
    with open_source(tmp_path / "frames") as source:
        with pytest.raises(UserError, match=r"a3\.png is 41x20 .* 40x20"):
            list(source)


@pytest.mark.parametrize("content", [None, "readme.txt"])
def test_empty_folder_is_an_error(tmp_path, content):
    folder = tmp_path / "empty"
    folder.mkdir()
    if content:
        (folder / content).write_text("hello")
    with pytest.raises(UserError, match="contains no images"):
        open_source(folder)


def test_unreadable_image_is_an_error(tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    (folder / "broken.png").write_bytes(b"not a png")
    with pytest.raises(UserError, match="cannot read image"):
        open_source(folder)


def test_missing_path_is_an_error(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        open_source(tmp_path / "nope.mp4")


@pytest.mark.parametrize("data", [b"", b"hello, I am text\n", bytes(range(256)) * 20])
def test_a_file_that_is_not_a_video_is_an_error(tmp_path, data):
    path = tmp_path / "clip.mp4"
    path.write_bytes(data)
    with pytest.raises(UserError, match=r"cannot decode video .*clip.mp4: .*ffprobe") as err:
        open_source(path)
    assert "\n" not in str(err.value)
    assert not wait_no_ffmpeg()


def test_missing_webcam_is_an_error():
    with pytest.raises(UserError, match="cannot open webcam 97"):
        open_source("97")


@pytest.mark.parametrize(("kwargs"), [{"start": -1}, {"max_frames": 0}, {"fps": 0.0}])
def test_programming_errors_are_value_errors(tiny_video, kwargs):
    with pytest.raises(ValueError):
        open_source(tiny_video, **kwargs)
