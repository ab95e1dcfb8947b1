"""Build a small Market-1501-style re-ID set from the TUD-Stadtmitte and TUD-Campus clips.

Usage::

    python -m reid.tools.make_tud_reid --out /tmp/tud-reid [--video-dir /work/shared/data]

Source: the MOTChallenge ground-truth boxes shipped in py-motmetrics
(``motmetrics/data/TUD-*/gt.txt``, 1-based pixels) cropped from the matching videos.

Split (documented again in ``<out>/README.txt``):
- Identities never cross the two sequences, so the "camera" cannot simply be the sequence.
  Each track is cut into two halves in time; camera id = 2 * sequence + half + 1 (c1..c4).
  Because the Market protocol removes same-identity-same-camera gallery items, a query from
  one half must be found among the other half's images: a re-identification across time,
  position and pose instead of a near-duplicate neighbouring frame.
- Per sequence, identities sorted by GT id alternate train / test (half each).
- Train (bounding_box_train): every crop of the train identities.
- Query: per test identity and half, the crop in the middle of that half.
- Gallery (bounding_box_test): every other crop of the test identities.
- Crops whose box is clipped by the frame to less than ``--min-visible`` of its area or
  shorter than ``--min-height`` px are skipped. pid = 100 * (sequence + 1) + GT id.
This tool is not imported by the ``reid`` package.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import imageio.v3 as iio
import numpy as np
from PIL import Image

SEQUENCES = ("TUD-Stadtmitte", "TUD-Campus")


def _gt_path(sequence: str) -> Path:
    import motmetrics

    return Path(motmetrics.__file__).parent / "data" / sequence / "gt.txt"


def _read_gt(path: Path) -> np.ndarray:
    """(N, 6) rows frame (0-based), id, x1, y1, x2, y2 in 0-based continuous pixels."""
    rows = np.loadtxt(path, delimiter=",", ndmin=2)
    frame, pid = rows[:, 0] - 1, rows[:, 1]
    x1, y1 = rows[:, 2] - 1, rows[:, 3] - 1
    return np.column_stack([frame, pid, x1, y1, x1 + rows[:, 4], y1 + rows[:, 5]])


def build(
    out: Path, video_dir: Path, min_visible: float = 0.7, min_height: float = 48.0
) -> dict[str, int]:
    """Write the dataset; returns image counts per folder."""
    if out.exists():
        shutil.rmtree(out)
    dirs = {k: out / k for k in ("bounding_box_train", "query", "bounding_box_test")}
    for d in dirs.values():
        d.mkdir(parents=True)
    counts = dict.fromkeys(dirs, 0)
    for seq_index, sequence in enumerate(SEQUENCES):
        gt = _read_gt(_gt_path(sequence))
        ids = np.unique(gt[:, 1]).astype(int)
        test_ids = set(ids[1::2].tolist())
        # Per identity: frame span halves and the query frame of each half.
        halves: dict[int, tuple[float, list[int]]] = {}
        for pid in ids:
            frames = np.sort(gt[gt[:, 1] == pid, 0]).astype(int)
            mid = frames[len(frames) // 2]
            first, second = frames[frames < mid], frames[frames >= mid]
            queries = [int(p[len(p) // 2]) for p in (first, second) if len(p)]
            halves[int(pid)] = (mid, queries)
        for frame_index, image in enumerate(iio.imiter(video_dir / f"{sequence}.mp4")):
            h, w = image.shape[:2]
            for _, gid, x1, y1, x2, y2 in gt[gt[:, 0] == frame_index]:
                gid = int(gid)
                cx1, cy1, cx2, cy2 = max(x1, 0), max(y1, 0), min(x2, w), min(y2, h)
                area = (x2 - x1) * (y2 - y1)
                if cy2 - cy1 < min_height or (cx2 - cx1) * (cy2 - cy1) < min_visible * area:
                    continue
                top, bottom, left, right = (round(float(v)) for v in (cy1, cy2, cx1, cx2))
                crop = image[top:bottom, left:right]
                mid, queries = halves[gid]
                cam = 2 * seq_index + int(frame_index >= mid) + 1
                pid = 100 * (seq_index + 1) + gid
                if gid not in test_ids:
                    folder = "bounding_box_train"
                elif frame_index in queries:
                    folder = "query"
                else:
                    folder = "bounding_box_test"
                name = f"{pid:04d}_c{cam}s{seq_index + 1}_{frame_index:06d}_00.jpg"
                Image.fromarray(crop).save(dirs[folder] / name, quality=95)
                counts[folder] += 1
    (out / "README.txt").write_text(
        __doc__.split("Split (documented again in ``<out>/README.txt``):")[1]
        .split("This tool")[0]
        .strip()
        + "\n"
    )
    return counts


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("/tmp/tud-reid"))
    parser.add_argument("--video-dir", type=Path, default=Path("/work/shared/data"))
    parser.add_argument("--min-visible", type=float, default=0.7)
    parser.add_argument("--min-height", type=float, default=48.0)
    args = parser.parse_args(argv)
    counts = build(args.out, args.video_dir, args.min_visible, args.min_height)
    print(f"wrote {args.out}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))


if __name__ == "__main__":
    main()
