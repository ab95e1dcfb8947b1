"""Re-ID training on several processes (``mplt train --nproc N``) against one process.

Run from the repository root::

    python bench/bench_ddp.py [--data /tmp/real-reid] [--epochs 2] [--steps 12] \
        [--runs 1x1 1x2 2x1] [--out bench/results/ddp.md]

Data: the real person-disjoint set of ``python -m reid.tools.make_real_reid`` (TUD-Stadtmitte,
TUD-Campus, PETS09-S2L1 crops; built into ``--data`` when missing; research use, nothing
trained ships). Recipe: ``configs/reid/baseline-finetune.yaml`` (offline ImageNet MobileNetV2,
128 x 64, P x K 12 x 4), the same global batch of 48 in every configuration: one process at
batch 48, N processes at 48 / N each (gloo on the CPU); a run ``PxT`` is P processes of T
threads each (OMP_NUM_THREADS). Each configuration trains ``--epochs`` epochs of ``--steps``
steps into a fresh folder and is evaluated after the last (Market protocol, normalised
features): the runs see the same batches (each rank draws its own augmentation), so the
scores should be close and only time differs.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _train(data: Path, out: Path, nproc: int, threads: int, epochs: int, steps: int) -> dict:
    cmd = [sys.executable, "-m", "cli", "train", "baseline", "--data-dir", str(data)]
    cmd += ["--dataset", "market1501", "-c", "configs/reid/baseline-finetune.yaml"]
    cmd += ["--set", f"train.epochs={epochs}", "--set", f"train.eval_every={epochs}"]
    cmd += ["--set", f"train.max_steps_per_epoch={steps}"]
    cmd += ["--set", f"data.batch_size={48 // nproc}", "--out", str(out), "--device", "cpu"]
    cmd += ["--quiet", "--nproc", str(nproc)]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    start = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, env=env, check=True, capture_output=True)
    wall = time.perf_counter() - start
    rows = list(csv.DictReader((out / "metrics.csv").open()))
    return {
        "run": f"{nproc} x {threads}",
        "nproc": nproc,
        "wall_s": wall,
        "epoch_s": sum(float(r["time_s"]) for r in rows) / len(rows),
        "loss": float(rows[-1]["loss"]),
        "mAP": float(rows[-1]["mAP"]),
        "rank1": float(rows[-1]["rank1"]),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=Path("/tmp/real-reid"))
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--steps", type=int, default=12, help="steps per epoch")
    parser.add_argument("--runs", nargs="+", default=["1x1", "1x2", "2x1"])
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "ddp.md")
    args = parser.parse_args()
    if not (args.data / "bounding_box_train").is_dir():
        subprocess.run(
            [sys.executable, "-m", "reid.tools.make_real_reid", "--out", str(args.data)],
            cwd=ROOT,
            check=True,
        )
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for run in args.runs:
            n, t = map(int, run.split("x"))
            results.append(_train(args.data, Path(tmp) / run, n, t, args.epochs, args.steps))
            print(json.dumps(results[-1]), file=sys.stderr)
    base = results[0]["epoch_s"]
    lines = [
        "# Re-ID training on several processes against one",
        "",
        f"Written by `python bench/bench_ddp.py --epochs {args.epochs} --steps {args.steps} "
        f"--runs {' '.join(args.runs)}` on {_cpu()}, "
        f"{os.cpu_count()} CPU cores, no GPU (gloo). Data: the real re-ID set of "
        "`reid.tools.make_real_reid` (TUD + PETS09 crops, 13 training identities); recipe "
        "`configs/reid/baseline-finetune.yaml`, global batch 48 in every row (48 / N per "
        "process). 'processes x threads': OMP_NUM_THREADS of each process. Epoch time: "
        "`time_s` of metrics.csv, the training steps only; wall time adds start-up, the "
        "evaluation after the last epoch and, for several processes, torchrun and each "
        "rank's import of torch. Other jobs shared the machine: compare rows of one run.",
        "",
        "| processes x threads | s / epoch | speed-up | wall s | last loss | mAP | rank-1 |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['run']} | {r['epoch_s']:.1f} | {base / r['epoch_s']:.2f}x | "
            f"{r['wall_s']:.0f} | {r['loss']:.4f} | {100 * r['mAP']:.1f} | "
            f"{100 * r['rank1']:.1f} |"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
