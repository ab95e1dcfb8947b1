"""ONNX export of a checkpoint's encoder."""

from __future__ import annotations

import numpy as np

import reid
from reid.export import run_onnx


def test_onnx_export_matches_torch(trained_checkpoint, tmp_path):
    info = reid.export_onnx(trained_checkpoint, tmp_path / "enc.onnx")
    assert info["max_abs_diff"] < 1e-4 and (tmp_path / "enc.onnx").is_file()
    out, _ = run_onnx(tmp_path / "enc.onnx", np.zeros((3, 3, 32, 16), np.float32))  # dynamic batch
    assert out.shape == (3, 64)
