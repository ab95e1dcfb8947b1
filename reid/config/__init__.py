"""Typed configuration of a re-ID training run: one frozen dataclass tree per method.

Every method's config class lives in this package, so a reader finds them all in one place:
:mod:`reid.config.base` holds the sections every method shares and the baseline's
:class:`ReidConfig`; each other method has one module (its config subclasses ``ReidConfig``
with its paper's defaults and adds its own sections). A package rather than one file because
the seven trees together are some 500 lines. ``configs/reid/<method>.yaml`` equals each
class's defaults; :mod:`core.config` loads, checks and dumps them. This package imports no
other part of ``reid``, so every layer may use its types.
"""

from reid.config.base import (
    DataConfig,
    EvalConfig,
    LossConfig,
    ModelConfig,
    OptimConfig,
    ReidConfig,
    TrainConfig,
)
from reid.config.dns import DnsConfig, DnsSection
from reid.config.ecn import EcnConfig, EcnSection, TargetConfig
from reid.config.fmcl import FmclConfig, FmclSection
from reid.config.ihda import IHDA_ATTRIBUTES, IhdaConfig, IhdaSection, IhdaTargetConfig
from reid.config.sbir import SbirConfig, SbirOptions
from reid.config.st_reidnet import GanConfig, PoseConfig, StReidNetConfig
from reid.config.tracklet import TrackletConfig, TrackletSection

__all__ = [
    "IHDA_ATTRIBUTES",
    "DataConfig",
    "DnsConfig",
    "DnsSection",
    "EcnConfig",
    "EcnSection",
    "EvalConfig",
    "FmclConfig",
    "FmclSection",
    "GanConfig",
    "IhdaConfig",
    "IhdaSection",
    "IhdaTargetConfig",
    "LossConfig",
    "ModelConfig",
    "OptimConfig",
    "PoseConfig",
    "ReidConfig",
    "SbirConfig",
    "SbirOptions",
    "StReidNetConfig",
    "TargetConfig",
    "TrackletConfig",
    "TrackletSection",
    "TrainConfig",
]
