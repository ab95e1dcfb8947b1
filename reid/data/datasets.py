"""Dataset readers: a folder on disk -> lists of :class:`Sample` (path, pid, camid, extra).

Every reader returns a :class:`ReidSplits` whose train pids are relabelled 0..N-1 (classifier
targets); query/gallery pids keep the dataset's own numbers. Camera ids are 0-based.
A malformed folder raises :class:`core.errors.DatasetError` naming what is missing and the
expected layout. Every reader names the evaluation protocol of its query/gallery
(:attr:`ReidSplits.eval_protocol`); importing :mod:`reid.data` registers every reader.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from core.errors import DatasetError
from core.registry import Registry

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


class Sample(NamedTuple):
    """One image: ``extra`` carries dataset-specific fields (DanceReID: frame, video, pose)."""

    path: str
    pid: int
    camid: int
    extra: dict[str, Any] | None = None


@dataclass(frozen=True)
class ReidSplits:
    """Train / query / gallery lists of one dataset."""

    name: str
    train: list[Sample]
    query: list[Sample]
    gallery: list[Sample]
    eval_protocol: str  #: how its query/gallery are scored: a ``reid.evaluation.PROTOCOLS`` name
    root: Path | None = None  #: the folder it was read from (set by :func:`read_dataset`)

    @property
    def num_train_pids(self) -> int:
        return len({s.pid for s in self.train})


DATASETS: Registry[Callable[[Path], ReidSplits]] = Registry("re-ID dataset")


def read_dataset(name: str, root: str | Path) -> ReidSplits:
    """Read dataset ``name`` (see ``DATASETS.names()``) from folder ``root``."""
    reader = DATASETS.get(name)
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{name} dataset folder {root} does not exist; pass the dataset root")
    return dataclasses.replace(reader(root), root=root)


def relabel(samples: list[Sample]) -> list[Sample]:
    """Map pids to 0..N-1 in sorted order (classifier targets)."""
    mapping = {pid: i for i, pid in enumerate(sorted({s.pid for s in samples}))}
    return [s._replace(pid=mapping[s.pid]) for s in samples]


def image_files(folder: Path) -> list[Path]:
    """The image files directly in ``folder`` (suffixes :data:`IMAGE_SUFFIXES`), sorted."""
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def _require_dir(root: Path, sub: str, name: str, layout: str) -> Path:
    folder = root / sub
    if not folder.is_dir():
        raise DatasetError(f"{name} dataset at {root}: missing folder '{sub}'; expected {layout}")
    return folder


def require_nonempty(samples: list[Sample], root: Path, what: str, name: str, layout: str) -> None:
    """Raise DatasetError naming ``what`` (a folder or list of dataset ``name`` at ``root``)
    and the expected ``layout`` when it yielded no samples."""
    if not samples:
        raise DatasetError(f"{name} dataset at {root}: no images in {what}; expected {layout}")


# -- Market-1501 / DukeMTMC-reID -------------------------------------------------------------

_MARKET_NAME = re.compile(r"^(-?\d+)_c(\d+)")
_MARKET_LAYOUT = (
    "<root>/bounding_box_train, <root>/query, <root>/bounding_box_test holding images named "
    "<pid>_c<cam>..., e.g. 0002_c1s1_000451_03.jpg"
)


def find_root(root: Path, marker: str) -> Path:
    """``root`` or its single child folder holding ``marker`` (archives unpack one level deep)."""
    if (root / marker).exists():
        return root
    children = [c for c in root.iterdir() if c.is_dir() and (c / marker).exists()]
    return children[0] if len(children) == 1 else root


def _market_folder(folder: Path, name: str, *, is_train: bool) -> list[Sample]:
    samples = []
    for path in image_files(folder):
        match = _MARKET_NAME.match(path.name)
        if match is None:
            raise DatasetError(
                f"{name}: image {path} is not named <pid>_c<cam>...; expected {_MARKET_LAYOUT}"
            )
        pid, cam = int(match.group(1)), int(match.group(2))
        # pid -1 marks junk boxes (ignored by the protocol); 0 marks distractors, which stay
        # in the gallery only.
        if pid == -1 or (pid == 0 and folder.name != "bounding_box_test"):
            continue
        samples.append(Sample(str(path), pid, cam - 1))
    return relabel(samples) if is_train else samples


def _read_market_style(root: Path, name: str) -> ReidSplits:
    root = find_root(root, "bounding_box_train")
    parts = {}
    for sub in ("bounding_box_train", "query", "bounding_box_test"):
        folder = _require_dir(root, sub, name, _MARKET_LAYOUT)
        parts[sub] = _market_folder(folder, name, is_train=sub == "bounding_box_train")
        require_nonempty(parts[sub], root, sub, name, _MARKET_LAYOUT)
    return ReidSplits(
        name, parts["bounding_box_train"], parts["query"], parts["bounding_box_test"], "market"
    )


@DATASETS.register("market1501")
def read_market1501(root: Path) -> ReidSplits:
    """Market-1501 (Zheng et al. 2015)."""
    return _read_market_style(root, "market1501")


@DATASETS.register("dukemtmc")
def read_dukemtmc(root: Path) -> ReidSplits:
    """DukeMTMC-reID (same layout as Market-1501, names like 0001_c2_f0046182.jpg)."""
    return _read_market_style(root, "dukemtmc")


# -- MSMT17 ----------------------------------------------------------------------------------

_MSMT_LAYOUT = (
    "<root>/list_train.txt, list_val.txt, list_query.txt, list_gallery.txt (lines "
    "'<relative path> <pid>') and the image folders train/ + test/ (V1) or "
    "mask_train_v2/ + mask_test_v2/ (V2); names like 0000_000_01_0303morning_0015_0.jpg "
    "(third field = camera, 1-based)"
)


def _msmt_list(root: Path, list_name: str, image_dir: Path) -> list[Sample]:
    path = root / list_name
    if not path.is_file():
        raise DatasetError(
            f"msmt17 dataset at {root}: missing file '{list_name}'; expected {_MSMT_LAYOUT}"
        )
    samples = []
    for lineno, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split()
        try:
            rel, pid = fields[0], int(fields[1])
            cam = int(Path(rel).name.split("_")[2]) - 1
        except (IndexError, ValueError):
            raise DatasetError(
                f"msmt17: {path} line {lineno} {line!r} is malformed; expected {_MSMT_LAYOUT}"
            ) from None
        samples.append(Sample(str(image_dir / rel), pid, cam))
    return samples


@DATASETS.register("msmt17")
def read_msmt17(root: Path) -> ReidSplits:
    """MSMT17 V1/V2; train = list_train + list_val (the common "combineall=False" protocol)."""
    root = find_root(root, "list_train.txt")
    for train_dir, test_dir in (("train", "test"), ("mask_train_v2", "mask_test_v2")):
        if (root / train_dir).is_dir() and (root / test_dir).is_dir():
            break
    else:
        raise DatasetError(
            f"msmt17 dataset at {root}: missing folders 'train' and 'test'; expected {_MSMT_LAYOUT}"
        )
    train = _msmt_list(root, "list_train.txt", root / train_dir)
    train += _msmt_list(root, "list_val.txt", root / train_dir)
    query = _msmt_list(root, "list_query.txt", root / test_dir)
    gallery = _msmt_list(root, "list_gallery.txt", root / test_dir)
    for what, part in (
        ("list_train.txt", train),
        ("list_query.txt", query),
        ("list_gallery.txt", gallery),
    ):
        require_nonempty(part, root, what, "msmt17", _MSMT_LAYOUT)
    return ReidSplits("msmt17", relabel(train), query, gallery, "market")


# -- folder per identity ---------------------------------------------------------------------

_FOLDER_LAYOUT = (
    "<root>/train/<identity>/*.jpg, <root>/query/<identity>/*.jpg, <root>/gallery/<identity>/*.jpg "
    "(optional '_c<k>' in a file name = camera k)"
)
_CAM_IN_NAME = re.compile(r"_c(\d+)")


def _folder_split(root: Path, sub: str, pid_of: dict[str, int], cam_offset: int) -> list[Sample]:
    folder = _require_dir(root, sub, "folder", _FOLDER_LAYOUT)
    samples = []
    for id_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
        pid = pid_of.setdefault(id_dir.name, len(pid_of))
        for path in image_files(id_dir):
            match = _CAM_IN_NAME.search(path.stem)
            # Without a camera tag every image is its own camera: only the image itself is
            # excluded from its gallery, never other views of the person.
            cam = int(match.group(1)) if match else cam_offset + 1_000_000 + len(samples)
            samples.append(Sample(str(path), pid, cam))
    require_nonempty(samples, root, sub, "folder", _FOLDER_LAYOUT)
    return samples


@DATASETS.register("folder")
def read_folder(root: Path) -> ReidSplits:
    """Users' own data: one sub-folder per identity in train/, query/ and gallery/.

    Identity folder names are arbitrary strings; query and gallery share one name -> pid map.
    """
    train = relabel(_folder_split(root, "train", {}, 0))
    pid_of: dict[str, int] = {}
    query = _folder_split(root, "query", pid_of, 0)
    gallery = _folder_split(root, "gallery", pid_of, 10_000_000)
    return ReidSplits("folder", train, query, gallery, "market")
