"""Synthetic 360° scenes: exact boxes vs. rendered silhouettes, motion, detections, files."""

from __future__ import annotations

import json
import time

import imageio_ffmpeg
import numpy as np
import pytest

from mplt.geometry import Equirectangular
from mplt.synthetic import (
    SCENARIOS,
    DetectionNoise,
    Scene,
    ground_truth_rows,
    make_scene,
    occlusion_visibility,
    person_boxes,
    render,
    render_frame,
    synthesize_detections,
    write_sequence,
)
from mplt.synthetic.render import _background

# Saturated colours that never occur in the background (sky, buildings, grey paving).
VIVID = np.array([[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 0, 255]], np.uint8)


def _scene(
    xy: list[list[float]], heights: list[float] | None = None, radius: float = 0.24
) -> Scene:
    """A one-frame scene with people at ``xy`` in vivid colours."""
    xy_arr = np.array(xy, float).reshape(1, -1, 2)
    n = xy_arr.shape[1]
    colours = np.stack([np.roll(VIVID, k, axis=0) for k in range(n)])
    return Scene(
        positions=xy_arr,
        heights=np.array(heights if heights is not None else [1.75] * n, float),
        radii=np.full(n, radius),
        colours=colours,
        fps=10.0,
    )


def _person_mask(camera: Equirectangular, frame: np.ndarray) -> np.ndarray:
    background = _background(camera.width, camera.height, float(camera.camera_height))
    return (frame != background).any(axis=2)


def _pixel_box(mask: np.ndarray) -> np.ndarray:
    """Bounding box (pixel edges) of a mask that may wrap round the seam; x1 in [0, W)."""
    width = mask.shape[1]
    cols = np.flatnonzero(mask.any(axis=0))
    rows = np.flatnonzero(mask.any(axis=1))
    gaps = np.diff(np.concatenate([cols, [cols[0] + width]]))
    start = cols[(np.argmax(gaps) + 1) % len(cols)]  # the column after the widest empty gap
    span = (cols - start) % width
    return np.array([start, rows[0], start + span.max() + 1, rows[-1] + 1], float)


@pytest.mark.parametrize("camera_height", [1.2, 2.0, 3.5])
@pytest.mark.parametrize(
    "xy",
    [[5.0, 0.0], [2.0, 1.5], [-4.0, 0.05], [-3.0, -0.1], [-11.0, 0.0], [0.5, -6.0], [1.6, 0.0]],
    ids=["front", "near", "seam", "seam-right", "seam-far", "right", "very-near"],
)
def test_rendered_silhouette_matches_the_exact_box(xy, camera_height):
    camera = Equirectangular(1024, 512, camera_height=camera_height)
    scene = _scene([xy])
    box = person_boxes(camera, scene.positions[0], scene.heights, scene.radii)[0]
    shot = render(camera, scene, 0)
    np.testing.assert_allclose(_pixel_box(_person_mask(camera, shot.frame)), box, atol=1.0)
    np.testing.assert_allclose(shot.boxes[0], box)
    np.testing.assert_allclose(shot.visible_boxes[0], _pixel_box(_person_mask(camera, shot.frame)))
    assert shot.visible_fraction[0] == 1.0
    assert 0.0 <= box[0] < camera.width and box[2] > box[0]


def test_boxes_cross_the_seam_unwrapped():
    camera = Equirectangular(1024, 512, camera_height=2.0)
    box = person_boxes(camera, np.array([[-4.0, 0.0]]), np.array([1.75]), np.array([0.24]))[0]
    assert (
        box[0] > camera.width / 2 and box[2] > camera.width
    )  # starts left of the seam, ends past it
    mask = _person_mask(camera, render_frame(camera, _scene([[-4.0, 0.0]]), 0))
    assert mask[:, 0].any() and mask[:, -1].any()


def test_projection_follows_the_camera_conventions():
    """The box centre is where the camera model projects the person's axis."""
    camera = Equirectangular(1024, 512, camera_height=2.0)
    xy = np.array([[5.0, 0.0], [0.0, 5.0], [0.0, -5.0], [3.0, -2.0]])
    boxes = person_boxes(camera, xy, np.full(4, 1.7), np.full(4, 0.2))
    uv, valid = camera.ray_to_pixel(np.column_stack([xy, np.full(4, -2.0)]))  # feet centre
    assert valid.all()
    np.testing.assert_allclose((boxes[:, 0] + boxes[:, 2]) / 2, uv[:, 0], atol=1e-6)
    # Forward is the image centre; left (+y) is azimuth -90°, a quarter of the width.
    np.testing.assert_allclose((boxes[:2, 0] + boxes[:2, 2]) / 2, [512.0, 256.0], atol=1e-6)
    assert (boxes[:, 3] > uv[:, 1]).all()  # the near rim of the feet is below the axis


def test_nearer_person_occludes_the_farther_one():
    camera = Equirectangular(1024, 512, camera_height=2.0)
    scene = _scene([[8.0, 0.0], [4.0, 0.1]])  # far one listed first: order must not matter
    shot = render(camera, scene, 0)
    far, near = shot.visible_fraction
    assert near == 1.0 and 0.0 < far < 0.8
    # The visible part of the far person is narrower than its silhouette, but as tall.
    seen, whole = shot.visible_boxes[0], shot.boxes[0]
    assert seen[2] - seen[0] < whole[2] - whole[0] - 2
    # Ground truth keeps whole (amodal) boxes: occlusion does not change them.
    np.testing.assert_allclose(
        shot.boxes, person_boxes(camera, scene.positions[0], scene.heights, scene.radii)
    )
    # Pixels of the far person's box centre column at chest height belong to the near one.
    u = int((whole[0] + whole[2]) / 2)
    v = int(shot.boxes[1, 1] + 0.5 * (shot.boxes[1, 3] - shot.boxes[1, 1]))
    assert tuple(shot.frame[v, u]) != tuple(VIVID[0]) and tuple(shot.frame[v, u]) != tuple(VIVID[3])


def test_rendering_a_full_hd_panorama_with_ten_people_is_fast():
    camera = Equirectangular(1920, 960, camera_height=2.0)
    scene = make_scene("mixed", num_people=10, num_frames=20, seed=4)
    render_frame(camera, scene, 0)  # caches the background
    times = []
    for t in range(5):
        start = time.perf_counter()
        render_frame(camera, scene, t)
        times.append(time.perf_counter() - start)
    assert np.median(times) < 0.2


def test_rendering_rejects_cameras_it_cannot_draw():
    scene = _scene([[5.0, 0.0]])
    with pytest.raises(ValueError, match="level"):
        render_frame(Equirectangular(256, 128, 2.0, yaw_deg=10.0), scene, 0)
    with pytest.raises(ValueError, match="camera_height"):
        render_frame(Equirectangular(256, 128), scene, 0)


def test_ground_truth_rows_are_mot_rows_of_the_exact_boxes():
    camera = Equirectangular(1024, 512, camera_height=2.0)
    scene = make_scene("seam", num_frames=30, seed=2)
    rows = ground_truth_rows(camera, scene)
    present = np.isfinite(scene.positions).all(axis=2)
    assert len(rows) == present.sum()
    assert rows[:, 0].min() == 1 and rows[:, 0].max() == 30
    assert (rows[:, 6] == 1).all() and (rows[:, 9] == 0).all()
    t, p = rows[:, 0].astype(int) - 1, rows[:, 1].astype(int) - 1
    np.testing.assert_allclose(rows[:, 7:9], scene.positions[t, p])
    boxes = person_boxes(camera, scene.positions[t, p], scene.heights[p], scene.radii[p])
    np.testing.assert_allclose(rows[:, 2:4], boxes[:, :2] + 1)
    np.testing.assert_allclose(rows[:, 4:6], boxes[:, 2:] - boxes[:, :2])
    assert (rows[:, 2] >= 1).all() and (rows[:, 2] < camera.width + 1).all()
    assert (rows[:, 2] + rows[:, 4] > camera.width + 1).any()  # seam-crossing boxes stay unwrapped


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_scenarios_are_reproducible_and_physically_plausible(scenario):
    scene = make_scene(scenario, num_frames=150, fps=10.0, seed=3)
    again = make_scene(scenario, num_frames=150, fps=10.0, seed=3)
    np.testing.assert_array_equal(scene.positions, again.positions)
    np.testing.assert_array_equal(scene.colours, again.colours)
    assert not np.array_equal(
        np.nan_to_num(scene.positions),
        np.nan_to_num(make_scene(scenario, num_frames=150, seed=4).positions),
    )
    pos = scene.positions
    velocity = np.diff(pos, axis=0) * scene.fps
    speed = np.hypot(velocity[..., 0], velocity[..., 1])
    assert np.nanmax(speed) < 2.6  # walking, never teleporting
    accel = np.diff(velocity, axis=0) * scene.fps
    assert np.nanpercentile(np.hypot(accel[..., 0], accel[..., 1]), 99) < 4.0  # smooth
    gap = np.hypot(*(pos[:, :, None] - pos[:, None, :]).transpose(3, 0, 1, 2))
    gap[:, np.arange(scene.num_people), np.arange(scene.num_people)] = np.inf
    touching = scene.radii[:, None] + scene.radii[None, :]
    assert np.nanmin(gap - touching) > 0.0  # bodies never overlap
    assert np.nanmin(np.hypot(pos[..., 0], pos[..., 1]) - scene.radii) > 0.7  # nor hit the camera


def _seam_crossings(camera: Equirectangular, scene: Scene) -> int:
    rows = ground_truth_rows(camera, scene)
    centre = np.mod(rows[:, 2] - 1 + rows[:, 4] / 2, camera.width)
    order = np.lexsort((rows[:, 0], rows[:, 1]))
    same = np.diff(rows[order, 1]) == 0
    return int((same & (np.abs(np.diff(centre[order])) > camera.width / 2)).sum())


def test_scenarios_contain_what_they_promise():
    camera = Equirectangular(512, 256, camera_height=2.0)
    seam = make_scene("seam", num_frames=150, seed=0)
    assert _seam_crossings(camera, seam) >= seam.num_people

    groups = make_scene("groups", num_frames=150, seed=0)
    assert (groups.groups >= 0).all()
    for g in np.unique(groups.groups):
        members = np.flatnonzero(groups.groups == g)
        spread = np.hypot(
            *(groups.positions[:, members] - groups.positions[:, members[:1]]).transpose(2, 0, 1)
        )
        assert np.nanmedian(spread[:, 1:]) < 1.6  # side by side, all the way

    crossing = make_scene("crossing", num_frames=150, seed=0)
    hidden = [
        render(camera, crossing, t, image=False).visible_fraction.min(initial=1.0)
        for t in range(150)
    ]
    assert min(hidden) < 0.3  # someone passes behind someone else

    mixed = make_scene("mixed", num_frames=200, seed=0)
    present = np.isfinite(mixed.positions).all(axis=2)
    assert (~present[0]).any() and (~present[-1]).any()  # someone enters, someone leaves
    speed = np.hypot(*np.diff(mixed.positions, axis=0).transpose(2, 0, 1)) * mixed.fps
    assert (speed < 0.05).sum() >= 10  # people stop
    headings = np.unwrap(mixed.headings[:, present.all(axis=0)], axis=0)
    assert np.abs(headings[-1] - headings[0]).max() > np.radians(60)  # and turn


def test_zero_people_everywhere():
    camera = Equirectangular(256, 128, camera_height=2.0)
    scene = make_scene("mixed", num_people=0, num_frames=5)
    assert scene.positions.shape == (5, 0, 2)
    shot = render(camera, scene, 0)
    np.testing.assert_array_equal(shot.frame, _background(256, 128, 2.0))
    assert shot.boxes.shape == (0, 4) and shot.visible_fraction.shape == (0,)
    assert person_boxes(camera, np.zeros((0, 2)), np.zeros(0), np.zeros(0)).shape == (0, 4)
    assert ground_truth_rows(camera, scene).shape == (0, 10)
    rows = synthesize_detections(
        np.zeros(0, int),
        np.zeros((0, 4)),
        np.zeros(0),
        np.zeros((0, 4)),
        num_frames=5,
        image_width=256,
        noise=DetectionNoise(),
        rng=np.random.default_rng(0),
        period=256,
    )
    assert rows.shape == (0, 10)
    fraction, boxes = occlusion_visibility(np.zeros((0, 4)))
    assert fraction.shape == (0,) and boxes.shape == (0, 4)


def _many_boxes(n: int) -> np.ndarray:
    rng = np.random.default_rng(1)
    x1 = rng.uniform(0, 500, n)
    y1 = rng.uniform(100, 200, n)
    h = rng.uniform(50, 150, n)
    return np.column_stack([x1, y1, x1 + 0.4 * h, y1 + h])


def test_detection_noise_statistics_match_the_configuration():
    n = 20000
    boxes = _many_boxes(n)
    frames = np.arange(n) // 10
    noise = DetectionNoise(recall=0.8, jitter=0.05, false_positives=0.5)
    rows = synthesize_detections(
        frames,
        boxes,
        np.ones(n),
        boxes,
        num_frames=n // 10,
        image_width=640,
        noise=noise,
        rng=np.random.default_rng(0),
    )
    assert (rows[:, 1] == -1).all() and (rows[:, 7:] == -1).all()
    assert (np.diff(rows[:, 0]) >= 0).all() and rows[:, 0].min() >= 1
    true = rows[rows[:, 6] >= 0.7]  # false positives score below 0.65
    fp = len(rows) - len(true)
    assert abs(len(true) / n - 0.8) < 0.015
    assert abs(fp / (n // 10) - 0.5) < 0.08
    # Match each true detection to its box (the same frame holds 10 far-apart-enough boxes).
    det = np.column_stack(
        [true[:, 2] - 1, true[:, 3] - 1, true[:, 2] - 1 + true[:, 4], true[:, 3] - 1 + true[:, 5]]
    )
    f = true[:, 0].astype(int) - 1
    candidates = boxes.reshape(-1, 10, 4)[f]
    nearest = np.abs(candidates - det[:, None]).sum(2).argmin(1)
    gt = candidates[np.arange(len(det)), nearest]
    size = np.tile(gt[:, 2:] - gt[:, :2], 2)
    error = (det - gt) / size
    np.testing.assert_allclose(error.std(axis=0), 0.05, atol=0.006)
    np.testing.assert_allclose(error.mean(axis=0), 0.0, atol=0.004)


def test_occlusion_lowers_recall_and_score():
    n = 20000
    boxes = _many_boxes(n)
    noise = DetectionNoise(recall=0.9, min_visible=0.25, full_visible=0.75, false_positives=0.0)
    rng = np.random.default_rng(5)
    recall, score = {}, {}
    for visible in (1.0, 0.5, 0.2):
        rows = synthesize_detections(
            np.zeros(n, int),
            boxes,
            np.full(n, visible),
            boxes,
            num_frames=1,
            image_width=640,
            noise=noise,
            rng=rng,
        )
        recall[visible] = len(rows) / n
        score[visible] = rows[:, 6].mean() if len(rows) else 0.0
    assert abs(recall[1.0] - 0.9) < 0.015 and abs(recall[0.5] - 0.45) < 0.015 and recall[0.2] == 0
    assert score[0.5] < score[1.0] - 0.1


def test_partly_hidden_people_are_boxed_around_their_visible_part():
    boxes = np.array([[100.0, 100, 140, 200], [100, 110, 140, 210]])  # the second is in front
    fraction, seen = occlusion_visibility(boxes)
    assert fraction[1] == 1.0 and 0.0 < fraction[0] < 0.2
    np.testing.assert_allclose(seen[0], [100, 100, 140, 110], atol=5)
    rows = synthesize_detections(
        np.zeros(2, int),
        boxes,
        np.array([0.5, 1.0]),
        np.array([[100, 100, 140, 150], boxes[1]]),
        num_frames=1,
        image_width=640,
        noise=DetectionNoise(
            recall=1.0, jitter=0.0, false_positives=0.0, min_visible=0.0, full_visible=0.5
        ),
        rng=np.random.default_rng(0),
    )
    np.testing.assert_allclose(rows[:, 2:6], [[101, 101, 40, 50], [101, 111, 40, 100]])


def test_occlusion_visibility_wraps_round_the_seam():
    boxes = np.array(
        [[1000.0, 100, 1040, 200], [2, 110, 42, 220]]
    )  # the front one is past the seam
    fraction, _ = occlusion_visibility(boxes, period=1024)
    assert 0.6 < fraction[0] < 0.75 and fraction[1] == 1.0
    flat, _ = occlusion_visibility(boxes)
    assert flat[0] == 1.0


@pytest.mark.slow
def test_write_sequence_writes_reproducible_files(tmp_path):
    kwargs = {"scenario": "crossing", "width": 512, "num_frames": 40, "seed": 11, "crf": 10}
    meta = write_sequence(tmp_path / "a", **kwargs)
    write_sequence(tmp_path / "b", **kwargs)
    names = ["video.mp4", "gt.txt", "det.txt", "meta.json"]
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == sorted(names)
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    assert json.loads((tmp_path / "a" / "meta.json").read_text()) == meta
    assert meta["seed"] == 11 and meta["camera"]["camera_height_m"] == 2.0
    assert meta["detection_noise"]["recall"] == 0.9

    gt = np.loadtxt(tmp_path / "a" / "gt.txt", delimiter=",", ndmin=2)
    camera = Equirectangular(512, 256, camera_height=2.0)
    np.testing.assert_allclose(
        gt, ground_truth_rows(camera, make_scene("crossing", num_frames=40, seed=11)), atol=1e-3
    )
    det = np.loadtxt(tmp_path / "a" / "det.txt", delimiter=",", ndmin=2)
    assert det.shape[1] == 10 and (det[:, 1] == -1).all() and (det[:, 7:] == -1).all()
    assert meta["stats"] == {**meta["stats"], "gt_rows": len(gt), "det_rows": len(det)}

    reader = imageio_ffmpeg.read_frames(str(tmp_path / "a" / "video.mp4"))
    size = next(reader)["size"]
    video = np.stack([np.frombuffer(f, np.uint8).reshape(size[1], size[0], 3) for f in reader])
    assert video.shape == (40, 256, 512, 3)
    scene = make_scene("crossing", num_frames=40, seed=11)
    diff = np.abs(video[7].astype(int) - render_frame(camera, scene, 7).astype(int))
    assert diff.mean() < 4.0

    write_sequence(tmp_path / "c", **{**kwargs, "seed": 12}, video=False)
    assert (tmp_path / "c" / "gt.txt").read_bytes() != (tmp_path / "a" / "gt.txt").read_bytes()
    assert not (tmp_path / "c" / "video.mp4").exists()


def test_write_sequence_with_nobody(tmp_path):
    meta = write_sequence(tmp_path, num_people=0, width=256, num_frames=3, video=False)
    assert (tmp_path / "gt.txt").read_text() == "" and (tmp_path / "det.txt").read_text() == ""
    assert meta["stats"]["gt_rows"] == 0 and meta["num_people"] == 0


def _miss_runs(found: np.ndarray) -> np.ndarray:
    """Lengths of the runs of False in a bool sequence."""
    padded = np.concatenate([[True], found, [True]]).astype(int)
    edges = np.diff(padded)
    return np.flatnonzero(edges == 1) - np.flatnonzero(edges == -1)


def test_misses_come_in_runs_of_the_configured_length_at_the_same_recall():
    """Four people seen in 2000 frames each: with miss_run_frames 5 the recall stays 0.8 and
    the mean run of misses is about 5 frames; independent misses give runs of 1.25."""
    people = np.repeat(np.arange(4), 2000)
    frames = np.tile(np.arange(2000), 4)
    boxes = np.column_stack(
        [people * 100.0, np.full(8000, 50.0), people * 100.0 + 40, 150.0 + 0 * people]
    )
    for run, expected in ((5.0, 5.0), (1.0, 1.25)):
        noise = DetectionNoise(recall=0.8, jitter=0.0, false_positives=0.0, miss_run_frames=run)
        rows = synthesize_detections(
            frames,
            boxes,
            np.ones(8000),
            boxes,
            num_frames=2000,
            image_width=500,
            noise=noise,
            rng=np.random.default_rng(4),
            people=people,
        )
        found = np.zeros((4, 2000), bool)
        found[((rows[:, 2] - 1) // 100).astype(int), rows[:, 0].astype(int) - 1] = True
        assert found.mean() == pytest.approx(0.8, abs=0.02)
        runs = np.concatenate([_miss_runs(f) for f in found])
        assert runs.mean() == pytest.approx(expected, rel=0.15)
    with pytest.raises(ValueError, match="miss_run_frames"):
        DetectionNoise(miss_run_frames=0.5)
