"""End to end: `mplt track` on a short synthetic 360° clip with exact ground truth."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from cli import cli
from tests.conftest import CLIP_CAMERA_HEIGHT, CLIP_FRAMES, CLIP_WIDTH, write_video

# The `pano_clip` fixture (tests/conftest.py): a panorama with 4 people, two across the seam.
WIDTH, CAMERA_HEIGHT, FRAMES = CLIP_WIDTH, CLIP_CAMERA_HEIGHT, CLIP_FRAMES
BODY_RADIUS = 0.23  # mean radius of the synthetic people


@pytest.fixture(scope="module")
def clip(pano_clip):
    """The shared panorama clip (tests/conftest.py)."""
    return pano_clip


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cli", *args], capture_output=True, text=True, timeout=300
    )


def test_track_with_given_detections_writes_valid_outputs(clip, tmp_path):
    video, det_file, gt = clip
    out = tmp_path / "run"
    result = CliRunner().invoke(
        cli,
        [
            "track",
            str(video),
            "--detections",
            str(det_file),
            "--camera-height",
            str(CAMERA_HEIGHT),
            "--out",
            str(out),
            "--quiet",
            "--set",
            f"localize.foot_offset_m={BODY_RADIUS}",
        ],
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "config.yaml",
        "summary.json",
        "tracks.jsonl",
        "tracks.txt",
        "tracks_final.jsonl",
        "tracks_final.txt",
    ]

    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "finished"
    assert summary["frames_processed"] == FRAMES
    camera = summary["camera"]
    assert (camera["model"], camera["height_m"]) == ("equirect", CAMERA_HEIGHT)
    assert camera["height_source"] == "given" and camera["height_estimate"] is None
    assert summary["detector"] == "given detections"
    assert yaml.safe_load((out / "config.yaml").read_text())["camera"]["height_m"] == CAMERA_HEIGHT

    rows = np.loadtxt(out / "tracks.txt", delimiter=",", ndmin=2)
    assert rows.shape[1] == 10
    assert rows[:, 0].min() >= 1 and rows[:, 0].max() <= FRAMES
    # Every ground-truth person gets exactly one ID for the whole clip, seam crossings included.
    ids_per_person = _match_ids(rows, gt)
    assert all(len(ids) == 1 for ids in ids_per_person.values()), ids_per_person
    assert len({next(iter(ids)) for ids in ids_per_person.values()}) == 4
    # Ground positions agree with the truth to a few centimetres (exact boxes, known height;
    # the scene's bodies are cylinders of radius 0.20-0.26 m).
    errors = _ground_errors(rows, gt)
    assert np.median(errors) < 0.06, np.median(errors)

    lines = (out / "tracks.jsonl").read_text().splitlines()
    assert len(lines) == FRAMES
    last = json.loads(lines[-1])
    assert last["frame"] == FRAMES and len(last["tracks"]) == 4
    track = last["tracks"][0]
    assert {
        "id",
        "box_xyxy",
        "conf",
        "azimuth_deg",
        "elevation_deg",
        "ground_xy",
        "velocity_mps",
        "state",
    } <= set(track)


def _match_ids(rows: np.ndarray, gt: np.ndarray) -> dict[int, set[int]]:
    """Ground-truth id -> set of predicted ids matched to it by box centre, frame by frame."""
    matched: dict[int, set[int]] = {}
    for frame in np.unique(gt[:, 0]):
        g = gt[gt[:, 0] == frame]
        p = rows[rows[:, 0] == frame]
        for row in g:
            if len(p) == 0:
                continue
            d = np.abs((p[:, 2] + p[:, 4] / 2) % WIDTH - (row[2] + row[4] / 2) % WIDTH)
            d = np.minimum(d, WIDTH - d) + np.abs(p[:, 3] - row[3])
            best = int(np.argmin(d))
            if d[best] < 3:
                matched.setdefault(int(row[1]), set()).add(int(p[best, 1]))
    return matched


def _ground_errors(rows: np.ndarray, gt: np.ndarray) -> np.ndarray:
    errors = []
    for frame in np.unique(rows[:, 0]):
        g = gt[gt[:, 0] == frame]
        for row in rows[rows[:, 0] == frame]:
            errors.append(np.linalg.norm(g[:, 7:9] - row[7:9], axis=1).min())
    return np.array(errors)


def test_unknown_camera_height_still_localizes_and_says_so(clip, tmp_path):
    video, det_file, _ = clip
    out = tmp_path / "run"
    result = CliRunner().invoke(
        cli,
        [
            "track",
            str(video),
            "--detections",
            str(det_file),
            "--out",
            str(out),
            "--quiet",
            "--max-frames",
            "5",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["camera"]["height_m"] is None
    assert "height prior only" in summary["localization"]
    rows = np.loadtxt(out / "tracks.txt", delimiter=",", ndmin=2)
    assert summary["frames_processed"] == 5
    assert (rows[:, 7] != -1).all()  # positions come from the person-height prior


def test_detect_every_is_an_option_of_track(clip, tmp_path):
    video, det_file, _ = clip
    out = tmp_path / "run"
    args = ["track", str(video), "--detections", str(det_file), "--quiet", "--max-frames", "5"]
    result = CliRunner().invoke(cli, [*args, "--out", str(out), "--detect-every", "2"])
    assert result.exit_code == 0, result.output
    assert "detect_every: 2" in (out / "config.yaml").read_text()
    assert len((out / "tracks.jsonl").read_text().splitlines()) == 5
    refused = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "x"), "--detect-every", "0"])
    assert refused.exit_code == 2 and "--detect-every" in refused.output


def test_runs_never_overwrite_each_other(clip, tmp_path, monkeypatch):
    video, det_file, _ = clip
    monkeypatch.chdir(tmp_path)
    for _ in range(2):
        result = CliRunner().invoke(
            cli,
            ["track", str(video), "--detections", str(det_file), "--quiet", "--max-frames", "2"],
        )
        assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["pano", "pano-2"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["track", "missing.mp4"], "missing.mp4"),
        (["track", "{video}", "--calib", "nope.yaml"], "nope.yaml"),
        (["track", "{video}", "--set", "tracker.n_inti=2"], "unknown config key tracker.n_inti"),
        (["track", "{video}", "--device", "tpu"], "device"),
        (
            ["track", "{video}", "--set", "camera.model=equirect", "--set", "camera.model=pinhole"],
            "--calib",
        ),
        (["track", "{video}", "--camera-height", "-1"], "must be a positive number of metres"),
        (["track", "{video}", "--bogus"], "No such option '--bogus'"),
    ],
)
def test_bad_input_is_one_line_exit_2(clip, tmp_path, args, message):
    video, _, _ = clip
    args = [a.format(video=video) for a in args] + ["--out", str(tmp_path / "run")]
    result = _run(*args)
    assert result.returncode == 2, result.stderr
    assert not (tmp_path / "run").exists()  # bad input leaves no run directory behind
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert message in lines[0]
    assert "Traceback" not in result.stderr


def test_non_2to1_frame_forced_equirect_is_rejected(tmp_path):
    video = tmp_path / "wide.mp4"
    write_video(video, [np.zeros((240, 320, 3), np.uint8)] * 3, 5)
    result = _run(
        "track", str(video), "--set", "camera.model=equirect", "--out", str(tmp_path / "r")
    )
    assert result.returncode == 2
    assert "equirectangular needs 2:1" in result.stderr


def test_help_lists_the_commands():
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    assert "track" in result.output


def test_ctrl_c_exits_130_with_a_one_line_note(clip, tmp_path, monkeypatch):
    import mplt.pipeline

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(mplt.pipeline, "run_track", interrupted)
    monkeypatch.setattr(sys, "argv", ["mplt", "track", str(clip[0])])
    from cli import main

    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 130


def test_ground_positions_given_with_the_detections_are_used(clip, tmp_path):
    video, _, gt = clip
    det = gt.copy()
    det[:, 1] = -1  # keep the true x, y, z columns
    det_file = tmp_path / "det3d.txt"
    np.savetxt(det_file, det, fmt="%.4f", delimiter=",")
    out = tmp_path / "run"
    result = CliRunner().invoke(
        cli,
        [
            "track",
            str(video),
            "--detections",
            str(det_file),
            "--camera-height",
            str(CAMERA_HEIGHT),
            "--out",
            str(out),
            "--quiet",
        ],
    )
    assert result.exit_code == 0, result.output
    rows = np.loadtxt(out / "tracks.txt", delimiter=",", ndmin=2)
    assert len(np.unique(rows[:, 1])) == 4
    assert np.median(_ground_errors(rows, gt)) < 0.02


def test_eval_scores_a_run_seam_aware_with_ground_error(clip, tmp_path):
    video, det_file, gt = clip
    gt_file = tmp_path / "gt.txt"
    np.savetxt(gt_file, gt, fmt="%.4f", delimiter=",")
    out = tmp_path / "run"
    args = [
        "track",
        str(video),
        "--detections",
        str(det_file),
        "--camera-height",
        str(CAMERA_HEIGHT),
        "--out",
        str(out),
        "--quiet",
        "--set",
        f"localize.foot_offset_m={BODY_RADIUS}",
    ]
    assert CliRunner().invoke(cli, args).exit_code == 0
    result = CliRunner().invoke(cli, ["eval", "--gt", str(gt_file), "--pred", str(out)])
    assert result.exit_code == 0, result.output
    assert f"seam-aware (panorama width {WIDTH} px)" in result.output
    json_file = tmp_path / "metrics.json"
    result = CliRunner().invoke(
        cli, ["eval", "--gt", str(gt_file), "--pred", str(out), "--json", str(json_file)]
    )
    metrics = json.loads(json_file.read_text())["combined"]
    assert metrics["IDSW"] == 0 and metrics["IDF1"] > 0.9 and metrics["MOTA"] > 0.85
    assert metrics["ground_error"]["median_m"] < 0.06


def test_render_command_draws_a_run_and_a_snapshot(clip, tmp_path):
    video, det_file, _ = clip
    out = tmp_path / "run"
    args = [
        "track",
        str(video),
        "--detections",
        str(det_file),
        "--camera-height",
        str(CAMERA_HEIGHT),
        "--out",
        str(out),
        "--quiet",
        "--max-frames",
        "6",
    ]
    assert CliRunner().invoke(cli, args).exit_code == 0
    result = CliRunner().invoke(cli, ["render", str(out), "--quiet", "--set", "render.width=384"])
    assert result.exit_code == 0, result.output
    assert (out / "video.mp4").stat().st_size > 0
    result = CliRunner().invoke(cli, ["render", str(out), "--snapshot", "3", "--layout", "map"])
    assert result.exit_code == 0, result.output
    assert (out / "snapshot_3.png").is_file()


def test_render_of_a_missing_run_is_one_line_exit_2(tmp_path):
    result = _run("render", str(tmp_path / "nope"))
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and len(result.stderr.strip().splitlines()) == 1


def test_synth_writes_a_reproducible_sequence(tmp_path):
    args = ["synth", "--frames", "8", "--width", "256", "--seed", "4", "--scenario", "seam"]
    first, second = tmp_path / "a", tmp_path / "b"
    for out in (first, second):
        result = CliRunner().invoke(cli, [*args[:1], str(out), *args[1:]])
        assert result.exit_code == 0, result.output
    assert sorted(p.name for p in first.iterdir()) == [
        "det.txt",
        "gt.txt",
        "meta.json",
        "video.mp4",
    ]
    for name in ("gt.txt", "det.txt", "video.mp4"):
        assert (first / name).read_bytes() == (second / name).read_bytes()
    gt = np.loadtxt(first / "gt.txt", delimiter=",", ndmin=2)
    assert gt.shape[1] == 10 and (gt[:, 7:9] != -1).all()
