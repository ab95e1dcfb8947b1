"""ECN: CamStyle loading, training on the target, exact resume."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest
import torch

import reid
from core.config import updated
from core.errors import UserError
from reid.data import read_dataset
from reid.data.crossdomain import camstyle_index
from reid.engine import load_checkpoint, seed_everything
from reid.methods.ecn import Ecn
from tests.reid.helpers import ecn_config, make_market, save


def test_camstyle_notice_when_missing_and_use_when_present(market_dir, tmp_path, capsys):
    missing = make_market(tmp_path / "plain", range(21, 24), range(24, 26), per_cam=2)
    method = Ecn(ecn_config(missing), 6, torch.device("cpu"))
    method.build_train_loader(read_dataset("market1501", market_dir).train)
    err = capsys.readouterr().err
    assert "camera invariance off" in err and len(err.strip().splitlines()) == 1
    assert method.camstyle is None

    root = make_market(tmp_path / "cs", range(21, 24), range(24, 26), per_cam=2)
    for img in sorted((root / "bounding_box_train").iterdir()):
        cam = int(img.name.split("_c")[1][0])
        other = 3 - cam
        save(root / "bounding_box_train_camstyle" / f"{img.stem}_fake_{cam}to{other}.jpg", 99, 0)
    index = camstyle_index(root / "bounding_box_train_camstyle")
    assert ("0021_c1s1_000000_00", 1) in index and len(index) == 12
    method = Ecn(ecn_config(root), 6, torch.device("cpu"))
    loader = method.build_train_loader(read_dataset("market1501", market_dir).train)
    assert "camera invariance" not in capsys.readouterr().err and method.camstyle == index
    ds = loader.dataset
    torch.manual_seed(0)
    paths = [ds.target_path(0) for _ in range(200)]
    fake = sum("_fake_" in p for p in paths)
    assert 60 < fake < 140  # original with probability 1/C = 1/2
    assert {p for p in paths if "_fake_" in p} == {index[(Path(ds.target[0].path).stem, 1)]}


def test_steps_reduce_the_loss_and_target_is_evaluated(market_dir, target_dir, tmp_path):
    cfg = ecn_config(target_dir)
    cfg = updated(cfg, {"data.erase_prob": 0.0, "data.hflip_prob": 0.0, "ecn.dropout": 0.0})
    seed_everything(0)
    method = Ecn(cfg, 6, torch.device("cpu"))
    batch = next(iter(method.build_train_loader(read_dataset("market1501", market_dir).train)))
    losses = [method.train_step(batch) for _ in range(12)]
    assert losses[-1]["loss"] < 0.7 * losses[0]["loss"]
    assert losses[-1]["loss_src"] < losses[0]["loss_src"]
    assert losses[-1]["loss_tgt"] < losses[1]["loss_tgt"]  # step 0: empty memory, log N
    assert losses[0]["loss_tgt"] == pytest.approx(math.log(36), rel=1e-5)
    assert method.eval_splits(None).query[0].pid == 27  # the target's query

    run = reid.train(
        "ecn",
        ecn_config(target_dir, epochs=3),
        market_dir,
        "market1501",
        tmp_path / "r",
        device="cpu",
        progress=False,
    )
    rows = list(csv.DictReader((run / "metrics.csv").open()))
    assert float(rows[-1]["loss"]) < float(rows[0]["loss"]) and rows[-1]["mAP"] != ""
    enc = reid.load_encoder(run / "best.pt")  # rebuilds without the target folder
    assert enc.dim == 64  # pool5 of the tiny backbone
    no_target = ecn_config(target_dir)
    no_target = updated(no_target, {"target.data_dir": None})
    needs_target = r"ecn needs an unlabelled target dataset .*; pass --set target.data_dir=DIR"
    with pytest.raises(UserError, match=needs_target):
        reid.train("ecn", no_target, market_dir, "market1501", tmp_path / "n", device="cpu")


def test_resume_reproduces_an_uninterrupted_run(market_dir, target_dir, tmp_path):
    def cfg(epochs):
        c = ecn_config(target_dir, epochs=epochs, eval_every=0)
        # exercise kNN and momentum in epoch 2
        return updated(c, {"ecn.knn_start_epoch": 1, "ecn.alpha": 0.3})

    kw = {"device": "cpu", "progress": False}
    straight = reid.train("ecn", cfg(2), market_dir, "market1501", tmp_path / "a", **kw)
    part = reid.train("ecn", cfg(1), market_dir, "market1501", tmp_path / "b", **kw)
    reid.train("ecn", cfg(2), market_dir, "market1501", part, resume=True, **kw)
    a, b = load_checkpoint(straight / "last.pt"), load_checkpoint(part / "last.pt")
    assert torch.equal(a["ecn_memory"], b["ecn_memory"]) and a["ecn_memory"].abs().sum() > 0
    for key, value in a["modules"]["model"].items():
        assert torch.equal(value, b["modules"]["model"][key]), key
