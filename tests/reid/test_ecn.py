"""ECN: exemplar memory, invariance losses, CamStyle loading, training and exact resume."""

import csv
import dataclasses
import math
from pathlib import Path

import pytest
import torch
import yaml

import reid
import reid.methods.ecn
from core.config import config_from_dict, updated
from core.errors import UserError
from reid.config import EcnConfig
from reid.data.crossdomain import CrossDomainSampler, camstyle_index
from reid.data.datasets import read_dataset
from reid.engine import load_checkpoint, seed_everything
from reid.losses.exemplar import ExemplarMemory, invariance_loss, neighbourhood_targets
from reid.methods.ecn import Ecn
from tests.reid.conftest import H, W, make_market, save

REPO = Path(__file__).resolve().parents[2]


def ecn_config(target: Path, config_class: type[EcnConfig] = EcnConfig, **train) -> EcnConfig:
    """A tiny ECN-family config (``config_class``: EcnConfig or a subclass such as FMCL's)."""
    cfg = config_class()
    cfg = updated(
        cfg,
        {
            "data.height": H,
            "data.width": W,
            "data.batch_size": 8,
            "data.workers": 0,
            "data.test_batch_size": 64,
            "model.backbone": "tiny",
            "model.imagenet": False,
            "optim.lr": 0.05,
            "train.epochs": 2,
            "train.eval_every": 1,
            "eval.vis_queries": 2,
            "eval.vis_topk": 3,
            "target.data_dir": str(target),
            "target.dataset": "market1501",
            "target.batch_size": 8,
            "ecn.features": 32,
        },
    )
    cfg = updated(cfg, {f"train.{key}": value for key, value in train.items()})
    return cfg


def test_config_defaults_match_yaml_and_registration():
    assert "ecn" in reid.list_methods() and reid.config_class("ecn") is EcnConfig
    data = yaml.safe_load((REPO / "configs/reid/ecn.yaml").read_text())
    assert config_from_dict(EcnConfig, data) == EcnConfig()
    assert set(data) == {f.name for f in dataclasses.fields(EcnConfig)}
    e = EcnConfig().ecn
    assert (e.features, e.beta, e.knn, e.lmd, e.alpha, EcnConfig().train.epochs) == (
        4096,
        0.05,
        6,
        0.3,
        0.01,
        60,
    )


def test_memory_update_momentum_and_normalisation():
    mem = ExemplarMemory(3, 2)
    mem.features[0] = torch.tensor([1.0, 0.0])
    mem.update(torch.tensor([[0.0, 1.0], [3.0, 4.0]]), torch.tensor([0, 2]), alpha=0.5)
    s = 1 / math.sqrt(2)
    torch.testing.assert_close(mem.features, torch.tensor([[s, s], [0.0, 0.0], [0.6, 0.8]]))
    # A repeated slot is updated sequentially: [1,0] first, then mixed with [0,1].
    mem.update(torch.tensor([[2.0, 0.0], [0.0, 1.0]]), torch.tensor([1, 1]), alpha=0.5)
    torch.testing.assert_close(mem.features[1], torch.tensor([s, s]))
    # alpha 0 overwrites (ECN's epoch 0).
    mem.update(torch.tensor([[0.0, -2.0]]), torch.tensor([0]), alpha=0.0)
    torch.testing.assert_close(mem.features[0], torch.tensor([0.0, -1.0]))


def test_exemplar_invariance_is_softmax_ce_with_temperature():
    mem = ExemplarMemory(3, 2)
    mem.features[:] = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
    f = torch.tensor([[0.8, 0.6]])
    logits = mem.logits(f, beta=0.05)
    sims = [0.8, 0.6, 0.96]
    torch.testing.assert_close(logits[0], torch.tensor(sims) / 0.05)
    expected = -(sims[0] / 0.05 - math.log(sum(math.exp(s / 0.05) for s in sims)))
    assert invariance_loss(logits, torch.tensor([0])).item() == pytest.approx(expected, rel=1e-5)


def test_neighbourhood_weights_share_one_over_k():
    logits = torch.tensor([[5.0, 4.0, 3.0, 2.0, 1.0, 0.0], [0.0, 9.0, 1.0, 8.0, 2.0, 3.0]])
    own = torch.tensor([5, 1])
    w = neighbourhood_targets(logits, own, k=2)
    torch.testing.assert_close(w, torch.tensor([[0.5, 0.5, 0, 0, 0, 1.0], [0, 1.0, 0, 0.5, 0, 0]]))
    log_p = torch.log_softmax(logits, 1)
    expected = (
        -((0.5 * log_p[0, 0] + 0.5 * log_p[0, 1] + log_p[0, 5]) + (log_p[1, 1] + 0.5 * log_p[1, 3]))
        / 2
    )
    assert invariance_loss(logits, own, knn=2).item() == pytest.approx(expected.item(), rel=1e-6)
    # k = 0: plain exemplar invariance.
    torch.testing.assert_close(
        invariance_loss(logits, own, 0), torch.nn.functional.cross_entropy(logits, own)
    )


def test_crossdomain_sampler_layout_and_determinism():
    s = CrossDomainSampler(20, 7, 4, 3, seed=1)
    s.set_epoch(2)
    batches = list(s)
    assert len(batches) == len(s) == 5 and all(len(b) == 7 for b in batches)
    assert sorted(i for b in batches for i in b[:4]) == list(range(20))
    for b in batches:  # target part: offset indices, no repeats inside a batch
        assert all(20 <= i < 27 for i in b[4:]) and len(set(b[4:])) == 3
    assert batches == list(s)
    with pytest.raises(UserError, match="target.batch_size"):
        CrossDomainSampler(20, 2, 4, 3)


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
    with pytest.raises(UserError, match="ecn needs an unlabelled target dataset .*; pass --set target.data_dir=DIR"):
        reid.train("ecn", no_target, market_dir, "market1501", tmp_path / "n", device="cpu")


def test_resnet_early_stages_frozen_with_bn_in_eval():
    cfg = ecn_config(Path("unused"))
    cfg = updated(cfg, {"model.backbone": "resnet18"})
    net = Ecn.build_model(cfg, 4)
    trunk = net.train().backbone
    assert not any(p.requires_grad for p in trunk.layers[1].parameters())
    assert all(p.requires_grad for p in trunk.layers[2].parameters())
    assert not trunk.stem[1].training and trunk.layers[2].training
    assert net(torch.zeros(2, 3, H, W)).shape == (2, 512)


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
