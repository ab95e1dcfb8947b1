"""``mplt track --adapt`` on the real tracking suite: IDF1 and ID switches before and after the
re-ID encoder learned the scene from the sequence's own tracks, with the same detections.

Run from the repository root (footage from ``../shared/data``, see ``bench/realdata.py``)::

    python bench/bench_adapt.py [--suites "PETS perspective" ...] [--iterations 2] \
        [--work /tmp/mplt-adapt] [--out bench/results/adapt.md]

Sequences (``bench/compare_trackers.py``'s real suite): PETS09-S2L1 perspective and on a
2048 x 1024 sphere (camera height given) with the Faster R-CNN boxes, TUD-Stadtmitte and
TUD-Campus with the offline YOLOv8s boxes. Per sequence, all with ``mplt.track`` on identical
detections:

* ``colour``: the default embedder (reference);
* ``ImageNet``: ``embedder.kind=imagenet``, the encoder before adaptation (the tracklet
  method's network before any step is exactly this embedder): the "before";
* ``adapted, round 1``: tracked again with the encoder adapted on the ImageNet run's tracks,
  whatever the stopping rule says;
* ``adapt (rule)``: the run the stopping rule keeps (``adapt.iterations`` rounds at most) --
  what ``mplt track --adapt`` answers.

Scores: :func:`mplt.eval.run_eval` (TrackEval metrics, IoU 0.5, seam-aware on panoramas) of
the finished tracks (``tracks_final.txt``) and of the streaming ones (``tracks.txt``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

import compare_trackers as ct

import mplt
from mplt.adapt import track_and_adapt
from mplt.api import resolve_track_config

ROOT = Path(__file__).resolve().parents[1]
SUITES = ["PETS perspective", "PETS 360, height given", "TUD perspective, YOLOv8s"]
LABELS = ["colour", "ImageNet", "adapted, round 1", "adapt (rule)"]


def run_sequence(seq: ct.Sequence, work: Path, iterations: int, device: str) -> dict:
    """The four runs of one sequence; returns label -> run directory (None when a round was
    not tracked) and the adaptation report."""
    base = work / seq.slug
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True)
    kwargs = {"detections": seq.det, "max_frames": seq.frames, "progress": False}
    colour = mplt.track(seq.video, out=base / "colour", overrides=seq.overrides, **kwargs)
    cfg = resolve_track_config(
        None,
        [
            *seq.overrides,
            "embedder.kind=imagenet",
            f"embedder.device={device}",
            f"adapt.device={device}",
            f"adapt.iterations={iterations}",
        ],
    )
    started = time.perf_counter()
    report = track_and_adapt(str(seq.video), cfg, base / "imagenet", **kwargs)
    seconds = time.perf_counter() - started
    first = report["rounds"][1] if len(report["rounds"]) > 1 else {}
    adapt_json = json.loads((base / "imagenet" / "adapt" / "adapt.json").read_text())
    return {
        "runs": {
            "colour": Path(colour.summary["run_dir"]),
            "ImageNet": Path(report["rounds"][0]["run_dir"]),
            "adapted, round 1": Path(first["run_dir"]) if "run_dir" in first else None,
            "adapt (rule)": Path(report["best_run"]),
        },
        "report": report,
        "adapt": adapt_json,
        "seconds": seconds,
    }


def score(seq: ct.Sequence, run: Path | None, name: str, work: Path) -> dict | None:
    """run_eval of one run's ``name`` file (tracks.txt / tracks_final.txt) on ``seq``."""
    if run is None:
        return None
    folder = (
        work / "pred" / seq.slug / run.relative_to(work / seq.slug).as_posix().replace("/", "_")
    )
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    shutil.copyfile(run / name, folder / f"{seq.name}.txt")
    return ct.evaluate([seq], folder, work / "gt" / seq.slug)["sequences"][seq.name]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--work", type=Path, default=Path("/tmp/mplt-adapt"))
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "adapt.md")
    parser.add_argument("--suites", nargs="*", default=SUITES)
    parser.add_argument("--iterations", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    started = time.perf_counter()
    sequences = [s for s in ct.real_suite() if s.suite in args.suites]
    if not sequences:
        print("error: no real sequences here; ../shared/data is missing", file=sys.stderr)
        return 2
    runs = {}
    for seq in sequences:
        runs[seq.label] = run_sequence(seq, args.work, args.iterations, args.device)
        r = runs[seq.label]
        print(
            f"{seq.label}: adapted in {r['adapt']['seconds']} s, agreement "
            f"{r['adapt']['agreement_before']:.3f} -> {r['adapt']['agreement_after']:.3f}; "
            f"{r['report']['stopped']}",
            flush=True,
        )
    lines = [
        "# `mplt track --adapt`: IDF1 and ID switches before and after adaptation",
        "",
        f"Written by `python bench/bench_adapt.py{''.join(' ' + repr(a) for a in sys.argv[1:])}`"
        f" ({time.perf_counter() - started:.0f} s on this machine: {os.cpu_count()} CPU cores, "
        f"training on {args.device}); mplt {mplt.__version__}. Same detections in every run; "
        "IoU 0.5, `mplt.eval.run_eval`, seam-aware on panoramas. Cells: IDF1 % / ID switches. "
        "'before' is the ImageNet embedder (the encoder adaptation starts from), 'adapted, "
        "round 1' the first adapted encoder whatever the stopping rule says, 'adapt (rule)' "
        "the run `mplt track --adapt` keeps.",
        "",
    ]
    for name, title in (("tracks_final.txt", "finished"), ("tracks.txt", "streaming")):
        lines += [
            f"## {title} tracks (`{name}`)",
            "",
            "| sequence | " + " | ".join(LABELS) + " | IDF1 change (rule - before) |",
            "|---|" + "---:|" * (len(LABELS) + 1),
        ]
        for seq in sequences:
            scores = {
                label: score(seq, runs[seq.label]["runs"][label], name, args.work)
                for label in LABELS
            }
            cells = [
                "-" if m is None else f"{ct._pct(m['IDF1'])} / {m['IDSW']}" for m in scores.values()
            ]
            before, after = scores["ImageNet"], scores["adapt (rule)"]
            delta = 100 * (after["IDF1"] - before["IDF1"])
            lines.append(f"| {seq.label} | " + " | ".join(cells) + f" | {delta:+.1f} |")
        lines.append("")
    lines += [
        "## Adaptation",
        "",
        "| sequence | tracks | pseudo-ids | crops | agreement mAP before -> after | best epoch "
        "| s per adaptation | rounds kept | stopped |",
        "|---|---:|---:|---:|---|---:|---:|---:|---|",
    ]
    for seq in sequences:
        r = runs[seq.label]
        a = r["adapt"]
        kept = sum(1 for row in r["report"]["rounds"][1:] if row["kept"])
        lines.append(
            f"| {seq.label} | {a['tracks']} | {a['pseudo_ids']} | {a['crops']} | "
            f"{100 * a['agreement_before']:.1f} -> {100 * a['agreement_after']:.1f} | "
            f"{a['best_epoch']} | {a['seconds']:.0f} | {kept} | {r['report']['stopped']} |"
        )
    lines += ["", "Sequences:", "", *ct.sequence_notes(sequences), ""]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines))
    print(f"wrote {args.out} after {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
