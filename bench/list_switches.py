"""Where the ID switches of a lab replay happen: one line per switch.

Run from the repository root, like ``bench/tracker_lab.py`` (same cache, same settings)::

    python bench/list_switches.py [--finish] [--pillar] [--people] [--only LABEL/SEQ ...] \
        [--set key=value ...]

Replays the tracker (and with ``--finish`` the offline finishing) on the real suite and
re-runs TrackEval's CLEAR matching on the output, keeping the original IDs. Each switch is
printed with its frame, the ground-truth ID, the predicted ID it had and the one it has now,
the frames since that person was last matched, and what the switch is: ``fragment`` (the new
ID starts here), ``swap`` (the new ID was matched to another person before) or ``resume``
(an ID seen before, not on another person); and whether the old ID is still alive at that
frame (``old alive``: someone else or nobody now carries it). ``--pillar``: the sequences of
``compare_trackers.pillar_suite`` instead, their boxes on the pillar not scored.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import compare_trackers as ct
import numpy as np
import tracker_lab as lab
from scipy.optimize import linear_sum_assignment

from mplt.eval.matching import similarity
from mplt.eval.sequences import read_table


def switches(gt_file: Path, pred_file: Path, width: float | None, threshold: float = 0.5):
    """CLEAR's matching (TrackEval's rule: continue last frame's pairs first), with the
    original IDs; yields (frame, gt id, old pred id, new pred id, gap frames, kind, old
    alive)."""
    gt = read_table(gt_file)
    pred = read_table(pred_file, predictions=True)
    last = int(max(gt.frames.max(initial=-1), pred.frames.max(initial=-1)))
    first_seen: dict[int, int] = {}
    for f, i in zip(pred.frames.tolist(), pred.ids.tolist(), strict=True):
        first_seen.setdefault(int(i), int(f))
    last_seen: dict[int, int] = {}
    for f, i in zip(pred.frames.tolist(), pred.ids.tolist(), strict=True):
        last_seen[int(i)] = int(f)
    prev: dict[int, int] = {}  # gt id -> pred id, last time matched
    prev_frame: dict[int, int] = {}
    prev_step: dict[int, int] = {}  # gt id -> pred id in the previous frame only
    owner: dict[int, int] = {}  # pred id -> gt id it was last matched to
    keep = gt.evaluated
    for t in range(last + 1):
        g = np.flatnonzero((gt.frames == t) & keep)
        p = np.flatnonzero(pred.frames == t)
        step: dict[int, int] = {}
        if len(g) and len(p):
            sim = similarity(gt.boxes[g], pred.boxes[p], width)
            gids, pids = gt.ids[g].astype(int), pred.ids[p].astype(int)
            cont = np.array([[prev_step.get(a) == b for b in pids] for a in gids])
            score = 1000 * cont + sim
            score[sim < threshold - np.finfo(float).eps] = 0
            rows, cols = linear_sum_assignment(-score)
            ok = score[rows, cols] > np.finfo(float).eps
            for r, c in zip(rows[ok].tolist(), cols[ok].tolist(), strict=True):
                a, b = int(gids[r]), int(pids[c])
                if a in prev and prev[a] != b:
                    old = prev[a]
                    if first_seen[b] == t:
                        kind = "fragment"
                    elif b in owner and owner[b] != a:
                        kind = f"swap(was gt {owner[b]})"
                    else:
                        kind = "resume"
                    alive = last_seen[old] >= t
                    yield t, a, old, b, t - prev_frame[a], kind, alive
                prev[a], prev_frame[a], owner[b] = b, t, a
                step[a] = b
        prev_step = step


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--set", action="append", default=[], help="tracker.key=value")
    parser.add_argument("--localize", action="append", default=[], help="localize.key=value")
    parser.add_argument("--only", nargs="*", help="sequence labels (LABEL/SEQ)")
    parser.add_argument("--finish", action="store_true", help="score tracks_final.txt")
    parser.add_argument("--pillar", action="store_true", help="the pillar suite instead")
    parser.add_argument(
        "--people", action="store_true", help="against ground truth of people (tracker_lab)"
    )
    parser.add_argument(
        "--reverse", action="store_true", help="replay last frame first (tracker_lab --reverse)"
    )
    args = parser.parse_args()
    sets = [s if s.split("=")[0].count(".") else f"tracker.{s}" for s in args.set]
    loc = [s if s.split("=")[0].count(".") else f"localize.{s}" for s in args.localize]
    for seq in ct.pillar_suite() if args.pillar else ct.real_suite():
        name = seq.label
        if args.only and name not in args.only:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            gt, pred = lab.scored_replay(
                seq, sets, loc, Path(tmp), args.finish, reverse=args.reverse, people=args.people
            )
            found = list(switches(gt, pred, seq.width if seq.panorama else None))
        print(f"{name}: {len(found)} switches")
        for t, a, old, new, gap, kind, alive in found:
            print(
                f"  frame {t:4d} gt {a:3d}: {old:3d} -> {new:3d} gap {gap:3d} {kind}"
                f"{' old alive' if alive else ''}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
