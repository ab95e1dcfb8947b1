"""Typed run configuration: dataclasses loaded from YAML, overridden from the CLI, dumped resolved.

Library classes take plain keyword arguments; this module is the one place that maps config
sections to them. ``configs/track.yaml`` holds the defaults below, commented.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml

from mplt.errors import MpltError

T = TypeVar("T")


@dataclass
class CameraConfig:
    """How pixels relate to the ground.

    ``model``: ``auto`` (equirectangular for a 2:1 frame, else ``image``), ``equirect``,
    ``pinhole`` (needs ``calib``), ``multiview`` (MPLT's 2x3 mosaic of perspective views) or
    ``image`` (uncalibrated perspective video: tracking in image space, no ground positions).
    """

    model: str = "auto"
    height_m: float | None = None  #: camera height above the ground; None = unknown
    yaw_deg: float = 0.0
    pitch_deg: float = 0.0
    roll_deg: float = 0.0
    calib: str | None = None  #: pinhole calibration file (YAML/JSON: K, dist, R|rvec, t)


@dataclass
class DetectorConfig:
    """Person detector and its panoramic wrapper."""

    backend: str = "auto"  #: auto | yolo | hog (auto: yolo, else HOG when torch/weights fail)
    weights: str | None = None  #: weights file; None = yolo11n.pt, offline fallback if needed
    confidence_threshold: float = 0.3
    nms_iou_threshold: float = 0.5
    imgsz: int = 640  #: network input size (pixels) per tile/view
    panorama_mode: str = "tiles"  #: tiles | views | whole
    tile_overlap: float = 0.25  #: fraction of a tile shared with its neighbour
    seam_pad_px: int = 128  #: circular padding added on each side of the panorama
    global_pass: bool = True  #: also run the whole (downscaled) panorama for near, big people
    min_elevation_deg: float = -60.0  #: tiles cover this elevation band (far, small people)
    max_elevation_deg: float = 30.0
    min_box_height_px: float = 8.0
    batch_size: int = 16  #: images (tiles/views) per forward pass
    device: str = "auto"  #: auto | cpu | cuda | cuda:N
    half: bool | None = None  #: fp16; None = on for CUDA


@dataclass
class LocalizeConfig:
    """Ground positions from boxes (see :class:`mplt.localize.Localizer`)."""

    person_height_m: float = 1.70
    person_height_std_m: float = 0.09
    camera_height_std_m: float = 0.05
    pixel_std_px: float = 2.0
    horizon_margin_deg: float = 3.0
    edge_margin_px: float = 2.0
    foot_offset_m: float = 0.12


@dataclass
class EmbedderConfig:
    """Appearance features for re-identification."""

    kind: str = "colour"  #: colour (built in, no weights) | reid (needs checkpoint) | none
    checkpoint: str | None = None  #: a `mplt train` checkpoint (best.pt) for kind reid
    crop_height: int = 128  #: colour embedder crop; a re-ID model uses its own input size
    crop_width: int = 64
    batch_size: int = 64  #: crops per forward pass of a re-ID model
    device: str = "auto"  #: auto | cpu | cuda | cuda:N (re-ID model; fp16 on CUDA)


@dataclass
class TrackerConfig:
    """DeepSort-style tracker (see :class:`trackers.DeepSortTracker` for each field)."""

    name: str = "deepsort"
    mode: str = "auto"  #: auto (ground when positions are known) | ground | image
    max_cosine_distance: float = 0.2
    nn_budget: int = 100
    feature_ema: float | None = None
    gating_probability: float | None = None  #: None = 0.999 ground / 0.95 image mode
    appearance_weight: float = 0.9
    cascade_min_iou: float | None = None  #: None = 0.3 image mode / off in ground mode
    n_init: int = 3
    max_age_frames: int | None = None
    max_age_s: float | None = None  #: None (and no max_age_frames) = 2 s
    max_iou_distance: float = 0.7
    min_score_new_track: float = 0.5
    ground_match_radius_m: float = 3.0
    max_speed_mps: float = 3.0
    accel_std: float = 2.5
    init_speed_std: float = 1.5


@dataclass
class OutputConfig:
    """What a run writes besides tracks.txt / tracks.jsonl / config.yaml / summary.json."""

    render: bool = False  #: also write video.mp4
    write_tentative: bool = False  #: include unconfirmed tracks in the outputs
    write_lost: bool = False  #: include coasting (unmatched) tracks in the outputs


@dataclass
class RenderConfig:
    """The annotated video (``mplt render``, ``mplt track --render``)."""

    layout: str = "side"  #: side (panorama | map) | below (map under the panorama) | map | pano
    width: int = 1920  #: output video width, px (panels scaled to fit; height follows)
    map_size_px: int = 720  #: bird's-eye map panel size (square), before scaling to the layout
    map_range_m: float | None = None  #: map radius in metres; None = auto from the tracks
    trail_length: int = 30  #: frames of trail behind each person (panorama and map)
    show_confidence: bool = False
    crf: int = 23  #: H.264 quality (lower = better, bigger)


@dataclass
class TrackConfig:
    """Everything ``mplt track`` needs besides the input."""

    camera: CameraConfig = field(default_factory=CameraConfig)
    detector: DetectorConfig = field(default_factory=DetectorConfig)
    localize: LocalizeConfig = field(default_factory=LocalizeConfig)
    embedder: EmbedderConfig = field(default_factory=EmbedderConfig)
    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    render: RenderConfig = field(default_factory=RenderConfig)
    batch_frames: int = 4  #: frames decoded and detected together


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp))


def _coerce(value: Any, tp: Any, where: str) -> Any:
    """Check/convert a YAML value to the annotated field type, or raise MpltError."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, where)
            except MpltError as exc:
                errors.append(str(exc))
        raise MpltError(errors[0])
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise MpltError(f"config {where} must be a mapping, got {value!r}")
        return _from_dict(tp, value, where)
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif tp is str:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
    raise MpltError(f"config {where} must be {_type_name(tp)}, got {value!r}")


def _from_dict(cls: type[T], data: dict[str, Any], where: str = "") -> T:
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - names)
    if unknown:
        prefix = f"{where}." if where else ""
        raise MpltError(
            f"unknown config key {prefix}{unknown[0]}; valid keys here: {', '.join(sorted(names))}"
        )
    kwargs = {
        key: _coerce(value, hints[key], f"{where}.{key}" if where else key)
        for key, value in data.items()
    }
    return cls(**kwargs)


def _parse_scalar(text: str) -> Any:
    """A ``--set`` value as YAML would read it (``null``, numbers, booleans, strings)."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def apply_override(data: dict[str, Any], assignment: str) -> None:
    """Apply ``section.key=value`` to a nested config dict in place."""
    if "=" not in assignment:
        raise MpltError(f"--set expects key=value (e.g. tracker.n_init=5), got {assignment!r}")
    dotted, raw = assignment.split("=", 1)
    keys = dotted.strip().split(".")
    node = data
    for key in keys[:-1]:
        node = node.setdefault(key, {})
        if not isinstance(node, dict):
            raise MpltError(f"--set {dotted}: {key} is not a config section")
    node[keys[-1]] = _parse_scalar(raw)


def load_config(
    cls: type[T], path: str | Path | None = None, overrides: list[str] | tuple[str, ...] = ()
) -> T:
    """Defaults, then the YAML file (if any), then ``--set`` overrides; validated and typed."""
    data: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise MpltError(f"config file {path} does not exist; pass an existing YAML file")
        try:
            loaded = yaml.safe_load(path.read_text())
        except yaml.YAMLError as exc:
            line = getattr(getattr(exc, "problem_mark", None), "line", None)
            at = f" at line {line + 1}" if line is not None else ""
            raise MpltError(f"config file {path} is not valid YAML{at}; fix its syntax") from None
        if loaded is not None and not isinstance(loaded, dict):
            raise MpltError(f"config file {path} must hold a mapping of sections")
        data = loaded or {}
    for assignment in overrides:
        apply_override(data, assignment)
    return _from_dict(cls, data)


def config_to_dict(config: Any) -> dict[str, Any]:
    """Plain nested dict of a config dataclass."""
    return dataclasses.asdict(config)


def dump_config(config: Any) -> str:
    """The resolved configuration as YAML text (sections in declaration order)."""
    return yaml.safe_dump(config_to_dict(config), sort_keys=False)


def kwargs_of(section: Any, *, exclude: tuple[str, ...] = ()) -> dict[str, Any]:
    """A config section as constructor keyword arguments."""
    return {k: v for k, v in dataclasses.asdict(section).items() if k not in exclude}
