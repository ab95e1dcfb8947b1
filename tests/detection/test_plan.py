"""The scale plan: every standing person reaches the network at the target size, whole."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from mplt.detection.plan import person_elevations, plan_for_height, plan_unknown_height
from mplt.geometry import Equirectangular

TARGET, STEP = 96.0, 1.5


def rows_of(camera: Equirectangular, elevation_rad: np.ndarray) -> np.ndarray:
    """Panorama rows of ground elevations (a level camera)."""
    return (0.5 - elevation_rad / np.pi) * camera.height


@pytest.mark.parametrize("width, height", [(2048, 1024), (3840, 1920), (3840, 2160)])
@pytest.mark.parametrize("camera_height", [1.6, 3.0, 7.07])
def test_a_1_7_m_person_at_every_range_reaches_the_network_within_the_target_range(
    width: int, height: int, camera_height: float
) -> None:
    camera = Equirectangular(width, height)
    strips = plan_for_height(camera, camera_height, target_px=TARGET, zoom_step=STEP)
    assert strips and all(s.ranges_m[0] < s.ranges_m[1] for s in strips)
    near = camera_height / np.tan(np.radians(60.0))
    for r in np.geomspace(near * 1.01, 40.0, 60):
        feet, head = person_elevations(camera_height, np.array([r]), 1.70)
        if np.degrees(head - feet)[0] > 30.0:
            continue  # near people taller than 30 degrees: the views looking down see them
        y_feet, y_head = rows_of(camera, feet)[0], rows_of(camera, head)[0]
        mine = [s for s in strips if s.feet_top <= y_feet <= s.feet_bottom]
        assert mine, f"no strip for feet at {r:.1f} m"
        # in the strip meant for it (its range), the person is whole and of the target size
        s = next(s for s in mine if s.ranges_m[0] <= r * 1.001 and r <= s.ranges_m[1] * 1.001)
        assert s.top <= y_head and y_feet <= s.bottom
        size = (y_feet - y_head) * s.zoom
        assert TARGET / STEP**0.5 * 0.99 <= size <= TARGET * STEP**0.5 * 1.01, (r, size)
        assert size / 3.0 >= s.min_box_px * s.zoom * 0.99  # its own box is never too small
        # square angular pixels at the network whatever the frame's aspect
        assert s.zoom_x / s.zoom == pytest.approx((width / 360) ** -1 * (height / 180))


def test_the_rows_follow_a_tilted_camera() -> None:
    level = plan_for_height(Equirectangular(2048, 1024), 2.0)
    tilted = plan_for_height(Equirectangular(2048, 1024, pitch_deg=8.0), 2.0)
    for a, b in zip(level, tilted, strict=True):
        assert b.top <= a.top and b.bottom >= a.bottom  # wider bands: the horizon is a wave
        assert b.zoom == pytest.approx(a.zoom)


def test_strips_stop_where_the_global_pass_sees_people_big_enough() -> None:
    camera = Equirectangular(3840, 1920)
    everything = plan_for_height(camera, 1.6)
    fewer = plan_for_height(camera, 1.6, min_zoom=0.8)
    assert len(fewer) < len(everything)
    assert min(s.zoom for s in fewer) >= 0.8 / STEP


def test_nothing_to_plan_when_every_range_is_under_the_camera() -> None:
    assert plan_for_height(Equirectangular(2048, 1024), 100.0, max_range_m=40.0) == []
    with pytest.raises(ValueError):
        plan_for_height(Equirectangular(2048, 1024), 2.0, zoom_step=1.0)


def test_unknown_height_covers_people_from_far_to_near_at_a_few_scales() -> None:
    camera = Equirectangular(3840, 1920)
    strips = plan_unknown_height(camera, target_px=96.0, min_zoom=640 / 4096)
    horizon = strips[0]
    px_per_deg = camera.height / 180
    # a person 3 degrees tall (e.g. 30 m from a camera at head height) reaches 96 px
    assert 3 * px_per_deg * horizon.zoom == pytest.approx(96.0)
    zooms = [s.zoom / horizon.zoom for s in strips]
    assert zooms == pytest.approx([0.5**k for k in range(len(strips))])
    # every size from the smallest to 30 degrees is some band's, seen 0.6-3 targets tall
    for a, b in itertools.pairwise(strips):
        assert b.min_box_px < a.max_box_px
        assert b.max_box_px / b.min_box_px == pytest.approx(5.0)
    assert horizon.min_box_px * horizon.zoom == pytest.approx(24.0)
    assert strips[-1].max_box_px >= 30 * px_per_deg
    row0 = camera.height / 2
    for near, far in zip(strips[1:], strips[:-1], strict=True):
        # nearer (bigger) people: their band reaches further from the horizon both ways
        assert near.top <= far.top and near.bottom >= far.bottom
        assert near.feet_bottom >= far.feet_bottom and near.top < row0 < near.bottom
    assert np.isnan(horizon.ranges_m).all()
