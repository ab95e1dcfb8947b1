"""Rectified crops and the colour embedder on synthetic panoramas with known people."""

from __future__ import annotations

from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
import torch

from core.errors import UserError
from mplt.appearance import (
    EMBEDDERS,
    ColourEmbedder,
    EncoderEmbedder,
    FusedEmbedder,
    build_embedder,
    device_crops,
    extract_crops,
)
from mplt.config import EmbedderConfig
from mplt.geometry import Equirectangular, ImageCamera

W, H = 2048, 1024
REPO = Path(__file__).resolve().parents[1]
SKIN = (224, 172, 140)


def textured_panorama(seed: int = 0) -> np.ndarray:
    """Background of random coloured 16x16 blocks (a busy scene, not a flat wall)."""
    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, 256, (H // 16, W // 16, 3), dtype=np.uint8)
    return np.repeat(np.repeat(blocks, 16, axis=0), 16, axis=1)


def draw_person(
    frame: np.ndarray, box: tuple[int, int, int, int], shirt, trousers, hair=(40, 30, 20)
) -> None:
    """Hair/face, shirt, trousers as rectangles in ``box`` (x2 may pass the seam)."""
    x1, y1, x2, y2 = box
    h = y2 - y1
    cols = np.arange(x1, x2) % frame.shape[1]
    parts = [(0.0, 0.06, hair), (0.06, 0.16, SKIN), (0.16, 0.55, shirt), (0.55, 1.0, trousers)]
    for top, bottom, colour in parts:
        frame[y1 + round(top * h) : y1 + round(bottom * h), cols] = colour


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b)


@pytest.fixture
def scene() -> tuple[np.ndarray, np.ndarray]:
    """Person A twice (small; big and across the seam), B (other clothes), C (A's shirt)."""
    frame = textured_panorama()
    boxes = np.array(
        [
            [600, 500, 640, 620],  # A, 120 px tall
            [2010, 470, 2080, 680],  # A again, 210 px tall, across the seam (x2 > W)
            [1200, 500, 1240, 620],  # B: green shirt, black trousers
            [300, 480, 350, 640],  # C: A's red shirt, but beige trousers
        ],
        np.float64,
    )
    draw_person(frame, (600, 500, 640, 620), (200, 30, 30), (40, 60, 150))
    draw_person(frame, (2010, 470, 2080, 680), (200, 30, 30), (40, 60, 150))
    draw_person(frame, (1200, 500, 1240, 620), (40, 160, 60), (20, 20, 20))
    draw_person(frame, (300, 480, 350, 640), (200, 30, 30), (200, 180, 140))
    return frame, boxes


def test_same_person_is_closer_than_different_people(scene) -> None:
    frame, boxes = scene
    emb = ColourEmbedder(Equirectangular(W, H))
    f = emb.embed(frame, boxes)
    assert f.shape == (4, emb.dim) and f.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(f, axis=1), 1.0, rtol=1e-5)
    same = cosine(f[0], f[1])
    assert same > 0.8
    for other in (2, 3):  # a different outfit; the same shirt with other trousers
        assert same > cosine(f[0], f[other]) + 0.15
        assert same > cosine(f[1], f[other]) + 0.15


def test_grey_clothes_are_told_apart_by_brightness() -> None:
    frame = textured_panorama(1)
    draw_person(frame, (400, 500, 440, 620), (20, 20, 20), (20, 20, 20))  # all black
    draw_person(frame, (800, 500, 840, 620), (235, 235, 235), (20, 20, 20))  # white shirt
    draw_person(frame, (1200, 500, 1250, 640), (20, 20, 20), (20, 20, 20))  # black again
    f = ColourEmbedder(Equirectangular(W, H)).embed(
        frame, [[400, 500, 440, 620], [800, 500, 840, 620], [1200, 500, 1250, 640]]
    )
    assert cosine(f[0], f[2]) > cosine(f[0], f[1]) + 0.15


def test_colour_features_equal_the_reference_implementation() -> None:
    """Features of the first frame of the bundled sample, as the per-pixel implementation
    (before lookup tables and interpolated crop maps) computed them: people near the horizon,
    one across the seam, two at the nadir, a tiny one, one high above the horizon."""
    ref = np.load(REPO / "tests/data/appearance/colour_reference.npz")
    frame = iio.imread(REPO / "videos/sample.mp4", index=0)
    h, w = frame.shape[:2]
    cases = [
        ("equirect", Equirectangular(w, h, camera_height=2.0), ref["boxes"]),
        ("pinhole", ImageCamera(w, h), ref["img_boxes"]),
        ("image", None, ref["img_boxes"]),
    ]
    for key, camera, boxes in cases:
        features = ColourEmbedder(camera).embed(frame, boxes)
        if camera is None:  # same crops: the histograms alone, equal to rounding
            np.testing.assert_allclose(features, ref[key], atol=1e-6)
        else:  # crop samples move by < 1/32 px: a few pixels change their bin
            assert np.abs(features - ref[key]).max() < 0.01
            assert (features * ref[key]).sum(axis=1).min() > 0.9999


def test_no_people() -> None:
    emb = ColourEmbedder(Equirectangular(W, H))
    frame = textured_panorama()
    out = emb.embed(frame, np.zeros((0, 4)))
    assert out.shape == (0, emb.dim) and out.dtype == np.float32
    crops = extract_crops(frame, Equirectangular(W, H), np.zeros((0, 4)), (32, 16))
    assert crops.shape == (0, 32, 16, 3) and crops.dtype == np.uint8


def test_crop_across_the_seam_is_whole_and_upright() -> None:
    frame = np.full((H, W, 3), 128, np.uint8)
    draw_person(frame, (2010, 470, 2090, 680), (200, 30, 30), (40, 60, 150))
    (crop,) = extract_crops(frame, Equirectangular(W, H), [[2010, 470, 2090, 680]], (128, 64))
    assert crop.shape == (128, 64, 3)
    middle = crop[:, 24:40].astype(int)
    # top to bottom: hair, face, shirt, trousers -- and no grey gap where the seam is
    assert np.abs(middle[12] - (40, 30, 20)).max() < 40
    assert np.abs(middle[50] - (200, 30, 30)).max() < 10
    assert np.abs(middle[100] - (40, 60, 150)).max() < 10
    shirt_rows = middle[35:65]
    assert np.all(np.abs(shirt_rows - (200, 30, 30)).max(axis=2) < 30)


def test_crops_of_an_uncalibrated_image_are_axis_aligned() -> None:
    frame = np.zeros((100, 200, 3), np.uint8)
    frame[:, :, 0] = np.arange(200)[None, :]  # red = column
    frame[:, :, 1] = np.arange(100)[:, None]  # green = row
    (crop,) = extract_crops(frame, None, [[50, 20, 70, 60]], (44, 22), margin=0.1)
    # 44 rows over 1.1 x 40 = 44 px: one source pixel per crop pixel, centred on the box
    np.testing.assert_array_equal(crop[:, 0, 1], np.arange(18, 62))
    np.testing.assert_array_equal(crop[0, :, 0], np.arange(49, 71))


def test_many_crops_go_through_one_stacked_remap() -> None:
    frame = textured_panorama()
    boxes = np.tile([[100.0, 500, 140, 620]], (300, 1)) + np.arange(300)[:, None] * [5, 0, 5, 0]
    crops = extract_crops(frame, Equirectangular(W, H), boxes, (128, 64))  # 38400 rows
    assert crops.shape == (300, 128, 64, 3)
    single = extract_crops(frame, Equirectangular(W, H), boxes[299:], (128, 64))
    np.testing.assert_array_equal(crops[299], single[0])


def test_build_embedder_kinds() -> None:
    camera = Equirectangular(W, H)
    assert build_embedder(EmbedderConfig(kind="none"), camera) is None
    emb = build_embedder(EmbedderConfig(kind="colour", crop_height=96, crop_width=48), camera)
    assert isinstance(emb, ColourEmbedder) and emb.name == "colour" and emb.crop_hw == (96, 48)
    assert emb.embed(textured_panorama(), [[600, 500, 640, 620]]).shape == (1, emb.dim)
    with pytest.raises(UserError, match=r"needs a checkpoint; pass --reid"):
        build_embedder(EmbedderConfig(kind="reid"), camera)
    with pytest.raises(UserError, match=r"missing\.pt does not exist"):
        build_embedder(EmbedderConfig(kind="reid", checkpoint="missing.pt"), camera)
    with pytest.raises(UserError, match=r"fused needs a checkpoint; pass --reid"):
        build_embedder(EmbedderConfig(kind="fused"), camera)
    with pytest.raises(UserError, match="choose one of: colour, fused, imagenet, none, reid"):
        build_embedder(EmbedderConfig(kind="sift"), camera)
    assert set(EMBEDDERS.names()) == {"colour", "fused", "imagenet", "none", "reid"}


@pytest.mark.parametrize("weight", [0.5, 0.8])
def test_fused_features_mix_the_two_cosines_by_the_colour_weight(scene, weight) -> None:
    frame, boxes = scene
    camera = Equirectangular(W, H)
    colour = ColourEmbedder(camera)
    encoder = EncoderEmbedder(camera, _tiny_encoder("cpu"), "tiny")
    fused = FusedEmbedder(colour, encoder, weight)
    assert fused.name == "colour+tiny" and fused.dim == colour.dim + encoder.dim
    f, c, e = fused.embed(frame, boxes), colour.embed(frame, boxes), encoder.embed(frame, boxes)
    assert f.shape == (4, fused.dim) and f.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(f, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(f @ f.T, weight * c @ c.T + (1 - weight) * e @ e.T, atol=1e-5)
    assert fused.embed(frame, np.zeros((0, 4))).shape == (0, fused.dim)
    fused.camera = None  # a camera estimated during the run reaches both embedders
    assert colour.camera is None and encoder.camera is None
    with pytest.raises(ValueError, match=r"colour_weight must be in \(0, 1\)"):
        FusedEmbedder(colour, encoder, 1.0)


def test_imagenet_embedder_tells_people_apart(scene) -> None:
    """The offline ImageNet MobileNetV2 on the rectified crops: unit 1280-d features, the same
    person (small, and big across the seam) closer than other outfits."""
    pytest.importorskip("torch")
    from reid.models.backbones import offline_weights_path

    if offline_weights_path() is None:
        pytest.skip("the offline ImageNet weights (mplt[offline]) are not installed")
    frame, boxes = scene
    emb = build_embedder(EmbedderConfig(kind="imagenet", device="cpu"), Equirectangular(W, H))
    assert emb.name == "imagenet:mobilenetv2" and emb.crop_hw == (128, 64)
    f = emb.embed(frame, boxes)
    assert f.shape == (4, 1280) and f.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(f, axis=1), 1.0, rtol=1e-5)
    assert cosine(f[0], f[1]) > max(cosine(f[0], f[2]), cosine(f[1], f[2]))
    assert emb.embed(frame, np.zeros((0, 4))).shape == (0, 1280)


def _tiny_encoder(device: str):
    """A small random network behind reid's Encoder (deterministic: seeded)."""
    from torch import nn

    from reid.embed import Encoder, NormalizedEncoder

    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(3, 8, 5, stride=2), nn.ReLU(), nn.AdaptiveAvgPool2d((4, 2)), nn.Flatten()
    )
    module = NormalizedEncoder(net).eval().to(device)
    return Encoder(module, 128, 64, (0.5, 0.5, 0.5), (0.25, 0.25, 0.25), 64, torch.device(device))


@pytest.mark.parametrize(
    "device",
    [
        "cpu",
        pytest.param(
            "cuda",
            marks=[
                pytest.mark.gpu,
                pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
            ],
        ),
    ],
)
def test_crops_cut_on_the_device_give_the_host_crops_features(scene, device) -> None:
    frame, boxes = scene
    camera = Equirectangular(W, H)
    on_device = device_crops(frame, camera, boxes, (128, 64), device)
    assert on_device.shape == (4, 3, 128, 64) and on_device.device.type == device
    host = extract_crops(frame, camera, boxes, (128, 64))
    cut = on_device.permute(0, 2, 3, 1).cpu().numpy() * 255.0
    assert np.abs(cut - host).mean() < 1.0  # the seam-crossing crop (1) included
    encoder = _tiny_encoder(device)
    ours = EncoderEmbedder(camera, encoder, "tiny", crops_on_device=True)
    assert EncoderEmbedder(camera, encoder, "tiny").crops_on_device == (device == "cuda")
    theirs = EncoderEmbedder(camera, encoder, "tiny", crops_on_device=False)
    a, b = ours.embed(frame, boxes), theirs.embed(frame, boxes)
    assert a.shape == (4, 64) and (a * b).sum(axis=1).min() > 0.999
    assert ours.embed(frame, np.zeros((0, 4))).shape == (0, 64)


def test_pixel_weights_leave_the_background_out() -> None:
    """The same person in front of a red and a blue wall: with a mask of the person the two
    features agree (the walls no longer vote), and ones weights give the plain features."""
    emb = ColourEmbedder(None, crop_height=64, crop_width=32)
    crops = np.zeros((2, 64, 32, 3), np.uint8)
    crops[0] = (200, 30, 30)  # red wall
    crops[1] = (30, 30, 200)  # blue wall
    crops[:, 4:60, 6:26] = (40, 160, 60)  # a green person filling the middle
    mask = np.zeros((2, 64, 32))
    mask[:, 4:60, 6:26] = 1.0
    plain, masked = emb.embed_crops(crops), emb.embed_crops(crops, mask)
    assert cosine(masked[0], masked[1]) > 0.99
    assert cosine(plain[0], plain[1]) < cosine(masked[0], masked[1]) - 0.05
    np.testing.assert_allclose(emb.embed_crops(crops, np.ones((2, 64, 32))), plain, atol=1e-7)
    with pytest.raises(ValueError, match="weights must be"):
        emb.embed_crops(crops, np.ones((1, 64, 32)))


def test_a_foreground_mask_leaves_the_wall_behind_out() -> None:
    """One person in front of a red and of a blue wall: with the foreground mask their two
    features agree; a box narrower than ``foreground_min_px`` keeps its whole crop."""
    frame = np.zeros((200, 400, 3), np.uint8)
    frame[:, :200] = (200, 30, 30)
    frame[:, 200:] = (30, 30, 200)
    mask = np.zeros((200, 400), np.uint8)
    boxes = np.array([[60.0, 20, 140, 180], [260, 20, 340, 180]])
    for x1, y1, x2, y2 in boxes.astype(int):
        frame[y1 + 8 : y2 - 8, x1 + 25 : x2 - 25] = (40, 160, 60)
        mask[y1 + 8 : y2 - 8, x1 + 25 : x2 - 25] = 255
    emb = ColourEmbedder(None)
    plain, masked = emb.embed(frame, boxes), emb.embed(frame, boxes, mask)
    assert cosine(masked[0], masked[1]) > cosine(plain[0], plain[1]) + 0.1
    np.testing.assert_array_equal(
        ColourEmbedder(None, foreground_floor=1.0).embed(frame, boxes, mask), plain
    )
    narrow = ColourEmbedder(None, foreground_min_px=100.0)
    np.testing.assert_array_equal(narrow.embed(frame, boxes, mask), plain)
    empty = np.zeros_like(mask)  # nothing moves (a young background): whole crops
    np.testing.assert_array_equal(emb.embed(frame, boxes, empty), plain)
    assert emb.embed(frame, np.zeros((0, 4)), mask).shape == (0, emb.dim)
    with pytest.raises(UserError, match="foreground_floor"):
        ColourEmbedder(None, foreground_floor=1.5)
