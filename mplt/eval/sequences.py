"""Finding and reading ground-truth and prediction files, one sequence or many.

Supported inputs (sequences are paired by name):

* Ground truth, ``gt``:
    - a MOT text file: one sequence, named after ``<seq>`` in ``<seq>/gt/gt.txt`` or
      ``<seq>/gt.txt``, else after the file's stem;
    - a directory holding ``gt/gt.txt`` (one MOTChallenge sequence folder);
    - a directory of sequences, each as ``<seq>/gt/gt.txt`` (MOTChallenge), ``<seq>/gt.txt``
      (py-motmetrics' data layout) or ``<seq>.txt`` (flat).
* Predictions, ``pred``:
    - a MOT text file, or a run directory of ``mplt track`` (its ``tracks.txt``): one sequence;
    - a directory holding, per sequence, ``<seq>.txt``, ``<seq>/tracks.txt`` (a run directory
      per sequence) or ``data/<seq>.txt`` (TrackEval's tracker folder).

A ground-truth sequence without predictions is an error naming it (an empty prediction file
is the way to score a sequence with no output: all misses). Prediction files for sequences
without ground truth are ignored.

Rows and columns (files are read with :func:`mplt.io.mot.read_mot_rows`, which validates them):

* Ground-truth rows with ``conf == 0`` (MOTChallenge's "ignore") are not evaluated.
* Nine-column rows are MOT16/17/20 ground truth ``...,conf,class,visibility``: only class 1
  (pedestrian) is evaluated, and predictions matching a distractor (classes 2 person on
  vehicle, 7 static person, 8 distractor, 12 reflection) are dropped, as TrackEval does.
* Rows with ten or more columns carry a ground position ``x, y`` in metres (columns 8-9);
  ``x = y = -1`` means unknown. Other rows have no position.
* Prediction confidences are not used; IDs must be integers, unique within a frame.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import UserError
from mplt.eval.matching import mot_boxes
from mplt.io.mot import UNKNOWN, read_mot_rows

#: MOT16/17/20 class of the people that are evaluated.
PEDESTRIAN = 1
#: MOT16/17/20 classes whose matching predictions are neither TP nor FP.
DISTRACTORS = (2, 7, 8, 12)
#: Value of :attr:`MotTable.classes` for rows without a class column.
NO_CLASS = -1


@dataclass(frozen=True)
class MotTable:
    """The rows of one MOT file, in code conventions, sorted by frame (stable).

    Attributes:
        frames: ``(R,)`` int64 0-based frame indices.
        ids: ``(R,)`` int64 track / object IDs as in the file.
        boxes: ``(R, 4)`` float64 ``xyxy`` 0-based continuous pixels (seam-unwrapped as stored).
        conf: ``(R,)`` float64 the file's confidence column (ground truth: 0 = ignore).
        classes: ``(R,)`` int64 MOT16/17/20 class, :data:`NO_CLASS` where the row has none.
        ground_xy: ``(R, 2)`` float64 metres; NaN where unknown.
        path: the file it came from (for messages).
    """

    frames: np.ndarray
    ids: np.ndarray
    boxes: np.ndarray
    conf: np.ndarray
    classes: np.ndarray
    ground_xy: np.ndarray
    path: Path

    def __len__(self) -> int:
        return len(self.frames)

    @property
    def evaluated(self) -> np.ndarray:
        """``(R,)`` bool: ground-truth rows that count (conf != 0, pedestrian or no class)."""
        return (self.conf != 0) & ((self.classes == NO_CLASS) | (self.classes == PEDESTRIAN))

    @property
    def distractor(self) -> np.ndarray:
        """``(R,)`` bool: ground-truth rows of a MOTChallenge distractor class."""
        return np.isin(self.classes, DISTRACTORS)


@dataclass(frozen=True)
class SequenceFiles:
    """One sequence to evaluate.

    Attributes:
        name: sequence name.
        gt: ground-truth MOT file.
        pred: prediction MOT file.
        width: panorama width in pixels for seam-aware matching, or None (plain IoU).
        frame: (width, height) of the frames the predictions were made on (a run's
            ``summary.json``), or None when unknown.
    """

    name: str
    gt: Path
    pred: Path
    width: float | None
    frame: tuple[int, int] | None = None


def read_table(path: str | Path, *, predictions: bool = False) -> MotTable:
    """Read a MOT file (ground truth or predictions) into a :class:`MotTable`.

    With ``predictions``, rows with a negative ID (mplt's tentative tracks, written with
    ``output.write_tentative``) are left out: they are not identities yet.

    Raises:
        UserError: the file is missing or malformed (line number named), an ID is not an
            integer, or an ID appears twice in one frame.
    """
    path = Path(path)
    rows, ncols, line_numbers = read_mot_rows(path)
    if predictions:
        keep = rows[:, 1] >= 0
        rows, line_numbers, ncols = rows[keep], line_numbers[keep], ncols[keep]
    ids = rows[:, 1]
    bad = np.flatnonzero(ids != np.round(ids))
    if len(bad):
        raise UserError(
            f"{path} line {line_numbers[bad[0]]}: id {ids[bad[0]]:g} is not an integer; "
            "MOT track IDs are whole numbers"
        )
    order = np.argsort(rows[:, 0], kind="stable")
    rows, ncols, line_numbers = rows[order], ncols[order], line_numbers[order]
    frames = rows[:, 0].astype(np.int64) - 1
    ids = rows[:, 1].astype(np.int64)
    pairs = np.stack([frames, ids], axis=1)
    _, first, counts = np.unique(pairs, axis=0, return_index=True, return_counts=True)
    if (counts > 1).any():
        dup = pairs[first[np.argmax(counts > 1)]]
        lines = line_numbers[(pairs == dup).all(axis=1)]
        raise UserError(
            f"{path} lines {', '.join(map(str, lines))}: id {dup[1]} appears more than once in "
            f"frame {dup[0] + 1}; IDs must be unique within a frame (write confirmed tracks only)"
        )
    classes = np.where(ncols == 9, np.round(rows[:, 7]), NO_CLASS).astype(np.int64)
    unknown = (ncols < 10) | ((rows[:, 7] == UNKNOWN) & (rows[:, 8] == UNKNOWN))
    return MotTable(
        frames=frames,
        ids=ids,
        boxes=mot_boxes(rows),
        conf=rows[:, 6].copy(),
        classes=classes,
        ground_xy=np.where(unknown[:, None], np.nan, rows[:, 7:9]),
        path=path,
    )


def _single_name(path: Path) -> str:
    """Sequence name of a lone ground-truth file: ``<seq>/gt/gt.txt``, ``<seq>/gt.txt`` or stem."""
    if path.name == "gt.txt":
        parent = path.parent
        return parent.parent.name if parent.name == "gt" and parent.parent.name else parent.name
    return path.stem


def find_ground_truth(gt: str | Path) -> dict[str, Path]:
    """Ground-truth files by sequence name (see the module doc for the layouts).

    Raises:
        UserError: ``gt`` does not exist, holds no sequence, or names one sequence twice.
    """
    gt = Path(gt)
    if gt.is_file():
        return {_single_name(gt): gt}
    if not gt.is_dir():
        raise UserError(
            f"ground truth {gt} does not exist; pass a MOT file or a directory of sequences"
        )
    if (gt / "gt" / "gt.txt").is_file():
        return {gt.name: gt / "gt" / "gt.txt"}
    found: dict[str, Path] = {}
    for child in sorted(gt.iterdir()):
        if child.is_dir():
            candidates = [child / "gt" / "gt.txt", child / "gt.txt"]
            path = next((c for c in candidates if c.is_file()), None)
        else:
            path = child if child.suffix == ".txt" else None
        if path is None:
            continue
        name = child.name if child.is_dir() else child.stem
        if name in found:
            raise UserError(
                f"sequence {name!r} has two ground-truth files in {gt} ({found[name]} and "
                f"{path}); keep one of them"
            )
        found[name] = path
    if not found:
        raise UserError(
            f"no ground truth in {gt}; expected <seq>/gt/gt.txt, <seq>/gt.txt or <seq>.txt files"
        )
    return found


def _prediction(pred: Path, name: str, single: bool) -> Path | None:
    """The prediction file of sequence ``name`` under ``pred``, or None."""
    if pred.is_file():
        return pred
    candidates = [pred / "tracks.txt"] if single else []
    candidates += [pred / f"{name}.txt", pred / name / "tracks.txt", pred / "data" / f"{name}.txt"]
    return next((c for c in candidates if c.is_file()), None)


def _run_summary(pred_file: Path) -> dict[str, Any] | None:
    """The ``summary.json`` of the run ``pred_file`` (a ``tracks.txt``) belongs to, or None.

    Raises:
        UserError: the summary exists but is not valid JSON.
    """
    summary_path = pred_file.parent / "summary.json"
    if pred_file.name != "tracks.txt" or not summary_path.is_file():
        return None
    try:
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
    except ValueError:  # JSONDecodeError and UnicodeDecodeError
        raise UserError(
            f"{summary_path} is not valid JSON; pass the panorama width explicitly (--width) "
            "or rerun mplt track"
        ) from None
    return summary if isinstance(summary, dict) else None


def run_frame(pred_file: Path) -> tuple[int, int] | None:
    """(width, height) of the frames of the run ``pred_file`` belongs to, or None."""
    summary = _run_summary(pred_file) or {}
    source = summary.get("input")
    if not isinstance(source, dict):
        return None
    size = source.get("width"), source.get("height")
    if all(isinstance(v, int) and v > 0 for v in size):
        return int(size[0]), int(size[1])
    return None


def run_width(pred_file: Path) -> float | None:
    """Panorama width recorded by ``mplt track`` next to ``pred_file``, or None.

    A ``tracks.txt`` whose run directory has a ``summary.json`` with camera model
    ``equirect`` was made on a panorama ``input.width`` pixels wide.

    Raises:
        UserError: the summary exists but is not valid JSON.
    """
    camera = (_run_summary(pred_file) or {}).get("camera")
    frame = run_frame(pred_file)
    if not isinstance(camera, dict) or camera.get("model") != "equirect" or frame is None:
        return None
    return float(frame[0])


def check_geometry(table: MotTable, files: SequenceFiles, what: str) -> None:
    """Every box of ``table`` must start inside the frame the evaluation assumes.

    Ground truth of another resolution than the run's (or than ``--width``) would otherwise
    score as a run that missed everyone.

    Raises:
        UserError: a box starts right of or below the frame; names the frame number.
    """
    if files.frame is not None:
        width, height = files.frame
        source = f"the run's {width}x{height} frames (summary.json)"
    elif files.width is not None:
        width, height = files.width, files.width / 2
        source = f"the {files.width:g}x{files.width / 2:g} panorama of --width {files.width:g}"
    else:
        return
    # On a panorama a box may start beyond the right edge (written unwrapped, the seam), so
    # there only a box a whole frame width further right is out.
    right = 2 * width if files.width is not None else width
    outside = (table.boxes[:, 0] >= right) | (table.boxes[:, 1] >= height)
    if outside.any():
        i = int(np.argmax(outside))
        raise UserError(
            f"{what} {table.path} frame {table.frames[i] + 1}: a box at left "
            f"{table.boxes[i, 0] + 1:g}, top {table.boxes[i, 1] + 1:g} lies outside {source}; "
            f"pass the {what} of this video at its resolution (or the right --width)"
        )


def find_sequences(
    gt: str | Path, pred: str | Path, width: float | None = None
) -> list[SequenceFiles]:
    """Pair ground-truth and prediction files by sequence name and resolve each width.

    Width: ``width`` when given; else, when the predictions come from a run directory whose
    ``summary.json`` says camera model ``equirect``, that run's input width; else None.

    Args:
        gt: ground-truth file or directory.
        pred: prediction file, run directory, or directory of per-sequence predictions.
        width: panorama width in pixels for every sequence, or None to resolve per sequence.

    Returns:
        The sequences, sorted by name.

    Raises:
        UserError: a path is missing, a ground-truth sequence has no predictions, several
            sequences are given one prediction file, or ``width`` is not positive.
    """
    if width is not None and not width > 0:
        raise UserError(f"width {width} is not a positive number of pixels; pass the frame width")
    pred = Path(pred)
    if not pred.exists():
        raise UserError(
            f"predictions {pred} do not exist; pass a run directory of mplt track, a MOT file "
            "or a directory of <seq>.txt files"
        )
    truth = find_ground_truth(gt)
    single = len(truth) == 1
    if pred.is_file() and not single:
        raise UserError(
            f"{gt} holds {len(truth)} sequences but {pred} is one file; pass a directory with "
            "<seq>.txt or <seq>/tracks.txt per sequence"
        )
    pairs, missing = [], []
    for name, gt_file in sorted(truth.items()):
        pred_file = _prediction(pred, name, single)
        if pred_file is None:
            missing.append(name)
            continue
        frame = run_frame(pred_file)
        if width is not None and frame is not None and width != frame[0]:
            raise UserError(
                f"--width {width:g} does not match the {frame[0]}-pixel-wide frames of the run "
                f"{pred_file.parent}; leave --width out (the run's own width is used)"
            )
        seam_width = width if width is not None else run_width(pred_file)
        pairs.append(SequenceFiles(name, gt_file, pred_file, seam_width, frame))
    if missing and single:
        raise UserError(
            f"{pred} has no tracks.txt or {missing[0]}.txt; pass a run directory of mplt track "
            "or a MOT file"
        )
    if missing:
        raise UserError(
            f"no predictions for sequence(s) {', '.join(missing)} in {pred}; add <seq>.txt or "
            "<seq>/tracks.txt for each (an empty file scores as all misses)"
        )
    return pairs
