"""Faults during a run: signals, a second writer, a full disk, a decoder that fails mid-run.

The signal and limit tests run ``mplt track`` as a subprocess (what a user runs) on a clip
long enough to be caught in the middle; every one checks that the files left are valid up to
the last finished frame and that ``summary.json`` says how the run ended.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from core.errors import UserError
from mplt.io import sources
from tests.conftest import write_video
from tests.corpus.test_corpus import run_main

REPO = Path(__file__).resolve().parents[2]
#: Frames of the long clip: some 15 s of tracking on 2 cores, far more than any test waits.
FRAMES = 1500


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory):
    """A 64 x 32 clip of FRAMES frames with two given detections per frame."""
    root = tmp_path_factory.mktemp("faults")
    frames = []
    for i in range(FRAMES):
        frame = np.full((32, 64, 3), 90, np.uint8)
        x = (2 * i) % 56
        frame[8:24, x : x + 8] = 200
        frames.append(frame)
    video = write_video(root / "long.mp4", frames, 25.0)
    det = root / "long_det.txt"
    det.write_text(
        "".join(
            f"{i + 1},-1,{(2 * i) % 56 + 1},9,8,16,0.9,-1,-1,-1\n"
            f"{i + 1},-1,30,5,6,12,0.8,-1,-1,-1\n"
            for i in range(FRAMES)
        )
    )
    return video, det


def _start(video: Path, det: Path, out: Path, *extra: str, **popen) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    args = ["track", str(video), "--detections", str(det), "--out", str(out), "--quiet"]
    return subprocess.Popen(
        [sys.executable, "-m", "cli", *args, "--camera-height", "1.6", *extra],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )


def _args(video: Path, det: Path, run: Path) -> list[str]:
    """The in-process command line of :func:`_start`'s run."""
    args = ["track", str(video), "--detections", str(det), "--out", str(run), "--quiet"]
    return [*args, "--camera-height", "1.6"]


def _frames_written(run: Path) -> int:
    path = run / "tracks.jsonl"
    return path.read_bytes().count(b"\n") if path.is_file() else 0


def _summary(run: Path) -> dict | None:
    try:
        return json.loads((run / "summary.json").read_text())
    except (OSError, ValueError):
        return None


def _wait_running(run: Path, frames: int, proc: subprocess.Popen, timeout: float = 120) -> None:
    """Until the run has written ``frames`` frames and a summary that counts some of them."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        summary = _summary(run)
        if _frames_written(run) >= frames and summary and summary["last_frame"] >= 1:
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.005)
    raise AssertionError(f"the run did not reach frame {frames}")


def _check_valid(run: Path) -> int:
    """tracks.jsonl / tracks.txt / summary.json are whole; returns the frames written."""
    raw = (run / "tracks.jsonl").read_bytes()
    assert b"\x00" not in raw and raw.endswith(b"\n")
    frames = [json.loads(line)["frame"] for line in raw.decode().splitlines()]
    assert frames == list(range(1, len(frames) + 1))
    txt = (run / "tracks.txt").read_bytes()
    assert b"\x00" not in txt and (not txt or txt.endswith(b"\n"))
    rows = np.loadtxt(run / "tracks.txt", delimiter=",", ndmin=2) if txt else np.zeros((0, 10))
    assert rows.shape[1] == 10 and (rows[:, 0] <= len(frames)).all()
    summary = _summary(run)
    assert summary is not None and 1 <= summary["last_frame"] <= len(frames)
    return len(frames)


def test_sigkill_at_a_random_frame_leaves_valid_files_and_a_refused_directory(long_clip, tmp_path):
    video, det = long_clip
    run = tmp_path / "run"
    target = int(np.random.default_rng(13).integers(20, 200))
    proc = _start(video, det, run)
    _wait_running(run, target, proc)
    proc.kill()
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    written = _check_valid(run)
    summary = _summary(run)
    assert summary["status"] == "running" and summary["last_frame"] <= written < FRAMES
    # The dead run's lock binds nobody, but its directory is still a run: refused...
    code, _, stderr, _ = run_main(_args(video, det, run))
    assert code == 2 and "already holds a run (status running)" in stderr
    # ... until it is replaced on purpose.
    code, _, stderr, _ = run_main([*_args(video, det, run), "--max-frames", "5", "--overwrite"])
    assert code == 0, stderr
    assert _summary(run)["status"] == "finished" and _check_valid(run) == 5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


@pytest.mark.parametrize(
    "sig, code, reason",
    [(signal.SIGINT, 130, "Ctrl-C"), (signal.SIGTERM, 143, "SIGTERM")],
)
def test_a_signal_finalises_the_outputs(long_clip, tmp_path, sig, code, reason):
    video, det = long_clip
    run = tmp_path / "run"
    proc = _start(video, det, run)
    _wait_running(run, 30, proc)
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == code, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "outputs are valid up to the last finished frame" in lines[0]
    written = _check_valid(run)
    summary = _summary(run)
    assert summary["status"] == "interrupted" and reason in summary["reason"]
    assert summary["last_frame"] == written == summary["frames_processed"]
    assert not (run / ".lock").exists()


def test_a_second_writer_fails_at_once_and_the_first_is_unharmed(long_clip, tmp_path):
    video, det = long_clip
    run = tmp_path / "run"
    first = _start(video, det, run)
    _wait_running(run, 10, first)
    seconds = [_start(video, det, run, *extra) for extra in ((), ("--overwrite",))]
    for second in seconds:
        _, stderr = second.communicate(timeout=60)
        assert second.returncode == 2, stderr
        (line,) = stderr.strip().splitlines()
        assert line.startswith("error: run directory ") and "being written by another" in line
        assert f"process {first.pid}" in line and "; wait for it to finish" in line
    assert first.poll() is None  # still running
    first.send_signal(signal.SIGINT)
    first.communicate(timeout=60)
    assert first.returncode == 130
    _check_valid(run)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_a_full_disk_fails_the_run_with_one_line(long_clip, tmp_path):
    video, det = long_clip
    run = tmp_path / "run"

    def limit_file_size() -> None:
        # Files may not grow past 16 kB: writing beyond fails like a full disk (EFBIG).
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (16_000, 16_000))

    proc = _start(video, det, run, preexec_fn=limit_file_size)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 2, stderr
    (line,) = stderr.strip().splitlines()
    assert line.startswith("error: cannot write ") and "; free disk space" in line
    summary = _summary(run)
    assert summary["status"] == "failed" and "cannot write" in summary["reason"]
    assert 1 <= summary["last_frame"] < FRAMES
    assert summary["last_frame"] <= _frames_written(run)


def test_an_overwrite_replaces_the_run_only_once_it_has_finished(long_clip, tmp_path):
    video, det = long_clip
    run = tmp_path / "run"
    args = _args(video, det, run)
    assert run_main([*args, "--max-frames", "3"])[0] == 0
    old = {p.name: p.read_bytes() for p in run.iterdir()}
    proc = _start(video, det, run, "--overwrite")
    replacement = tmp_path / "run.new"
    _wait_running(replacement, 20, proc)
    assert {p.name: p.read_bytes() for p in run.iterdir()} == old  # untouched meanwhile
    proc.kill()
    proc.wait()
    assert {p.name: p.read_bytes() for p in run.iterdir()} == old  # and after a crash
    code, _, stderr, _ = run_main([*args, "--max-frames", "8", "--overwrite"])
    assert code == 0, stderr
    assert _summary(run)["status"] == "finished" and _check_valid(run) == 8
    assert _summary(run)["run_dir"] == str(run)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_a_decoder_failing_mid_run_marks_the_run_failed(long_clip, tmp_path, monkeypatch):
    video, det = long_clip
    real = sources._prime

    def failing_after_five(spec, frames, info, max_frames, total, closer=None):
        def broken():
            for k, frame in enumerate(frames):
                if k == 5:
                    raise UserError(f"decoding {spec} failed near frame 6: simulated; re-encode")
                yield frame

        return real(spec, broken(), info, max_frames, total, closer)

    monkeypatch.setattr(sources, "_prime", failing_after_five)
    run = tmp_path / "run"
    # The camera height is estimated from the people (no --camera-height): frames are held
    # back while it settles, and must still be written when the run fails.
    code, _, stderr, _ = run_main(_args(video, det, run)[:-2])
    assert code == 2 and stderr.startswith("error: decoding ") and "near frame 6" in stderr
    summary = _summary(run)
    assert summary["status"] == "failed" and "near frame 6" in summary["reason"]
    # the frames decoded before the failure are all tracked
    assert summary["last_frame"] == summary["frames_processed"] == 5 == _check_valid(run)
