"""How far better identities alone could go: the same boxes with perfect IDs.

Run from the repository root, like ``bench/tracker_lab.py`` (same cache, same settings)::

    python bench/id_ceiling.py [--set key=value ...] [--out bench/results/id_ceiling.md]

For every sequence of the real suite the tracker is replayed (streaming and finished) and
its output is scored twice: as it is, and with every box that matches a ground-truth person
(per-frame Hungarian matching at IoU 0.5, seam-aware on panoramas) relabelled with that
person's ID; unmatched boxes keep IDs of their own. The second score is what a perfect
re-identification over the same boxes would reach, so ``ceiling - mplt`` bounds what any
association or appearance change (``mplt track --adapt`` included) can still win without
changing which boxes are output. A third line does the same for the detector's boxes
themselves, keeping only those that match someone: a perfect tracker that never
interpolates a missed frame.
"""

from __future__ import annotations

import argparse
import pickle
import sys
import tempfile
import time
from pathlib import Path

import compare_trackers as ct
import numpy as np
import tracker_lab as lab

from mplt.eval import run_eval
from mplt.eval.matching import match_pairs, similarity
from mplt.eval.sequences import MotTable, read_table


def write_rows(path: Path, frames: np.ndarray, ids: np.ndarray, boxes: np.ndarray) -> Path:
    """A MOT file of ``(R,)`` 0-based frames, ``(R,)`` IDs and ``(R, 4)`` xyxy pixel boxes
    (0-based, as :func:`read_table` gives them; MOT files count pixels from 1)."""
    order = np.lexsort((ids, frames))
    x, y = boxes[:, 0] + 1, boxes[:, 1] + 1
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    lines = [
        f"{frames[i] + 1},{ids[i]},{x[i]:.2f},{y[i]:.2f},{w[i]:.2f},{h[i]:.2f},1,-1,-1,-1\n"
        for i in order
    ]
    path.write_text("".join(lines))
    return path


def truth_ids(
    gt: MotTable, frames: np.ndarray, boxes: np.ndarray, width: float | None
) -> np.ndarray:
    """``(R,)`` the ground-truth ID each of the rows (0-based ``frames``, xyxy ``boxes``)
    matches in its frame, -1 where it matches nobody."""
    out = np.full(len(frames), -1, np.int64)
    keep = gt.evaluated
    for t in np.unique(frames):
        g = np.flatnonzero((gt.frames == t) & keep)
        p = np.flatnonzero(frames == t)
        if not len(g):
            continue
        rows, cols = match_pairs(similarity(gt.boxes[g], boxes[p], width), 0.5)
        out[p[cols]] = gt.ids[g[rows]]
    return out


def perfect_ids(pred: Path, gt: MotTable, width: float | None, out: Path) -> Path:
    """``pred`` with every matched box relabelled with its person's ID (others unique)."""
    table = read_table(pred, predictions=True)
    ids = truth_ids(gt, table.frames, table.boxes, width)
    free = ids < 0  # false positives stay, each with an ID no person has
    ids[free] = 10**6 + np.arange(free.sum())
    return write_rows(out, table.frames, ids, table.boxes)


def perfect_detections(seq: ct.Sequence, gt: MotTable, out: Path) -> Path:
    """The recorded detector boxes that match someone, with that person's ID."""
    data = pickle.loads(lab.record(seq).read_bytes())
    frames = np.concatenate([np.full(len(d), d.frame_index) for d in data["detections"]])
    boxes = np.concatenate([d.boxes for d in data["detections"]]).reshape(-1, 4)
    ids = truth_ids(gt, frames, boxes, seq.width if seq.panorama else None)
    hit = ids >= 0
    return write_rows(out, frames[hit], ids[hit], boxes[hit])


def score(gt: Path, pred: Path, seq: ct.Sequence) -> tuple[float, float, int]:
    c = run_eval(gt, pred, width=seq.width if seq.panorama else None).to_dict()["combined"]
    return 100 * c["HOTA"], 100 * c["IDF1"], int(c["IDSW"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--set", action="append", default=[], help="tracker.key=value")
    parser.add_argument("--only", nargs="*", help="sequence labels (LABEL/SEQ)")
    parser.add_argument("--out", type=Path, help="also write the table here (markdown)")
    args = parser.parse_args()
    sets = [s if s.split("=")[0].count(".") else f"tracker.{s}" for s in args.set]
    start = time.perf_counter()
    lines = [
        "| sequence | mplt | perfect IDs | mplt, finished | perfect IDs, finished "
        "| detector boxes, perfect IDs |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    gaps = []
    for seq in ct.real_suite():
        if args.only and seq.label not in args.only:
            continue
        width = seq.width if seq.panorama else None
        gt = read_table(seq.gt)
        cells = []
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            for finish in (False, True):
                (tmp / str(finish)).mkdir()
                pred = lab.replay(seq, sets, [], tmp / str(finish) / "tracks.txt", finish)
                best = perfect_ids(pred, gt, width, tmp / f"perfect-{finish}.txt")
                cells += [score(seq.gt, pred, seq), score(seq.gt, best, seq)]
            cells.append(score(seq.gt, perfect_detections(seq, gt, tmp / "det.txt"), seq))
        gaps.append([cells[1][1] - cells[0][1], cells[3][1] - cells[2][1]])
        row = " | ".join(f"{h:.1f} / {i:.1f} / {n}" for h, i, n in cells)
        lines.append(f"| {seq.label} | {row} |")
        print(lines[-1], flush=True)
    gap = np.mean(gaps, axis=0)
    summary = f"Mean IDF1 left to identities: {gap[0]:.1f} points streaming, {gap[1]:.1f} finished."
    print(summary)
    if args.out:
        header = (
            "# The same boxes with perfect identities\n\n"
            f"Written by `python bench/id_ceiling.py` ({time.perf_counter() - start:.0f} s); "
            "the real suite of `bench/compare_trackers.py`, mplt's defaults, replayed from "
            "`bench/tracker_lab.py`'s cache. Cells: HOTA / IDF1 / ID switches (%). 'perfect "
            "IDs': mplt's own output boxes, each one that matches a ground-truth person (IoU "
            "0.5, per-frame Hungarian, seam-aware) relabelled with that person's ID, the "
            "others kept as false positives: what perfect re-identification over the same "
            "boxes reaches. 'detector boxes, perfect IDs': the detector's boxes that match "
            "someone, with that person's ID and nothing interpolated. IDF1 is the measure here: "
            "the relabelling matches at IoU 0.5, HOTA averages over thresholds from 0.05 to "
            "0.95, so boxes that overlap their person less than 0.5 keep IDs of their own and "
            "the 'perfect' HOTA can fall below mplt's.\n\n"
        )
        args.out.write_text(header + "\n".join(lines) + f"\n\n{summary}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
