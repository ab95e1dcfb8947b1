"""``mplt track`` over many videos (mplt.fleet): inputs, run directories, the index, resume,
retries after a killed worker, the local pool and Ray."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from core.errors import UserError
from mplt.api import resolve_track_config
from mplt.fleet import Settings, expand_inputs, plan, track_many
from tests.conftest import write_synthetic_clip

#: A fast detector setting for synthetic clips (nobody is found; the runs are still whole).
FAST = ["detector.backend=hog", "detector.panorama_mode=whole", "embedder.kind=none"]
#: A slow one (a few seconds per frame, one frame at a time), so that a worker can be killed
#: mid-video.
SLOW = [
    "detector.backend=hog",
    "detector.panorama_mode=views",
    "embedder.kind=none",
    "batch_frames=1",
]


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> list[Path]:
    root = tmp_path_factory.mktemp("fleet")
    out = []
    for i in range(3):
        folder = root / f"src{i}"
        folder.mkdir()
        video, _, _ = write_synthetic_clip(folder, width=256, frames=6, people=2, seed=i)
        out.append(video.rename(root / f"clip{i}.mp4"))
    return out


def settings(flags=FAST, **fleet) -> Settings:
    sets = [*flags, "camera.height_m=2", *(f"fleet.{k}={v}" for k, v in fleet.items())]
    return Settings(resolve_track_config(None, sets))


# -- inputs -----------------------------------------------------------------------------------


def test_inputs_one_video_many_videos_folders_globs_and_lists(tmp_path, clips):
    assert expand_inputs([str(clips[0])]) == ([str(clips[0])], False)
    assert expand_inputs([str(c) for c in clips[:2]]) == ([str(c) for c in clips[:2]], True)
    assert expand_inputs([str(clips[0].parent)]) == ([str(c) for c in clips], True)
    assert expand_inputs([str(clips[0].parent / "clip*.mp4")]) == ([str(c) for c in clips], True)
    listing = tmp_path / "videos.txt"
    listing.write_text(f"# two of them\n{clips[1]}\n\n../{tmp_path.name}/x.mp4\n")
    videos, many = expand_inputs([f"@{listing}"])
    assert many and videos == [str(clips[1]), str(tmp_path / f"../{tmp_path.name}/x.mp4")]
    images = tmp_path / "frames"
    images.mkdir()
    for i in range(2):
        (images / f"{i}.png").write_bytes(b"")
    assert expand_inputs([str(images)]) == ([str(images)], False)  # one image sequence
    empty = tmp_path / "empty"
    empty.mkdir()
    assert expand_inputs([str(empty)]) == ([str(empty)], False)  # its reader says what it lacks


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda d: [f"@{d / 'missing.txt'}"], "list file .* does not exist"),
        (lambda d: [str(d / "*.nothing")], "no file matches"),
        (lambda d: [str(d / "a.mp4"), str(d / "a.mp4")], "listed twice"),
        (lambda d: [], "no input"),
    ],
)
def test_bad_inputs_are_user_errors(tmp_path, make, match):
    with pytest.raises(UserError, match=match):
        expand_inputs(make(tmp_path))


def test_a_folder_of_videos_and_images_is_refused(tmp_path):
    (tmp_path / "a.mp4").write_bytes(b"")
    (tmp_path / "b.jpg").write_bytes(b"")
    with pytest.raises(UserError, match="both videos and images"):
        expand_inputs([str(tmp_path)])


def test_run_directories_are_unique_and_do_not_depend_on_the_order(tmp_path):
    videos = ["/a/x.mp4", "/b/x.mp4", "/c/y.mp4"]
    jobs = plan(videos, tmp_path)
    names = [j.run_dir.name for j in jobs]
    assert len(set(names)) == 3 and names[2] == "y" and names[0].startswith("x-")
    assert {j.video: j.run_dir for j in plan(videos[::-1], tmp_path)} == {
        j.video: j.run_dir for j in jobs
    }


# -- the local pool ---------------------------------------------------------------------------


@pytest.mark.slow
def test_the_pool_writes_what_single_runs_write_and_a_rerun_resumes(tmp_path, clips):
    from mplt.api import track

    single = track(clips[0], config=settings().config, out=tmp_path / "single")
    rows = track_many([str(c) for c in clips], settings(workers=2), tmp_path / "many")
    assert [r["status"] for r in rows] == ["finished"] * 3
    assert [r["frames"] for r in rows] == [6, 6, 6] and [r["attempts"] for r in rows] == [1] * 3
    for name in ("tracks.txt", "tracks.jsonl", "tracks_final.txt"):
        assert (tmp_path / "many" / "clip0" / name).read_bytes() == (
            single.run_dir / name
        ).read_bytes()
    index = (tmp_path / "many" / "index.csv").read_text().splitlines()
    assert index[0] == "video,run_dir,status,frames,people,fps,attempts,error"
    assert len(index) == 4
    assert json.loads((tmp_path / "many" / "index.json").read_text()) == rows
    assert (tmp_path / "many" / "config.yaml").is_file()
    # A rerun skips the finished videos (attempts 0) and leaves their files alone.
    before = (tmp_path / "many" / "clip1" / "summary.json").stat().st_mtime_ns
    again = track_many([str(c) for c in clips], settings(workers=2), tmp_path / "many")
    assert [r["attempts"] for r in again] == [0, 0, 0]
    assert (tmp_path / "many" / "clip1" / "summary.json").stat().st_mtime_ns == before


@pytest.mark.slow
def test_a_failed_video_does_not_stop_the_others_and_is_reported(tmp_path, clips):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video")
    with pytest.raises(UserError, match=r"1 of 2 videos failed .*broken.mp4"):
        track_many([str(clips[0]), str(broken)], settings(retries=1), tmp_path / "many")
    rows = json.loads((tmp_path / "many" / "index.json").read_text())
    assert [r["status"] for r in rows] == ["finished", "failed"]
    assert rows[1]["attempts"] == 2 and rows[1]["error"]


def _kill_when_running(run_dir: Path, killed: list[int], stop: threading.Event) -> None:
    """SIGKILL the process that holds ``run_dir``'s lock once it has tracked a frame."""
    while not stop.is_set():
        try:
            summary = json.loads((run_dir / "summary.json").read_text())
            pid = int((run_dir / ".lock").read_text().strip())
        except (OSError, ValueError):
            time.sleep(0.1)
            continue
        if summary.get("status") == "running" and summary.get("frames_processed", 0) >= 1:
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
            return
        time.sleep(0.1)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["pool", "ray"])
def test_a_worker_killed_mid_video_is_retried_and_the_video_finishes(tmp_path, backend):
    if backend == "ray":
        pytest.importorskip("ray")
    video, _, _ = write_synthetic_clip(tmp_path, width=256, frames=5, people=2, seed=5)
    killed: list[int] = []
    stop = threading.Event()
    run_dir = tmp_path / "many" / "pano"
    watcher = threading.Thread(target=_kill_when_running, args=(run_dir, killed, stop))
    watcher.start()
    try:
        rows = track_many(
            [str(video)], settings(SLOW, retries=1), tmp_path / "many", backend=backend
        )
    finally:
        stop.set()
        watcher.join()
    assert killed, "the worker was never seen running"
    assert rows[0]["status"] == "finished" and rows[0]["attempts"] == 2
    summary = json.loads((tmp_path / "many" / "pano" / "summary.json").read_text())
    assert summary["status"] == "finished" and summary["frames_processed"] == 5
    assert not (tmp_path / "many" / "pano.new").exists()


# -- Ray ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_ray_tasks_write_what_single_runs_write(tmp_path, clips):
    pytest.importorskip("ray")
    from mplt.api import track

    single = track(clips[1], config=settings().config, out=tmp_path / "single")
    rows = track_many(
        [str(c) for c in clips[:2]], settings(workers=2), tmp_path / "ray", backend="ray"
    )
    assert [r["status"] for r in rows] == ["finished", "finished"]
    for name in ("tracks.txt", "tracks.jsonl"):
        assert (tmp_path / "ray" / "clip1" / name).read_bytes() == (
            single.run_dir / name
        ).read_bytes()


def test_the_cli_tracks_a_folder_of_videos(tmp_path, clips, capsys):
    """`mplt track FOLDER` is many videos; a per-video option with many is refused."""
    from cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["track", str(clips[0].parent), "--detections", "det.txt", "--out", str(tmp_path)])
    assert exit_info.value.code == 2
    assert "--detections belongs to one video" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["track", str(clips[0]), "--workers", "2"])
    assert exit_info.value.code == 2


class BrightestBlock:
    """A deterministic stand-in for a model: one person box at each image's brightest 16 x 16
    block; records the size of every call."""

    name = "brightest"

    def __init__(self) -> None:
        self.batches: list[int] = []

    def detect(self, images):
        self.batches.append(len(images))
        out = []
        for im in images:
            h, w = (im.shape[0] // 16) * 16, (im.shape[1] // 16) * 16
            grid = im[:h, :w].astype(float).sum(2).reshape(h // 16, 16, w // 16, 16).sum((1, 3))
            r, c = np.unravel_index(np.argmax(grid), grid.shape)
            box = np.array([[16.0 * c, 16.0 * r, 16.0 * c + 12, 16.0 * r + 30]])
            out.append((box, np.array([0.9], np.float32)))
        return out


def test_streams_sharing_one_model_write_what_separate_runs_write(tmp_path, clips, monkeypatch):
    import mplt.detection
    from mplt.api import track
    from mplt.detection import SharedDetector

    flags = ["detector.panorama_mode=whole", "embedder.kind=none", "tracker.n_init=1"]
    cfg = settings(flags).config
    alone = [  # a model of their own each (no member of a round: plain calls)
        track(clip, config=cfg, out=tmp_path / f"alone{i}", shared_detector=SharedDetector(base))
        for i, (clip, base) in enumerate(
            [(clips[0], BrightestBlock()), (clips[1], BrightestBlock())]
        )
    ]
    model = BrightestBlock()
    monkeypatch.setattr(mplt.detection, "shared_model", lambda cfg: SharedDetector(model))
    rows = track_many(
        [str(c) for c in clips[:2]], settings(flags, workers=2), tmp_path / "many", backend="shared"
    )
    assert [r["status"] for r in rows] == ["finished"] * 2
    for i, single in enumerate(alone):
        for name in ("tracks.txt", "tracks.jsonl", "tracks_final.txt"):
            shared_bytes = (tmp_path / "many" / f"clip{i}" / name).read_bytes()
            assert shared_bytes == (single.run_dir / name).read_bytes()
        assert (single.run_dir / "tracks.txt").read_text().strip()  # people were tracked
    # 6 frames each in batches of 4 and 2: the rounds held both streams' frames
    assert sum(model.batches) == 12 and max(model.batches) == 8


def test_shared_model_is_for_many_videos(tmp_path) -> None:
    from click.testing import CliRunner

    from cli import cli

    result = CliRunner().invoke(cli, ["track", str(tmp_path / "a.mp4"), "--shared-model"])
    assert isinstance(result.exception, UserError)
    assert "--shared-model are for many videos" in str(result.exception)
