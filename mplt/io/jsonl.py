"""JSON Lines track output: one JSON object per frame, written as the run goes.

Each line::

    {"frame": 12, "time_s": 0.44, "tracks": [
        {"id": 3, "box_xyxy": [x1, y1, x2, y2], "conf": 0.91,
         "azimuth_deg": -12.5, "elevation_deg": -8.1,
         "ground_xy": [2.315, -0.404], "velocity_mps": [0.8, 0.1],
         "state": "confirmed", "detection_index": 0}, ...]}

* ``frame`` is 1-based, like the MOT file; ``time_s`` is seconds from the start of the input.
* ``box_xyxy`` is in the code's pixel convention, *not* MOT's: 0-based continuous pixels
  (column u covers [u, u + 1)), and a box crossing a panorama's seam is unwrapped
  (``x2`` may exceed the frame width).
* ``azimuth_deg`` / ``elevation_deg``: direction of the track (as given by the caller, usually
  the box's foot or centre ray), degrees; ``null`` when unknown.
* ``ground_xy`` (metres) and ``velocity_mps`` (metres per second) are in the ground frame
  (x forward, y left, z up); ``null`` when unknown.
* ``state`` is ``tentative``, ``confirmed`` or ``lost``; ``detection_index`` is the matched
  detection's row in that frame, ``null`` while the track coasts.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import UserError
from core.types import Tracks, TrackState
from mplt.io.files import FrameLineWriter

_STATE_NAMES = {int(s): s.name.lower() for s in TrackState}
_STATES = {name: state for state, name in _STATE_NAMES.items()}


def _pair(values: np.ndarray, decimals: int) -> list[float] | None:
    """A JSON pair, or None when any component is NaN."""
    if not np.isfinite(values).all():
        return None
    return [round(float(v), decimals) for v in values]


def _scalar(value: float, decimals: int) -> float | None:
    return round(float(value), decimals) if np.isfinite(value) else None


def frame_record(
    frame_index: int, time_s: float, tracks: Tracks, azel: np.ndarray | None = None
) -> dict[str, Any]:
    """The JSON-ready dict of one frame (see the module doc for the fields).

    Args:
        frame_index: 0-based frame index.
        time_s: seconds since the start of the input.
        tracks: M tracks (M may be 0).
        azel: (M, 2) azimuth and elevation in degrees, NaN where unknown; None = all unknown.
    """
    m = len(tracks)
    azel = np.full((m, 2), np.nan) if azel is None else np.asarray(azel, np.float64)
    if azel.shape != (m, 2):
        raise ValueError(f"azel must have shape ({m}, 2), got {azel.shape}")
    records = []
    for i in range(m):
        det = int(tracks.detection_indices[i])
        records.append(
            {
                "id": int(tracks.ids[i]),
                "box_xyxy": [round(float(v), 2) for v in tracks.boxes[i]],
                "conf": round(float(tracks.scores[i]), 3),
                "azimuth_deg": _scalar(azel[i, 0], 3),
                "elevation_deg": _scalar(azel[i, 1], 3),
                "ground_xy": _pair(tracks.ground_xy[i], 3),
                "velocity_mps": _pair(tracks.ground_velocity[i], 3),
                "state": _STATE_NAMES.get(int(tracks.states[i]), str(int(tracks.states[i]))),
                "detection_index": det if det >= 0 else None,
            }
        )
    return {"frame": frame_index + 1, "time_s": round(float(time_s), 4), "tracks": records}


def tracks_from_record(record: dict[str, Any]) -> Tracks:
    """The :class:`Tracks` of one ``tracks.jsonl`` line (the format above): what `mplt render`
    draws, and what the streamed video draws.

    Raises:
        UserError: a track lacks a field or has a malformed one (names the frame).
    """
    if not isinstance(record.get("frame"), int):
        raise UserError(
            f"tracks.jsonl line without a frame number ({str(record)[:60]}); the file was not "
            "written by `mplt track` or was edited"
        )
    frame_index = record["frame"] - 1
    rows = record.get("tracks") or []
    if not rows:
        return Tracks.empty(frame_index)

    def pair(value: Any) -> list[float]:
        return [np.nan, np.nan] if value is None else value

    try:
        return Tracks(
            ids=[r["id"] for r in rows],
            boxes=[r["box_xyxy"] for r in rows],
            scores=[r.get("conf", 1.0) for r in rows],
            ground_xy=[pair(r.get("ground_xy")) for r in rows],
            ground_velocity=[pair(r.get("velocity_mps")) for r in rows],
            states=[_STATES[r.get("state", "confirmed")] for r in rows],
            detection_indices=[
                -1 if r.get("detection_index") is None else r["detection_index"] for r in rows
            ],
            frame_index=frame_index,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise UserError(
            f"tracks.jsonl frame {frame_index + 1}: malformed track ({type(exc).__name__}: "
            f"{exc}); the file was not written by `mplt track` or was edited"
        ) from None


class JsonlWriter(FrameLineWriter):
    """Writes one JSON line per frame (a single write call and a flush); a context manager."""

    def write(
        self, frame_index: int, time_s: float, tracks: Tracks, azel: np.ndarray | None = None
    ) -> dict[str, Any]:
        """Append the line of one frame (also for M = 0: a frame with an empty track list);
        returns its record, the values as rounded in the file."""
        record = frame_record(frame_index, time_s, tracks, azel)
        self._append(json.dumps(record, separators=(",", ":")) + "\n")
        return record


def read_jsonl(path: str | Path) -> Iterator[dict[str, Any]]:
    """Yield the JSON object of each non-blank line of ``path``.

    Raises:
        UserError: the file is missing, or a line is not a JSON object (names the line).
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"JSON Lines file {path} does not exist; pass the tracks.jsonl of a run")
    return _iter_jsonl(path)


def _iter_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with open(path, "rb") as handle:
        for line_no, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise UserError(
                    f"{path} line {line_no}: not UTF-8 text (a binary or damaged file); "
                    "pass the tracks.jsonl of a run, or re-run mplt track"
                ) from None
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise UserError(
                    f"{path} line {line_no}: invalid JSON ({exc.msg}); "
                    "the file may be cut short or edited by hand"
                ) from None
            if not isinstance(record, dict):
                raise UserError(
                    f"{path} line {line_no}: expected a JSON object per line; pass the "
                    "tracks.jsonl of a run"
                )
            yield record
