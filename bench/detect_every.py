"""What ``--detect-every N`` costs in tracking quality, and what it saves, on real footage.

The real suite of ``bench/compare_trackers.py`` (PETS 2009 S2L1 with its Faster R-CNN boxes,
perspective and on a 2048 x 1024 sphere; TUD-Stadtmitte and TUD-Campus with the offline
YOLOv8s; ``bench/realdata.py``, footage from ``../shared/data``), tracked by ``mplt.track``
from the given detections with ``detect_every`` N: only every N-th frame's detections (and
appearance) are used, the frames between get the tracker's prediction, and every frame is
scored against the full ground truth. The time saved is the detector's on those frames,
which given detections do not show: the table gives the share of frames detected.

Usage: ``python bench/detect_every.py [--n 1 2 3 5] [--skip-yolo] [--out FILE]``
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import compare_trackers as ct

import mplt

#: Suites of the real suite whose figures differ only by the camera height: one is enough.
SKIPPED = ("PETS 360, height auto", "PETS 360, height unknown")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, nargs="*", default=[1, 2, 3, 5])
    parser.add_argument("--skip-yolo", action="store_true", help="PETS with Faster R-CNN only")
    parser.add_argument("--work", type=Path, default=Path("/tmp/mplt-detect-every"))
    parser.add_argument("--out", type=Path, default=ct.ROOT / "bench/results/detect_every.md")
    args = parser.parse_args()
    started = time.perf_counter()
    suites: dict[str, list[ct.Sequence]] = {}
    for seq in ct.real_suite(skip_yolo=args.skip_yolo):
        if seq.suite not in SKIPPED:
            suites.setdefault(seq.suite, []).append(seq)
    if not suites:
        print(
            "error: no real footage; put it in ../shared/data (bench/realdata.py)", file=sys.stderr
        )
        return 2
    trackers = [ct.Tracker(f"detect every {n}", "mplt", (f"detect_every={n}",)) for n in args.n]
    lines = [
        "# `--detect-every N` on real footage",
        "",
        f"Written by `python bench/detect_every.py {' '.join(sys.argv[1:])}` "
        f"(mplt {mplt.__version__}, {os.cpu_count()} CPU cores). HOTA / IDF1 in %, IoU 0.5, "
        "every frame scored; streaming `tracks.txt` and finished `tracks_final.txt` of the "
        "same run. Given detections, so the detector's time saved (1 - 1/N of it) is not in "
        "the fps column, which is the rest of the pipeline end to end.",
        "",
    ]
    for suite, seqs in suites.items():
        rows, _ = ct.run_suite(suite, seqs, trackers, args.work, reuse=False)
        base = args.work / "".join(c if c.isalnum() else "_" for c in suite.lower())
        fps = {}
        for tracker in trackers:
            frames = seconds = 0.0
            for seq in seqs:
                summary = json.loads(
                    (base / "runs" / tracker.slug / seq.slug / "summary.json").read_text()
                )
                frames += summary["frames_processed"]
                seconds += summary["timing"]["wall_s"]
            fps[tracker.label] = frames / seconds
        lines += [
            f"## {suite}",
            "",
            "| N | HOTA | IDF1 | ID switches | HOTA, finished | IDF1, finished "
            "| ID switches, finished | frames detected | fps without the detector |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for n, tracker in zip(args.n, trackers, strict=True):
            (stream,) = [r for label, r, _ in rows if label == tracker.label]
            (final,) = [r for label, r, _ in rows if label.startswith(tracker.label + ",")]
            s, f = stream["combined"], final["combined"]
            lines.append(
                f"| {n} | {ct._pct(s['HOTA'])} | {ct._pct(s['IDF1'])} | {s['IDSW']} "
                f"| {ct._pct(f['HOTA'])} | {ct._pct(f['IDF1'])} | {f['IDSW']} "
                f"| {100 / n:.0f} % | {fps[tracker.label]:.0f} |"
            )
        lines += ["", "Sequences:", "", *ct.sequence_notes(seqs), ""]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines))
    print(f"wrote {args.out} after {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
