"""DNS's configuration (seeds.md 5.b-5.d); defaults equal ``configs/reid/dns.yaml``."""

from __future__ import annotations

from dataclasses import dataclass, field

from reid.config.base import (
    DataConfig,
    EvalConfig,
    ModelConfig,
    OptimConfig,
    ReidConfig,
    TrainConfig,
)


@dataclass(frozen=True)
class DnsSection:
    """DNS-specific losses, sampling augmentations and schedule."""

    circle_margin: float = 0.45  #: Circle loss relaxation m
    circle_gamma: float = 64.0  #: Circle loss scale gamma
    da_weight: float = 0.2  #: weight of the domain alignment loss in the total
    da_inter: float = 0.45  #: L_da weight of the inter-modality MMD terms
    da_intra: float = 0.05  #: L_da weight of the Z vs CSS-feature MMD terms
    ema_tau: float = 0.2  #: EMA rate of the distillation classifiers, per forward
    dd_ce_weight: float = 0.25  #: per-modality CE weight inside each L_dd term
    gem_p: float = 3.0  #: GeM pooling exponent
    css_dropout: float = 0.01  #: dropout inside the CSS MLP
    decay_step: int = 16  #: epoch where the one-cycle lr peaks
    warmup_start: float = 1e-4  #: lr at epoch 0, fraction of the peak
    lr_mult_base: float = 0.1  #: stems, HSS, CSS and everything not listed below
    lr_mult_layer3: float = 0.2
    lr_mult_layer4: float = 0.25
    exchange_prob: float = 0.6667  #: ChannelExchange probability on visible images
    ir_hue: float = 0.5  #: ColorJitter hue on infrared images (0 = off)


def _dns_data() -> DataConfig:
    return DataConfig(
        height=288,
        width=144,
        batch_size=48,
        sampler="crossmodal",
        num_instances=4,
        erase_fill="mean",
        workers=4,
    )


def _dns_model() -> ModelConfig:
    return ModelConfig(pooling="gem", last_stride=1, test_feature="bn")


def _dns_optim() -> OptimConfig:
    return OptimConfig(
        name="sgd",
        lr=0.2,
        backbone_lr_mult=0.1,
        weight_decay=5e-4,
        scheduler="onecycle",
        warmup_epochs=0,
    )


def _dns_train() -> TrainConfig:
    return TrainConfig(epochs=100, eval_every=10)


@dataclass(frozen=True)
class DnsConfig(ReidConfig):
    """DNS: SYSU / LLCM defaults (RegDB: optim.lr 0.1). ``data.batch_size`` = 2 * P * K with
    K = ``data.num_instances`` (48 = 2 x 6 ids x 4). ``optim.scheduler`` / ``backbone_lr_mult``
    are not used (see ``dns``)."""

    data: DataConfig = field(default_factory=_dns_data)
    #: L2-normalised features ranked (the method's own evaluation; the baseline's are raw)
    eval: EvalConfig = field(default_factory=EvalConfig)
    model: ModelConfig = field(default_factory=_dns_model)
    optim: OptimConfig = field(default_factory=_dns_optim)
    train: TrainConfig = field(default_factory=_dns_train)
    dns: DnsSection = field(default_factory=DnsSection)
