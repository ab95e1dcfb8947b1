"""The public Python API: ``mplt.track`` and ``mplt.PanoramaTracker``, tested like the CLI."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml
from click.testing import CliRunner

import mplt
from cli import cli
from core.config import updated
from core.errors import UserError
from mplt.config import TrackConfig
from tests.conftest import CLIP_CAMERA_HEIGHT, CLIP_FRAMES


def test_import_mplt_stays_light_and_loads_the_api_on_first_use():
    code = (
        "import sys, mplt; heavy = ['mplt.api', 'mplt.pipeline', 'torch', 'cv2'];"
        "print([m for m in heavy if m in sys.modules]);"
        "import mplt.api; print(mplt.track is mplt.api.track,"
        " mplt.PanoramaTracker is mplt.api.PanoramaTracker)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.split("\n")[:2] == ["[]", "True True"]
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        mplt.nope  # noqa: B018


def test_track_returns_the_summary_and_the_output_paths(pano_clip, tmp_path):
    video, det_file, _ = pano_clip
    result = mplt.track(
        video, detections=det_file, camera_height=CLIP_CAMERA_HEIGHT, out=tmp_path / "run"
    )
    assert result.run_dir == tmp_path / "run"
    assert result.summary == json.loads(result.summary_json.read_text())
    assert result.summary["frames_processed"] == CLIP_FRAMES
    camera = result.summary["camera"]
    assert (camera["model"], camera["height_m"]) == ("equirect", CLIP_CAMERA_HEIGHT)
    assert camera["height_source"] == "given" and camera["height_estimate"] is None
    assert result.summary["counts"]["tracks_confirmed"] == 4
    for path in (result.tracks_txt, result.tracks_jsonl, result.config_yaml):
        assert path.is_file() and path.parent == result.run_dir
    assert result.video_mp4 is None and not (result.run_dir / "video.mp4").exists()


def test_track_takes_a_config_object_or_file_with_overrides_and_renders(pano_clip, tmp_path):
    video, det_file, _ = pano_clip
    base = updated(TrackConfig(), {"tracker.n_init": 2})
    result = mplt.track(
        video,
        config=base,
        detections=det_file,
        out=tmp_path / "run",
        max_frames=4,
        start=2,
        render=True,
        overrides=["render.width=384", "tracker.max_age_s=1.5"],
    )
    saved = yaml.safe_load(result.config_yaml.read_text())
    assert saved["tracker"]["n_init"] == 2 and saved["tracker"]["max_age_s"] == 1.5
    assert saved["output"]["render"] is True and result.video_mp4.is_file()
    assert result.summary["frames_processed"] == 4 and result.summary["last_frame"] == 6
    result = mplt.track(
        str(video),
        config=result.config_yaml,
        detections=det_file,
        out=tmp_path / "again",
        max_frames=2,
        overrides=["output.render=false"],
    )
    assert yaml.safe_load(result.config_yaml.read_text())["tracker"]["n_init"] == 2
    assert result.video_mp4 is None


def test_track_user_errors_leave_nothing_behind(pano_clip, tmp_path):
    video, det_file, _ = pano_clip
    with pytest.raises(UserError, match=r"missing.mp4"):
        mplt.track(tmp_path / "missing.mp4", out=tmp_path / "run")
    with pytest.raises(UserError, match="camera height is -1"):
        mplt.track(video, detections=det_file, camera_height=-1.0, out=tmp_path / "run")
    with pytest.raises(UserError, match=r"unknown config key tracker.n_inti"):
        mplt.track(video, overrides=["tracker.n_inti=2"], out=tmp_path / "run")
    with pytest.raises(UserError, match=r"nope.yaml"):
        mplt.track(video, calib=tmp_path / "nope.yaml", out=tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_the_track_command_is_one_call_of_the_api(monkeypatch, tmp_path):
    import mplt.api

    calls = []

    def fake_track(source, **kwargs):
        calls.append((source, kwargs))
        summary = {
            "frames_processed": 3,
            "counts": {"tracks_confirmed": 1},
            "timing": {"fps": 9.0},
            "run_dir": "runs/x",
        }
        return mplt.api.TrackResult(summary, tmp_path, *(tmp_path / n for n in "abcd"), None)

    monkeypatch.setattr(mplt.api, "track", fake_track)
    args = [
        "track",
        "v.mp4",
        "--camera-height",
        "1.6",
        "--calib",
        "c.yaml",
        "--device",
        "cpu",
        "--set",
        "tracker.n_init=2",
        "--no-render",
        "--quiet",
        "--max-frames",
        "3",
    ]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "3 frames, 1 people tracked, 9.0 frames/s -> runs/x" in result.output
    source, kwargs = calls[0]
    assert source == "v.mp4" and kwargs["camera_height"] == 1.6 and kwargs["calib"] == "c.yaml"
    assert kwargs["max_frames"] == 3 and kwargs["progress"] is False
    assert kwargs["overrides"] == [
        "tracker.n_init=2",
        "detector.device=cpu",
        "embedder.device=cpu",
        "output.render=false",
    ]
