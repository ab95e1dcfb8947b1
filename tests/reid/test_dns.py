"""DNS: losses on hand-computed cases, network pieces, schedule, and training end to end."""

import csv
import math
from pathlib import Path

import pytest
import torch
import yaml
from torch import nn

import reid
from core.config import config_from_dict, updated
from reid.config import DnsConfig
from reid.data.datasets import read_dataset
from reid.engine import load_checkpoint
from reid.engine.optim import OneCycle
from reid.evaluation import EvalOptions, evaluate_checkpoint
from reid.losses.dns import circle_loss, domain_distillation_term, ema_update, mmd_rbf
from reid.methods.dns import Dns
from reid.models.dns_net import HSS, DnsNet, gem
from tests.reid.conftest import H, W
from tests.reid.test_crossmodal import make_sysu

REPO = Path(__file__).resolve().parents[2]


def tiny_dns_config(epochs: int = 2) -> DnsConfig:
    cfg = DnsConfig()
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
            "optim.lr": 0.05,
            "dns.decay_step": 1,
            "train.epochs": epochs,
            "train.eval_every": 1,
            "train.max_steps_per_epoch": 4,
            "eval.vis_queries": 2,
            "eval.vis_topk": 3,
        },
    )
    return cfg


def test_config_defaults_match_yaml_and_registration():
    data = yaml.safe_load((REPO / "configs/reid/dns.yaml").read_text())
    assert config_from_dict(DnsConfig, data) == DnsConfig()
    assert reid.config_class("dns") is DnsConfig
    cfg = DnsConfig()
    assert (cfg.data.height, cfg.data.width, cfg.data.batch_size) == (288, 144, 48)
    assert (cfg.optim.lr, cfg.dns.circle_margin, cfg.dns.circle_gamma) == (0.2, 0.45, 64.0)


def test_circle_loss_hand_computed():
    e1, e2 = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    feats, pids = torch.stack([e1, 2 * e1, e2]), torch.tensor([0, 0, 1])
    # Anchors 0, 1: s_p = 1, s_n = 0, alpha = m; both exponents -gamma m^2; anchor 2 has no positive.
    expected = math.log1p(math.exp(-2 * 2.0 * 0.25))
    assert float(circle_loss(feats, pids, margin=0.5, gamma=2.0)) == pytest.approx(
        expected, rel=1e-5
    )
    assert float(circle_loss(feats[:2], pids[:2])) == 0.0  # no negatives at all


def test_mmd_hand_computed_and_zero_for_equal_sets():
    x, y = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 3.0]])
    # |x - y|^2 = 2 (normalised), sigma0 = 2 / 4 = 0.5, bandwidths 0.5 * 2^i.
    kxy = sum(math.exp(-2 / (0.5 * 2**i)) for i in range(5))
    assert float(mmd_rbf(x, y)) == pytest.approx(10 - 2 * kxy, rel=1e-5)
    z = torch.randn(6, 4)
    assert float(mmd_rbf(z, z.clone())) == pytest.approx(0.0, abs=1e-6)


def test_domain_distillation_uniform_case_and_ema():
    n, feats, pids = 5, torch.randn(4, 3), torch.tensor([0, 1, 0, 1])
    layers = [nn.Linear(3, n, bias=False) for _ in range(4)]
    for lin in layers:
        nn.init.zeros_(lin.weight)
    # Uniform predictions: KL = 0, each CE = log n.
    term = domain_distillation_term(feats, pids, *layers, ce_weight=0.25)
    assert float(term.detach()) == pytest.approx(0.25 * 2 * math.log(n), rel=1e-5)
    nn.init.ones_(layers[0].weight)
    ema_update(layers[2], layers[0], tau=0.2)
    assert torch.allclose(layers[2].weight, torch.full((n, 3), 0.2))


def test_hss_gem_and_modality_routing():
    x = torch.randn(2, 16, 6, 3)
    assert HSS(16)(x).shape == x.shape
    assert torch.allclose(gem(torch.full((1, 2, 3, 3), 2.0)), torch.full((1, 2), 2.0))
    vals = torch.tensor([1.0, 8.0]).view(1, 1, 1, 2)
    assert float(gem(vals)) == pytest.approx(((1 + 512) / 2) ** (1 / 3), rel=1e-5)
    net = DnsNet(4, "tiny", False).eval()
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    grey = (torch.rand(2, 1, H, W).expand(2, 3, H, W) - mean) / std
    colour = (torch.rand(2, 3, H, W) - mean) / std
    batch = torch.cat([grey, colour])
    assert net.is_grey(batch).tolist() == [True, True, False, False]
    with torch.no_grad():
        auto = net(batch)
        explicit = torch.cat([net(grey, 1), net(colour, 0)])
        out = net.forward_train(colour, grey)
    assert torch.allclose(auto, explicit, atol=1e-5) and auto.shape == (4, 64)
    assert out.z.shape == out.z_hat.shape == (4, 64) and out.logits.shape == (4, 4)


def test_one_cycle_schedule():
    opt = torch.optim.SGD([{"params": [nn.Parameter(torch.zeros(1))], "lr": 0.2}])
    sched = OneCycle(opt, peak=16, total=100, start=1e-4)
    assert [sched.factor(t) for t in (0, 16, 58, 100)] == pytest.approx([1e-4, 1, 0.5, 0])
    sched.steps_per_epoch = 4
    sched.step_iter()
    sched.step_iter()
    assert opt.param_groups[0]["lr"] == pytest.approx(0.2 * (1e-4 + (1 - 1e-4) * 0.25 / 16))
    sched.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(0.2 * (1e-4 + (1 - 1e-4) / 16))


@pytest.fixture(scope="module")
def sysu_dir(tmp_path_factory) -> Path:
    return make_sysu(tmp_path_factory.mktemp("sysu_dns"), per_cam=2)


def test_a_few_steps_reduce_the_loss(sysu_dir):
    cfg = tiny_dns_config()
    cfg = updated(
        cfg,
        {
            "data.erase_prob": 0.0,
            "data.hflip_prob": 0.0,
            "dns.exchange_prob": 0.0,
            "dns.ir_hue": 0.0,
            "dns.lr_mult_base": 1.0,
            "dns.lr_mult_layer3": 1.0,
            "dns.lr_mult_layer4": 1.0,
        },
    )
    splits = read_dataset("sysu-mm01", sysu_dir)
    torch.manual_seed(0)
    method = Dns(cfg, splits.num_train_pids, torch.device("cpu"))
    batch = next(iter(method.build_train_loader(splits.train)))
    sched = method.schedulers["model"]
    sched.peak, sched.start = 0, 1.0  # constant peak lr for this check
    losses = [method.train_step(batch)["loss"] for _ in range(12)]
    assert losses[-1] < 0.8 * losses[0]


def test_train_through_reid_train_and_evaluate_checkpoint(sysu_dir, tmp_path):
    run = reid.train(
        "dns",
        tiny_dns_config(),
        sysu_dir,
        "sysu-mm01",
        tmp_path / "run",
        device="cpu",
        progress=False,
    )
    with open(run / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2 and all(float(r["loss"]) > 0 for r in rows)
    for mode in ("all", "indoor"):
        res = evaluate_checkpoint(
            run / "last.pt",
            sysu_dir,
            "sysu-mm01",
            options=EvalOptions(mode=mode, trials=3),
            device="cpu",
        )
        assert res["protocol"] == f"sysu-{mode}" and res["num_trials"] == 3
        assert 0.0 <= res["mAP"] <= 1.0 and "rank1_std" in res
    # reid.evaluate (behind `mplt eval-reid --mode`) chooses the SYSU protocol by dataset name
    via_api = reid.evaluate(run / "last.pt", sysu_dir, "sysu-mm01", out_dir=tmp_path, mode="indoor",
                            device="cpu")
    assert via_api["protocol"] == "sysu-indoor" and via_api["num_trials"] == 10


def test_best_checkpoint_is_chosen_by_the_crossmodal_protocol(sysu_dir, tmp_path):
    run = reid.train(
        "dns", tiny_dns_config(), sysu_dir, "sysu-mm01", tmp_path / "run", device="cpu",
        progress=False,
    )
    rows = list(csv.DictReader((run / "metrics.csv").open()))
    best = load_checkpoint(run / "best.pt")
    logged = next(r for r in rows if int(r["epoch"]) == best["epoch"])
    report = reid.evaluate(run / "best.pt", sysu_dir, "sysu-mm01", out_dir=tmp_path / "e",
                           device="cpu")
    assert report["protocol"] == "sysu-all" and "rank1_std" in logged
    assert float(logged["mAP"]) == pytest.approx(report["mAP"])
    assert best["trainer"]["best_map"] == pytest.approx(report["mAP"])
