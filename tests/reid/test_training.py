"""Engine end to end on tiny data: loss goes down, resume is exact, artefacts, evaluate, embed."""

import csv
import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

import reid
from core.config import config_from_dict, updated
from core.errors import UserError
from reid.config import ReidConfig
from reid.data import read_dataset
from reid.data.loader import build_train_loader
from reid.engine import load_checkpoint, seed_everything
from reid.methods import Baseline
from tests.reid.conftest import make_dancereid, tiny_config

REPO = Path(__file__).resolve().parents[2]


def test_entry_points_and_config_defaults_match_yaml():
    assert "baseline" in reid.list_methods()
    assert reid.config_class("baseline") is ReidConfig
    data = yaml.safe_load((REPO / "configs/reid/baseline.yaml").read_text())
    assert config_from_dict(ReidConfig, data) == ReidConfig()
    assert set(data) == {f.name for f in dataclasses.fields(ReidConfig)}
    with pytest.raises(UserError, match="choose one of: baseline"):
        reid.config_class("nope")


def test_a_few_baseline_steps_reduce_the_loss(market_dir):
    cfg = tiny_config()
    cfg = updated(cfg, {"data.erase_prob": 0.0, "data.hflip_prob": 0.0})
    splits = read_dataset("market1501", market_dir)
    seed_everything(0)
    method = Baseline(cfg, splits.num_train_pids, torch.device("cpu"))
    batch = next(iter(build_train_loader(splits.train, cfg.data, seed=0)))
    losses = [method.train_step(batch)["loss"] for _ in range(15)]
    assert losses[-1] < 0.7 * losses[0]


def _weights(path):
    return load_checkpoint(path)["modules"]["model"]


def test_resume_reproduces_an_uninterrupted_run(market_dir, tmp_path):
    straight = reid.train(
        "baseline",
        tiny_config(epochs=2),
        market_dir,
        "market1501",
        tmp_path / "a",
        device="cpu",
        progress=False,
    )
    first = reid.train(
        "baseline",
        tiny_config(epochs=1),
        market_dir,
        "market1501",
        tmp_path / "b",
        device="cpu",
        progress=False,
    )
    cfg2 = tiny_config(epochs=2)
    reid.train(
        "baseline", cfg2, market_dir, "market1501", first, resume=True, device="cpu", progress=False
    )
    wa, wb = _weights(straight / "last.pt"), _weights(first / "last.pt")
    assert wa.keys() == wb.keys()
    for key in wa:
        assert torch.equal(wa[key], wb[key]), key
    rows_a = list(csv.DictReader((straight / "metrics.csv").open()))
    rows_b = list(csv.DictReader((first / "metrics.csv").open()))
    assert [r["loss"] for r in rows_a] == [r["loss"] for r in rows_b] and len(rows_a) == 2


def test_run_folder_artefacts_and_errors(market_dir, tmp_path):
    cfg = tiny_config(epochs=2, eval_before=True)
    run = reid.train(
        "baseline", cfg, market_dir, "market1501", tmp_path / "run", device="cpu", progress=False
    )
    for name in ("best.pt", "last.pt", "metrics.csv", "curves.png", "config.yaml"):
        assert (run / name).is_file(), name
    rows = list(csv.DictReader((run / "metrics.csv").open()))
    assert (
        [r["epoch"] for r in rows] == ["0", "1", "2"]
        and rows[0]["loss"] == ""
        and rows[2]["mAP"] != ""
    )
    ckpt = load_checkpoint(run / "last.pt")
    assert ckpt["epoch"] == 2 and ckpt["method"] == "baseline" and ckpt["input"]["height"] == 32
    assert set(ckpt["rng"]) >= {"python", "numpy", "torch"} and "model" in ckpt["optimizers"]
    assert config_from_dict(ReidConfig, ckpt["config"]) == cfg
    assert yaml.safe_load((run / "config.yaml").read_text())["model"]["backbone"] == "tiny"
    with pytest.raises(UserError, match="already holds a run"):
        reid.train("baseline", cfg, market_dir, "market1501", run, device="cpu", progress=False)
    with pytest.raises(UserError, match="cannot resume"):
        reid.train(
            "baseline", cfg, market_dir, "market1501", tmp_path / "x", resume=True, device="cpu"
        )

    report = reid.evaluate(
        run / "best.pt", market_dir, "market1501", out_dir=tmp_path / "eval", device="cpu"
    )
    assert 0 <= report["mAP"] <= 1 and report["num_query"] == 4 and report["protocol"] == "market"
    assert Path(report["ranking_png"]).is_file() and (tmp_path / "eval" / "eval.json").is_file()
    reranked = reid.evaluate(
        run / "best.pt",
        market_dir,
        "market1501",
        out_dir=tmp_path / "eval",
        rerank=True,
        device="cpu",
    )
    assert reranked["rerank"] is True and 0 <= reranked["mAP"] <= 1
    with pytest.raises(UserError, match="not a reid checkpoint"):
        torch.save({"a": torch.zeros(1)}, tmp_path / "junk.pt")
        reid.evaluate(tmp_path / "junk.pt", market_dir, "market1501", device="cpu")


def test_training_on_colours_beats_the_untrained_model(market_dir, tmp_path):
    cfg = tiny_config(epochs=4, eval_before=True, eval_every=4)
    run = reid.train(
        "baseline", cfg, market_dir, "market1501", tmp_path / "run", device="cpu", progress=False
    )
    rows = list(csv.DictReader((run / "metrics.csv").open()))
    assert float(rows[-1]["mAP"]) >= float(rows[0]["mAP"])
    assert float(rows[-1]["mAP"]) > 0.8


def test_dancereid_and_triplet_sampling_train(tmp_path):
    root = make_dancereid(tmp_path / "dance")
    cfg = tiny_config(epochs=1)
    cfg = updated(cfg, {"data.sampler": "st", "data.batch_size": 12})
    run = reid.train(
        "baseline", cfg, root, "dancereid", tmp_path / "run", device="cpu", progress=False
    )
    report = reid.evaluate(run / "best.pt", root, "dancereid", device="cpu")
    assert report["protocol"] == "single_gallery_shot" and 0 <= report["rank1"] <= 1


@pytest.fixture(scope="module")
def trained_checkpoint(market_dir, tmp_path_factory):
    run = reid.train(
        "baseline",
        tiny_config(epochs=1, eval_every=0),
        market_dir,
        "market1501",
        tmp_path_factory.mktemp("run") / "r",
        device="cpu",
        progress=False,
    )
    return run / "best.pt"


def test_checkpoint_to_encoder_round_trip(trained_checkpoint):
    enc = reid.load_encoder(trained_checkpoint)
    assert (enc.height, enc.width, enc.dim) == (32, 16, 64)
    x = torch.randn(5, 3, 32, 16)
    a, b = enc(x), enc(x)
    assert a.shape == (5, 64) and torch.equal(a, b)
    torch.testing.assert_close(a.norm(dim=1), torch.ones(5))
    # Same embedding as a batch of one (eval-mode BN: no batch coupling).
    torch.testing.assert_close(enc(x[:1]), a[:1])
    crops = np.random.default_rng(0).integers(0, 256, (3, 70, 30, 3), dtype=np.uint8)
    emb = enc.embed_crops(crops)
    assert emb.shape == (3, 64) and emb.dtype == np.float32
    assert enc.embed_crops(np.zeros((0, 70, 30, 3), np.uint8)).shape == (0, 64)


def test_onnx_export_matches_torch(trained_checkpoint, tmp_path):
    info = reid.export_onnx(trained_checkpoint, tmp_path / "enc.onnx")
    assert info["max_abs_diff"] < 1e-4 and (tmp_path / "enc.onnx").is_file()
    from reid.export import run_onnx

    out, _ = run_onnx(tmp_path / "enc.onnx", np.zeros((3, 3, 32, 16), np.float32))  # dynamic batch
    assert out.shape == (3, 64)
