"""Tiny synthetic re-ID datasets in every supported layout (coloured-rectangle people)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from core.config import updated
from reid.config import ReidConfig

H, W = 32, 16


def person(pid: int, index: int) -> np.ndarray:
    """A 32x16 "person": shirt and trousers colours fixed by pid, mild noise per index."""
    rng = np.random.default_rng([pid, index])
    colours = np.random.default_rng(pid).integers(0, 256, size=(2, 3))
    img = np.empty((H, W, 3), np.float64)
    img[: H // 2] = colours[0]
    img[H // 2 :] = colours[1]
    img += rng.normal(0, 12, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def save(path: Path, pid: int, index: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(person(pid, index)).save(path)


def make_market(root: Path, train_ids=range(1, 7), test_ids=range(7, 11), per_cam: int = 3) -> Path:
    """Market layout: 2 cameras, per_cam images per id per camera; a junk (-1) and a
    distractor (0000) image in the test folder."""
    for sub, ids in (("bounding_box_train", train_ids), ("bounding_box_test", test_ids)):
        for pid in ids:
            for cam in (1, 2):
                for k in range(per_cam):
                    save(root / sub / f"{pid:04d}_c{cam}s1_{k:06d}_00.jpg", pid, cam * 10 + k)
    for pid in test_ids:
        save(root / "query" / f"{pid:04d}_c1s1_{99:06d}_00.jpg", pid, 99)
    save(root / "bounding_box_test" / "-1_c1s1_000001_00.jpg", 50, 0)
    save(root / "bounding_box_test" / "0000_c2s1_000001_00.jpg", 51, 0)
    return root


def make_folder(root: Path, train_ids=range(6), test_ids=range(6, 9)) -> Path:
    for pid in train_ids:
        for k in range(4):
            save(root / "train" / f"person{pid}" / f"img{k}.png", pid, k)
    for pid in test_ids:
        save(root / "query" / f"person{pid}" / "q_c1.png", pid, 100)
        for k in range(3):
            save(root / "gallery" / f"person{pid}" / f"g{k}_c2.png", pid, k)
    return root


def make_dancereid(root: Path) -> Path:
    """6 ids in 2 videos (pids 0-2 video a, 3-5 video b); trainval 0-3, query/gallery 4-5."""
    for pid in range(6):
        for frame in range(0, 40, 5):
            stem = f"{pid:04d}_{frame:06d}"
            save(root / "images" / f"{stem}.jpg", pid, frame)
            (root / "poses").mkdir(parents=True, exist_ok=True)
            (root / "poses" / f"{stem}.txt").write_text(
                "\n".join(f"{i} {2 * i}" for i in range(17))
            )
    (root / "splits.json").write_text(
        json.dumps([{"trainval": [0, 1, 2, 3], "query": [4, 5], "gallery": [4, 5]}])
    )
    (root / "video.json").write_text(json.dumps({"a": [0, 1, 2], "b": [3, 4, 5]}))
    (root / "meta.json").write_text(json.dumps({"name": "DanceReID"}))
    return root


def make_msmt(root: Path) -> Path:
    lines: dict[str, list[str]] = {"train": [], "val": [], "query": [], "gallery": []}
    for pid in range(4):
        for k in range(4):
            rel = f"{pid:04d}/{pid:04d}_{k:03d}_{k % 2 + 1:02d}_0303morning_0015_0.jpg"
            save(root / "train" / rel, pid, k)
            lines["val" if k == 3 else "train"].append(f"{rel} {pid}")
    for pid in range(4, 7):
        for k in range(3):
            rel = f"{pid:04d}/{pid:04d}_{k:03d}_{k + 1:02d}_0303morning_0015_0.jpg"
            save(root / "test" / rel, pid, k)
            lines["query" if k == 0 else "gallery"].append(f"{rel} {pid}")
    for name, rows in lines.items():
        (root / f"list_{name}.txt").write_text("\n".join(rows) + "\n")
    return root


@pytest.fixture(autouse=True, scope="package")
def _one_torch_thread():
    """Tiny tensors: one intra-op thread is fastest, and OpenMP spinning on a busy 2-core
    machine makes two threads up to 100x slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def market_dir(tmp_path_factory) -> Path:
    return make_market(tmp_path_factory.mktemp("market"))


def remove(path: Path) -> None:
    """Delete a file or a whole folder of a generated dataset (to test reader errors)."""
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink()


@pytest.fixture(scope="module")
def target_dir(tmp_path_factory) -> Path:
    """A second Market-layout dataset: the unlabelled target of the domain-adaptive methods."""
    return make_market(tmp_path_factory.mktemp("duke"), range(21, 27), range(27, 31))


def tiny_config(**train) -> ReidConfig:
    """A config that trains the tiny CNN on 32x16 inputs in well under a second per epoch."""
    cfg = ReidConfig()
    cfg = updated(
        cfg,
        {
            "data.height": H,
            "data.width": W,
            "data.batch_size": 8,
            "data.num_instances": 2,
            "data.pad": 2,
            "data.workers": 0,
            "data.test_batch_size": 64,
            "model.backbone": "tiny",
            "model.imagenet": False,
            "optim.lr": 3e-3,
            "optim.backbone_lr_mult": 1.0,
            "optim.warmup_epochs": 0,
            "train.epochs": 2,
            "train.eval_every": 1,
            "eval.vis_queries": 2,
            "eval.vis_topk": 3,
        },
    )
    cfg = updated(cfg, {f"train.{key}": value for key, value in train.items()})
    return cfg
