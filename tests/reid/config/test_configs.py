"""Each method's config class: defaults equal configs/reid/<method>.yaml, registration."""

from __future__ import annotations

import dataclasses

import pytest
import yaml

import reid
from core.config import config_from_dict
from core.errors import UserError
from reid.config import (
    DnsConfig,
    EcnConfig,
    FmclConfig,
    IhdaConfig,
    ReidConfig,
    SbirConfig,
    StReidNetConfig,
)
from reid.engine.optim import WarmupSchedule
from reid.methods import METHODS
from reid.methods.fmcl import Fmcl
from reid.models.pose_gan import (
    bottleneck_size,
)
from tests.reid.helpers import REPO


def test_entry_points_and_baseline_config_match_yaml():
    assert "baseline" in reid.list_methods()
    assert reid.config_class("baseline") is ReidConfig
    data = yaml.safe_load((REPO / "configs/reid/baseline.yaml").read_text())
    assert config_from_dict(ReidConfig, data) == ReidConfig()
    assert set(data) == {f.name for f in dataclasses.fields(ReidConfig)}
    with pytest.raises(UserError, match="choose one of: baseline"):
        reid.config_class("nope")


def test_dns_config_defaults_match_yaml_and_registration():
    data = yaml.safe_load((REPO / "configs/reid/dns.yaml").read_text())
    assert config_from_dict(DnsConfig, data) == DnsConfig()
    assert reid.config_class("dns") is DnsConfig
    cfg = DnsConfig()
    assert (cfg.data.height, cfg.data.width, cfg.data.batch_size) == (288, 144, 48)
    assert (cfg.optim.lr, cfg.dns.circle_margin, cfg.dns.circle_gamma) == (0.2, 0.45, 64.0)


def test_ecn_config_defaults_match_yaml_and_registration():
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


def test_fmcl_config_defaults_match_yaml_and_registration():
    assert METHODS.get("ecn-fmcl") is Fmcl and Fmcl.config_class is FmclConfig
    data = yaml.safe_load((REPO / "configs/reid/ecn-fmcl.yaml").read_text())
    assert config_from_dict(FmclConfig, data) == FmclConfig()
    assert set(data) == {f.name for f in dataclasses.fields(FmclConfig)}
    f = FmclConfig().fmcl
    assert (f.ema_alpha_early, f.ema_alpha, f.ema_early_epochs) == (0.01, 0.999, 25)
    assert (f.temperature, f.knn, f.knn_start_epoch, f.soft_ce_weight) == (0.07, 18, 20, 1.0)
    assert (FmclConfig().ecn.lmd, FmclConfig().ecn.dropout) == (0.3, 0.4)


def test_ihda_config_defaults_match_yaml_and_registration():
    assert "ihda" in reid.list_methods() and reid.config_class("ihda") is IhdaConfig
    data = yaml.safe_load((REPO / "configs/reid/ihda.yaml").read_text())
    assert config_from_dict(IhdaConfig, data) == IhdaConfig()
    assert set(data) == {f.name for f in dataclasses.fields(IhdaConfig)}
    s = IhdaConfig().ihda
    assert (s.lambda1, s.lambda2, s.lambda3, s.grl_iters, s.triplet_margin) == (
        1.0,
        0.1,
        0.1,
        10000,
        0.3,
    )
    # The fixed warm-up: (e+1)/11 of the lr in epochs 0..9.
    sched = WarmupSchedule(IhdaConfig().optim, 60)
    assert [sched(e) for e in (0, 4, 9, 10)] == pytest.approx([1 / 11, 5 / 11, 10 / 11, 1.0])


def test_sbir_config_yaml_equals_defaults():
    data = yaml.safe_load((REPO / "configs/reid/sbir.yaml").read_text())
    assert config_from_dict(SbirConfig, data) == SbirConfig()
    assert set(data) == {f.name for f in dataclasses.fields(SbirConfig)}
    s = SbirConfig().sbir
    assert (s.triplet_loss_ratio, s.domain_loss_ratio, s.grl_threshold_epoch) == (1.0, 0.5, 25)
    assert SbirConfig().optim.lr == 1e-3
    assert reid.config_class("sbir") is SbirConfig


def test_st_reidnet_config_defaults_match_yaml_and_paper():
    data = yaml.safe_load((REPO / "configs/reid/st-reidnet.yaml").read_text())
    assert config_from_dict(StReidNetConfig, data) == StReidNetConfig()
    assert set(data) == {f.name for f in dataclasses.fields(StReidNetConfig)}
    cfg = StReidNetConfig()
    g = cfg.gan
    assert (g.lambda_d, g.lambda_dp, g.lambda_recon, g.mask_alpha) == (0.1, 0.1, 10.0, 9.0)
    assert (cfg.optim.name, cfg.optim.lr, g.lr_g, g.lr_d) == ("sgd", 2e-5, 1e-5, 4e-5)
    assert cfg.data.sampler == "st" and cfg.model.test_feature == "pre_bn"
    assert reid.config_class("st-reidnet") is StReidNetConfig
    assert bottleneck_size(256, 128, 5) == (8, 4)  # the paper's 8x4 at full size
    with pytest.raises(UserError, match="divisible"):
        bottleneck_size(60, 32, 5)


def test_baseline_defaults_are_the_st_reidnet_baseline():
    """seeds.md 6.b, the README command of ST-ReIDNet's baseline.py: lr 5e-5 without warm-up,
    --inst-mode, batch 128 triplets, random-sized rectangle crop, eraser p 0.75 / area 0.2,
    open-reid's evaluation on raw features."""
    cfg = ReidConfig()
    d, o = cfg.data, cfg.optim
    assert (o.name, o.lr, o.warmup_epochs, o.backbone_lr_mult) == ("adam", 5e-5, 0, 0.1)
    assert (o.step_size, o.gamma, cfg.train.epochs) == (40, 0.1, 100)
    assert (d.sampler, d.batch_size) == ("instance", 3 * 128)
    assert (d.crop, d.crop_area_min, d.crop_aspect_min, d.crop_aspect_max) == ("rect", 0.64, 2, 3)
    assert (d.erase_prob, d.erase_area_min, d.erase_area_max) == (0.75, 0.02, 0.2)
    m = cfg.model
    assert (m.last_stride, m.pooling, m.bnneck, m.test_feature) == (1, "max", True, "bn")
    assert cfg.loss.triplet_soft_margin and cfg.loss.label_smoothing == 0.1
    assert cfg.eval.normalize is False


def test_st_reidnet_ranks_raw_features_as_the_original():
    assert StReidNetConfig().eval.normalize is False
    # the methods whose papers rank L2-normalised features keep doing so
    assert all(c().eval.normalize for c in (EcnConfig, FmclConfig, IhdaConfig, DnsConfig))


def test_fmcl_has_its_own_schedule_and_augmentation():
    """FMCL: 200 epochs, lr step at 30 (ECN: 60 / 40), pad 10 + random crop, erasing p 0.4."""
    cfg = FmclConfig()
    assert (cfg.train.epochs, cfg.optim.step_size, cfg.optim.gamma) == (200, 30, 0.1)
    assert (cfg.data.crop, cfg.data.pad, cfg.data.erase_prob) == ("pad", 10, 0.4)
    f = cfg.fmcl
    assert f.knn_start_epoch < f.ema_early_epochs < cfg.optim.step_size  # both inside it
    assert (EcnConfig().train.epochs, EcnConfig().optim.step_size) == (60, 40)


def test_ihda_follows_the_released_code_where_the_paper_is_silent():
    cfg = IhdaConfig()
    s = cfg.ihda
    assert (s.adam_beta1, s.adam_beta2, s.layer3_triplet) == (0.5, 0.999, True)
    assert (cfg.data.grayscale, cfg.data.color_jitter, s.target_rotation_deg) == (True, 0.05, 15)
    assert cfg.data.pad == 15 and not cfg.data.photo_edges


def test_finetune_recipe_is_the_measured_one_and_its_param_groups():
    """configs/reid/baseline-finetune.yaml (bench/results/reid_real.md): the offline ImageNet
    MobileNetV2 at 128 x 64, P x K, a 10x lower backbone lr, normalised ranking, nothing
    selected on the test set; the optimizer gets the backbone at lr x 0.1, the head at lr and
    leaves the BNNeck's frozen bias out."""
    import torch

    from core.config import load_config
    from reid.methods.baseline import Baseline

    cfg = load_config(ReidConfig, REPO / "configs/reid/baseline-finetune.yaml")
    assert (cfg.data.height, cfg.data.width, cfg.data.sampler) == (128, 64, "pk")
    assert cfg.data.batch_size // cfg.data.num_instances == 12  # P <= the 13 train persons
    assert (cfg.model.backbone, cfg.model.imagenet, cfg.model.pooling) == (
        "mobilenetv2",
        True,
        "avg",
    )
    assert cfg.eval.normalize and cfg.train.eval_every == 0
    assert (cfg.optim.lr, cfg.optim.backbone_lr_mult, cfg.optim.warmup_epochs) == (3.5e-4, 0.1, 0)
    # the rest is the baseline's (a partial section keeps its method's defaults)
    assert cfg.loss == ReidConfig().loss
    assert cfg.data.erase_prob == ReidConfig().data.erase_prob
    tiny = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, backbone="tiny"))
    method = Baseline(tiny, 13, torch.device("cpu"))
    groups = {g["name"]: g for g in method.optimizers["model"].param_groups}
    assert groups["backbone"]["lr"] == pytest.approx(3.5e-5)
    assert groups["head"]["lr"] == pytest.approx(3.5e-4)
    model = method.model
    in_groups = {id(p) for g in groups.values() for p in g["params"]}
    assert {id(p) for p in model.backbone.parameters()} <= {
        id(p) for p in groups["backbone"]["params"]
    }
    assert id(model.neck.bn.bias) not in in_groups
    assert id(model.neck.classifier.weight) in {id(p) for p in groups["head"]["params"]}
