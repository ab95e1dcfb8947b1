"""MOTChallenge text files: ``frame,id,left,top,width,height,conf,x,y,z`` per line.

File conventions (MOTChallenge 2D MOT 2015, as TrackEval and py-motmetrics read them):

* ``frame`` is 1-based (code frame index + 1).
* ``left, top`` are 1-based pixels: the top-left pixel's corner is (1, 1), so a box with
  0-based continuous corner ``(x1, y1)`` is written as ``(x1 + 1, y1 + 1)``.
* ``width, height`` come from the box as stored in the code. On a panorama a box that crosses
  the seam is stored unwrapped, so its row has ``left + width > W + 1`` (the part beyond the
  right edge continues at column 1). Seam-aware evaluation must wrap it; naive readers see a box
  that sticks out of the right edge, which only clips it.
* ``x, y, z`` is the ground position in metres (z = 0 on the ground plane), ``-1, -1, -1`` when
  unknown. Detection files use ``id = -1``.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np

from core.errors import UserError
from core.types import Detections, Tracks
from mplt.io.files import FrameLineWriter

#: Columns of a full MOTChallenge row.
MOT_COLUMNS = ("frame", "id", "left", "top", "width", "height", "conf", "x", "y", "z")
#: Value written for an unknown ground coordinate.
UNKNOWN = -1.0


def format_mot_rows(frame_index: int, tracks: Tracks) -> str:
    """The MOT text of one frame's tracks (one line per track, each ending in a newline).

    Boxes are written with 2 decimals, confidences with 3, ground positions with 3 (mm).
    """
    if len(tracks) == 0:
        return ""
    boxes = tracks.boxes
    left_top = boxes[:, :2] + 1.0
    size = boxes[:, 2:] - boxes[:, :2]
    known = np.isfinite(tracks.ground_xy).all(axis=1)
    lines = []
    for i in range(len(tracks)):
        ground = (
            f"{tracks.ground_xy[i, 0]:.3f},{tracks.ground_xy[i, 1]:.3f},0"
            if known[i]
            else "-1,-1,-1"
        )
        lines.append(
            f"{frame_index + 1},{tracks.ids[i]},{left_top[i, 0]:.2f},{left_top[i, 1]:.2f},"
            f"{size[i, 0]:.2f},{size[i, 1]:.2f},{tracks.scores[i]:.3f},{ground}\n"
        )
    return "".join(lines)


class MotWriter(FrameLineWriter):
    """Writes tracks to a MOTChallenge file frame by frame; use as a context manager.

    Every :meth:`write` emits the frame's rows in a single write call and flushes. The writer
    writes every track it is given; choosing which states to report is the caller's job.
    """

    def write(self, frame_index: int, tracks: Tracks) -> None:
        """Append the rows of one frame.

        Args:
            frame_index: 0-based frame index (written as ``frame_index + 1``).
            tracks: the tracks to write; M = 0 writes nothing.
        """
        self._append(format_mot_rows(frame_index, tracks))


def read_mot_rows(path: str | Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Like :func:`read_mot`, plus each row's column count and line number.

    Returns:
        rows (R, 10) float64 padded as in :func:`read_mot`; ncols (R,) int64, the number of
        columns the line had (9 = MOT16/17 class and visibility, 10 = ground position);
        line_numbers (R,) int64, 1-based, for error messages.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"MOT file {path} does not exist; pass an existing frame,id,left,... file")
    rows: list[list[float]] = []
    ncols: list[int] = []
    line_numbers: list[int] = []
    try:
        text_lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise UserError(
            f"MOT file {path} is not a text file (not UTF-8); pass a comma-separated "
            "frame,id,left,top,width,height,conf[,x,y,z] file"
        ) from None
    except OSError as exc:
        raise UserError(f"cannot read MOT file {path} ({exc.strerror}); check the path") from None
    if any("\x00" in line for line in text_lines):
        raise UserError(
            f"MOT file {path} holds NUL bytes (a binary or damaged file); pass a "
            "comma-separated frame,id,left,top,width,height,conf[,x,y,z] file"
        )
    for line_no, line in enumerate(text_lines, start=1):
        text = line.strip()
        if not text:
            continue
        fields = [f.strip() for f in text.split(",")]
        if len(fields) < 6:
            raise UserError(
                f"{path} line {line_no}: {len(fields)} columns, need at least 6 "
                "(frame,id,left,top,width,height[,conf,x,y,z]); fix or regenerate the file"
            )
        try:
            values = [float(f) for f in fields[:10]]
        except ValueError:
            bad = next(f for f in fields[:10] if not _is_float(f))
            raise UserError(
                f"{path} line {line_no}: {bad!r} is not a number; "
                "MOT files hold comma-separated numbers only"
            ) from None
        if not all(math.isfinite(v) for v in values[:7]):
            raise UserError(
                f"{path} line {line_no}: frame, id, box and conf must be finite numbers "
                "(not nan or inf); fix or remove the line"
            )
        frame = values[0]
        if frame < 1 or frame != int(frame):
            raise UserError(
                f"{path} line {line_no}: frame {fields[0]} is not an integer >= 1; "
                "MOT frames are numbered from 1 (add 1 to 0-based frame numbers)"
            )
        if values[4] < 0 or values[5] < 0:
            raise UserError(
                f"{path} line {line_no}: negative box width or height; MOT boxes are "
                "left,top,width,height (convert x1,y1,x2,y2 boxes to width and height)"
            )
        ncols.append(len(fields))
        line_numbers.append(line_no)
        rows.append(values + [1.0] * (len(values) < 7) + [UNKNOWN] * (10 - max(len(values), 7)))
    if not rows:
        return np.zeros((0, 10)), np.zeros(0, np.int64), np.zeros(0, np.int64)
    return (
        np.asarray(rows, np.float64),
        np.asarray(ncols, np.int64),
        np.asarray(line_numbers, np.int64),
    )


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_mot(path: str | Path) -> np.ndarray:
    """Read and validate a MOTChallenge file.

    Lines may have 6 to 10 (or more) comma-separated numbers; missing ``conf`` becomes 1 and
    missing ``x, y, z`` become -1; columns beyond the tenth are ignored. Blank lines are skipped.

    Returns:
        (R, 10) float64 rows in file order and file conventions (1-based frames and pixels).

    Raises:
        UserError: the file is missing, or a line has fewer than 6 columns, a non-numeric or
            non-finite value, a frame that is not an integer >= 1, or a negative box size; the
            message names the line number.
    """
    return read_mot_rows(path)[0]


def read_mot_detections(path: str | Path, frame_count: int | None = None) -> dict[int, Detections]:
    """Read a MOT detection (or ground-truth) file into per-frame :class:`Detections`.

    The id column is ignored. Boxes are converted back to 0-based continuous ``xyxy``; conf
    becomes ``scores``. A row's ground position is used only when the file has all ten columns
    and ``x, y, z`` are not all -1 (the MOT "unknown" marker); its covariance stays NaN (the
    file carries none). Nine-column files (MOT16/17 class and visibility) have no positions.

    Args:
        path: MOT text file.
        frame_count: when given, frames ``0 .. frame_count - 1`` without rows map to empty
            Detections and rows of later frames are dropped (e.g. a run limited by max frames).

    Returns:
        0-based frame index -> Detections (with ``frame_index`` set), in frame order.
    """
    rows, ncols, _ = read_mot_rows(path)
    return _to_detections(rows, ncols, frame_count)


def _to_detections(
    rows: np.ndarray, ncols: np.ndarray, frame_count: int | None
) -> dict[int, Detections]:
    frames = rows[:, 0].astype(np.int64) - 1
    if frame_count is not None:
        keep = frames < frame_count
        rows, ncols, frames = rows[keep], ncols[keep], frames[keep]
    x1y1 = rows[:, 2:4] - 1.0
    boxes = np.concatenate([x1y1, x1y1 + rows[:, 4:6]], axis=1)
    unknown = (rows[:, 7:10] == UNKNOWN).all(axis=1) | (ncols < 10)
    ground = np.where(unknown[:, None], np.nan, rows[:, 7:9])

    order = np.argsort(frames, kind="stable")
    frames, boxes, scores, ground = frames[order], boxes[order], rows[order, 6], ground[order]
    unique, first = np.unique(frames, return_index=True)
    bounds = np.append(first, len(frames))
    result: dict[int, Detections] = {}
    all_frames = range(frame_count) if frame_count is not None else unique.tolist()
    starts = dict(zip(unique.tolist(), itertools.pairwise(bounds), strict=True))
    for frame in all_frames:
        if frame not in starts:
            result[frame] = Detections.empty(frame_index=frame)
            continue
        lo, hi = starts[frame]
        n = hi - lo
        result[frame] = Detections(
            boxes=boxes[lo:hi],
            scores=scores[lo:hi],
            ground_xy=ground[lo:hi],
            ground_cov=np.full((n, 2, 2), np.nan),
            frame_index=frame,
        )
    return result


def read_checked_detections(
    path: str | Path,
    size: tuple[int, int],
    *,
    frame_limit: int | None,
    allow_empty: bool = False,
) -> dict[int, Detections]:
    """:func:`read_mot_detections` for a video: every row must make sense for its frames.

    A box must overlap the frame; on a panorama one that crosses the seam runs past the
    right edge, which that allows.

    Args:
        path: MOT detection file.
        size: (width, height) of the video's frames, pixels.
        frame_limit: the last frame (1-based) a row may name, or None when the video's
            length is unknown.
        allow_empty: a file without rows is accepted (a video without people).

    Raises:
        UserError: no rows (unless ``allow_empty``), a confidence outside [0, 1], an empty
            box, a box larger than the frame or not overlapping it, or a frame beyond the
            video; the message names the first such line and what to do.
    """
    rows, ncols, line_numbers = read_mot_rows(path)
    if len(rows) == 0 and not allow_empty:
        raise UserError(
            f"detections file {path} has no rows; pass the detections of this video, or "
            "--allow-empty-detections if nobody is in it"
        )
    width, height = size
    left, top = rows[:, 2] - 1.0, rows[:, 3] - 1.0
    w, h, conf = rows[:, 4], rows[:, 5], rows[:, 6]
    checks = [
        (
            (conf < 0) | (conf > 1),
            "confidence {conf:g} is outside [0, 1]; rescale the scores to 0..1",
        ),
        ((w == 0) | (h == 0), "the box is empty (width or height 0); remove the line"),
        (
            (w > width) | (h > height),
            f"a {{w:g}} x {{h:g}} box is larger than the {width}x{height} frame; give boxes in "
            "pixels of this video",
        ),
        (
            (left + w <= 0) | (left >= width) | (top + h <= 0) | (top >= height),
            f"the box at left {{left1:g}}, top {{top1:g}} lies outside the {width}x{height} "
            "frame; give boxes in 1-based pixels of this video",
        ),
    ]
    if frame_limit is not None:
        checks.append(
            (
                rows[:, 0] > frame_limit,
                f"frame {{frame:g}} is beyond the end of the video ({frame_limit} frames); pass "
                "the detections of this video (frames from 1)",
            )
        )
    for bad, message in checks:
        if bad.any():
            i = int(np.argmax(bad))
            detail = message.format(
                conf=conf[i], w=w[i], h=h[i], left1=rows[i, 2], top1=rows[i, 3], frame=rows[i, 0]
            )
            raise UserError(f"{path} line {line_numbers[i]}: {detail}")
    return _to_detections(rows, ncols, None)
