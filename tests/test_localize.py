"""Localization against exact synthetic ground truth, for every camera model and cue."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from core.errors import UserError
from mplt.geometry import Equirectangular, MultiView, Pinhole, ground_to_pixel, wrap_boxes
from mplt.localize import Localization, LocalizationMethod
from mplt.localize import Localizer as _Localizer
from tests.strategies import GEOMETRY, floats, pinhole_pose

PRIOR = 1.70  # Localizer's default person height, metres


def Localizer(camera, **kwargs):
    """The tests' people are vertical segments, without body depth: no foot offset; their
    box edges are exact up to the noise a test adds, in pixels (no part growing with size)."""
    kwargs.setdefault("foot_offset_m", 0.0)
    kwargs.setdefault("pixel_std_frac", 0.0)
    return _Localizer(camera, **kwargs)


K = [[800.0, 0.0, 639.5], [0.0, 800.0, 359.5], [0.0, 0.0, 1.0]]
FOOT, HEIGHT, FUSED = (
    LocalizationMethod.FOOT,
    LocalizationMethod.HEIGHT_PRIOR,
    LocalizationMethod.FUSED,
)


def person_boxes(cam, xy: np.ndarray, heights: np.ndarray, half_width_px: float = 10.0):
    """Boxes of vertical people standing at ``xy``: exact foot point and head-top row.

    The box is centred on the foot point's column, so its bottom centre is the foot point.
    """
    xy = np.asarray(xy, float).reshape(-1, 2)
    heights = np.broadcast_to(np.asarray(heights, float), len(xy))
    feet, ok_f = ground_to_pixel(cam, np.column_stack([xy, np.zeros(len(xy))]))
    heads, ok_h = ground_to_pixel(cam, np.column_stack([xy, heights]))
    assert ok_f.all() and ok_h.all()
    b = np.column_stack(
        [feet[:, 0] - half_width_px, heads[:, 1], feet[:, 0] + half_width_px, feet[:, 1]]
    )
    return wrap_boxes(b, cam.x_period)


def ring_points(d: np.ndarray, az_deg: np.ndarray) -> np.ndarray:
    """Ground points at distance ``d``, azimuth ``az_deg`` (growing to the right, i.e. -y)."""
    a = np.radians(az_deg)
    return np.column_stack([d * np.cos(a), -d * np.sin(a)])


def ring(distances, azimuths_deg) -> np.ndarray:
    """Ground points at every (distance, azimuth) pair."""
    d, a = np.meshgrid(distances, azimuths_deg)
    return ring_points(d.ravel(), a.ravel())


AZIMUTHS = np.concatenate([np.arange(-180.0, 180.0, 22.5), [179.9, -179.9]])  # and the seam


@pytest.mark.parametrize("cam_h", [1.0, 1.7, 2.2, 3.0])
def test_panorama_recovers_exact_positions(cam_h: float) -> None:
    cam = Equirectangular(3840, 1920, camera_height=cam_h)
    xy = ring([1.5, 3.0, 7.0, 15.0, 25.0], AZIMUTHS)
    b = person_boxes(cam, xy, PRIOR)
    assert (b[:, 2] > cam.width).any()  # some boxes cross the seam
    loc = Localizer(cam).localize(b)
    assert_allclose(loc.ground_xy, xy, atol=0.01)
    foot_usable = np.degrees(np.arctan2(cam_h, np.hypot(*xy.T))) > 3.0
    assert (loc.method == np.where(foot_usable, FUSED, HEIGHT)).all()


def test_foot_cue_alone_when_the_head_is_cut_off() -> None:
    cam = Equirectangular(2048, 1024, camera_height=2.5)
    xy = ring([1.5, 4.0, 12.0, 25.0], AZIMUTHS)
    b = person_boxes(cam, xy, np.linspace(1.2, 2.0, len(xy)))  # any person height
    b[:, 1] = 0.0  # clipped at the top edge: the head is unseen
    loc = Localizer(cam).localize(b)
    assert (loc.method == FOOT).all()
    assert_allclose(loc.ground_xy, xy, atol=0.01)


def test_height_prior_alone_when_the_camera_height_is_unknown() -> None:
    seen_from = Equirectangular(2048, 1024, camera_height=1.4, yaw_deg=30.0)
    unknown = Equirectangular(2048, 1024, camera_height=None, yaw_deg=30.0)
    xy = ring([1.5, 5.0, 10.0, 25.0], AZIMUTHS)
    loc = Localizer(unknown).localize(person_boxes(seen_from, xy, PRIOR))
    assert (loc.method == HEIGHT).all()
    assert_allclose(loc.ground_xy, xy, atol=0.01)
    # a person 10 % taller than the prior looks 10 % closer: d_est = d * prior / height
    loc = Localizer(unknown).localize(person_boxes(seen_from, xy, 1.1 * PRIOR))
    assert_allclose(loc.ground_xy, xy / 1.1, atol=1e-6)


@pytest.mark.parametrize("cam_h", [1.0, 3.0])
def test_feet_cut_off_uses_the_head_and_the_camera_height(cam_h: float) -> None:
    cam = Equirectangular(2048, 1024, camera_height=cam_h)
    xy = ring([1.0, 3.0, 8.0], AZIMUTHS)
    b = person_boxes(cam, xy, PRIOR)
    b[:, 3] = cam.height  # the feet run off the bottom (nadir) edge
    loc = Localizer(cam).localize(b)
    # the head must be well off the horizon: atan(|H - h| / d) > 3 deg
    usable = np.degrees(np.arctan2(abs(PRIOR - cam_h), np.hypot(*xy.T))) > 3.0
    assert (loc.method == np.where(usable, HEIGHT, 0)).all()
    assert_allclose(loc.ground_xy[usable], xy[usable], atol=0.01)
    assert np.isnan(loc.ground_xy[~usable]).all() and np.isnan(loc.ground_cov[~usable]).all()


def test_nothing_works_gives_nan() -> None:
    b = np.array(
        [
            [100.0, 0, 120, 1024],  # head and feet cut off
            [100.0, 0, 120, 700],  # head cut off
            [100.0, 500, 120, 500],
        ]
    )  # zero height, on the horizon
    loc = Localizer(Equirectangular(2048, 1024, camera_height=2.0)).localize(b)
    assert loc.method.tolist() == [0, FOOT, 0]
    assert np.isnan(loc.ground_xy[[0, 2]]).all() and np.isnan(loc.ground_cov[[0, 2]]).all()
    loc = Localizer(Equirectangular(2048, 1024)).localize(b)  # no camera height: no foot cue
    assert (loc.method == 0).all() and np.isnan(loc.ground_xy).all()
    # a box above the horizon still has a range from the height prior
    loc = Localizer(Equirectangular(2048, 1024)).localize([[100.0, 400, 120, 500]])
    assert loc.method.tolist() == [HEIGHT]


def test_a_box_too_short_for_a_person_where_its_feet_are_gets_no_position() -> None:
    # a bag or a bench taken for a person: the foot row says near, the box height says far
    cam = Equirectangular(2048, 1024, camera_height=2.5)
    xy = ring([2.0, 5.0, 10.0], AZIMUTHS)
    people = Localizer(cam).localize(person_boxes(cam, xy, PRIOR))
    short = Localizer(cam).localize(person_boxes(cam, xy, 1.45))  # short, but a person
    things = Localizer(cam).localize(person_boxes(cam, xy, 0.8))
    assert (people.method == FUSED).all() and (short.method == FUSED).all()
    assert (things.method == 0).all() and np.isnan(things.ground_xy).all()
    assert np.isnan(things.ground_cov).all()
    # switched off, the same boxes are placed (by the fused cues, too far off)
    kept = Localizer(cam, too_short_sigma=0.0).localize(person_boxes(cam, xy, 0.8))
    assert (kept.method == FUSED).all()


def test_zero_boxes() -> None:
    for cam in (Equirectangular(64, 32, 2.0), Pinhole(64, 48, K), MultiView.mplt_mosaic(2.0)):
        loc = Localizer(cam).localize(np.zeros((0, 4)))
        assert isinstance(loc, Localization) and len(loc) == 0
        assert loc.ground_xy.shape == (0, 2) and loc.ground_cov.shape == (0, 2, 2)
        assert loc.method.shape == (0,) and loc.method.dtype == np.int8


def test_covariance_is_spd_radial_and_grows_with_distance() -> None:
    cam = Equirectangular(3840, 1920, camera_height=2.0)
    distances = np.array([1.5, 2.0, 3.0, 5.0, 8.0, 12.0, 18.0, 25.0])
    xy = ring(distances, [-40.0])
    loc = Localizer(cam).localize(person_boxes(cam, xy, PRIOR))
    cov = loc.ground_cov
    assert_allclose(cov, cov.transpose(0, 2, 1), atol=0)
    eig, vec = np.linalg.eigh(cov)
    assert (eig > 0).all()
    assert (np.diff(eig[:, 0]) > 0).all() and (np.diff(eig[:, 1]) > 0).all()
    radial = xy / np.linalg.norm(xy, axis=1, keepdims=True)
    assert_allclose(np.abs(np.sum(vec[:, :, 1] * radial, 1)), 1.0, atol=1e-9)
    # tangential std = range x azimuth std (2 px of 360 / 3840 deg)
    assert_allclose(np.sqrt(eig[:, 0]), distances * np.radians(2 * 360 / 3840), rtol=1e-6)


@pytest.mark.parametrize("case", ["foot", "height", "fused"])
def test_covariance_matches_the_pixel_noise(case: str) -> None:
    """With exact priors, Mahalanobis distances under pixel noise follow chi-square(2)."""
    rng = np.random.default_rng(0)
    cam = Equirectangular(2048, 1024, camera_height=2.0)
    xy = ring_points(rng.uniform(2.0, 12.0, 400), rng.uniform(-180.0, 180.0, 400))
    b = person_boxes(cam, xy, PRIOR)
    sigma = 1.0
    noise = rng.normal(0.0, sigma, (len(b), 3))
    b += np.column_stack([noise[:, 0], noise[:, 1], noise[:, 0], noise[:, 2]])
    if case == "foot":
        b[:, 1] = 0.0
    localizer = Localizer(
        cam if case != "height" else Equirectangular(2048, 1024),
        person_height_std_m=1e-4,
        camera_height_std_m=1e-4,
        pixel_std_px=sigma,
    )
    loc = localizer.localize(b)
    assert (loc.method == {"foot": FOOT, "height": HEIGHT, "fused": FUSED}[case]).all()
    err = loc.ground_xy - xy
    d2 = np.einsum("ni,nij,nj->n", err, np.linalg.inv(loc.ground_cov), err)
    assert 1.6 < d2.mean() < 2.5  # chi-square(2) has mean 2


def people_on_a_ring(seed: int):
    """600 people 2-15 m around a 2048-wide panorama 2.5 m up: camera, (600, 2) ground xy in
    metres, their exact (600, 4) boxes in pixels and those boxes with edges wandering by 5 %
    of the box height (the centre column, top and bottom independently), and the generator."""
    rng = np.random.default_rng(seed)
    cam = Equirectangular(2048, 1024, camera_height=2.5)
    xy = ring_points(rng.uniform(2.0, 15.0, 600), rng.uniform(-180.0, 180.0, 600))
    exact = person_boxes(cam, xy, PRIOR)
    h = exact[:, 3] - exact[:, 1]
    noise = rng.normal(0.0, 1.0, (len(exact), 3)) * (0.05 * h)[:, None]
    noisy = exact + np.column_stack([noise[:, 0], noise[:, 1], noise[:, 0], noise[:, 2]])
    return cam, xy, exact, noisy, rng


def test_edge_noise_growing_with_the_box_keeps_the_covariance_honest() -> None:
    """Box edges that wander by 5 % of the box height, near (big) and far (small) people
    alike: the covariance with ``pixel_std_frac`` 0.05 matches the errors (normalised error
    of chi-square(2)), and near people get a wider one than with a fixed pixel noise."""
    cam, xy, _, b, _ = people_on_a_ring(4)
    loc = Localizer(
        cam,
        person_height_std_m=1e-4,
        camera_height_std_m=1e-4,
        pixel_std_px=0.01,
        pixel_std_frac=0.05,
    ).localize(b)
    err = loc.ground_xy - xy
    d2 = np.einsum("ni,nij,nj->n", err, np.linalg.inv(loc.ground_cov), err)
    assert 1.6 < d2.mean() < 2.5
    fixed = Localizer(cam, pixel_std_px=2.0).localize(b)
    near = np.linalg.norm(xy, axis=1) < 4.0
    grown = Localizer(cam, pixel_std_px=2.0, pixel_std_frac=0.05).localize(b)
    assert (
        np.trace(grown.ground_cov[near], axis1=1, axis2=2)
        > 2 * np.trace(fixed.ground_cov[near], axis1=1, axis2=2)
    ).all()


def test_foot_rows_narrow_the_range_only_and_keep_the_covariance_honest() -> None:
    """Foot rows (mplt.feet) wander by 3 % of the box height against box edges' 5 %: with
    ``foot_row_std_frac`` 0.03 the covariance matches the errors, it is narrower along the
    ray than the box bottom's and not across it (a foot row says nothing about the column)."""
    cam, xy, exact_b, b, rng = people_on_a_ring(7)
    h = exact_b[:, 3] - exact_b[:, 1]
    feet = exact_b[:, 3] + rng.normal(0.0, 1.0, len(b)) * 0.03 * h
    exact = {"person_height_std_m": 1e-4, "camera_height_std_m": 1e-4, "pixel_std_px": 0.01}
    loc = Localizer(
        cam, pixel_std_frac=0.05, foot_row_std_px=0.01, foot_row_std_frac=0.03, **exact
    ).localize(b, feet)
    err = loc.ground_xy - xy
    d2 = np.einsum("ni,nij,nj->n", err, np.linalg.inv(loc.ground_cov), err)
    assert 1.6 < d2.mean() < 2.5
    # The exact boxes, with and without a foot row at their bottom.
    row = Localizer(
        cam, pixel_std_frac=0.05, foot_row_std_px=0.01, foot_row_std_frac=0.03, **exact
    ).localize(exact_b, exact_b[:, 3])
    box = Localizer(cam, pixel_std_frac=0.05, **exact).localize(exact_b)
    assert_allclose(row.ground_xy, box.ground_xy, atol=1e-9)
    ray = xy / np.linalg.norm(xy, axis=1, keepdims=True)
    across = ray @ [[0.0, 1.0], [-1.0, 0.0]]

    def var(cov: np.ndarray, u: np.ndarray) -> np.ndarray:
        return np.einsum("ni,nij,nj->n", u, cov, u)

    assert (var(row.ground_cov, ray) < 0.6 * var(box.ground_cov, ray)).all()
    assert_allclose(var(row.ground_cov, across), var(box.ground_cov, across), rtol=1e-6)
    # A foot row given the box edges' noise is a box bottom like any other.
    same = Localizer(
        cam, pixel_std_frac=0.05, foot_row_std_px=0.01, foot_row_std_frac=0.05, **exact
    )
    assert_allclose(same.localize(exact_b, exact_b[:, 3]).ground_cov, box.ground_cov, rtol=1e-9)


@pytest.mark.parametrize("setting", [{"foot_row_std_px": 0.0}, {"foot_row_std_frac": -0.01}])
def test_bad_foot_row_noise_is_a_user_error(setting) -> None:
    with pytest.raises(UserError, match="foot_row_std"):
        Localizer(Equirectangular(64, 32, 2.0), **setting)


def test_negative_pixel_std_frac_is_a_user_error() -> None:
    with pytest.raises(UserError, match="pixel_std_frac"):
        Localizer(Equirectangular(64, 32, 2.0), pixel_std_frac=-0.1)


@GEOMETRY
@given(
    floats(-180, 180),
    st.lists(st.tuples(floats(1.5, 20), floats(-180, 180)), max_size=6),
    st.sampled_from([None, 1.8]),
)
def test_yawing_the_camera_rotates_the_positions(yaw: float, people, cam_h) -> None:
    shoot = Equirectangular(1024, 512, camera_height=1.8)
    d, a = np.array(people, float).reshape(-1, 2).T
    b = person_boxes(shoot, ring_points(d, a), PRIOR)
    base = Localizer(Equirectangular(1024, 512, cam_h)).localize(b)
    turned = Localizer(Equirectangular(1024, 512, cam_h, yaw_deg=yaw)).localize(b)
    c, s = np.cos(np.radians(yaw)), np.sin(np.radians(yaw))
    rot = np.array([[c, -s], [s, c]])
    assert (turned.method == base.method).all()
    assert_allclose(turned.ground_xy, base.ground_xy @ rot.T, atol=1e-9)
    assert_allclose(turned.ground_cov, rot @ base.ground_cov @ rot.T, atol=1e-12)


def test_pinhole_positions_are_in_the_world_frame() -> None:
    R, t = pinhole_pose(40.0, 0.0, 0.0, [3.0, -2.0, 2.5])  # level: verticals stay vertical
    cam = Pinhole(1280, 720, K, None, R, t)
    forward = np.array([np.cos(np.radians(40)), np.sin(np.radians(40))])
    left = np.array([-forward[1], forward[0]])
    xy = np.array([3.0, -2.0]) + np.array(
        [[d * forward + o * left for d in (7.0, 12.0, 20.0)] for o in (-1.5, 0.0, 2.0)]
    ).reshape(-1, 2)
    loc = Localizer(cam).localize(person_boxes(cam, xy, PRIOR))
    assert (loc.method == FUSED).all()
    assert_allclose(loc.ground_xy, xy, atol=0.01)


def test_tilted_pinhole_foot_cue_and_cut_off_edges() -> None:
    R, t = pinhole_pose(-120.0, 25.0, 5.0, [1.0, 1.0, 3.0])
    cam = Pinhole(1280, 720, K, [-0.1, 0.01, 0.0, 0.0], R, t)
    forward = (R.T @ [0, 0, 1])[:2] / np.linalg.norm((R.T @ [0, 0, 1])[:2])
    xy = np.array([1.0, 1.0]) + np.outer([4.0, 6.0, 9.0], forward)
    b = person_boxes(cam, xy, PRIOR)
    b[:, 1] = 0.0  # heads cut off by the top edge
    loc = Localizer(cam).localize(b)
    assert (loc.method == FOOT).all()
    assert_allclose(loc.ground_xy, xy, atol=0.01)
    b[:, 3] = cam.height  # and the feet by the bottom edge: nothing left
    assert (Localizer(cam).localize(b).method == 0).all()


def test_mosaic_views_and_their_inner_edges() -> None:
    cam = MultiView.mplt_mosaic(camera_height=1.2)
    xy = np.array([[0.0, 6.0], [8.0, 0.5], [0.5, -4.0], [-10.0, 0.0]])  # left, front, right, back
    b = person_boxes(cam, xy, PRIOR)
    assert cam.view_index(b[:, :2]).tolist() == [0, 1, 2, 3]
    loc = Localizer(cam).localize(b)
    assert (loc.method == FUSED).all()
    assert_allclose(loc.ground_xy, xy, atol=0.01)
    b[1, 3] = 512.0  # the front view's bottom edge is inside the mosaic: feet cut off
    loc = Localizer(cam).localize(b)
    assert loc.method[1] == HEIGHT
    assert_allclose(loc.ground_xy[1], xy[1], atol=0.01)


def test_invalid_settings_are_reported() -> None:
    cam = Equirectangular(64, 32)
    with pytest.raises(UserError, match="person_height_m"):
        Localizer(cam, person_height_m=0.0)
    with pytest.raises(UserError, match="pixel_std_px"):
        Localizer(cam, pixel_std_px=float("nan"))
    with pytest.raises(UserError, match="horizon_margin_deg"):
        Localizer(cam, horizon_margin_deg=95.0)


def test_foot_offset_moves_positions_radially_to_the_body_centre() -> None:
    cam = Equirectangular(2048, 1024, camera_height=2.0)
    xy = ring([3.0, 8.0, 15.0], [-170.0, 0.0, 95.0])
    b = person_boxes(cam, xy, np.full(len(xy), PRIOR))
    plain = Localizer(cam).localize(b).ground_xy
    shifted = Localizer(cam, foot_offset_m=0.2).localize(b).ground_xy
    assert_allclose(np.linalg.norm(shifted, axis=1) - np.linalg.norm(plain, axis=1), 0.2, atol=1e-9)
    cross = plain[:, 0] * shifted[:, 1] - plain[:, 1] * shifted[:, 0]
    assert_allclose(cross, 0.0, atol=1e-9)  # same direction


def test_foot_rows_replace_the_box_bottoms_where_seen() -> None:
    cam = Equirectangular(3840, 1920, camera_height=2.0)
    xy = ring([3.0, 7.0, 15.0], AZIMUTHS)
    b = person_boxes(cam, xy, PRIOR)
    feet = b[:, 3].copy()
    short = b.copy()
    short[:, 3] -= 0.05 * (b[:, 3] - b[:, 1])  # a detector's box, short of the feet
    seen = np.arange(len(b)) % 2 == 0
    rows = np.where(seen, feet, np.nan)
    loc = Localizer(cam).localize(short, rows)
    assert_allclose(loc.ground_xy[seen], xy[seen], atol=0.01)
    boxes_only = Localizer(cam).localize(short)
    assert_allclose(loc.ground_xy[~seen], boxes_only.ground_xy[~seen])  # NaN: the box bottom
    assert (np.linalg.norm(boxes_only.ground_xy[seen] - xy[seen], axis=1) > 0.05).all()
    with pytest.raises(ValueError, match="foot_rows"):
        Localizer(cam).localize(short, rows[:-1])
