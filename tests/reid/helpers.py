"""Tiny synthetic re-ID datasets in every supported layout (coloured-rectangle people) and the
tiny configs the tests train with."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import scipy.io
from PIL import Image

from core.config import updated
from reid.config import (
    DnsConfig,
    EcnConfig,
    FmclConfig,
    IhdaConfig,
    ReidConfig,
    SbirConfig,
    StReidNetConfig,
)

REPO = Path(__file__).resolve().parents[2]
H, W = 32, 16  #: the tiny people's size, and the input size of the tiny configs
ST_H, ST_W = 64, 32  #: ST-ReIDNet's tiny input (its generator halves the size five times)


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


def save_modal(path: Path, pid: int, index: int, infrared: bool) -> None:
    """Visible: the coloured person; infrared: its grey version (all channels equal)."""
    img = person(pid, index)
    if infrared:
        img = np.repeat(img.mean(2, keepdims=True).astype(np.uint8), 3, axis=2)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(img).save(path)


def remove(path: Path) -> None:
    """Delete a file or a whole folder of a generated dataset (to test reader errors)."""
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink()


# -- datasets ------------------------------------------------------------------------------------


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


def make_sysu(root: Path, train=(1, 2, 3, 4), val=(5,), test=(6, 7, 8), per_cam: int = 2) -> Path:
    for k, ids in (("train", train), ("val", val), ("test", test)):
        (root / "exp").mkdir(parents=True, exist_ok=True)
        (root / "exp" / f"{k}_id.txt").write_text(",".join(str(i) for i in ids) + "\n")
    for cam in range(1, 7):
        for pid in (*train, *val, *test):
            for j in range(per_cam):
                save_modal(
                    root / f"cam{cam}" / f"{pid:04d}" / f"{j:04d}.jpg",
                    pid,
                    cam * 10 + j,
                    cam in (3, 6),
                )
    return root


def make_regdb(
    root: Path, ids_train=(0, 1, 2, 3), ids_test=(4, 5, 6), per: int = 2, splits=(1, 2)
) -> Path:
    (root / "idx").mkdir(parents=True, exist_ok=True)
    for part, ids in (("train", ids_train), ("test", ids_test)):
        for mod, ir in (("visible", False), ("thermal", True)):
            rows = []
            for pid in ids:
                for j in range(per):
                    rel = f"{mod.capitalize()}/{pid}/{j}.bmp"
                    save_modal(root / rel, pid, j + 10 * ir, ir)
                    rows.append(f"{rel} {pid}")
            for k in splits:
                (root / "idx" / f"{part}_{mod}_{k}.txt").write_text("\n".join(rows) + "\n")
    return root


def make_llcm(root: Path, train=(1, 2, 3, 4), test=(10, 11, 12)) -> Path:
    (root / "idx").mkdir(parents=True, exist_ok=True)
    for mod, ir in (("vis", False), ("nir", True)):
        rows = []
        for pid in train:
            for cam in (1, 2):
                rel = f"{mod}/{pid:04d}/test_c0{cam}_{pid}.jpg"
                save_modal(root / rel, pid, cam + 10 * ir, ir)
                rows.append(f"{rel} {pid}")
        (root / "idx" / f"train_{mod}.txt").write_text("\n".join(rows) + "\n")
        for pid in test:
            for cam in (1, 2, 4):
                save_modal(
                    root / f"test_{mod}" / f"cam{cam}" / f"{pid:04d}" / "0.jpg", pid, cam, ir
                )
    (root / "idx" / "test_id.txt").write_text(",".join(str(i) for i in test))
    return root


PKU_STYLES = {"a_5.txt": (1, 2, 3, 4, 5), "b_3.txt": (6, 7, 8)}


def make_pku(root: Path, styles=PKU_STYLES) -> Path:
    for name, ids in styles.items():
        (root / "styleAnnotation").mkdir(parents=True, exist_ok=True)
        (root / "styleAnnotation" / name).write_text("\n".join(map(str, ids)) + "\n")
        for pid in ids:
            save(root / "sketch" / f"{pid}.jpg", pid, 0)
            for k in (1, 2):
                save(root / "photo" / f"{pid}_{k:02d}_{100 + k}.jpg", pid, k)
    return root


def make_grey_pku(root: Path, ids=range(1, 9)) -> Path:
    """PKU-Sketch layout whose "sketches" are the people in grey (one style group)."""
    for pid in ids:
        for k in range(2):
            save(root / "photo" / f"{pid}_{k}.jpg", 100 + pid, k)
        save_modal(root / "sketch" / f"{pid}.jpg", 100 + pid, 7, infrared=True)
    (root / "styleAnnotation").mkdir(parents=True, exist_ok=True)
    (root / "styleAnnotation" / "a_1.txt").write_text("\n".join(str(i) for i in ids))
    return root


QMUL_TRAIN, QMUL_TEST = (1, 2, 3, 4, 5, 6), (7, 8, 9, 10, 11)


def make_qmul(root: Path, train=QMUL_TRAIN, test=QMUL_TEST) -> Path:
    """QMUL layout: pair i = the person i (photo) and its grey version (sketch)."""
    for part, ids in (("train", train), ("test", test)):
        for i in ids:
            save(root / part / "images" / f"{i}.jpg", i, 0)
            save_modal(root / part / "sketches" / f"{i}.png", i, 1, infrared=True)
    return root


SBIR_CLASSES = ["cat", "dog", "car", "bus", "cup"]


def _sbir_image(path: Path, cls: int, k: int, sketch: bool) -> None:
    rng = np.random.default_rng([cls, k, int(sketch)])
    colour = np.random.default_rng(cls).integers(0, 256, 3)
    img = np.full((24, 24, 3), 255 if sketch else colour, np.float64)
    img[6:18, 6:18] = colour if sketch else 255 - colour
    img += rng.normal(0, 10, img.shape)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(path)


def make_sbir(root: Path, train=SBIR_CLASSES[:3], test=SBIR_CLASSES[3:], n=4, vectors=True) -> Path:
    for c, name in enumerate(SBIR_CLASSES):
        for k in range(n):
            _sbir_image(root / "sketches" / name / f"{k}.png", c, k, True)
            _sbir_image(root / "photos" / name / f"{k}.jpg", c, k, False)
    (root / "train_labels.txt").write_text("\n".join(train) + "\n")
    (root / "test_labels.txt").write_text("\n".join(test) + "\n")
    if vectors:
        np.save(root / "train_embeddings.npy", np.eye(len(train), 4, dtype=np.float32))
    return root


FIELDS = ("gender", "hair", "up", "down", "clothes", "hat", "backpack", "bag", "handbag")


def write_attributes(path: Path, pids, rng_seed: int = 0) -> Path:
    rng = np.random.default_rng(rng_seed)
    train = {f: rng.integers(1, 3, len(pids)).astype(np.uint8) for f in FIELDS}
    train["age"] = rng.integers(1, 5, len(pids)).astype(np.uint8)
    train["image_index"] = np.array([f"{p:04d}" for p in pids], dtype=object)
    scipy.io.savemat(path, {"market_attribute": {"train": train}})
    return path


# -- tiny configs --------------------------------------------------------------------------------

#: What every tiny config shares: the tiny CNN on the tiny people, no loader workers.
TINY = {
    "data.height": H,
    "data.width": W,
    "data.workers": 0,
    "data.test_batch_size": 64,
    "model.backbone": "tiny",
    "model.imagenet": False,
    "eval.vis_queries": 2,
    "eval.vis_topk": 3,
}


def _tiny(config_class: type, changes: dict, train: dict) -> Any:
    """``config_class``'s defaults with :data:`TINY`, then ``changes``, then ``train.*``."""
    return updated(
        config_class(), {**TINY, **changes, **{f"train.{k}": v for k, v in train.items()}}
    )


def tiny_config(**train) -> ReidConfig:
    """A config that trains the tiny CNN on 32x16 inputs in well under a second per epoch
    (P x K batches and pad + crop: the tiny sets have too few images for 3-image triplets)."""
    changes = {
        "data.batch_size": 8,
        "data.sampler": "pk",
        "data.num_instances": 2,
        "data.crop": "pad",
        "data.pad": 2,
        "optim.lr": 3e-3,
        "optim.backbone_lr_mult": 1.0,
        "optim.warmup_epochs": 0,
        "train.epochs": 2,
        "train.eval_every": 1,
    }
    return _tiny(ReidConfig, changes, train)


def tiny_sbir_config() -> SbirConfig:
    changes = {
        "data.height": 32,
        "data.width": 32,
        "data.batch_size": 4,
        "data.test_batch_size": 8,
        "train.epochs": 2,
        "train.eval_every": 0,
        "sbir.grl_start_epoch": 1,
        "sbir.grl_threshold_epoch": 2,
    }
    return _tiny(SbirConfig, changes, {})


def tiny_dns_config(epochs: int = 2) -> DnsConfig:
    changes = {
        "data.batch_size": 8,
        "data.num_instances": 2,
        "data.pad": 2,
        "optim.lr": 0.05,
        "dns.decay_step": 1,
        "train.epochs": epochs,
        "train.eval_every": 1,
        "train.max_steps_per_epoch": 4,
    }
    return _tiny(DnsConfig, changes, {})


def ecn_config(target: Path, config_class: type[EcnConfig] = EcnConfig, **train) -> EcnConfig:
    """A tiny ECN-family config (``config_class``: EcnConfig or a subclass such as FMCL's)."""
    changes = {
        "data.batch_size": 8,
        "optim.lr": 0.05,
        "train.epochs": 2,
        "train.eval_every": 1,
        "target.data_dir": str(target),
        "target.dataset": "market1501",
        "target.batch_size": 8,
        "ecn.features": 32,
    }
    return _tiny(config_class, changes, train)


def fmcl_config(target: Path, **train) -> FmclConfig:
    return ecn_config(target, FmclConfig, **train)


def st_config(**train) -> StReidNetConfig:
    """Tiny nets on 64x32 inputs; E and G learn fast enough to see progress in a few steps."""
    changes = {
        "data.height": ST_H,
        "data.width": ST_W,
        "data.batch_size": 12,
        "gan.ngf": 8,
        "gan.ndf": 8,
        "gan.pose_dim": 16,
        "gan.d_backbone": "tiny",
        "optim.name": "adam",
        "optim.lr": 3e-3,
        "gan.lr_g": 1e-3,
        "gan.lr_d": 1e-3,
        "train.epochs": 2,
        "train.eval_every": 0,
        "train.max_steps_per_epoch": 2,
    }
    return _tiny(StReidNetConfig, changes, train)


def ihda_config(attrs: Path, step: int, pku: Path | None = None, **ihda) -> IhdaConfig:
    changes = {
        "data.batch_size": 8,
        "data.num_instances": 2,
        "data.pad": 2,
        "data.erase_prob": 0.0,
        "optim.lr": 3e-3,
        "optim.warmup_epochs": 0,
        "train.epochs": 3,
        "train.eval_every": 0,
        "train.max_steps_per_epoch": 4,
        "ihda.step": step,
        "ihda.attribute_file": str(attrs),
        "ihda.att_hidden": 16,
        "ihda.domain_hidden": 16,
        "ihda.source_batch": 4,
    }
    cfg = _tiny(IhdaConfig, changes, {})
    if pku is not None:
        cfg = updated(
            cfg,
            {
                "target.data_dir": str(pku),
                "target.dataset": "pku-sketch",
                "target.batch_size": 3,
            },
        )
    cfg = updated(cfg, {f"ihda.{k}": v for k, v in ihda.items()})
    return cfg
