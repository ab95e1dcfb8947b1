"""Pinhole calibration files and the validation of their values (numpy + PyYAML only).

Accepted: YAML (OpenCV ``FileStorage`` YAML included) or JSON with ``width``, ``height``,
``K`` (3x3), optional ``dist`` (k1, k2, p1, p2[, k3]), ``R`` (3x3) or ``rvec`` (Rodrigues,
radians), and ``t``/``tvec`` (metres), in OpenCV's convention ``x_cam = R @ X_world + t``.
Every problem is an :class:`~core.errors.UserError` naming the key and the expected form.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from core.errors import UserError

_PINHOLE_KEYS = (
    "expected keys: width, height, K (3x3), optional dist [k1, k2, p1, p2(, k3)], "
    "R (3x3) or rvec (3), t or tvec (3)"
)
_ALIASES = {
    "width": ("width", "image_width"),
    "height": ("height", "image_height"),
    "K": ("K", "camera_matrix"),
    "dist": ("dist", "distortion_coefficients", "D"),
    "R": ("R",),
    "rvec": ("rvec",),
    "t": ("t", "tvec"),
}


def as_matrix(value: object, shape: tuple[int, ...], key: str, what: str) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        arr = np.full(0, np.nan)
    if arr.size != int(np.prod(shape)) or not np.isfinite(arr).all():
        raise UserError(
            f"invalid '{key}': expected {what}, got {value!r}; fix '{key}' in the calibration"
        )
    return arr.reshape(shape)


def check_size(width: object, height: object) -> tuple[int, int]:
    size = as_matrix([width, height], (2,), "width/height", "positive integers (px)")
    if (size <= 0).any() or (size != np.round(size)).any():
        raise UserError(
            f"invalid image size {width}x{height}: width and height must be positive integers "
            "(px); give the calibrated image's size"
        )
    return int(size[0]), int(size[1])


def check_K(K: object) -> np.ndarray:
    k = as_matrix(K, (3, 3), "K", "a 3x3 matrix [[fx, 0, cx], [0, fy, cy], [0, 0, 1]]")
    if not (np.allclose(k[2], [0, 0, 1]) and k[1, 0] == 0 and k[0, 0] > 0 and k[1, 1] > 0):
        raise UserError(
            f"invalid 'K' {k.tolist()}: expected [[fx, s, cx], [0, fy, cy], "
            "[0, 0, 1]] with fx, fy > 0 (an invertible intrinsic matrix); fix 'K' in the "
            "calibration"
        )
    return k


def check_dist(dist: object) -> np.ndarray:
    if dist is None:
        return np.zeros(5)
    try:
        d = np.asarray(dist, dtype=np.float64).ravel() if np.size(dist) else np.zeros(5)
    except (TypeError, ValueError):
        d = np.full(1, np.nan)
    if d.size > 5 and not d[5:].any():  # OpenCV pads the unused rational/prism terms
        d = d[:5]
    if d.size not in (4, 5) or not np.isfinite(d).all():
        raise UserError(
            f"invalid 'dist' {dist!r}: expected 4 or 5 numbers (k1, k2, p1, p2"
            "[, k3]); rational and thin-prism models are not supported; fix 'dist' in the "
            "calibration"
        )
    return np.pad(d, (0, 5 - d.size))


def check_R(R: object) -> np.ndarray:
    r = as_matrix(R, (3, 3), "R", "a 3x3 rotation matrix")
    if np.abs(r @ r.T - np.eye(3)).max() > 1e-3 or np.linalg.det(r) <= 0:
        raise UserError(
            "invalid 'R': not a rotation matrix (R @ R.T must be the identity and "
            "det(R) = +1); give a 3x3 rotation or a Rodrigues vector 'rvec'"
        )
    u, _, vt = np.linalg.svd(r)  # remove the rounding of the printed values
    return u @ vt


def _rodrigues(rvec: np.ndarray) -> np.ndarray:
    theta = float(np.linalg.norm(rvec))
    if theta < 1e-12:
        return np.eye(3)
    kx, ky, kz = rvec / theta
    k = np.array([[0, -kz, ky], [kz, 0, -kx], [-ky, kx, 0]])
    return np.eye(3) + np.sin(theta) * k + (1 - np.cos(theta)) * k @ k


def load_mapping(path: Path) -> object:
    """Parse a JSON or YAML file (OpenCV FileStorage YAML included)."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise UserError(
            f"camera file {path} is not a text file (not UTF-8); pass a YAML or JSON calibration"
        ) from None
    except OSError as exc:
        raise UserError(f"cannot read camera file {path}: {exc.strerror}; check the path") from None
    import yaml  # only needed here; keeps the geometry package import-light

    class Loader(yaml.SafeLoader):
        pass

    def opencv_matrix(loader: yaml.SafeLoader, node: yaml.MappingNode) -> list:
        m = loader.construct_mapping(node, deep=True)
        return np.asarray(m["data"], float).reshape(int(m["rows"]), int(m["cols"])).tolist()

    Loader.add_constructor("tag:yaml.org,2002:opencv-matrix", opencv_matrix)
    if text.startswith("%YAML:"):  # OpenCV's directive is not valid YAML
        text = text.split("\n", 1)[-1]
    try:
        if path.suffix.lower() == ".json":
            return json.loads(text)
        return yaml.load(text, Loader=Loader)  # a SafeLoader: no arbitrary objects
    except (ValueError, KeyError, TypeError, yaml.YAMLError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(
            f"cannot parse camera file {path} ({first}); it must be YAML or JSON "
            f"with {_PINHOLE_KEYS}"
        ) from None


def pinhole_kwargs(data: object) -> dict[str, object]:
    if not isinstance(data, dict):
        raise UserError(f"expected a mapping; {_PINHOLE_KEYS}")

    def get(key: str) -> object:
        return next((data[name] for name in _ALIASES[key] if name in data), None)

    for key in ("width", "height", "K"):
        if get(key) is None:
            raise UserError(f"missing key '{key}'; {_PINHOLE_KEYS}")
    R, rvec = get("R"), get("rvec")
    if R is not None and rvec is not None:
        raise UserError("the calibration gives both 'R' and 'rvec'; keep one of them")
    if rvec is not None:
        R = _rodrigues(as_matrix(rvec, (3,), "rvec", "3 numbers (Rodrigues vector, radians)"))
    return {
        "width": get("width"),
        "height": get("height"),
        "K": get("K"),
        "dist": get("dist"),
        "R": R,
        "t": get("t"),
    }
