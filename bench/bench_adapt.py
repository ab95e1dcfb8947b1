"""``mplt track --adapt`` on the real tracking suite: IDF1 and ID switches before and after the
re-ID encoder learned the scene from the sequence's own tracks, with the same detections.

Run from the repository root (footage from ``../shared/data``, see ``bench/realdata.py``)::

    python bench/bench_adapt.py [--suites "PETS perspective" ...] [--iterations 2] \
        [--work /tmp/mplt-adapt] [--out bench/results/adapt.md]

Sequences (``bench/compare_trackers.py``'s real suite): PETS09-S2L1 perspective and on a
2048 x 1024 sphere (camera height given) with the Faster R-CNN boxes, TUD-Stadtmitte and
TUD-Campus with the offline YOLOv8s boxes; ``--suites`` may also name those of its pillar suite
(long occlusions, ``compare_trackers.pillar_suite``), e.g. ``--suites "PETS perspective,
pillar" --out bench/results/adapt-pillar.md``. Per sequence, all with ``mplt.track`` on identical
detections, as ``mplt track --adapt`` runs as it ships:

* ``colour (before)``: the default run (colour embedder), round 0 of ``--adapt``, whose
  tracklets the encoder adapts on (from the offline ImageNet MobileNetV2);
* ``adapted encoder alone``: tracked again with the round-1 encoder alone
  (``embedder.kind=reid``: one of the two re-trackings of the default ``adapt.retrack_embedder:
  both``, ``adapt/track-reid``; tracked here when the round did not);
* ``colour + adapted, round 1``: tracked again with the colour features and the round-1
  encoder side by side (``embedder.kind=fused``, the other re-tracking), whatever the
  stopping rule says;
* ``adapt (rule)``: the run the stopping rule keeps (``adapt.iterations`` rounds at most) --
  what ``mplt track --adapt`` answers.

Scores: :func:`mplt.eval.run_eval` (TrackEval metrics, IoU 0.5, seam-aware on panoramas) of
the finished tracks (``tracks_final.txt``) and of the streaming ones (``tracks.txt``).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import sys
import time
from pathlib import Path

import compare_trackers as ct

import mplt
from mplt.adapt import track_and_adapt, track_measure
from mplt.api import resolve_track_config

ROOT = Path(__file__).resolve().parents[1]
SUITES = ["PETS perspective", "PETS 360, height given", "TUD perspective, YOLOv8s"]
LABELS = ["colour (before)", "adapted encoder alone", "colour + adapted, round 1", "adapt (rule)"]


def _result(base: Path) -> dict:
    """What :func:`run_sequence` returns, read back from the run directories under ``base``."""
    report = json.loads((base / "colour" / "adapt.json").read_text())
    first = report["rounds"][1] if len(report["rounds"]) > 1 else {}
    # round 1's re-trackings by embedder kind (the default re-tracks with both)
    retracked = {c["kind"]: Path(c["run_dir"]) for c in first.get("candidates", [])}
    alone = retracked.get("reid", base / "adapted-alone")
    return {
        "runs": {
            "colour (before)": Path(report["rounds"][0]["run_dir"]),
            "adapted encoder alone": alone if (alone / "summary.json").is_file() else None,
            "colour + adapted, round 1": retracked.get("fused"),
            "adapt (rule)": Path(report["best_run"]),
        },
        "report": report,
        "adapt": json.loads((base / "colour" / "adapt" / "adapt.json").read_text()),
    }


def run_sequence(
    seq: ct.Sequence, work: Path, iterations: int, device: str, overrides: list[str], reuse: bool
) -> dict:
    """The runs of one sequence (``reuse``: those a finished earlier call left in ``work``);
    returns label -> run directory (None when a round was not tracked) and the reports."""
    base = work / seq.slug
    if reuse and (base / "colour" / "adapt.json").is_file():
        return _result(base)
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True)
    kwargs = {"detections": seq.det, "max_frames": seq.frames, "progress": False}
    cfg = resolve_track_config(
        None,
        [
            *seq.overrides,
            f"embedder.device={device}",
            f"adapt.device={device}",
            f"adapt.iterations={iterations}",
            *overrides,
        ],
    )
    track_and_adapt(str(seq.video), cfg, base / "colour", **kwargs)
    result = _result(base)
    if result["runs"]["adapted encoder alone"] is not None:
        return result  # the round re-tracked with the encoder alone already
    adapted = base / "colour" / "adapt" / "adapted.pt"
    mplt.track(
        seq.video,
        out=base / "adapted-alone",
        overrides=[
            *seq.overrides,
            "embedder.kind=reid",
            f"embedder.checkpoint={adapted}",
            f"embedder.device={device}",
        ],
        **kwargs,
    )
    return _result(base)


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
    parser.add_argument(
        "--reuse", action="store_true", help="keep the sequences an earlier run finished in --work"
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="config value of every run, e.g. adapt.epochs=3",
    )
    args = parser.parse_args()
    started = time.perf_counter()
    pool = ct.real_suite()
    if set(args.suites) - {s.suite for s in pool}:  # the pillar suite is built only if named
        pool += ct.pillar_suite()
    sequences = [s for s in pool if s.suite in args.suites]
    if not sequences:
        print("error: no real sequences here; ../shared/data is missing", file=sys.stderr)
        return 2
    runs = {}
    for seq in sequences:
        runs[seq.label] = run_sequence(
            seq, args.work, args.iterations, args.device, args.overrides, args.reuse
        )
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
        f"Written by `python bench/bench_adapt.py {shlex.join(sys.argv[1:])}`"
        f" ({time.perf_counter() - started:.0f} s on this machine: {os.cpu_count()} CPU cores, "
        f"training on {args.device}"
        + (
            "; tables rebuilt from the runs an earlier invocation left in --work"
            if args.reuse
            else ""
        )
        + f"); mplt {mplt.__version__}. Same detections in every run; "
        "IoU 0.5, `mplt.eval.run_eval`, seam-aware on panoramas. Cells: IDF1 % / ID switches. "
        "'colour (before)' is the default run `mplt track --adapt` starts from and adapts on, "
        "'colour + adapted, round 1' its first re-tracking (the default fused features) "
        "whatever the stopping rule says, 'adapt (rule)' the run `mplt track --adapt` keeps.",
        "",
    ]
    people = {s.label: p for s in sequences if (p := ct.people_sequence(s)) is not None}
    tables = [
        ("tracks_final.txt", "finished tracks", {s.label: s for s in sequences}),
        ("tracks.txt", "streaming tracks", {s.label: s for s in sequences}),
        ("tracks_final.txt", "finished tracks, ground truth of people", people),
    ]
    for name, title, scored in tables:
        if not scored:
            continue
        lines += [f"## {title} (`{name}`)", ""]
        if scored is people:
            lines += [
                "The same runs scored against ground truth in which someone who leaves the "
                "view and comes back keeps the ID (`bench/realdata.py` SAME_PERSON; MOT's "
                "gives a new one).",
                "",
            ]
        lines += [
            "| sequence | " + " | ".join(LABELS) + " | IDF1 rule - before | IDSW rule - before |",
            "|---|" + "---:|" * (len(LABELS) + 2),
        ]
        for label, seq in scored.items():
            scores = {k: score(seq, runs[label]["runs"][k], name, args.work) for k in LABELS}
            cells = [
                "-" if m is None else f"{ct._pct(m['IDF1'])} / {m['IDSW']}" for m in scores.values()
            ]
            after, before = scores["adapt (rule)"], scores["colour (before)"]
            gain = 100 * (after["IDF1"] - before["IDF1"])
            switches = after["IDSW"] - before["IDSW"]
            lines.append(f"| {label} | " + " | ".join(cells) + f" | {gain:+.1f} | {switches:+d} |")
        lines.append("")
    lines += [
        "## The label-free measure of the stopping rule",
        "",
        "Rows per track ID of the finished tracks (`mplt.adapt.track_measure`, higher = fewer "
        "fragments), for comparison with IDF1 above; `mplt track --adapt` keeps a round only if "
        "this rises by `adapt.min_gain` (0.5 %) over the run it started from.",
        "",
        "| sequence | " + " | ".join(LABELS) + " |",
        "|---|" + "---:|" * len(LABELS),
    ]
    for seq in sequences:
        cells = [
            "-" if run is None else f"{track_measure(run)['rows_per_id']:.1f}"
            for run in runs[seq.label]["runs"].values()
        ]
        lines.append(f"| {seq.label} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "## Adaptation",
        "",
        "| sequence | tracks | pseudo-ids | crops | agreement mAP before -> after | best epoch "
        "| gate measured (unused by default) | s per adaptation | rounds kept | stopped |",
        "|---|---:|---:|---:|---|---:|---|---:|---:|---|",
    ]
    for seq in sequences:
        r = runs[seq.label]
        a = r["adapt"]
        kept = sum(1 for row in r["report"]["rounds"][1:] if row["kept"])
        lines.append(
            f"| {seq.label} | {a['tracks']} | {a['pseudo_ids']} | {a['crops']} | "
            f"{100 * a['agreement_before']:.1f} -> {100 * a['agreement_after']:.1f} | "
            f"{a['best_epoch']} | {a['gate']:.3f} | {a['seconds']:.0f} "
            f"| {kept} | {r['report']['stopped']} |"
        )
    lines += ["", "Sequences:", "", *ct.sequence_notes(sequences), ""]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines))
    print(f"wrote {args.out} after {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
