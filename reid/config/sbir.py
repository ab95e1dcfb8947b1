"""Zero-shot SBIR's configuration (seeds.md 4.b-4.d); defaults equal ``configs/reid/sbir.yaml``."""

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
class SbirOptions:
    """Zero-shot SBIR loss weights and GRL schedule (the reference's command-line options)."""

    triplet_loss_ratio: float = 1.0  #: r_t, weight of the triplet loss
    domain_loss_ratio: float = 0.5  #: r_d, weight of the domain (sketch vs photo) loss
    triplet_margin: float = 1.0  #: hinge margin of the Euclidean triplet loss
    grl_start_epoch: int = 5  #: GRL lambda is 0 before this 0-based epoch
    grl_threshold_epoch: int = 25  #: lambda = epoch / this until here, then grl_max
    grl_max: float = 1.0  #: plateau of the GRL coefficient
    class_embeddings: str | None = None  #: .npy (seen classes, d) word vectors; None = the
    #: dataset's train_embeddings.npy if present, else uniform negative classes


def _sbir_data() -> DataConfig:
    return DataConfig(
        height=224,
        width=224,
        batch_size=32,
        sampler="sbir",
        pad=0,
        hflip_prob=0.0,
        erase_prob=0.0,
        workers=2,
    )


def _sbir_model() -> ModelConfig:
    return ModelConfig(
        backbone="densenet121",
        imagenet=True,
        last_stride=2,
        pooling="max",
        bnneck=False,
        test_feature="pre_bn",
    )


def _sbir_optim() -> OptimConfig:
    return OptimConfig(
        name="adam",
        lr=1e-3,
        backbone_lr_mult=1.0,
        weight_decay=0.0,
        scheduler="step",
        step_size=1000,
        gamma=1.0,
        warmup_epochs=0,
    )


def _sbir_train() -> TrainConfig:
    return TrainConfig(epochs=10, eval_every=0)


@dataclass(frozen=True)
class SbirConfig(ReidConfig):
    """Zero-shot SBIR: 224x224 un-normalised inputs, DenseNet-121 encoders, Adam 1e-3, batch 32,
    10 epochs (fork defaults), and the ``sbir`` options section. ``loss`` is unused."""

    data: DataConfig = field(default_factory=_sbir_data)
    #: L2-normalised features ranked (the method's own evaluation; the baseline's are raw)
    eval: EvalConfig = field(default_factory=EvalConfig)
    model: ModelConfig = field(default_factory=_sbir_model)
    optim: OptimConfig = field(default_factory=_sbir_optim)
    train: TrainConfig = field(default_factory=_sbir_train)
    sbir: SbirOptions = field(default_factory=SbirOptions)
