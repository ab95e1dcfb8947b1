"""Foot rows from the foreground: scripted frames of a static background and moving people."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from numpy.testing import assert_allclose

from core.config import updated
from core.errors import UserError
from mplt.config import TrackConfig
from mplt.feet import FootFinder, first_ground_row
from mplt.geometry import Equirectangular, Pinhole
from mplt.pipeline import PanoramaTracker
from tests.strategies import pinhole_pose

K = [[400.0, 0.0, 319.5], [0.0, 400.0, 239.5], [0.0, 0.0, 1.0]]


def still_camera() -> Pinhole:
    """640x480, 5 m above the ground, looking 40 degrees down."""
    return Pinhole(640, 480, K, None, *pinhole_pose(0.0, 40.0, 0.0, [0.0, 0.0, 5.0]))


def background(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A textured, static ground: smoothed noise, uint8 RGB."""
    noise = np.random.default_rng(seed).integers(60, 200, (height, width, 3)).astype(np.uint8)
    return cv2.GaussianBlur(noise, (0, 0), 3)


def paint(frame: np.ndarray, box: tuple[int, int, int, int], colour=(230, 30, 30)) -> None:
    """A person: a solid block over rows y1..y2-1 and columns x1..x2-1, wrapping the seam."""
    x1, y1, x2, y2 = box
    frame[y1:y2, np.arange(x1, x2) % frame.shape[1]] = colour


def walk(finder: FootFinder, frames: int, start: int, step: int, rows=(200, 260), cut=10):
    """A person walking right ``step`` px per frame; the box misses the lowest ``cut`` rows.

    Returns the foot rows found per frame (NaN where none)."""
    h, w = finder.camera.height, finder.camera.width
    ground = background(h, w)
    found = []
    for t in range(frames):
        frame = ground.copy()
        x = start + step * t
        paint(frame, (x, rows[0], x + 20, rows[1]))
        box = np.array([[x, rows[0], x + 20, rows[1] - cut]], float)
        found.append(finder.update(frame, box)[0])
    return np.array(found)


def test_the_foot_row_is_where_the_person_ends_not_the_box() -> None:
    finder = FootFinder(still_camera(), warmup_frames=0)
    found = walk(finder, frames=30, start=100, step=6)
    assert np.isnan(found[0])  # nothing learnt yet: the first frame is the background
    assert_allclose(found[5:], 260.0)  # the true bottom edge, 10 px below the box's


def test_no_foot_rows_while_the_background_is_young() -> None:
    finder = FootFinder(still_camera(), warmup_frames=10)
    found = walk(finder, frames=20, start=100, step=6)
    assert np.isnan(found[:10]).all()
    assert_allclose(found[10:], 260.0)


def test_a_person_crossing_the_seam_of_a_panorama() -> None:
    camera = Equirectangular(1024, 512, camera_height=2.0)
    finder = FootFinder(camera, warmup_frames=0)
    assert 0 < finder.top <= 256  # only rows that can hold feet are modelled
    found = walk(finder, frames=30, start=960, step=6, rows=(330, 400))
    assert_allclose(found[5:], 400.0)  # also in the frames whose box spans the seam


def panned(frames: int, step: int = 3) -> list[np.ndarray]:
    """A camera panning ``step`` px per frame over a contrasted texture (blocks of 8 px)."""
    blocks = np.random.default_rng(1).integers(20, 235, (60, 80, 3)).astype(np.uint8)
    view = cv2.resize(blocks, (640, 480), interpolation=cv2.INTER_NEAREST)
    return [np.ascontiguousarray(np.roll(view, step * t, axis=1)) for t in range(frames)]


def test_no_foot_row_where_the_camera_moves() -> None:
    finder = FootFinder(still_camera(), warmup_frames=0, moving_frames=0)
    box = np.array([[100.0, 200.0, 120.0, 250.0]])
    frames = panned(12)
    for frame in frames[:8]:
        finder.update(frame, box)
    # the person moves with the view, so the foreground they leave is not explained by them
    paint(frames[8], (100, 200, 120, 260))
    assert np.isnan(finder.update(frames[8], box)).all()


@pytest.mark.parametrize("moving_frames", [0, 4])
def test_a_moving_camera_stops_the_finder_for_the_video(moving_frames: int) -> None:
    finder = FootFinder(still_camera(), warmup_frames=2, moving_frames=moving_frames)
    box = np.array([[100.0, 200.0, 120.0, 250.0]])
    for frame in panned(16):  # the first frames are learnt whole (MOG2's fast start)
        finder.update(frame, box)
    if moving_frames:
        assert finder.stopped_at is not None and finder.stopped_at <= 16
        stopped = finder.stopped_at
    else:
        assert finder.stopped_at is None
    # the camera comes to rest: a stopped finder stays stopped, a running one learns again
    found = walk(finder, frames=40, start=100, step=6)
    if moving_frames:
        assert np.isnan(found).all() and finder.stopped_at == stopped
    else:
        assert_allclose(found[-5:], 260.0)


def test_a_near_person_is_not_taken_for_a_moving_camera() -> None:
    """A person filling a seventh of the frame: foreground, but all of it inside their box."""
    finder = FootFinder(still_camera(), warmup_frames=0, moving_frames=2)
    ground = background(480, 640)
    found = []
    for t in range(15):
        frame = ground.copy()
        x = 20 + 30 * t
        paint(frame, (x, 100, x + 150, 400))
        found.append(finder.update(frame, np.array([[x, 100.0, x + 150, 390.0]]))[0])
    assert finder.stopped_at is None  # the whole frame's share is 6 %, over the 3 %
    assert_allclose(found[-5:], 400.0)


def test_no_foot_row_when_foreground_reaches_below_the_window() -> None:
    finder = FootFinder(still_camera(), warmup_frames=0)
    ground = background(480, 640)
    for t in range(10):
        frame = ground.copy()
        x = 100 + 6 * t
        paint(frame, (x, 200, x + 20, 479))  # a pole down to the image's bottom
        rows = finder.update(frame, np.array([[x, 200.0, x + 20, 260.0]]))
    assert np.isnan(rows).all()


def test_no_foot_row_where_another_person_is_in_the_window() -> None:
    finder = FootFinder(still_camera(), warmup_frames=0)
    ground = background(480, 640)
    for t in range(10):
        frame = ground.copy()
        x = 100 + 6 * t
        paint(frame, (x, 200, x + 20, 260))
        paint(frame, (x + 5, 240, x + 25, 300), (30, 30, 230))  # in front, lower down
        paint(frame, (x + 300, 200, x + 320, 260))
        boxes = np.array(
            [[x, 200, x + 20, 260], [x + 5, 240, x + 25, 300], [x + 300, 200, x + 320, 250]]
        )
        rows = finder.update(frame, boxes.astype(float))
    assert np.isnan(rows[0])  # the one behind: the other's body is where its feet are
    assert rows[1] == 300.0  # the one in front has nobody at its feet
    assert rows[2] == 260.0  # and the one walking apart


def test_a_cast_shadow_below_the_feet_is_not_taken_for_them() -> None:
    finder = FootFinder(still_camera(), warmup_frames=0)
    ground = background(480, 640)
    for t in range(30):
        frame = ground.copy()
        x = 100 + 6 * t
        frame[260:290, x : x + 20] = (frame[260:290, x : x + 20] * 0.7).astype(np.uint8)
        paint(frame, (x, 200, x + 20, 260))
        rows = finder.update(frame, np.array([[x, 200.0, x + 20, 250.0]]))
    assert rows[0] == 260.0


@pytest.mark.parametrize(("max_gap", "expected"), [(0.1, 260.0), (0.5, 271.0)])
def test_speckle_below_a_gap_under_the_feet_is_not_the_feet(max_gap, expected) -> None:
    finder = FootFinder(still_camera(), warmup_frames=0, max_gap=max_gap)
    ground = background(480, 640)
    for t in range(30):
        frame = ground.copy()
        x = 100 + 6 * t
        paint(frame, (x, 200, x + 20, 260))
        paint(frame, (x + 8, 268, x + 12, 271), (20, 220, 20))  # 8 rows of background between
        rows = finder.update(frame, np.array([[x, 200.0, x + 20, 258.0]]))
    assert rows[0] == expected  # bridged only when allowed (8 rows of a 58-px box, 6 allowed)


def test_no_boxes_still_learns_and_returns_an_empty_array() -> None:
    finder = FootFinder(still_camera(), warmup_frames=0)
    ground = background(480, 640)
    for _ in range(5):
        assert finder.update(ground, np.zeros((0, 4))).shape == (0,)
    frame = ground.copy()
    paint(frame, (100, 200, 120, 260))
    assert finder.update(frame, np.array([[100.0, 200, 120, 250]]))[0] == 260.0


def test_the_modelled_rows_follow_the_horizon() -> None:
    level = Equirectangular(1024, 512, camera_height=2.0)
    assert 256 - 64 <= first_ground_row(level) <= 256
    down = still_camera()
    assert first_ground_row(down) == 0
    up = Equirectangular(1024, 512, camera_height=2.0, pitch_deg=-30.0)
    assert first_ground_row(up) < first_ground_row(level)  # the horizon rises on one side


@pytest.mark.parametrize(
    "setting",
    [
        {"min_fill": 0.0},
        {"history_frames": 0},
        {"window_up": -0.1},
        {"max_foreground": 1.5},
        {"warmup_frames": -1},
        {"moving_frames": -1},
    ],
)
def test_bad_settings_are_user_errors(setting) -> None:
    with pytest.raises(UserError, match="foot settings"):
        FootFinder(still_camera(), **setting)


@pytest.mark.parametrize("source", ["foreground", "box"])
def test_the_tracker_places_people_by_their_feet(source: str) -> None:
    """Boxes 10 px short of the feet: with the foreground the positions are those of the
    true feet; with the box bottoms they are farther away."""
    camera = still_camera()
    cfg = TrackConfig()
    cfg = updated(cfg, {"feet": updated(cfg.feet, {"source": source, "warmup_frames": 0})})
    cfg = updated(cfg, {"tracker": updated(cfg.tracker, {"n_init": 1})})
    tracker = PanoramaTracker(camera, cfg, fps=10.0)
    truth = PanoramaTracker(camera, cfg, fps=10.0).localizer
    ground = background(480, 640)
    for t in range(12):
        frame = ground.copy()
        x = 100 + 8 * t
        paint(frame, (x, 200, x + 20, 300))
        tracks = tracker.update(frame, np.array([[x, 200.0, x + 20, 290.0, 0.9]]))
    feet = truth.localize(np.array([[x, 200.0, x + 20, 300.0]])).ground_xy[0]
    short = truth.localize(np.array([[x, 200.0, x + 20, 290.0]])).ground_xy[0]
    assert np.linalg.norm(short - feet) > 0.1  # the box bottom's error is worth a test
    err = np.linalg.norm(tracks.ground_xy[0] - feet)
    if source == "foreground":
        assert err < 0.05
    else:
        assert err > 0.5 * np.linalg.norm(short - feet)


def test_the_foreground_mask_of_the_last_frame() -> None:
    """What moves is 255 in ``foreground``; rows not modelled (above a panorama's horizon)
    count as foreground; a frame whose background changed as a whole has no mask."""
    finder = FootFinder(still_camera(), warmup_frames=0, moving_frames=0)
    assert finder.foreground is None
    walk(finder, frames=10, start=50, step=25)  # no overlap with its earlier places
    mask = finder.foreground
    assert mask is not None and mask.shape == (480, 640) and mask.dtype == np.uint8
    x = 50 + 25 * 9
    assert (mask[205:255, x + 2 : x + 18] == 255).mean() > 0.95
    outside = np.ones(mask.shape, bool)
    outside[190:270, x - 10 : x + 30] = False
    assert (mask[outside] == 255).mean() < 0.01
    for frame in panned(6):
        finder.update(frame, np.zeros((0, 4)))
    assert finder.foreground is None  # the camera moved: nothing to tell people from

    pano = FootFinder(Equirectangular(1024, 512, camera_height=2.0), warmup_frames=0)
    walk(pano, frames=5, start=100, step=25, rows=(330, 400))
    assert (pano.foreground[: pano.top] == 255).all()
    assert (pano.foreground[pano.top :] == 255).mean() < 0.05


@pytest.mark.parametrize("source", ["foreground", "box"])
def test_the_colour_features_get_the_foreground_mask(source: str, monkeypatch) -> None:
    camera = still_camera()
    cfg = TrackConfig()
    cfg = updated(cfg, {"feet": updated(cfg.feet, {"source": source, "warmup_frames": 0})})
    tracker = PanoramaTracker(camera, cfg, fps=10.0)
    masks = []
    embed = tracker.embedder.embed

    def spy(frame, boxes, foreground=None):
        masks.append(foreground)
        return embed(frame, boxes, foreground)

    monkeypatch.setattr(tracker.embedder, "embed", spy)
    ground = background(480, 640)
    for t in range(4):
        frame = ground.copy()
        paint(frame, (100 + 8 * t, 200, 120 + 8 * t, 300))
        tracker.update(frame, np.array([[100.0 + 8 * t, 200, 120 + 8 * t, 300, 0.9]]))
    if source == "foreground":
        assert all(m is not None and m.shape == (480, 640) for m in masks)
    else:
        assert masks == [None] * 4


def test_an_embedder_that_takes_no_mask_is_called_without_one() -> None:
    """An embedder without ``uses_foreground`` (one written before the mask, or a network)
    gets ``embed(frame, boxes)``, and no mask is built for it."""
    camera = still_camera()
    cfg = TrackConfig()
    cfg = updated(cfg, {"feet": updated(cfg.feet, {"warmup_frames": 0})})
    tracker = PanoramaTracker(camera, cfg, fps=10.0)
    calls = []

    class Plain:
        name, dim, camera = "plain", 4, None

        def embed(self, frame, boxes):
            calls.append(len(boxes))
            return np.tile(np.float32([1, 0, 0, 0]), (len(boxes), 1))

    tracker.embedder = Plain()
    ground = background(480, 640)
    for t in range(3):
        frame = ground.copy()
        paint(frame, (100 + 8 * t, 200, 120 + 8 * t, 300))
        tracker.update(frame, np.array([[100.0 + 8 * t, 200, 120 + 8 * t, 300, 0.9]]))
    assert calls == [1, 1, 1]
