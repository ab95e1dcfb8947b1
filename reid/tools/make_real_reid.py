"""Build a small Market-1501-style re-ID set of real people from the TUD and PETS 2009 clips.

Usage::

    python -m reid.tools.make_real_reid --out /tmp/real-reid [--data-dir /work/shared/data] \\
        [--sheet /tmp/real-reid-persons.png]

Sources: the ground-truth boxes of TUD-Stadtmitte and TUD-Campus (MOTChallenge, shipped in
py-motmetrics as ``motmetrics/data/TUD-*/gt.txt``) and of PETS09-S2L1 frames 1-400
(``<data-dir>/PETS09-S2L1-1-400/gt.txt``, rows flagged 0 dropped), cropped from the videos in
``--data-dir``. Research use only (see the data's README): nothing trained on it ships.

Split (documented again in ``<out>/README.txt``):
- MOT ids are tracks, not persons: in PETS09-S2L1 two people leave the view and come back
  under a new id. Checked by eye on per-id crop sheets (``--sheet``): id 15 (frames 1-206,
  leaves on the right) returns as id 14 (frames 231-400; dark leather jacket, papers in hand)
  and id 19 (frames 1-147) returns as id 1 (frames 224-400; long black coat). Each pair is one
  person (``PERSONS``). The TUD clips are 3 s and 7 s long; no one in them returns, and the
  three scenes share nobody.
- Per sequence, persons sorted by their first id alternate train / test (half each), so no
  person is in both.
- Each person's frames are cut in two halves in time (a returning person: before and after the
  return); camera id = 2 * sequence + half + 1 (c1..c6). The Market protocol removes
  same-identity-same-camera gallery items, so a query from one half must be found among the
  other half's images: re-identification across time, position and pose (and, for the two
  returning persons, across leaving the scene) rather than a neighbouring frame.
- Train (bounding_box_train): every crop of the train persons.
- Query: per test person and half, ``--queries`` crops evenly spread over that half.
- Gallery (bounding_box_test): every other crop of the test persons.
- Crops whose box is clipped by the frame to less than ``--min-visible`` of its area or shorter
  than ``--min-height`` px are skipped. pid = 100 * (sequence + 1) + the person's first id.
This tool is not imported by the ``reid`` package.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import imageio.v3 as iio
import numpy as np
from PIL import Image, ImageDraw

#: (sequence, video relative to --data-dir, ground truth relative to it or None = motmetrics')
SEQUENCES = (
    ("TUD-Stadtmitte", "TUD-Stadtmitte.mp4", None),
    ("TUD-Campus", "TUD-Campus.mp4", None),
    ("PETS09-S2L1", "PETS09-S2L1-1-400/PETS09-S2L1-1-400.mp4", "PETS09-S2L1-1-400/gt.txt"),
)
#: sequence -> {MOT id: the first id of the same person}, checked by eye (module docstring)
PERSONS = {"PETS09-S2L1": {15: 14, 19: 1}}


def _gt_path(sequence: str, relative: str | None, data_dir: Path) -> Path:
    if relative is not None:
        return data_dir / relative
    import motmetrics

    return Path(motmetrics.__file__).parent / "data" / sequence / "gt.txt"


def _read_gt(path: Path) -> np.ndarray:
    """(N, 6) rows frame (0-based), id, x1, y1, x2, y2 in 0-based continuous pixels; rows
    flagged 0 (ignored) are dropped."""
    rows = np.loadtxt(path, delimiter=",", ndmin=2)
    rows = rows[rows[:, 6] != 0]
    frame, pid = rows[:, 0] - 1, rows[:, 1]
    x1, y1 = rows[:, 2] - 1, rows[:, 3] - 1
    return np.column_stack([frame, pid, x1, y1, x1 + rows[:, 4], y1 + rows[:, 5]])


def _persons(sequence: str, gt: np.ndarray) -> np.ndarray:
    """(N,) person id of each ground-truth row (its MOT id unless listed in ``PERSONS``)."""
    same = PERSONS.get(sequence, {})
    return np.array([same.get(int(i), int(i)) for i in gt[:, 1]])


def _halves(
    sequence: str, gt: np.ndarray, person: np.ndarray, queries: int
) -> dict[int, tuple[int, set[int]]]:
    """Person -> (first frame of its second half, its query frames). The second half of a
    returning person starts at its return."""
    returns = {keep: drop for drop, keep in PERSONS.get(sequence, {}).items()}
    out = {}
    for pid in np.unique(person):
        frames = np.sort(gt[person == pid, 0]).astype(int)
        if pid in returns:
            first = gt[gt[:, 1] == returns[pid], 0]
            later = gt[gt[:, 1] == pid, 0]
            mid = int(max(first.min(), later.min()))
        else:
            mid = int(frames[len(frames) // 2])
        picked: set[int] = set()
        for half in (frames[frames < mid], frames[frames >= mid]):
            if len(half):
                spread = ((np.arange(queries) + 0.5) / queries * len(half)).astype(int)
                picked.update(int(f) for f in half[spread])
        out[int(pid)] = (mid, picked)
    return out


def build(
    out: Path,
    data_dir: Path,
    min_visible: float = 0.7,
    min_height: float = 48.0,
    queries: int = 3,
    sheet: Path | None = None,
) -> dict[str, int]:
    """Write the dataset (and the per-person crop sheet); returns image counts per folder."""
    if out.exists():
        shutil.rmtree(out)
    dirs = {k: out / k for k in ("bounding_box_train", "query", "bounding_box_test")}
    for d in dirs.values():
        d.mkdir(parents=True)
    counts = dict.fromkeys(dirs, 0)
    thumbs: dict[tuple[str, int], list[Image.Image]] = {}
    for seq_index, (sequence, video, gt_file) in enumerate(SEQUENCES):
        gt = _read_gt(_gt_path(sequence, gt_file, data_dir))
        person = _persons(sequence, gt)
        ids = np.unique(person)
        test_ids = set(ids[1::2].tolist())
        halves = _halves(sequence, gt, person, queries)
        for frame_index, image in enumerate(iio.imiter(data_dir / video)):
            h, w = image.shape[:2]
            here = gt[:, 0] == frame_index
            for (_, _, x1, y1, x2, y2), gid in zip(gt[here], person[here], strict=True):
                gid = int(gid)
                cx1, cy1, cx2, cy2 = max(x1, 0), max(y1, 0), min(x2, w), min(y2, h)
                area = (x2 - x1) * (y2 - y1)
                if cy2 - cy1 < min_height or (cx2 - cx1) * (cy2 - cy1) < min_visible * area:
                    continue
                top, bottom, left, right = (round(float(v)) for v in (cy1, cy2, cx1, cx2))
                crop = image[top:bottom, left:right]
                mid, query_frames = halves[gid]
                cam = 2 * seq_index + int(frame_index >= mid) + 1
                pid = 100 * (seq_index + 1) + gid
                if gid not in test_ids:
                    folder = "bounding_box_train"
                elif frame_index in query_frames:
                    folder = "query"
                else:
                    folder = "bounding_box_test"
                name = f"{pid:04d}_c{cam}s{seq_index + 1}_{frame_index:06d}_00.jpg"
                Image.fromarray(crop).save(dirs[folder] / name, quality=95)
                counts[folder] += 1
                split = "test" if gid in test_ids else "train"
                thumbs.setdefault((f"{pid:04d} {split}", cam), []).append(
                    Image.fromarray(crop).resize((32, 80))
                )
    (out / "README.txt").write_text(
        __doc__.split("Split (documented again in ``<out>/README.txt``):")[1]
        .split("This tool")[0]
        .strip()
        + "\n"
    )
    if sheet is not None:
        _write_sheet(sheet, thumbs)
    return counts


def _write_sheet(path: Path, thumbs: dict[tuple[str, int], list[Image.Image]]) -> None:
    """One row per person: four crops of each half, to check by eye that no one is split."""
    rows = sorted({label for label, _ in thumbs})
    sheet = Image.new("RGB", (90 + 8 * 34, 84 * len(rows)), "white")
    draw = ImageDraw.Draw(sheet)
    for r, label in enumerate(rows):
        draw.text((2, 84 * r + 36), label, fill="black")
        cams = sorted(c for lab, c in thumbs if lab == label)
        for h, cam in enumerate(cams[:2]):
            crops = thumbs[(label, cam)]
            for k, i in enumerate(np.linspace(0, len(crops) - 1, 4).astype(int)):
                sheet.paste(crops[i], (90 + (4 * h + k) * 34 + 4 * h, 84 * r + 2))
    sheet.save(path)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("/tmp/real-reid"))
    parser.add_argument("--data-dir", type=Path, default=Path("/work/shared/data"))
    parser.add_argument("--min-visible", type=float, default=0.7)
    parser.add_argument("--min-height", type=float, default=48.0)
    parser.add_argument("--queries", type=int, default=3, help="query crops per person half")
    parser.add_argument("--sheet", type=Path, help="also write a PNG of every person's crops")
    args = parser.parse_args(argv)
    counts = build(
        args.out, args.data_dir, args.min_visible, args.min_height, args.queries, args.sheet
    )
    print(f"wrote {args.out}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))


if __name__ == "__main__":
    main()
