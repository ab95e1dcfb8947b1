"""Re-ID on real people, offline: untrained vs ImageNet vs trained, and the embedders in tracking.

Two parts, each printing a Markdown table (``bench/results/reid_real.md`` holds the figures):

``reid``
    The real person-disjoint set of ``python -m reid.tools.make_real_reid`` (TUD-Stadtmitte,
    TUD-Campus, PETS09-S2L1; built into ``--data`` when missing). The fine-tuning recipe
    ``configs/reid/baseline-finetune.yaml`` (``--config``, ``--set KEY=VALUE``; 128 x 64, the
    offline ImageNet MobileNetV2), scored with the Market protocol (mAP, rank-1) on
    L2-normalised features (the recipe's ranking) and on raw ones (optionally k-reciprocal
    re-ranked): random init untrained (and trained with ``--train-random``), ImageNet features
    untrained and trained. Trained rows score the last weights (nothing is selected on the
    test set). The trained ImageNet run's last.pt is the ``--reid`` checkpoint of the
    tracking part.

``track``
    ``mplt track`` on the real clips with real detections (:mod:`bench.realdata`), one run per
    embedder (colour, imagenet, reid CKPT), scored by ``mplt eval`` (IDF1, ID switches), with
    the embedder's share of the run time per frame.

Research use: the clips' terms forbid shipping anything trained on them; this only measures.
Usage::

    python bench/reid_real.py reid --data /tmp/real-reid --out /tmp/reid-real-runs [--reuse]
    python bench/reid_real.py track --reid /tmp/reid-real-runs/imagenet/last.pt --reid-gate 0.4

(``--reuse`` scores a run already trained into ``--out``/imagenet, e.g. by ``mplt train
baseline --config configs/reid/baseline-finetune.yaml``; ``--reid-gate`` is the tracker's
appearance gate ``tracker.max_cosine_distance`` for the trained encoder's runs.)
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

#: the recipe measured here (the keys that differ from configs/reid/baseline.yaml)
RECIPE = ROOT / "configs" / "reid" / "baseline-finetune.yaml"


def _reid_rows(
    data: Path,
    out: Path,
    config: Path,
    overrides: list[str],
    train_random: bool,
    rerank: bool,
    reuse: bool = False,
) -> list:
    """Rows (model, mAP, rank-1 with the recipe's normalised ranking, mAP, rank-1 with raw
    features, [re-ranked mAP, rank-1], train minutes): random init and ImageNet, untrained and
    trained with ``config``. Trained rows use the last weights (no test-set model selection)."""
    import torch

    from core.config import load_config, updated
    from reid.api import train
    from reid.config import ReidConfig
    from reid.data.datasets import read_dataset
    from reid.evaluation import EvalOptions, protocol_for
    from reid.methods.baseline import Baseline
    from reid.methods.load import load_method

    torch.set_num_threads(1)
    splits = read_dataset("market1501", data)
    device = torch.device("cpu")
    recipe = load_config(ReidConfig, config, overrides)

    def scores(method) -> list[float]:
        row = []
        for normalize in (True, False):
            method.cfg = updated(method.cfg, {"eval.normalize": normalize})
            protocol = protocol_for(splits, method.cfg)
            got = protocol.evaluate(method, splits, EvalOptions(rerank=False)).metrics
            row += [got["mAP"], got["rank1"]]
        if rerank:
            method.cfg = updated(method.cfg, {"eval.normalize": True})
            again = protocol.evaluate(method, splits, EvalOptions(rerank=True)).metrics
            row += [again["mAP"], again["rank1"]]
        return row

    rows = []
    for name, imagenet in (("random init", False), ("imagenet", True)):
        cfg = updated(recipe, {"model.imagenet": imagenet, "train.eval_every": 0})
        torch.manual_seed(cfg.train.seed)
        untrained = Baseline(cfg, splits.num_train_pids, device)
        untrained.model.eval()
        rows.append((f"{name}, untrained", *scores(untrained), 0.0))
        if not imagenet and not train_random:
            continue
        run = out / name.split()[0]
        if reuse and (run / "last.pt").is_file():
            # a finished run of the same recipe (e.g. `mplt train ... --out RUN`)
            with open(run / "metrics.csv") as f:
                minutes = sum(float(r["time_s"]) for r in csv.DictReader(f)) / 60
        else:
            started = time.perf_counter()
            train("baseline", cfg, data, "market1501", run, device="cpu", progress=False)
            minutes = (time.perf_counter() - started) / 60
        trained, _ = load_method(run / "last.pt", device)
        trained.model.eval()
        rows.append((f"{name}, trained", *scores(trained), minutes))
    return rows


def _track_rows(
    ckpt: str | None,
    out: Path,
    detector: str,
    reid_gates: tuple = (None,),
    kinds: tuple = ("colour", "imagenet", "reid"),
) -> list:
    from bench.realdata import clips, perspective_sequence, sequence_detections

    embedders = [(k, k, []) for k in ("colour", "imagenet") if k in kinds]
    for gate in reid_gates if ckpt and "reid" in kinds else ():
        # a trained model's normalised BNNeck features lie about twice as far apart as the
        # colour / ImageNet ones (same and different persons alike): its own appearance gate
        gated = ["--set", f"tracker.max_cosine_distance={gate}"] if gate is not None else []
        label = "reid" if gate is None else f"reid, gate {gate}"
        embedders.append((label, "reid", ["--reid", ckpt, *gated]))
    rows = []
    for clip in clips().values():
        seq = perspective_sequence(clip)
        det = "frcnn" if clip.given_detections and detector == "given" else "yolov8s"
        dets = sequence_detections(seq, det)
        for label, kind, extra in embedders:
            run = out / f"{seq.name}-{det}-{label.replace(', gate ', '-')}"
            cmd = [sys.executable, "-m", "cli", "track", str(seq.video), "--detections"]
            cmd += [str(dets), *seq.track_args(), "--set", f"embedder.kind={kind}"]
            cmd += [*extra, "--out", str(run), "--quiet"]
            subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)
            report = subprocess.run(
                [sys.executable, "-m", "cli", "eval", "--gt", str(seq.gt), "--pred", str(run)]
                + ["--json", "-"],
                cwd=ROOT,
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            scores = json.loads(report)["combined"]
            timing = json.loads((run / "summary.json").read_text())["timing"]["ms_per_frame"]
            rows.append((seq.name, det, label, scores["IDF1"], scores["IDSW"], timing["embed"]))
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="part", required=True)
    r = sub.add_parser("reid")
    r.add_argument("--data", type=Path, default=Path("/tmp/real-reid"))
    r.add_argument("--out", type=Path, default=Path("/tmp/reid-real-runs"))
    r.add_argument("--config", type=Path, default=RECIPE, help="the training recipe")
    r.add_argument("--set", dest="overrides", action="append", default=[], help="KEY=VALUE")
    r.add_argument("--train-random", action="store_true", help="also train from random init")
    r.add_argument("--rerank", action="store_true", help="also k-reciprocal re-ranked figures")
    r.add_argument(
        "--reuse", action="store_true", help="score the finished runs in --out, do not retrain"
    )
    t = sub.add_parser("track")
    t.add_argument("--reid", help="a trained checkpoint (the reid part's imagenet/last.pt)")
    t.add_argument("--out", type=Path, default=Path("/tmp/reid-real-track"))
    t.add_argument("--detector", choices=("given", "yolov8s"), default="given")
    t.add_argument(
        "--reid-gate",
        type=float,
        action="append",
        help="tracker.max_cosine_distance of a --reid run (repeatable; default: the config's)",
    )
    t.add_argument("--embedders", default="colour,imagenet,reid", help="which to run")
    args = parser.parse_args(argv)
    if args.part == "reid":
        if not (args.data / "query").is_dir():
            from reid.tools.make_real_reid import build

            build(args.data, ROOT.parent / "shared" / "data")
        rows = _reid_rows(
            args.data,
            args.out,
            args.config,
            args.overrides,
            args.train_random,
            args.rerank,
            args.reuse,
        )
        head = ["mAP", "rank-1", "mAP raw", "rank-1 raw"]
        head += ["mAP re-ranked", "rank-1 re-ranked"] if args.rerank else []
        print("| model | " + " | ".join(head) + " | train min |")
        print("|---" * (len(head) + 2) + "|")
        for name, *v, minutes in rows:
            print(f"| {name} | " + " | ".join(f"{x:.3f}" for x in v) + f" | {minutes:.1f} |")
    else:
        gates = tuple(args.reid_gate) if args.reid_gate else (None,)
        kinds = tuple(args.embedders.split(","))
        rows = _track_rows(args.reid, args.out, args.detector, gates, kinds)
        print("| sequence | detections | embedder | IDF1 | IDSW | embed ms/frame |")
        print("|---|---|---|---|---|---|")
        for seq, det, kind, idf1, idsw, ms in rows:
            print(f"| {seq} | {det} | {kind} | {idf1:.3f} | {idsw} | {ms:.1f} |")


if __name__ == "__main__":
    main()
