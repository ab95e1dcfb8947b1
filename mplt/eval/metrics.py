"""The metric engine: TrackEval's HOTA, CLEAR and Identity, fed with data built here.

No metric is computed here: this module builds, per sequence, the per-frame data dict that
TrackEval's ``eval_sequence`` methods read (IDs relabelled to ``0..n-1``, IoU similarity
matrices from :mod:`mplt.eval.matching`, seam-aware when a width is given), runs the three
metric classes, combines sequences with their ``combine_sequences``, and flattens the result.

Conventions of the flat metrics dict (see :func:`summarize`): ratios are fractions in [0, 1]
(``MOTP`` and ``LocA`` are mean IoUs, higher is better); HOTA, DetA, AssA and LocA are means
over TrackEval's 19 localisation thresholds 0.05..0.95; counts are ints.

Ground-plane error: per frame, ground-truth and predicted boxes are matched one-to-one by a
Hungarian assignment maximising the summed IoU over pairs with IoU >= ``iou_threshold``
(:func:`mplt.eval.matching.match_pairs`; track IDs play no part, unlike CLEAR's matching, which
prefers to continue last frame's matches). Pairs whose two sides both have a ground position
contribute ``|xy_gt - xy_pred|`` in metres; the report gives their median, 90th percentile
(linear interpolation), mean and count.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from trackeval.metrics import CLEAR, HOTA, Identity

from core.errors import UserError
from mplt.eval.matching import ground_errors, match_pairs, similarity
from mplt.eval.report import EvalReport
from mplt.eval.sequences import MotTable, check_geometry, find_sequences, read_table

#: IoU at which predictions are matched to distractors before scoring (TrackEval's value).
DISTRACTOR_IOU = 0.5


@dataclass(frozen=True)
class SequenceResult:
    """TrackEval's raw results for one sequence (or several combined) plus our extras.

    Attributes:
        raw: metric class name (``"HOTA"``, ``"CLEAR"``, ``"Identity"``) -> TrackEval result.
        gt_ids: number of distinct evaluated ground-truth IDs.
        pred_ids: number of distinct predicted IDs that were scored.
        frames: number of frames (time steps).
        ground_errors: ``(K,)`` float64 metres, one per matched pair with both positions.
    """

    raw: dict[str, dict[str, Any]]
    gt_ids: int
    pred_ids: int
    frames: int
    ground_errors: np.ndarray


def build_metrics(iou_threshold: float = 0.5) -> tuple[HOTA, CLEAR, Identity]:
    """TrackEval metric objects; CLEAR and Identity match at IoU >= ``iou_threshold``."""
    return (
        HOTA(),
        CLEAR({"THRESHOLD": iou_threshold, "PRINT_CONFIG": False}),
        Identity({"THRESHOLD": iou_threshold, "PRINT_CONFIG": False}),
    )


def _relabel(ids: list[np.ndarray]) -> tuple[list[np.ndarray], int]:
    """Per-frame ID arrays mapped to ``0..n-1`` over the whole sequence, and ``n``."""
    if not ids:
        return [], 0
    flat = np.concatenate(ids)
    unique, inverse = np.unique(flat, return_inverse=True)
    bounds = np.cumsum([len(x) for x in ids])[:-1]
    return [x.astype(int) for x in np.split(inverse, bounds)], len(unique)


def build_data(
    gt: MotTable, pred: MotTable, width: float | None, iou_threshold: float = 0.5
) -> tuple[dict[str, Any], np.ndarray]:
    """The data dict TrackEval's ``eval_sequence`` expects, and the ground-position errors.

    Frames run from the first (index 0) to the last frame seen in either file. Ground-truth
    rows that are not evaluated (conf 0, non-pedestrian class) are removed after predictions
    that match a distractor (IoU >= 0.5, Hungarian) have been dropped.

    Args:
        gt: ground truth.
        pred: predictions.
        width: panorama width in pixels for seam-aware IoU, or None.
        iou_threshold: smallest IoU of a pair used for the ground-position error.

    Returns:
        ``data`` with ``num_timesteps``, ``num_gt_ids``, ``num_tracker_ids``, ``num_gt_dets``,
        ``num_tracker_dets``, and per frame ``gt_ids``, ``tracker_ids`` (int arrays of IDs
        relabelled to ``0..n-1``) and ``similarity_scores`` (``(G_t, P_t)`` IoU); and the
        ``(K,)`` ground errors in metres.
    """
    last = max(gt.frames.max(initial=-1), pred.frames.max(initial=-1))
    steps = np.arange(last + 2)
    gt_bounds = np.searchsorted(gt.frames, steps)
    pred_bounds = np.searchsorted(pred.frames, steps)
    evaluated, distractor = gt.evaluated, gt.distractor
    with_ground = np.isfinite(gt.ground_xy).all(axis=1).any() and (
        np.isfinite(pred.ground_xy).all(axis=1).any()
    )
    gt_ids, pred_ids, sims, errors = [], [], [], []
    for t in range(last + 1):
        g = np.arange(gt_bounds[t], gt_bounds[t + 1])
        p = np.arange(pred_bounds[t], pred_bounds[t + 1])
        sim = similarity(gt.boxes[g], pred.boxes[p], width)
        if distractor[g].any():
            rows, cols = match_pairs(sim, DISTRACTOR_IOU)
            keep = np.ones(len(p), bool)
            keep[cols[distractor[g][rows]]] = False
            p, sim = p[keep], sim[:, keep]
        keep_gt = evaluated[g]
        g, sim = g[keep_gt], sim[keep_gt]
        if with_ground:
            rows, cols = match_pairs(sim, iou_threshold)
            errors.append(ground_errors(gt.ground_xy[g[rows]], pred.ground_xy[p[cols]]))
        gt_ids.append(gt.ids[g])
        pred_ids.append(pred.ids[p])
        sims.append(sim)
    gt_ids, num_gt_ids = _relabel(gt_ids)
    pred_ids, num_pred_ids = _relabel(pred_ids)
    data = {
        "num_timesteps": int(last + 1),
        "num_gt_ids": num_gt_ids,
        "num_tracker_ids": num_pred_ids,
        "num_gt_dets": int(sum(len(x) for x in gt_ids)),
        "num_tracker_dets": int(sum(len(x) for x in pred_ids)),
        "gt_ids": gt_ids,
        "tracker_ids": pred_ids,
        "similarity_scores": sims,
    }
    return data, np.concatenate(errors) if errors else np.zeros(0)


def evaluate_sequence(
    gt: MotTable,
    pred: MotTable,
    *,
    width: float | None = None,
    iou_threshold: float = 0.5,
    metrics: tuple[HOTA, CLEAR, Identity] | None = None,
) -> SequenceResult:
    """Score one sequence with TrackEval's metrics.

    Args:
        gt: ground truth.
        pred: predictions.
        width: panorama width in pixels for seam-aware IoU, or None.
        iou_threshold: IoU of a match for CLEAR, Identity and the ground error.
        metrics: metric objects from :func:`build_metrics` (made here when None).
    """
    metrics = metrics or build_metrics(iou_threshold)
    data, errors = build_data(gt, pred, width, iou_threshold)
    raw = {m.get_name(): m.eval_sequence(data) for m in metrics}
    return SequenceResult(
        raw, data["num_gt_ids"], data["num_tracker_ids"], data["num_timesteps"], errors
    )


def combine(
    results: dict[str, SequenceResult], metrics: tuple[HOTA, CLEAR, Identity]
) -> SequenceResult:
    """Combine sequences with TrackEval's ``combine_sequences``; IDs and errors are pooled.

    Reports run this on a single sequence too, so that every row's ratios are computed from
    its summed counts the same way (TrackEval's ``eval_sequence`` leaves them 0 when a
    sequence has no ground truth or no predictions).
    """
    raw = {
        m.get_name(): m.combine_sequences({k: r.raw[m.get_name()] for k, r in results.items()})
        for m in metrics
    }
    return SequenceResult(
        raw,
        sum(r.gt_ids for r in results.values()),
        sum(r.pred_ids for r in results.values()),
        sum(r.frames for r in results.values()),
        np.concatenate([r.ground_errors for r in results.values()] + [np.zeros(0)]),
    )


def _ground_summary(errors: np.ndarray) -> dict[str, float | int] | None:
    if len(errors) == 0:
        return None
    return {
        "count": len(errors),
        "median_m": float(np.median(errors)),
        "p90_m": float(np.percentile(errors, 90)),
        "mean_m": float(np.mean(errors)),
    }


def summarize(result: SequenceResult) -> dict[str, Any]:
    """The flat, JSON-ready metrics of a result from :func:`combine`.

    Keys: ``HOTA, DetA, AssA, LocA, MOTA, MOTP, IDF1, IDP, IDR, precision, recall`` (floats),
    ``IDSW, FP, FN, TP, MT, PT, ML, Frag, gt_ids, pred_ids, gt_dets, pred_dets, frames``
    (ints) and ``ground_error`` (``{count, median_m, p90_m, mean_m}``, or None when no matched
    pair has ground positions on both sides).
    """
    hota, clear, ident = result.raw["HOTA"], result.raw["CLEAR"], result.raw["Identity"]
    out: dict[str, Any] = {k: float(np.mean(hota[k])) for k in ("HOTA", "DetA", "AssA", "LocA")}
    out.update({k: float(clear[k]) for k in ("MOTA", "MOTP")})
    out.update({k: float(ident[k]) for k in ("IDF1", "IDP", "IDR")})
    out["precision"], out["recall"] = float(clear["CLR_Pr"]), float(clear["CLR_Re"])
    tp, fp, fn = (int(clear[k]) for k in ("CLR_TP", "CLR_FP", "CLR_FN"))
    out.update(IDSW=int(clear["IDSW"]), FP=fp, FN=fn, TP=tp)
    out.update({k: int(clear[k]) for k in ("MT", "PT", "ML", "Frag")})
    out.update(
        gt_ids=result.gt_ids,
        pred_ids=result.pred_ids,
        gt_dets=tp + fn,
        pred_dets=tp + fp,
        frames=result.frames,
        ground_error=_ground_summary(result.ground_errors),
    )
    return out


def run_eval(
    gt: str | Path,
    pred: str | Path,
    *,
    width: float | None = None,
    iou_threshold: float = 0.5,
) -> EvalReport:
    """Evaluate tracking output against ground truth (one sequence or many).

    Args:
        gt: ground-truth MOT file or directory of sequences (see :mod:`mplt.eval.sequences`).
        pred: run directory of ``mplt track``, MOT file, or directory of per-sequence files.
        width: panorama width in pixels for seam-aware matching of every sequence; None reads
            it from each run's ``summary.json`` (camera model ``equirect``), else plain IoU.
        iou_threshold: IoU of a match for CLEAR, Identity and the ground error, in (0, 1].

    Returns:
        Per-sequence and combined metrics.

    Raises:
        UserError: missing or malformed inputs, or a threshold outside (0, 1].
    """
    if not 0.0 < iou_threshold <= 1.0:
        raise UserError(f"IoU threshold {iou_threshold} is outside (0, 1]; pass e.g. 0.5")
    files = find_sequences(gt, pred, width)
    metrics = build_metrics(iou_threshold)
    results = {}
    for f in files:
        truth, predicted = read_table(f.gt), read_table(f.pred, predictions=True)
        check_geometry(truth, f, "ground truth")
        check_geometry(predicted, f, "predictions")
        results[f.name] = evaluate_sequence(
            truth, predicted, width=f.width, iou_threshold=iou_threshold, metrics=metrics
        )
    widths = {f.width for f in files}
    return EvalReport(
        sequences={
            f.name: {**summarize(combine({f.name: results[f.name]}, metrics)), "width": f.width}
            for f in files
        },
        combined=summarize(combine(results, metrics)),
        width=width if width is not None else (widths.pop() if len(widths) == 1 else None),
        iou_threshold=iou_threshold,
    )
