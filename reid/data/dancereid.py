"""DanceReID reader (github.com/azuxmioy/DanceReID; seeds.md 6.f).

Layout: ``images/{pid:04d}_{frame:06d}.jpg``, ``poses/{pid:04d}_{frame:06d}.txt`` (17 rows
"x y", COCO keypoints in crop pixels), ``splits.json`` (a list whose first dict holds
``trainval`` / ``query`` / ``gallery`` pid lists; the generator's ``split.json`` is accepted
too), ``video.json`` (video name -> list of pids), ``meta.json`` (not needed here).
The frame index acts as the camera id, so the evaluation excludes the same person in the
same frame. Query = all images of the query pids, gallery = all images of the gallery pids.

The split lists of DanceReID's generator at HEAD put pids 35-39 in both trainval (17-87) and
query/gallery (0-11, 35-39, 88-99; an earlier commit had 12-16, disjoint; seeds.md 6.f): a
model would be tested on people it was trained on. Identities listed on both sides are kept
for testing and dropped from training, with a notice.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from core.errors import DatasetError
from core.notify import notice
from reid.data.datasets import DATASETS, ReidSplits, Sample, image_files, relabel

_LAYOUT = (
    "<root>/images/{pid:04d}_{frame:06d}.jpg, <root>/poses/<same stem>.txt, "
    '<root>/splits.json ([{"trainval": [...], "query": [...], "gallery": [...]}]), '
    "<root>/video.json ({video: [pids]})"
)
_NAME = re.compile(r"^(\d+)_(\d+)$")


def _load_json(root: Path, *names: str) -> object:
    for name in names:
        path = root / name
        if path.is_file():
            try:
                return json.loads(path.read_text())
            except json.JSONDecodeError as exc:
                raise DatasetError(
                    f"dancereid: {path} is not valid JSON ({exc.msg}); expected {_LAYOUT}"
                ) from None
    raise DatasetError(
        f"dancereid dataset at {root}: missing file '{names[0]}'; expected {_LAYOUT}"
    )


@DATASETS.register("dancereid")
def read_dancereid(root: Path) -> ReidSplits:
    """Samples carry ``extra = {"frame": int, "video": str, "pose": path-or-None}``."""
    images_dir = root / "images"
    if not images_dir.is_dir():
        raise DatasetError(
            f"dancereid dataset at {root}: missing folder 'images'; expected {_LAYOUT}"
        )
    splits = _load_json(root, "splits.json", "split.json")
    split = splits[0] if isinstance(splits, list) and splits else splits
    if not isinstance(split, dict) or not {"trainval", "query", "gallery"} <= set(split):
        raise DatasetError(
            f"dancereid: {root / 'splits.json'} lacks trainval/query/gallery; expected {_LAYOUT}"
        )
    videos = _load_json(root, "video.json")
    if not isinstance(videos, dict):
        raise DatasetError(
            f"dancereid: {root / 'video.json'} must map video names to pid lists; "
            f"expected {_LAYOUT}"
        )
    video_of = {int(pid): str(name) for name, pids in videos.items() for pid in pids}

    by_pid: dict[int, list[Sample]] = {}
    for path in image_files(images_dir):
        match = _NAME.match(path.stem)
        if match is None:
            raise DatasetError(
                f"dancereid: image {path} is not named <pid>_<frame>; expected {_LAYOUT}"
            )
        pid, frame = int(match.group(1)), int(match.group(2))
        pose = root / "poses" / f"{path.stem}.txt"
        extra = {
            "frame": frame,
            "video": video_of.get(pid, f"pid{pid}"),
            "pose": str(pose) if pose.is_file() else None,
        }
        by_pid.setdefault(pid, []).append(Sample(str(path), pid, frame, extra))

    tested = {int(p) for key in ("query", "gallery") for p in split[key]}
    overlap = sorted(tested & {int(p) for p in split["trainval"]})
    if overlap:
        notice(
            f"dancereid: {len(overlap)} identities ({_ranges(overlap)}) are in both trainval "
            "and query/gallery of splits.json (the generator's split bug); they are kept for "
            "testing and dropped from training"
        )
    keep = {"trainval": [p for p in split["trainval"] if int(p) not in tested]}

    def gather(key: str) -> list[Sample]:
        out = [s for pid in keep.get(key, split[key]) for s in by_pid.get(int(pid), [])]
        if not out:
            raise DatasetError(
                f"dancereid dataset at {root}: no images for the '{key}' pids; expected {_LAYOUT}"
            )
        return out

    return ReidSplits(
        "dancereid",
        relabel(gather("trainval")),
        gather("query"),
        gather("gallery"),
        eval_protocol="single_gallery_shot",
    )


def _ranges(pids: list[int]) -> str:
    """Sorted pids as runs, e.g. [35, 36, 37, 40] -> "35-37, 40"."""
    runs: list[list[int]] = []
    for p in pids:
        if runs and p == runs[-1][1] + 1:
            runs[-1][1] = p
        else:
            runs.append([p, p])
    return ", ".join(f"{a}-{b}" if a != b else f"{a}" for a, b in runs)


def read_pose(path: str | Path) -> np.ndarray:
    """(17, 2) float32 COCO keypoints (x, y) in crop pixels from a DanceReID pose file."""
    rows = [line.split() for line in Path(path).read_text().splitlines() if line.strip()]
    if len(rows) != 17 or any(len(r) < 2 for r in rows):
        raise DatasetError(
            f"dancereid: pose file {path} must hold 17 rows 'x y'; replace the damaged file"
        )
    return np.array([[float(r[0]), float(r[1])] for r in rows], np.float32)
