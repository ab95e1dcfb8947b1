"""render_run: re-render a saved run, snapshots, streaming equals re-rendering, bad input."""

from __future__ import annotations

import json
import os

import cv2
import numpy as np
import pytest
import yaml

from core.errors import UserError
from mplt.config import RenderConfig
from mplt.io.jsonl import frame_record, tracks_from_record
from mplt.io.sources import open_source
from mplt.render import (
    FrameComposer,
    MapPose,
    VideoRenderer,
    load_run,
    render_run,
)
from mplt.render.run import composer_kwargs, iter_run_tracks
from tests.render.conftest import FPS, FRAMES, scene_tracks, write_clip, write_run

SMALL = RenderConfig(width=384, map_size_px=128)


def decode(path) -> list[np.ndarray]:
    with open_source(path) as source:
        return [frame for _, frame in source]


def test_video_has_the_source_frame_count_rate_and_layout_size(run):
    path = render_run(run, cfg=SMALL, progress=False)
    assert path == run / "video.mp4"
    assert sorted(p.name for p in run.iterdir()) == [
        "config.yaml",
        "summary.json",
        "tracks.jsonl",
        "video.mp4",
    ]
    with open_source(path) as source:
        info = source.info
        frames = [frame for _, frame in source]
    assert len(frames) == FRAMES  # frame 1 has nobody and is written all the same
    assert info.fps == FPS and (info.width, info.height) == (384, 128)


def test_a_run_over_part_of_the_video_renders_just_its_frames(tmp_path, clip):
    part = write_run(tmp_path / "part", clip, start=3, frames=6)
    assert (load_run(part).first, load_run(part).count) == (3, 6)
    path = render_run(part, out=tmp_path / "out" / "part.mp4", cfg=SMALL, progress=False)
    assert len(decode(path)) == 6
    with pytest.raises(UserError, match=r"frame 2 is not in run .* \(frames 4\.\.9\)"):
        render_run(part, snapshot=2)


def test_records_round_trip_to_tracks():
    tracks = scene_tracks(4)
    back = tracks_from_record(frame_record(4, 0.4, tracks))
    assert back.frame_index == 4
    for field in ("ids", "boxes", "scores", "ground_xy", "ground_velocity", "states"):
        np.testing.assert_allclose(getattr(back, field), getattr(tracks, field), atol=1e-3)
    assert len(tracks_from_record({"frame": 1, "tracks": []})) == 0
    with pytest.raises(UserError, match="frame 3: malformed track"):
        tracks_from_record({"frame": 3, "tracks": [{"id": 1}]})


def test_streaming_and_re_rendering_draw_the_same_frames(run, clip, tmp_path):
    """What `mplt track --render` streams (tracks straight from the tracker) equals what
    `mplt render` draws from tracks.jsonl, compared before encoding and after."""
    kwargs = composer_kwargs(load_run(run), SMALL)
    streaming, replay = FrameComposer(**kwargs), FrameComposer(**kwargs)
    with open_source(clip) as source:
        frames = [frame for _, frame in source]
    for frame, saved in zip(frames, iter_run_tracks(load_run(run)), strict=True):
        live = scene_tracks(saved.frame_index)
        assert np.array_equal(streaming.compose(frame, live), replay.compose(frame, saved))

    streamed = tmp_path / "streamed.mp4"
    with VideoRenderer(streamed, crf=SMALL.crf, **kwargs) as renderer:
        for index, frame in enumerate(frames):
            renderer.write(frame, scene_tracks(index))
    rendered = render_run(run, out=tmp_path / "rendered.mp4", cfg=SMALL, progress=False)
    a, b = np.array(decode(streamed)), np.array(decode(rendered))
    assert a.shape == b.shape == (FRAMES, 128, 384, 3)
    assert np.abs(a.astype(int) - b.astype(int)).mean() < 0.5


def test_snapshot_is_the_frame_of_the_video_with_its_trails(run, clip):
    path = render_run(run, snapshot=6, cfg=SMALL, progress=False)
    assert path == run / "snapshot_6.png"
    image = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
    composer = FrameComposer(**composer_kwargs(load_run(run), SMALL))
    with open_source(clip) as source:
        for index, frame in source:
            expected = composer.compose(frame, scene_tracks(index))
            if index == 5:
                break
    assert np.array_equal(image, expected)
    assert not (run / "video.mp4").exists()


def test_relative_source_paths_are_found_from_the_runs_parent(tmp_path, clip):
    (tmp_path / "videos").mkdir()
    os.symlink(clip, tmp_path / "videos" / "clip.mp4")
    run = write_run(tmp_path / "runs" / "clip", tmp_path / "videos" / "clip.mp4")
    summary = json.loads((run / "summary.json").read_text())
    summary["input"]["source"] = "videos/clip.mp4"  # as typed where `mplt track` ran
    (run / "summary.json").write_text(json.dumps(summary))
    assert render_run(run, snapshot=2, cfg=SMALL).is_file()


def test_image_mode_runs_render_the_panorama_only(tmp_path, clip):
    run = write_run(tmp_path / "img", clip, model="image", camera_height=None)
    path = render_run(run, snapshot=3, cfg=SMALL)
    assert cv2.imread(str(path)).shape == (192, 384, 3)  # pano layout: 2:1 at width 384
    with pytest.raises(UserError, match="layout 'map' needs ground positions"):
        render_run(run, cfg=RenderConfig(layout="map", width=384), progress=False)


def test_the_runs_camera_is_rebuilt_with_its_recorded_kind_height_and_pose(tmp_path, clip):
    run = write_run(tmp_path / "run", clip, camera_height=1.6)
    saved = yaml.safe_load((run / "config.yaml").read_text())
    saved["camera"]["yaw_deg"] = 30.0
    (run / "config.yaml").write_text(yaml.safe_dump(saved))
    kwargs = composer_kwargs(load_run(run), SMALL)
    camera = kwargs["camera"]
    assert (camera.kind, camera.camera_height, camera.yaw_deg) == ("equirect", 1.6, 30.0)
    assert kwargs["pose"].forward_deg == pytest.approx(30.0, abs=0.5) and kwargs["pose"].seam


def test_a_pinhole_run_whose_calibration_is_gone_renders_with_a_notice(tmp_path, clip, capsys):
    run = write_run(tmp_path / "pin", clip, model="pinhole", calib=str(tmp_path / "gone.yaml"))
    kwargs = composer_kwargs(load_run(run), SMALL)
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("notice: ") and "gone.yaml" in err[0]
    assert err[0].endswith("the map is centred on the world origin without a view direction")
    assert kwargs["pose"] == MapPose()
    assert kwargs["camera"].has_ground and kwargs["camera"].x_period is None
    assert cv2.imread(str(render_run(run, snapshot=2, cfg=SMALL))).shape == (128, 384, 3)


def test_missing_run_dir_or_tracks(tmp_path):
    with pytest.raises(UserError, match=r"run directory .* does not exist; pass the directory"):
        render_run(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match=r"has no tracks.jsonl"):
        render_run(tmp_path / "empty")


def test_missing_source_video_suggests_video(tmp_path, clip):
    run = write_run(tmp_path / "run", tmp_path / "moved.mp4")
    with pytest.raises(UserError, match=r"moved\.mp4 of run .* is not there any more; .*--video"):
        render_run(run)
    assert render_run(run, video=clip, snapshot=1, cfg=SMALL).is_file()
    with pytest.raises(UserError, match=r"video .*gone\.mp4 does not exist; .*--video"):
        render_run(run, video=tmp_path / "gone.mp4")


def test_a_video_of_another_size_rate_or_length_is_refused_by_name(tmp_path, clip):
    run = write_run(tmp_path / "run", clip)
    other = write_clip(tmp_path / "other.mp4", width=96, height=48)
    with pytest.raises(UserError, match=r"other\.mp4 is 96x48 but run .* tracked on 128x64"):
        render_run(run, video=other, progress=False)
    slow = write_clip(tmp_path / "slow.mp4", fps=5.0)
    with pytest.raises(UserError, match=r"slow\.mp4 has 5 frames/s but run .* at 10"):
        render_run(run, video=slow, progress=False)
    short = write_clip(tmp_path / "short.mp4", frames=5)
    with pytest.raises(
        UserError, match=r"short\.mp4 has 5 frames but run .* covers frames 1\.\.12"
    ):
        render_run(run, video=short, progress=False)
    # the estimate of the frame count can be a frame short: decoding finds the truth
    almost = write_clip(tmp_path / "almost.mp4", frames=FRAMES - 1)
    with pytest.raises(UserError, match=r"almost\.mp4 has 11 frames"):
        render_run(run, video=almost, cfg=SMALL, progress=False)
    assert sorted(p.name for p in run.iterdir()) == ["config.yaml", "summary.json", "tracks.jsonl"]


def test_unwritable_or_wrong_output_paths(run, tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    with pytest.raises(UserError, match="is a file, not a directory"):
        render_run(run, out=blocker / "video.mp4", progress=False)
    with pytest.raises(UserError, match=r"must be a \.mp4 file"):
        render_run(run, out=tmp_path / "video.avi", progress=False)
    with pytest.raises(UserError, match=r"must be a \.png file"):
        render_run(run, out=tmp_path / "snap.jpg", snapshot=2)
    with pytest.raises(UserError, match=r"crf must be in 0..51"):
        render_run(run, out=tmp_path / "v.mp4", cfg=RenderConfig(crf=70), progress=False)
    (tmp_path / "dir.mp4").mkdir()
    with pytest.raises(UserError, match="is a directory"):
        render_run(run, out=tmp_path / "dir.mp4", progress=False)
    assert not list(tmp_path.glob("*.part.mp4"))


def test_summary_missing_is_reported(run):
    (run / "summary.json").unlink()
    with pytest.raises(UserError, match=r"summary.json is missing"):
        render_run(run)
