"""ONNX export of a checkpoint's encoder, verified against PyTorch.

The exported graph takes ``images`` (N, 3, H, W) float32 normalised with the checkpoint's
mean/std (N dynamic) and returns ``embeddings`` (N, D) float32, L2-normalised. The check runs
the file through ONNX Runtime when installed, else through ``onnx.reference.ReferenceEvaluator``.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from core.errors import UserError
from core.files import atomic_path
from reid.embed import load_encoder


def run_onnx(path: str | Path, images: np.ndarray) -> tuple[np.ndarray, str]:
    """Run an exported encoder on (N, 3, H, W) float32; returns (embeddings, runtime name)."""
    try:
        import onnxruntime as ort
    except ImportError:
        import onnx
        from onnx.reference import ReferenceEvaluator

        out = ReferenceEvaluator(onnx.load(str(path))).run(None, {"images": images})[0]
        return np.asarray(out), "onnx.reference"
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"images": images})[0], "onnxruntime"


def export_onnx(
    checkpoint: str | Path,
    out_path: str | Path,
    *,
    opset: int = 17,
    check: bool = True,
    atol: float = 1e-4,
) -> dict[str, Any]:
    """Export the encoder of ``checkpoint`` to ``out_path`` (written atomically).

    Returns:
        ``path``, ``height``, ``width``, ``dim``, and when ``check``: ``runtime`` and
        ``max_abs_diff`` between ONNX and PyTorch embeddings of a random batch of 2.

    Raises:
        UserError: the exported graph disagrees with PyTorch by more than ``atol``.
    """
    encoder = load_encoder(checkpoint, device="cpu")
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    example = torch.randn(
        2, 3, encoder.height, encoder.width, generator=torch.Generator().manual_seed(0)
    )
    with warnings.catch_warnings(), atomic_path(out_path) as tmp:
        # The TorchScript-based exporter is used on purpose: the dynamo exporter needs onnxscript.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            encoder.module,
            (example,),
            str(tmp),
            input_names=["images"],
            output_names=["embeddings"],
            dynamic_axes={"images": {0: "batch"}, "embeddings": {0: "batch"}},
            opset_version=opset,
            dynamo=False,
        )
    info: dict[str, Any] = {
        "path": str(out_path),
        "height": encoder.height,
        "width": encoder.width,
        "dim": encoder.dim,
    }
    if check:
        expected = encoder(example).numpy()
        got, runtime = run_onnx(out_path, example.numpy())
        diff = float(np.abs(got - expected).max())
        if diff > atol:
            raise UserError(
                f"ONNX export of {checkpoint} differs from PyTorch by {diff:.2e} (> {atol}); "
                f"try another opset"
            )
        info.update(runtime=runtime, max_abs_diff=diff)
    return info
