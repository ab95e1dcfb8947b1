"""FMCL's configuration (seeds.md 3.h): ECN's plus the ``fmcl`` section; defaults equal
``configs/reid/ecn-fmcl.yaml``."""

from __future__ import annotations

from dataclasses import dataclass, field

from reid.config.base import DataConfig, OptimConfig, TrainConfig
from reid.config.ecn import EcnConfig, EcnSection


@dataclass(frozen=True)
class FmclSection:
    """FMCL's momentum encoder and contrastive-loss settings (original code / README values)."""

    ema_alpha_early: float = 0.01  #: EMA rate while epoch <= ema_early_epochs (~ a copy)
    ema_alpha: float = 0.999  #: EMA rate afterwards
    ema_early_epochs: int = 25  #: last 0-based epoch with ema_alpha_early
    temperature: float = 0.07  #: T of the logits [l_pos | q Q^T] / T
    knn: int = 18  #: neighbours of the soft targets (0 = off)
    knn_start_epoch: int = 20  #: 0-based epoch from which the soft targets are on
    soft_ce_weight: float = 1.0  #: weight of the online-vs-EMA classifier soft cross-entropy


def _fmcl_ecn() -> EcnSection:
    return EcnSection(dropout=0.4)


def _fmcl_data() -> DataConfig:
    # FMCL's own augmentation: resize, flip, pad 10 + random crop, erasing p 0.4 (no ECN crop)
    return DataConfig(
        batch_size=128, crop="pad", pad=10, erase_prob=0.4, erase_area_max=0.2, erase_fill="mean"
    )


def _fmcl_optim() -> OptimConfig:
    return OptimConfig(name="sgd", lr=0.1, step_size=30, warmup_epochs=0)


def _fmcl_train() -> TrainConfig:
    return TrainConfig(epochs=200)


@dataclass(frozen=True)
class FmclConfig(EcnConfig):
    """ECN's config with FMCL's schedule (200 epochs, lr x 0.1 every 30; the EMA switch at 25
    and the neighbour targets from 20 fall inside it), its augmentation (``data``: pad + crop,
    erasing p 0.4, instead of ECN's rectangle crop) and the ``fmcl`` section; ``ecn.beta`` /
    ``ecn.alpha`` / ``ecn.knn`` / ``ecn.knn_start_epoch`` / ``ecn.crop_*`` are unused (``fmcl``
    and ``data`` replace them), ``ecn.dropout`` is 0.4."""

    data: DataConfig = field(default_factory=_fmcl_data)
    optim: OptimConfig = field(default_factory=_fmcl_optim)
    train: TrainConfig = field(default_factory=_fmcl_train)
    ecn: EcnSection = field(default_factory=_fmcl_ecn)
    fmcl: FmclSection = field(default_factory=FmclSection)
