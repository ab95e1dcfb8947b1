"""ECN's configuration (seeds.md 3.b-3.d); defaults equal ``configs/reid/ecn.yaml``."""

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
class TargetConfig:
    """The unlabelled target domain (its train split feeds the memory, query/gallery the
    evaluation)."""

    data_dir: str | None = None  #: target dataset folder (required)
    dataset: str | None = None  #: target dataset reader, e.g. dukemtmc (required)
    batch_size: int = 128  #: target images per training batch (after the source images)
    camstyle: bool = True  #: camera invariance from <target>/bounding_box_train_camstyle


@dataclass(frozen=True)
class EcnSection:
    """ECN's head, memory and loss settings (original code defaults)."""

    features: int = 4096  #: embedding length (FC after pool5)
    dropout: float = 0.5  #: dropout of both heads (target: after L2 normalisation)
    beta: float = 0.05  #: softmax temperature of the memory logits
    alpha: float = 0.01  #: memory momentum per epoch: momentum = alpha x 0-based epoch
    knn: int = 6  #: k of neighbourhood invariance (0 = off)
    knn_start_epoch: int = 5  #: 0-based epoch from which neighbourhood invariance is on
    lmd: float = 0.3  #: L = (1 - lmd) L_src + lmd L_tgt
    freeze_early: bool = True  #: ResNet stem + layer1 + layer2 frozen (and their BN in eval)
    output_feature: str = "pool5"  #: test embedding: "pool5" | "embedding" (BN'ed FC output)
    nesterov: bool = True  #: SGD with Nesterov momentum
    crop_area_min: float = 0.64  #: rect crop area fraction in [min, 1]
    crop_aspect_min: float = 2.0  #: rect crop aspect h/w lower bound
    crop_aspect_max: float = 3.0  #: rect crop aspect h/w upper bound


def _ecn_data() -> DataConfig:
    return DataConfig(batch_size=128, pad=0, erase_area_max=0.2, erase_fill="mean")


def _ecn_model() -> ModelConfig:
    return ModelConfig(last_stride=2, pooling="avg", bnneck=False, test_feature="pre_bn")


def _ecn_optim() -> OptimConfig:
    return OptimConfig(name="sgd", lr=0.1, warmup_epochs=0)


def _ecn_train() -> TrainConfig:
    return TrainConfig(epochs=60)


@dataclass(frozen=True)
class EcnConfig(ReidConfig):
    """ECN: the shared sections with ECN's defaults plus ``target`` and ``ecn``.

    ``loss`` and ``data.sampler`` / ``data.pad`` and ``model.bnneck`` / ``model.test_feature``
    are unused (ECN: plain CE, uniformly shuffled source batches, rect crops, pool5 at test).
    """

    data: DataConfig = field(default_factory=_ecn_data)
    #: L2-normalised features ranked (the method's own evaluation; the baseline's are raw)
    eval: EvalConfig = field(default_factory=EvalConfig)
    model: ModelConfig = field(default_factory=_ecn_model)
    optim: OptimConfig = field(default_factory=_ecn_optim)
    train: TrainConfig = field(default_factory=_ecn_train)
    target: TargetConfig = field(default_factory=TargetConfig)
    ecn: EcnSection = field(default_factory=EcnSection)
