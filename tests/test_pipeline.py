"""The ``mplt track`` pipeline: one path per frame through PanoramaTracker, empty input, the
camera from the factory, Ctrl-C, and a run rendered while tracking equals its re-rendering."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest

from core.config import updated
from core.errors import UserError
from core.types import Detections, TrackState
from mplt.config import CameraConfig, RenderConfig, TrackConfig
from mplt.geometry import NominalPinhole, build_camera, ground_to_pixel
from mplt.io.mot import MotWriter, read_mot_detections
from mplt.io.sources import open_source
from mplt.pipeline import PanoramaTracker, run_track
from mplt.render import render_run
from mplt.render.run import load_run
from mplt.synthetic import BODY_RADIUS_M
from tests.conftest import (
    CLIP_CAMERA_HEIGHT,
    CLIP_FRAMES,
    CLIP_WIDTH,
    write_synthetic_clip,
    write_video,
)

SMALL = RenderConfig(width=384, map_size_px=128)


def config(**changes: object) -> TrackConfig:
    return updated(TrackConfig(), {"camera.height_m": CLIP_CAMERA_HEIGHT, **changes})


def frames_of(path) -> np.ndarray:
    with open_source(path) as source:
        return np.array([frame for _, frame in source])


def confirmed(tracks):
    return tracks.select(tracks.states == TrackState.CONFIRMED)


class FixedDetector:
    """A detector that finds the same people in every image, and counts its calls."""

    name = "fixed"

    def __init__(self, boxes: np.ndarray) -> None:
        self.boxes, self.calls = np.asarray(boxes, float), []

    def detect(self, images):
        self.calls.append(len(images))
        return [(self.boxes, np.full(len(self.boxes), 0.9, np.float32)) for _ in images]


# -- one path per frame -------------------------------------------------------------------


@pytest.mark.parametrize("given_as", ["Detections", "(N, 5) array", "(N, 6) array"])
def test_a_run_equals_panorama_tracker_update_frame_by_frame(pano_clip, tmp_path, given_as):
    """What `mplt track` writes is what a loop of PanoramaTracker.update gives, byte for byte."""
    video, det_file, _ = pano_clip
    cfg = config()
    run_track(str(video), cfg, tmp_path / "run", detections_file=det_file, progress=False)

    given = read_mot_detections(det_file)
    with open_source(str(video)) as source, MotWriter(tmp_path / "loop.txt") as writer:
        camera = build_camera(cfg.camera, (source.info.width, source.info.height))
        tracker = PanoramaTracker(camera, cfg, fps=source.info.fps)
        for index, frame in source:
            dets = given.get(index, Detections.empty(index))
            rows = np.column_stack([dets.boxes, dets.scores])
            if given_as == "(N, 6) array":
                rows = np.column_stack([rows, np.zeros(len(rows))])  # class 0, ignored
            tracks = tracker.update(frame, dets if given_as == "Detections" else rows)
            writer.write(index, confirmed(tracks))
    assert (tmp_path / "loop.txt").read_bytes() == (tmp_path / "run" / "tracks.txt").read_bytes()


def test_decoding_ahead_in_a_thread_writes_the_same_bytes(pano_clip, tmp_path):
    video, det_file, _ = pano_clip
    for ahead in (0, 1, 8):
        cfg = config(decode_ahead=ahead, detect_every=2 if ahead == 1 else 1)
        run_track(str(video), cfg, tmp_path / f"{ahead}", detections_file=det_file, progress=False)
    serial = config(decode_ahead=0, detect_every=2)
    run_track(str(video), serial, tmp_path / "serial2", detections_file=det_file, progress=False)
    for name in ("tracks.txt", "tracks.jsonl", "tracks_final.txt", "tracks_final.jsonl"):
        assert (tmp_path / "8" / name).read_bytes() == (tmp_path / "0" / name).read_bytes()
        assert (tmp_path / "1" / name).read_bytes() == (tmp_path / "serial2" / name).read_bytes()


def test_a_decoder_failing_part_way_with_decoding_ahead(pano_clip, tmp_path, monkeypatch):
    """The frames decoded before the failure are tracked, then the run fails with its error."""
    import mplt.pipeline

    video, det_file, _ = pano_clip
    real = mplt.pipeline.open_source

    def failing(spec, **kwargs):
        source = real(spec, **kwargs)
        frames = source._frames

        def broken():
            for k, frame in enumerate(frames):
                if k == 12:
                    raise UserError("decoding failed near frame 12; re-encode the video")
                yield frame

        source._frames = broken()
        return source

    monkeypatch.setattr(mplt.pipeline, "open_source", failing)
    with pytest.raises(UserError, match="near frame 12"):
        run_track(str(video), config(), tmp_path / "run", detections_file=det_file, progress=False)
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["status"] == "failed" and summary["frames_processed"] == 12
    lines = (tmp_path / "run" / "tracks.jsonl").read_text().splitlines()
    assert len(lines) == 12
    assert not [t for t in threading.enumerate() if t.name == "mplt-decode"]


def test_frames_without_a_detector_are_detected_in_batches(pano_clip):
    video, _, gt = pano_clip
    first = gt[gt[:, 0] == 1]
    boxes = np.column_stack([first[:, 2:4] - 1, first[:, 2:4] - 1 + first[:, 4:6]])
    with open_source(str(video)) as source:
        frames = [frame for _, frame in source]
        camera = build_camera(config().camera, (source.info.width, source.info.height))
    detector = FixedDetector(boxes)
    tracker = PanoramaTracker(camera, config(**{"tracker.n_init": 1}), fps=10.0, detector=detector)
    batch = tracker.detect(frames[:4], [0, 1, 2, 3])
    assert detector.calls == [4] and [d.frame_index for d in batch] == [0, 1, 2, 3]
    assert np.isnan(batch[0].ground_xy).all()  # localized by push(), not by detect()
    tracks = tracker.push(frames[0], batch[0])[-1].tracks
    assert np.isfinite(tracks.ground_xy).all() and len(tracks) == len(boxes)
    tracker.update(frames[1])  # no detections given: the detector runs on this frame
    assert detector.calls == [4, 1]
    assert tracker.timer.seconds["detect"] > 0 and tracker.timer.seconds["localize"] > 0


def test_detect_every_n_detects_and_embeds_every_nth_frame_and_writes_every_frame(
    pano_clip, tmp_path
):
    video, det_file, _ = pano_clip
    cfg = config(detect_every=3, **{"tracker.n_init": 1})
    summary = run_track(str(video), cfg, tmp_path / "run", detections_file=det_file, progress=False)
    given = read_mot_detections(det_file)
    embedded, outputs = [], []
    with open_source(str(video)) as source:
        camera = build_camera(cfg.camera, (source.info.width, source.info.height))
        tracker = PanoramaTracker(camera, cfg, fps=source.info.fps)
        embed = tracker.embedder.embed
        tracker.embedder.embed = lambda frame, boxes, *mask: (
            embedded.append(len(boxes)) or embed(frame, boxes, *mask)
        )
        with MotWriter(tmp_path / "loop.txt") as writer:
            for index, frame in source:
                tracks = tracker.update(frame, given.get(index, Detections.empty(index)))
                writer.write(index, confirmed(tracks))
                outputs.append(tracks)
    # the run is this loop; detections given for the frames between are not used
    assert (tmp_path / "loop.txt").read_bytes() == (tmp_path / "run" / "tracks.txt").read_bytes()
    assert len(embedded) == CLIP_FRAMES // 3
    assert summary["input"]["decoder"] == "ffmpeg"  # no GPU decoder here
    assert summary["counts"]["detections"] == sum(len(given[i]) for i in range(0, CLIP_FRAMES, 3))
    lines = (tmp_path / "run" / "tracks.jsonl").read_text().splitlines()
    assert [json.loads(line)["frame"] for line in lines] == list(range(1, CLIP_FRAMES + 1))
    # between detection frames the confirmed people are still there, predicted, unmatched
    for tracks in outputs:
        assert (tracks.states == TrackState.CONFIRMED).sum() == 4
    assert all((outputs[i].detection_indices == -1).all() for i in range(1, CLIP_FRAMES, 3))
    assert all((outputs[i].detection_indices >= 0).all() for i in range(0, CLIP_FRAMES, 3))
    with pytest.raises(UserError, match="detect_every must be at least 1"):
        run_track(str(video), config(detect_every=0), tmp_path / "bad", progress=False)


def test_detect_every_n_runs_the_detector_on_those_frames_only(pano_clip):
    _, _, gt = pano_clip
    first = gt[gt[:, 0] == 1]
    boxes = np.column_stack([first[:, 2:4] - 1, first[:, 2:4] - 1 + first[:, 4:6]])
    camera = build_camera(config().camera, (512, 256))
    detector = FixedDetector(boxes)
    tracker = PanoramaTracker(camera, config(detect_every=4), fps=10.0, detector=detector)
    assert [tracker.detects(j) for j in range(6)] == [True, False, False, False, True, False]
    assert tracker.tracker.n_init == 2  # n_init 5 frames: two detections four frames apart
    frame = np.zeros((256, 512, 3), np.uint8)
    for _ in range(9):
        tracker.update(frame)
    assert detector.calls == [1, 1, 1]  # frames 0, 4 and 8
    tracker.reset()
    assert tracker.detects()  # the next video starts with a detection frame


def test_the_detector_is_built_from_the_config_when_first_needed(pano_clip, monkeypatch):
    import mplt.pipeline

    built = []
    monkeypatch.setattr(
        mplt.pipeline, "build_detector", lambda cfg, camera: built.append(cfg) or FixedDetector([])
    )
    camera = build_camera(config().camera, (512, 256))
    tracker = PanoramaTracker(camera, config(), fps=10.0)
    tracker.update(np.zeros((256, 512, 3), np.uint8), np.zeros((0, 5)))
    assert built == []  # detections were given: no detector
    assert len(tracker.update(np.zeros((256, 512, 3), np.uint8))) == 0
    assert built == [config().detector]


def test_empty_frames_coast_and_reset_starts_the_ids_again():
    camera = build_camera(config().camera, (512, 256))
    cfg = config(**{"embedder.kind": "none", "tracker.n_init": 3})
    tracker = PanoramaTracker(camera, cfg, fps=10.0)
    frame = np.zeros((256, 512, 3), np.uint8)
    assert len(tracker.update(frame, np.zeros((0, 5)))) == 0  # nobody, nothing to track
    person = [[250.0, 140.0, 262.0, 190.0, 0.9]]
    for _ in range(3):
        tracks = tracker.update(frame, person)
    assert tracks.ids.tolist() == [1] and tracks.states.tolist() == [TrackState.CONFIRMED]
    coasting = tracker.update(frame, np.zeros((0, 5)))
    assert coasting.ids.tolist() == [1] and coasting.states.tolist() == [TrackState.LOST]
    tracker.reset()
    assert len(tracker.update(frame, [])) == 0
    for _ in range(3):
        tracks = tracker.update(frame, person)
    assert tracks.ids.tolist() == [1]


def test_without_a_camera_height_boxes_are_tracked_and_positions_still_reported():
    """No height given or estimated: mode auto tracks in the image (positions from the height
    prior alone track worse), and a matched track reports its detection's position."""
    frame = np.zeros((256, 512, 3), np.uint8)
    person = [[250.0, 140.0, 262.0, 190.0, 0.9]]
    modes = {}
    for height in (None, CLIP_CAMERA_HEIGHT):
        cfg = config(**{"camera.height_m": height, "embedder.kind": "none", "tracker.n_init": 1})
        tracker = PanoramaTracker(build_camera(cfg.camera, (512, 256)), cfg, fps=10.0)
        modes[height] = tracker.mode
        tracks = tracker.update(frame, person)
        assert tracks.states.tolist() == [TrackState.CONFIRMED]
        assert np.isfinite(tracks.ground_xy).all()
        coasting = tracker.update(frame, np.zeros((0, 5)))
        assert np.isnan(coasting.ground_xy).all() == (height is None)  # image mode: no filter
    assert modes == {None: "image", CLIP_CAMERA_HEIGHT: "ground"}
    explicit = config(**{"camera.height_m": None, "tracker.mode": "ground"})
    camera = build_camera(explicit.camera, (512, 256))
    assert PanoramaTracker(camera, explicit, fps=10.0).mode == "ground"


def test_bad_frames_and_detections_are_refused():
    camera = build_camera(config().camera, (512, 256))
    tracker = PanoramaTracker(camera, config(), fps=10.0)
    with pytest.raises(ValueError, match=r"frame must be 512x256"):
        tracker.update(np.zeros((100, 200, 3), np.uint8), np.zeros((0, 5)))
    with pytest.raises(ValueError, match=r"\(N, 5\) / \(N, 6\) array"):
        tracker.update(np.zeros((256, 512, 3), np.uint8), np.zeros((2, 4)))


# -- empty input, the camera from the factory ---------------------------------------------


def test_a_detections_file_empty_for_some_frames(pano_clip, tmp_path):
    video, det_file, _ = pano_clip
    rows = np.loadtxt(det_file, delimiter=",", ndmin=2)
    gap = (rows[:, 0] >= 11) & (rows[:, 0] <= 16)  # nobody detected in frames 11..16
    holes = tmp_path / "holes.txt"
    np.savetxt(holes, rows[~gap], fmt="%.3f", delimiter=",")
    run = tmp_path / "run"
    summary = run_track(str(video), config(), run, detections_file=holes, progress=False)
    assert summary["frames_processed"] == CLIP_FRAMES and summary["status"] == "finished"
    records = [json.loads(line) for line in (run / "tracks.jsonl").read_text().splitlines()]
    assert [r["frame"] for r in records] == list(range(1, CLIP_FRAMES + 1))
    assert all(r["tracks"] == [] for r in records[10:16])  # coasting tracks are not written
    before = {t["id"] for r in records[:10] for t in r["tracks"]}
    after = {t["id"] for r in records[16:] for t in r["tracks"]}
    assert after and after <= before  # the same people, the same IDs after the gap


def test_an_empty_detections_file_tracks_nobody_when_asked(pano_clip, tmp_path):
    video, _, _ = pano_clip
    (tmp_path / "none.txt").write_text("")
    with pytest.raises(UserError, match=r"has no rows; .*--allow-empty-detections"):
        run_track(str(video), config(), tmp_path / "run", detections_file=tmp_path / "none.txt")
    assert not (tmp_path / "run").exists()
    summary = run_track(
        str(video),
        config(),
        tmp_path / "run",
        detections_file=tmp_path / "none.txt",
        max_frames=5,
        progress=False,
        allow_empty_detections=True,
    )
    assert summary["frames_processed"] == 5
    assert summary["counts"] == {"detections": 0, "tracks_confirmed": 0, "max_people_in_frame": 0}
    assert (tmp_path / "run" / "tracks.txt").read_text() == ""


def test_a_perspective_video_is_tracked_in_the_image(tmp_path):
    video = write_video(tmp_path / "street.mp4", [np.full((240, 320, 3), 80, np.uint8)] * 4, 5)
    det = tmp_path / "det.txt"
    det.write_text("".join(f"{f},-1,100,60,30,90,0.9,-1,-1,-1\n" for f in range(1, 5)))
    cfg = updated(TrackConfig(), {"tracker.n_init": 1})
    summary = run_track(str(video), cfg, tmp_path / "run", detections_file=det, progress=False)
    camera = summary["camera"]
    assert (camera["model"], camera["height_m"]) == ("image", None)
    assert camera["height_source"] == "none" and camera["height_estimate"] is None
    assert summary["tracker"]["mode"] == "image" and summary["localization"].startswith("none")
    last = (tmp_path / "run" / "tracks.jsonl").read_text().splitlines()[-1]
    track = json.loads(last)["tracks"][0]
    assert track["azimuth_deg"] is None and track["ground_xy"] is None  # no real directions
    with pytest.raises(UserError, match=r"tracker.mode=ground needs ground positions"):
        run_track(
            str(video),
            updated(cfg, {"tracker.mode": "ground"}),
            tmp_path / "r2",
            detections_file=det,
            progress=False,
        )
    assert not (tmp_path / "r2").exists()


def street_run(tmp_path, camera_height: float, pitch: float, cfg: TrackConfig | None = None):
    """An uncalibrated 640 x 480 street (25 frames at 10 fps) seen by a camera
    ``camera_height`` m up, pitched ``pitch`` degrees down: five people walking 8-24 m away
    (their boxes: 1.70 m tall, 0.5 m wide, 0.3 m deep, through the nominal lens), tracked by
    ``mplt track`` with every default."""
    truth = NominalPinhole(640, 480, camera_height, pitch)
    rows = []
    for f in range(25):
        for k in range(5):
            x, y = 8.0 + 4.0 * k, (-0.3 + 0.15 * k) * (8.0 + 4.0 * k) + 0.04 * f
            corners = [
                [x + dx, y + dy, z]
                for dx in (-0.15, 0.15)
                for dy in (-0.25, 0.25)
                for z in (0, 1.7)
            ]
            uv, _ = ground_to_pixel(truth, np.array(corners))
            (x1, y1), (x2, y2) = uv.min(axis=0), uv.max(axis=0)
            rows.append(f"{f + 1},-1,{x1:.2f},{y1:.2f},{x2 - x1:.2f},{y2 - y1:.2f},0.9,-1,-1,-1\n")
    det = tmp_path / "det.txt"
    det.write_text("".join(rows))
    video = write_video(tmp_path / "street.mp4", [np.full((480, 640, 3), 80, np.uint8)] * 25, 10)
    run = tmp_path / f"run-{camera_height}"
    summary = run_track(str(video), cfg or TrackConfig(), run, detections_file=det, progress=False)
    return summary, run


def test_an_uncalibrated_perspective_camera_high_up_is_placed_from_its_people(tmp_path):
    """6 m up, 20 degrees down: the height and pitch come from the people, the camera becomes
    a nominal pinhole, tracks are on the ground from the first frame, and `mplt render`
    rebuilds the same camera."""
    summary, run = street_run(tmp_path, 6.0, 20.0)
    camera = summary["camera"]
    assert camera["model"] == "nominal" and camera["height_source"] == "estimated from the people"
    assert camera["height_m"] == pytest.approx(6.0, rel=0.05)
    assert camera["pitch_deg"] == pytest.approx(20.0, abs=1.0)
    assert summary["tracker"]["mode"] == "ground"
    first = json.loads((run / "tracks.jsonl").read_text().splitlines()[0])["tracks"]
    assert len(first) == 5 and all(t["ground_xy"] is not None for t in first)
    assert sorted(round(t["ground_xy"][0]) for t in first) == [8, 12, 16, 20, 24]
    rebuilt = build_camera(load_run(run).camera, (640, 480))
    assert rebuilt.kind == "nominal" and rebuilt.camera_height == pytest.approx(camera["height_m"])
    assert rebuilt.pitch_deg == pytest.approx(camera["pitch_deg"])


def test_a_high_camera_estimated_after_tracking_began_stays_in_the_image_not_too_low(tmp_path):
    """Without waiting for the estimate (auto_height_delay_s 0) the tracker has begun in the
    image when the 6 m camera settles: it stays there, and the summary does not call the
    camera too low."""
    cfg = updated(TrackConfig(), {"camera.auto_height_delay_s": 0.0})
    summary, _ = street_run(tmp_path, 6.0, 20.0, cfg)
    assert summary["camera"]["model"] == "nominal" and summary["tracker"]["mode"] == "image"
    assert "too low" not in summary["localization"]


def test_an_uncalibrated_camera_at_head_height_stays_in_the_image(tmp_path):
    """1.5 m up (below 1.5 person heights) the estimate is kept in the summary but the boxes
    are tracked in the image."""
    summary, run = street_run(tmp_path, 1.5, 5.0)
    camera = summary["camera"]
    assert camera["model"] == "image" and camera["height_m"] is None
    assert camera["height_estimate"]["height_m"] == pytest.approx(1.5, rel=0.05)
    assert summary["tracker"]["mode"] == "image" and "too low" in summary["localization"]
    first = json.loads((run / "tracks.jsonl").read_text().splitlines()[0])["tracks"]
    assert len(first) == 5 and all(t["ground_xy"] is None for t in first)


# -- Ctrl-C, rendering while tracking -----------------------------------------------------


class _InterruptedSource:
    """Wraps a real source; Ctrl-C arrives while frame ``stop_at`` is being decoded."""

    def __init__(self, inner, stop_at: int) -> None:
        self.inner, self.stop_at, self.info = inner, stop_at, inner.info

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.inner.close()

    def __iter__(self):
        for index, frame in self.inner:
            if index == self.stop_at:
                raise KeyboardInterrupt
            yield index, frame


def test_ctrl_c_leaves_valid_outputs_up_to_the_last_frame(pano_clip, tmp_path, monkeypatch):
    import mplt.pipeline

    video, det_file, _ = pano_clip
    monkeypatch.setattr(
        mplt.pipeline, "open_source", lambda *a, **k: _InterruptedSource(open_source(*a, **k), 13)
    )
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        mplt.pipeline.run_track(str(video), config(), out, detections_file=det_file, progress=False)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "interrupted"
    # Frames are decoded in batches of 4: the batch holding frame 13 (12..15) never ran.
    assert summary["frames_processed"] == 12 and summary["last_frame"] == 12
    rows = np.loadtxt(out / "tracks.txt", delimiter=",", ndmin=2)
    assert rows[:, 0].max() == 12
    assert [
        json.loads(line)["frame"] for line in (out / "tracks.jsonl").read_text().splitlines()
    ] == list(range(1, 13))


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
def test_a_signal_while_a_frame_is_written_waits_for_its_last_sink(
    pano_clip, tmp_path, monkeypatch, sig
):
    """The signal lands between tracks.txt and tracks.jsonl: that frame still reaches both."""
    import os
    import signal

    video, det_file, _ = pano_clip
    write = MotWriter.write

    def write_then_signal(self, frame_index, tracks):
        write(self, frame_index, tracks)
        if frame_index == 9:
            os.kill(os.getpid(), getattr(signal, sig))

    monkeypatch.setattr(MotWriter, "write", write_then_signal)
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        run_track(str(video), config(), out, detections_file=det_file, progress=False)
    rows = np.loadtxt(out / "tracks.txt", delimiter=",", ndmin=2)
    lines = (out / "tracks.jsonl").read_text().splitlines()
    assert rows[:, 0].max() == 10 == json.loads(lines[-1])["frame"] == len(lines)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "interrupted" and summary["last_frame"] == 10


@pytest.fixture(scope="module")
def tracked(pano_clip, tmp_path_factory):
    """A tracked run of the pano_clip (people crossing the seam), rendered while tracking."""
    video, det_file, _ = pano_clip
    run_dir = tmp_path_factory.mktemp("e2e") / "run"
    # foot rows from the fifth frame on (the default wait is the clip's length)
    cfg = config(**{"output.render": True, "render": SMALL, "feet.warmup_frames": 5})
    run_track(str(video), cfg, run_dir, detections_file=det_file, progress=False)
    return run_dir


def test_re_rendered_run_has_every_source_frame_and_matches_the_streamed_video(tracked, tmp_path):
    run_dir = tracked
    rendered = frames_of(render_run(run_dir, out=tmp_path / "again.mp4", cfg=SMALL, progress=False))
    assert len(rendered) == CLIP_FRAMES
    assert rendered.shape[1:] == (128, 384, 3)  # side layout: 256x128 panorama + 128x128 map
    snapshot = render_run(run_dir, snapshot=CLIP_FRAMES, out=tmp_path / "last.png", cfg=SMALL)
    assert snapshot.stat().st_size > 1000
    streamed = frames_of(run_dir / "video.mp4")
    assert len(streamed) == CLIP_FRAMES
    # Same composer, same encoder, the tracks as tracks.jsonl rounds them: the same pixels.
    assert np.array_equal(streamed, rendered)


# -- the camera height from the people (camera.height_m: auto) ----------------------------


def _gt_xy(gt: np.ndarray, frame: int) -> np.ndarray:
    return gt[gt[:, 0] == frame + 1][:, 7:9]


def _median_error(dets: Detections, truth: np.ndarray) -> float:
    from scipy.optimize import linear_sum_assignment

    d = np.linalg.norm(dets.ground_xy[:, None] - truth[None], axis=2)
    rows, cols = linear_sum_assignment(np.nan_to_num(d, nan=1e6))
    return float(np.median(d[rows, cols]))


def test_held_back_frames_are_localized_with_the_settled_height(pano_clip):
    video, det_file, gt = pano_clip
    # the synthetic truth is the body centre: the localizer says so to be compared with it
    cfg = updated(
        TrackConfig(), {"camera.height_m": "auto", "localize.foot_offset_m": BODY_RADIUS_M}
    )
    given = read_mot_detections(det_file)
    done, first_out = [], None
    with open_source(str(video)) as source:
        camera = build_camera(cfg.camera, (source.info.width, source.info.height))
        assert camera.camera_height is None
        tracker = PanoramaTracker(camera, cfg, fps=source.info.fps, delay_frames=CLIP_FRAMES)
        for index, frame in source:
            out = tracker.push(frame, given[index])
            if out and first_out is None:
                first_out = index
            done += out
    done += tracker.flush()
    assert [d.index for d in done] == list(range(CLIP_FRAMES))  # every frame, in order
    assert tracker.settled_at is not None and first_out == tracker.settled_at
    estimate = tracker.pose_estimate
    assert estimate.height_m == pytest.approx(CLIP_CAMERA_HEIGHT, rel=0.03)
    assert tracker.camera.camera_height == estimate.height_m
    # the first frame waited for the estimate: it is localized with the camera height
    assert _median_error(done[0].detections, _gt_xy(gt, 0)) < 0.3


def test_the_height_estimate_takes_off_the_box_margins_of_the_detector_that_runs():
    camera = build_camera(CameraConfig(), (512, 256))
    detector = FixedDetector(np.zeros((0, 4)))
    detector.box_margins = (0.05, 0.035)
    auto = TrackConfig()
    assert PanoramaTracker(camera, auto, fps=10.0, detector=detector).box_margins == [0.05, 0.035]
    lazy = PanoramaTracker(camera, auto, fps=10.0)  # given detections: a detector of its own
    assert lazy.box_margins == [0.0, 0.0]
    given = updated(auto, {"camera.auto_box_top": 0.1, "camera.auto_box_bottom": 0.0})
    assert PanoramaTracker(camera, given, fps=10.0, detector=detector).box_margins == [0.1, 0.0]
    known = updated(auto, {"camera.height_m": 2.0})
    assert (
        PanoramaTracker(build_camera(known.camera, (512, 256)), known, fps=10.0).box_margins is None
    )


def test_update_never_waits_before_the_height_settles(pano_clip):
    video, det_file, _ = pano_clip
    cfg = updated(TrackConfig(), {"camera.height_m": "auto"})
    given = read_mot_detections(det_file)
    heights = []
    with open_source(str(video)) as source:
        camera = build_camera(cfg.camera, (source.info.width, source.info.height))
        tracker = PanoramaTracker(camera, cfg, fps=source.info.fps)
        for index, frame in source:
            tracker.update(frame, given[index])
            heights.append(tracker.camera.camera_height)
    assert heights[0] is None and heights[-1] == pytest.approx(CLIP_CAMERA_HEIGHT, rel=0.03)
    with pytest.raises(ValueError, match="use push"):
        PanoramaTracker(camera, cfg, fps=10.0, delay_frames=5).update(np.zeros((256, 512, 3)))


def test_a_run_records_the_estimated_height(pano_clip, tmp_path):
    video, det_file, _ = pano_clip
    cfg = updated(TrackConfig(), {"output.render": True, "render": SMALL})
    summary = run_track(str(video), cfg, tmp_path / "run", detections_file=det_file, progress=False)
    camera = summary["camera"]
    assert camera["height_source"] == "estimated from the people"
    assert camera["height_m"] == pytest.approx(CLIP_CAMERA_HEIGHT, rel=0.03)
    assert camera["height_estimate"]["samples"] >= 50 and camera["height_settled_at_frame"] >= 1
    assert summary["frames_processed"] == CLIP_FRAMES
    assert "foot point" in summary["localization"]
    frames = {
        int(line.split(",")[0]) for line in (tmp_path / "run" / "tracks.txt").read_text().split()
    }
    # the held-back first frames were written too (a track is confirmed on its n_init-th hit)
    assert min(frames) <= TrackConfig().tracker.n_init
    from mplt.io.sources import open_source as src

    with src(str(tmp_path / "run" / "video.mp4")) as rendered:
        assert sum(1 for _ in rendered) == CLIP_FRAMES


def test_too_few_people_leave_the_height_unknown(pano_clip, tmp_path):
    video, det_file, _ = pano_clip
    one = tmp_path / "one.txt"
    rows = np.loadtxt(det_file, delimiter=",")
    keep = rows[:, 0] <= 6
    np.savetxt(one, rows[keep][:10], fmt="%.3f", delimiter=",")  # 10 person-frames
    summary = run_track(
        str(video), TrackConfig(), tmp_path / "run", detections_file=one, progress=False
    )
    assert summary["camera"]["height_m"] is None and summary["camera"]["height_estimate"] is None
    assert summary["camera"]["height_source"] == "unknown"
    assert "not settled" in summary["localization"]
    assert summary["frames_processed"] == CLIP_FRAMES


@pytest.mark.parametrize(("camera_height", "mode"), [(2.0, "image"), (4.0, "ground")])
def test_a_panorama_estimated_below_one_and_a_half_person_heights_is_tracked_in_the_image(
    tmp_path, camera_height, mode
):
    """Seen from about head height the feet lie near the horizon (TUD-Stadtmitte on the
    sphere: 19 ID switches on the ground, 3 in the image): mode auto tracks such a camera in the
    image, and still reports where people stand."""
    video, det_file, _ = write_synthetic_clip(
        tmp_path, width=CLIP_WIDTH, frames=CLIP_FRAMES, people=4, camera_height=camera_height
    )
    summary = run_track(
        str(video), TrackConfig(), tmp_path / "run", detections_file=det_file, progress=False
    )
    assert summary["camera"]["height_m"] == pytest.approx(camera_height, rel=0.05)
    assert summary["tracker"]["mode"] == mode
    assert ("too low to track on the ground" in summary["localization"]) is (mode == "image")
    rows = np.loadtxt(tmp_path / "run" / "tracks.txt", delimiter=",")
    assert len(rows) and np.isfinite(rows[:, 7]).all() and (rows[:, 7] != -1).mean() > 0.9
    ground = updated(TrackConfig(), {"tracker.mode": "ground"})  # asked for: as asked
    asked = run_track(
        str(video), ground, tmp_path / "asked", detections_file=det_file, progress=False
    )
    assert asked["tracker"]["mode"] == "ground"
