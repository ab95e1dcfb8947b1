"""The real suite played both ways: every tracker on each sequence forward and last frame first.

Run from the repository root (needs BoxMOT's venv, like ``bench/compare_trackers.py``)::

    python bench/reversed.py [--out bench/results/reversed.md]

A sequence played backwards is another association problem on the same real detections and
ground truth: the same people, boxes and occlusions met in the opposite order. mplt's defaults
were chosen on the forward sequences (``bench/tracker_lab.py``); the reversed ones are as
unseen as footage outside the repository can be here, so a setting that wins both ways is
trusted, one that wins only forward is not. mplt is replayed by ``tracker_lab.replay`` on its
recorded detections (the same scores as ``mplt track``; ``--reverse`` there does the same),
ByteTrack / OC-SORT / BoT-SORT (BoxMOT) and DeepSORT (``deep-sort-realtime``, mplt's colour
features) get the sequence's detection file with its frames renumbered ``n + 1 - f``, and
everything is scored against the ground truth renumbered alike (:func:`tracker_lab.reversed_gt`).
The other trackers run only on the sequences with their own detection file (the uncalibrated,
height-auto and height-unknown PETS rows share their boxes with the calibrated ones).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from pathlib import Path

import compare_trackers as ct
import deepsort_runner
import numpy as np
import tracker_lab as lab

from mplt.eval import run_eval

FIELD = ("ByteTrack", "OC-SORT", "BoT-SORT", "DeepSORT + app")


def _reversed_detections(seq: ct.Sequence, tmp: Path) -> tuple[Path, Path]:
    """``seq``'s detection file with frames renumbered last first, and its colour features
    (``.npy``) in the same row order."""
    det = tmp / "det-reversed.txt"
    order = lab.reversed_mot(seq.det, seq.frames, det)
    features = tmp / "features-reversed.npy"
    np.save(features, np.load(ct.embeddings(seq))[order])
    return det, features


def _score(seq: ct.Sequence, gt: Path, pred: Path) -> tuple[float, float, int]:
    c = run_eval(gt, pred, width=seq.width if seq.panorama else None).to_dict()["combined"]
    return 100 * c["HOTA"], 100 * c["IDF1"], int(c["IDSW"])


def _field(seq: ct.Sequence, label: str, det: Path, features: Path, out: Path) -> Path:
    """One of :data:`FIELD` on ``det`` (with ``features`` for DeepSORT) into ``out``."""
    if label == "DeepSORT + app":
        deepsort_runner.run(det, features, out, seq.frames)
        return out
    tracker = next(t for t in ct.TRACKERS if t.label == label)
    ct.run_boxmot(tracker, dataclasses.replace(seq, det=det), out)
    return out


def _cell(score: tuple[float, float, float]) -> str:
    """HOTA / IDF1 / ID switches; a mean's switches with one decimal."""
    idsw = score[2] if isinstance(score[2], int) else f"{score[2]:.1f}"
    return f"{score[0]:.1f} / {score[1]:.1f} / {idsw}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ct.ROOT / "bench/results/reversed.md")
    args = parser.parse_args()
    started = time.perf_counter()
    rows: list[tuple[str, dict[str, tuple]]] = []
    done_field: set[tuple[Path, int]] = set()
    for seq in ct.real_suite():
        scores: dict[str, tuple] = {}
        with tempfile.TemporaryDirectory() as tmp_name:
            tmp = Path(tmp_name)
            gt_back = lab.reversed_gt(seq, tmp / "gt-reversed.txt")
            for label, finish in (("mplt", False), ("mplt, finished", True)):
                pair = []
                for backwards, gt in ((False, seq.gt), (True, gt_back)):
                    pred = tmp / f"mplt-{backwards}-{finish}" / "tracks.txt"
                    pred.parent.mkdir()
                    pred = lab.replay(seq, [], [], pred, finish, reverse=backwards)
                    pair.append(_score(seq, gt, pred))
                scores[label] = tuple(pair)
            if (seq.det, seq.width) not in done_field:
                done_field.add((seq.det, seq.width))
                det_back, features_back = _reversed_detections(seq, tmp)
                for label in FIELD:
                    forward = _field(seq, label, seq.det, ct.embeddings(seq), tmp / "f.txt")
                    backward = _field(seq, label, det_back, features_back, tmp / "r.txt")
                    scores[label] = (_score(seq, seq.gt, forward), _score(seq, gt_back, backward))
        rows.append((seq.label, scores))
        print(
            seq.label,
            " | ".join(f"{k} {_cell(v[0])} -> {_cell(v[1])}" for k, v in scores.items()),
            flush=True,
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(_report(rows, time.perf_counter() - started))
    print(f"wrote {args.out}")
    return 0


def _report(rows: list[tuple[str, dict[str, tuple]]], seconds: float) -> str:
    lines = [
        "# The real suite forward and reversed",
        "",
        f"Written by `python bench/reversed.py` ({seconds:.0f} s on this machine: 2 CPU cores, "
        "no GPU). HOTA / IDF1 / ID switches in %, streaming `tracks.txt` unless said; "
        "'reversed': the same sequence and detections played last frame first (see the "
        "script's docstring). 'best of the field': the best figure of ByteTrack, OC-SORT, "
        "BoT-SORT (BoxMOT 25.0.0, appearance off) and DeepSORT with mplt's colour features in "
        "each column, so not one tracker; '-' where the sequence shares its boxes with the row "
        "above it.",
        "",
        "| sequence | mplt forward | mplt reversed | finished forward | finished reversed "
        "| best of the field forward | best of the field reversed |",
        "|---|---|---|---|---|---|---|",
    ]
    means = {"mplt": ([], []), "mplt, finished": ([], [])}
    for label, scores in rows:
        best = []
        for direction in (0, 1):
            field = [scores[k][direction] for k in FIELD if k in scores]
            best.append(
                _cell(
                    (
                        max(s[0] for s in field),
                        max(s[1] for s in field),
                        min(s[2] for s in field),
                    )
                )
                if field
                else "-"
            )
        for key in means:
            means[key][0].append(scores[key][0])
            means[key][1].append(scores[key][1])
        lines.append(
            f"| {label} | {_cell(scores['mplt'][0])} | {_cell(scores['mplt'][1])} "
            f"| {_cell(scores['mplt, finished'][0])} | {_cell(scores['mplt, finished'][1])} "
            f"| {best[0]} | {best[1]} |"
        )
    mean = {k: [np.mean(v[d], axis=0) for d in (0, 1)] for k, v in means.items()}
    lines.append(
        f"| mean | {_cell(mean['mplt'][0])} | {_cell(mean['mplt'][1])} "
        f"| {_cell(mean['mplt, finished'][0])} | {_cell(mean['mplt, finished'][1])} | | |"
    )
    lines += ["", "Each tracker of the field, forward -> reversed:", ""]
    lines += ["| sequence | " + " | ".join(FIELD) + " |", "|---|" + "---|" * len(FIELD)]
    for label, scores in rows:
        if FIELD[0] in scores:
            cells = [f"{_cell(scores[k][0])} → {_cell(scores[k][1])}" for k in FIELD]
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
