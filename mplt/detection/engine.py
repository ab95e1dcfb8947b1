"""Compiled detector engines: a YOLO model exported once per setting through Ultralytics
(TorchScript, ONNX Runtime, TensorRT) and cached next to its weights.

``detector.engine`` names the format; ``pytorch`` (the default) runs the weights as they are.
An export depends on the weights' bytes, the input size, the batch, fp16, the device kind and
the Ultralytics and torch versions: they are hashed into the engine's folder name and written
to its ``settings.json``, so a changed setting builds a new engine and an unchanged one is
reused. The folder ``<weights>.engines/`` sits beside the weights, or under
``~/.cache/mplt/engines`` when that folder is not writable (weights inside an installed
package). Engines have a fixed input (``imgsz`` x ``imgsz``, at most ``batch_size`` images).

Measured on this 2-core CPU (YOLOv8s, 640 x 640, batch 4, other jobs running): PyTorch 390,
TorchScript 454, ONNX Runtime 423 ms per image, the same boxes within 1e-4 px: on the CPU an
engine gains nothing; TensorRT fp16 is the GPU's (``tensorrt`` needs CUDA and the
``tensorrt`` package).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from core.errors import UserError

#: ``detector.engine`` -> (Ultralytics export format, the exported file's suffix).
ENGINES: dict[str, tuple[str, str] | None] = {
    "pytorch": None,
    "torchscript": ("torchscript", ".torchscript"),
    "onnx": ("onnx", ".onnx"),
    "tensorrt": ("engine", ".engine"),
}


def check_engine(engine: str, device: str | None = None) -> None:
    """UserError for an unknown engine, or TensorRT on a ``device`` that is not CUDA."""
    if engine not in ENGINES:
        raise UserError(f"unknown detector.engine {engine!r}; choose one of: {', '.join(ENGINES)}")
    if engine == "tensorrt" and device is not None and not device.startswith("cuda"):
        raise UserError(
            "detector.engine tensorrt needs a CUDA device; use --set detector.engine=onnx "
            "or pytorch on this machine"
        )


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


def _cache_root(weights: Path) -> Path:
    if os.access(weights.parent, os.W_OK):
        return weights.parent / f"{weights.name}.engines"
    return Path.home() / ".cache" / "mplt" / "engines"


def engine_settings(
    weights: str | Path, engine: str, *, imgsz: int, batch: int, half: bool, device: str
) -> dict[str, object]:
    """What an export of ``weights`` depends on (written to its ``settings.json``)."""
    import torch
    import ultralytics

    return {
        "engine": engine,
        "weights": Path(weights).name,
        "weights_sha256": _digest(Path(weights)),
        "imgsz": int(imgsz),
        "batch": int(batch),
        "half": bool(half),
        "device": "cuda" if device.startswith("cuda") else device,
        "ultralytics": ultralytics.__version__,
        "torch": torch.__version__,
    }


def compiled_weights(
    weights: str | Path, engine: str, *, imgsz: int, batch: int, half: bool, device: str
) -> Path:
    """The engine file for these settings, exported now if no earlier run left it.

    The export runs in a temporary folder published by one rename, so a crash or a second
    process never leaves half an engine where the next run would load it.

    Raises:
        UserError: unknown engine, TensorRT without CUDA, or the export failed.
    """
    check_engine(engine, device)
    export = ENGINES[engine]
    if export is None:
        return Path(weights)
    fmt, suffix = export
    weights = Path(weights)
    settings = engine_settings(weights, engine, imgsz=imgsz, batch=batch, half=half, device=device)
    key = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:12]
    root = _cache_root(weights)
    folder = root / f"{weights.stem}-{engine}-{key}"
    target = folder / f"{weights.stem}{suffix}"
    if target.is_file():
        return target
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{weights.stem}-", dir=root))
    try:
        from ultralytics import YOLO

        source = tmp / weights.name
        shutil.copyfile(weights, source)  # Ultralytics writes the export beside its source
        try:
            out = YOLO(str(source)).export(
                format=fmt, imgsz=imgsz, batch=batch, half=half, device=device, verbose=False
            )
        except Exception as exc:
            raise UserError(
                f"could not export {weights.name} to {engine} ({type(exc).__name__}: {exc}); "
                "use --set detector.engine=pytorch"
            ) from exc
        source.unlink()
        Path(out).rename(tmp / target.name)
        (tmp / "settings.json").write_text(json.dumps(settings, indent=2) + "\n")
        try:
            tmp.rename(folder)
        except OSError:
            if not target.is_file():  # not a concurrent run that published it first
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target
