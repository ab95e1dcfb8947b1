"""QMUL protocol: acc@k of checkpoints, sketches through their sketch branch."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

import reid
from core.config import updated
from core.errors import UserError
from reid.data import read_dataset
from reid.evaluation import embed_modality, evaluate_checkpoint
from reid.evaluation.features import embed_sbir
from reid.methods.load import load_method
from reid.metrics.sbir import evaluate_pairs
from tests.reid.helpers import QMUL_TEST as TEST
from tests.reid.helpers import make_qmul, make_sbir, tiny_config, tiny_sbir_config


class _TwoBranch(torch.nn.Module):
    """Photos -> (1, 0), sketches -> (0, 1): tells which branch embedded an image."""

    def forward(self, x: torch.Tensor, modality: torch.Tensor) -> torch.Tensor:
        m = modality.float()[:, None]
        return torch.cat([1 - m, m], 1) + 0 * x.mean((1, 2, 3))[:, None]


def test_modality_models_embed_sketches_with_their_sketch_branch(tmp_path):
    splits = read_dataset("qmul-shoes", make_qmul(tmp_path / "shoes"))
    impl = SimpleNamespace(model=_TwoBranch(), cfg=tiny_config(), device=torch.device("cpu"))
    sk = embed_modality(impl, splits.query, 1)
    ph = embed_modality(impl, splits.gallery, 0)
    np.testing.assert_allclose(sk, np.tile([0.0, 1.0], (len(TEST), 1)))
    np.testing.assert_allclose(ph, np.tile([1.0, 0.0], (len(TEST), 1)))


def test_baseline_checkpoint_end_to_end(tmp_path):
    root = make_qmul(tmp_path / "shoes")
    run = reid.train(
        "baseline",
        tiny_config(epochs=1, eval_every=0),
        root,
        "qmul-shoes",
        tmp_path / "run",
        device="cpu",
        progress=False,
    )
    report = evaluate_checkpoint(run / "best.pt", root, "qmul-shoes", device="cpu")
    assert report["num_pairs"] == len(TEST) and report["protocol"] == "qmul"
    assert 0.0 <= report["acc@1"] <= report["acc@10"] == 1.0  # 5 pairs: top 10 holds all
    assert report["epoch"] == 1
    # reid.evaluate (behind `mplt eval-reid`) chooses this protocol by the dataset name
    via_api = reid.evaluate(run / "best.pt", root, "qmul-shoes", out_dir=tmp_path, device="cpu")
    assert via_api["acc@1"] == report["acc@1"] and (tmp_path / "eval.json").is_file()
    with pytest.raises(UserError, match="not a QMUL dataset"):
        evaluate_checkpoint(run / "best.pt", root, "sketchy", protocol="qmul", device="cpu")


def test_sbir_checkpoint_uses_its_sketch_encoder(tmp_path):
    sbir_root = make_sbir(tmp_path / "sketchy")
    cfg = tiny_sbir_config()
    cfg = updated(cfg, {"train.epochs": 1})
    run = reid.train(
        "sbir", cfg, sbir_root, "sketchy", tmp_path / "run", device="cpu", progress=False
    )
    root = make_qmul(tmp_path / "shoes")
    report = evaluate_checkpoint(run / "last.pt", root, "qmul-shoes", device="cpu")
    impl, _ = load_method(run / "last.pt", torch.device("cpu"))
    splits = read_dataset("qmul-shoes", root)
    cpu = torch.device("cpu")
    direct = evaluate_pairs(
        embed_sbir(impl.model.sketch, splits.query, impl.cfg.data, cpu),
        embed_sbir(impl.model.photo, splits.gallery, impl.cfg.data, cpu),
    )
    assert report["acc@1"] == direct["acc@1"] and report["num_pairs"] == len(TEST)
