"""Camera height and tilt from people: synthetic people with known truth."""

from __future__ import annotations

import numpy as np
import pytest

from mplt.geometry.camera import Equirectangular, NominalPinhole, ground_to_pixel, rotation_matrix
from mplt.selfcal import CameraPoseEstimator, PerspectivePoseEstimator

W = 3840


def people_boxes(
    rng: np.random.Generator,
    camera_height: float,
    pitch: float,
    roll: float,
    n: int,
    *,
    azimuth_range: tuple[float, float] = (-180.0, 180.0),
    max_range_m: float = 25.0,
) -> np.ndarray:
    """(n, 4) seam-unwrapped boxes of standing people (upright cylinders 0.15 m in radius,
    heights N(1.70, 0.07) m) around a camera ``camera_height`` m up, tilted by
    ``pitch``/``roll`` degrees."""
    level = Equirectangular(W, W // 2)
    R = rotation_matrix(0.0, pitch, roll)  # ground_from_camera
    r = rng.uniform(1.5, max_range_m, n)
    az = np.radians(rng.uniform(*azimuth_range, n))
    tall = rng.normal(1.70, 0.07, n)
    boxes = []
    for k in range(n):
        x, y = r[k] * np.cos(az[k]), -r[k] * np.sin(az[k])
        around = np.linspace(0, 2 * np.pi, 16, endpoint=False)
        pts = np.array(
            [
                [x + 0.15 * np.cos(a), y + 0.15 * np.sin(a), z]
                for z in np.linspace(0, tall[k], 9)
                for a in around
            ]
        )
        uv, _ = level.ray_to_pixel((pts - [0.0, 0.0, camera_height]) @ R)  # camera-frame rays
        u = uv[:, 0]
        u = u[0] + np.mod(u - u[0] + W / 2, W) - W / 2
        boxes.append([u.min(), uv[:, 1].min(), u.max(), uv[:, 1].max()])
    return np.array(boxes)


def estimator_after(rng, camera_height, pitch, roll, frames, per_frame, **kw):
    est = CameraPoseEstimator(W, W // 2, min_samples=50, min_frames=5)
    for f in range(frames):
        est.add(
            people_boxes(rng, camera_height, pitch, roll, per_frame, **kw), np.ones(per_frame), f
        )
    return est


@pytest.mark.parametrize("seed", range(8))
def test_height_and_tilt_within_3_percent_after_about_50_person_frames(seed):
    rng = np.random.default_rng(seed)
    height = rng.uniform(1.0, 10.0)
    pitch, roll = rng.uniform(-10.0, 10.0, 2)
    est = estimator_after(rng, height, pitch, roll, frames=14, per_frame=5)
    result = est.estimate()
    assert result is not None and 50 <= result.samples <= 70
    assert result.height_m == pytest.approx(height, rel=0.03)
    assert abs(result.pitch_deg - pitch) < 1.5 and abs(result.roll_deg - roll) < 1.5
    assert 0 < result.height_std_m < 0.1 * height


def test_refuses_to_guess_from_too_few():
    rng = np.random.default_rng(1)
    est = estimator_after(rng, 3.0, 0.0, 0.0, frames=3, per_frame=5)  # 15 person-frames
    assert est.samples > 0 and est.estimate() is None
    empty = CameraPoseEstimator(W, W // 2)
    assert empty.add(np.zeros((0, 4)), np.zeros(0), 0) == 0 and empty.estimate() is None


def test_people_in_one_direction_give_a_level_camera():
    """A 40-degree sector does not constrain the tilt: the camera is taken as level."""
    rng = np.random.default_rng(2)
    est = estimator_after(rng, 7.0, 0.0, 0.0, frames=20, per_frame=5, azimuth_range=(160, 200))
    result = est.estimate()
    assert result.pitch_deg == 0.0 and result.roll_deg == 0.0
    assert result.height_m == pytest.approx(7.0, rel=0.03)


def test_unusable_boxes_are_ignored():
    est = CameraPoseEstimator(W, W // 2)
    boxes = np.array(
        [
            [100.0, 0.0, 120.0, 60.0],  # touches the top edge
            [200.0, 1000.0, 260.0, 1020.0],  # lying down: wider than tall
            [300.0, 1000.0, 310.0, 1040.0],  # a standing person
            [400.0, 1000.0, 410.0, 1040.0],  # a standing person, but not confident
        ]
    )
    assert est.add(boxes, np.array([0.9, 0.9, 0.9, 0.2]), 0) == 1


def test_loose_boxes_lower_the_height_unless_their_margins_are_taken_off():
    """Boxes reaching 5 % of their height above the head and 3.5 % below the feet (the
    offline detector's, measured) make people look taller and the camera lower."""
    truth = 7.0
    rng = np.random.default_rng(3)
    tight = np.concatenate([people_boxes(rng, truth, 0.0, 0.0, 6) for _ in range(15)])
    tall = (tight[:, 3] - tight[:, 1])[:, None]
    loose = tight + tall * np.array([0.0, -0.05, 0.0, 0.035])
    estimates = {}
    for margins in ((0.0, 0.0), (0.05, 0.035)):
        est = CameraPoseEstimator(W, W // 2, box_margins=margins, estimate_tilt=False)
        for f in range(15):
            est.add(loose[6 * f : 6 * f + 6], np.ones(6), f)
        estimates[margins] = est.estimate().height_m
    assert estimates[(0.0, 0.0)] < 0.96 * truth
    assert estimates[(0.05, 0.035)] == pytest.approx(truth, rel=0.02)


# -- an uncalibrated perspective camera ----------------------------------------------------


def perspective_boxes(rng, camera: NominalPinhole, n: int) -> np.ndarray:
    """(m <= n, 4) boxes of standing people (as :func:`people_boxes`) on the ground 3-30 m in
    front of ``camera``, those wholly in the image."""
    boxes = []
    while len(boxes) < n:
        x = rng.uniform(3.0, 30.0)
        y = rng.uniform(-0.5, 0.5) * x  # within the 60-degree field of view
        tall = rng.normal(1.70, 0.07)
        around = np.linspace(0, 2 * np.pi, 16, endpoint=False)
        pts = np.array(
            [
                [x + 0.15 * np.cos(a), y + 0.15 * np.sin(a), z]
                for z in np.linspace(0, tall, 9)
                for a in around
            ]
        )
        uv, ok = ground_to_pixel(camera, pts)
        box = [uv[:, 0].min(), uv[:, 1].min(), uv[:, 0].max(), uv[:, 1].max()]
        if ok.all() and box[0] > 3 and box[1] > 3 and box[2] < 637 and box[3] < 477:
            boxes.append(box)
    return np.array(boxes)


@pytest.mark.parametrize("seed", range(8))
def test_a_perspective_camera_s_height_and_pitch_from_its_people(seed):
    """Through the nominal lens, cameras 2-10 m up pitched 0-35 degrees down: the height
    within 5 % and the pitch within 1.5 degrees after 100 person-frames, and no guess
    before."""
    rng = np.random.default_rng(seed)
    height, pitch = rng.uniform(2.0, 10.0), rng.uniform(0.0, 35.0)
    camera = NominalPinhole(640, 480, height, pitch)
    est = PerspectivePoseEstimator(640, 480)
    for f in range(20):
        assert est.add(perspective_boxes(rng, camera, 6), np.ones(6), f) >= 5
        if est.samples < 100:  # two unknowns: 58 person-frames of 3 people put PETS' at 8.5 m
            assert est.estimate() is None
    result = est.estimate()
    assert result is not None and result.samples >= 100 and result.frames == 20
    assert result.height_m == pytest.approx(height, rel=0.05)
    assert abs(result.pitch_deg - pitch) < 1.5 and result.roll_deg == 0.0
    assert 0 < result.height_std_m < 0.05 * height


def test_a_perspective_estimate_needs_enough_whole_upright_people():
    est = PerspectivePoseEstimator(640, 480)
    boxes = np.array(
        [
            [100.0, 0.0, 120.0, 60.0],  # cut off by the top edge
            [200.0, 300.0, 280.0, 320.0],  # wider than tall
            [300.0, 200.0, 320.0, 260.0],  # standing
            [400.0, 200.0, 420.0, 260.0],  # standing, not confident
            [620.0, 200.0, 640.0, 260.0],  # cut off by the right edge
        ]
    )
    assert est.add(boxes, np.array([0.9, 0.9, 0.9, 0.2, 0.9]), 0) == 1
    assert est.add(np.zeros((0, 4)), np.zeros(0), 1) == 0
    assert est.estimate() is None  # one person-frame
