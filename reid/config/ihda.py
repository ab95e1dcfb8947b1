"""IHDA's configuration (seeds.md 2.b-2.d); defaults equal ``configs/reid/ihda.yaml``."""

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

#: IHDA's eight non-colour attributes (released code; the paper lists age instead of backpack).
IHDA_ATTRIBUTES: tuple[str, ...] = (
    "gender",
    "hair",
    "up",
    "down",
    "clothes",
    "hat",
    "backpack",
    "bag",
)


@dataclass(frozen=True)
class IhdaTargetConfig:
    """The labelled-few target domain: photo/sketch pairs (``extra["modality"]`` 0 / 1)."""

    data_dir: str | None = None  #: target dataset folder (step 2)
    dataset: str | None = None  #: target reader, e.g. pku-sketch (step 2)
    batch_size: int = 32  #: target identities per batch, each one photo + its sketch (paper)


@dataclass(frozen=True)
class IhdaSection:
    """IHDA's step, attributes, loss weights and GRL schedule (paper values)."""

    step: int = 1  #: 1 = source pre-training, 2 = co-training with the target
    attribute_file: str | None = None  #: market_attribute.mat (Lin et al.); required if lambda2 > 0
    attribute_format: str = "market_mat"  #: only "market_mat" (the standard Market-1501 file)
    attributes: str = ",".join(IHDA_ATTRIBUTES)  #: comma-separated binary attributes
    lambda1: float = 1.0  #: weight of the triplet loss
    lambda2: float = 0.1  #: weight of the attribute losses (BCE + entropy + consistency)
    lambda3: float = 0.1  #: weight of the domain loss
    triplet_margin: float = 0.3  #: hinge margin (step 1 Euclidean, step 2 squared Euclidean)
    triplet_start_epoch: int = 0  #: 0-based epoch the triplet starts (code: 10 / 30)
    #: also the same triplet on the GAP of layer3 (the released code's f1; the paper names
    #: only the final feature): the released numbers were trained with it
    layer3_triplet: bool = True
    #: Adam betas of the released code (the paper gives Adam's lr only, not its betas)
    adam_beta1: float = 0.5
    adam_beta2: float = 0.999
    target_rotation_deg: float = 15.0  #: target images: random rotation in +-this (code)
    att_hidden: int = 512  #: attribute head hidden width (paper; code 128)
    att_dropout: float = 0.5  #: dropout after each attribute hidden layer
    domain_hidden: int = 512  #: domain classifier hidden width (paper; code 128)
    id_dropout: float = 0.7  #: dropout before the identity classifier in step 2 (step 1: none)
    grl_iters: int = 10000  #: iterations of the DANN ramp: c = ramp(iteration / grl_iters)
    grl_gamma: float = 10.0  #: steepness of the DANN ramp
    grl_high: float = 1.0  #: GRL coefficient as the ramp saturates
    source_batch: int = 32  #: source images per step-2 batch (paper)
    step1_checkpoint: str | None = None  #: step-1 run (last.pt/best.pt) initialising step 2


def _ihda_data() -> DataConfig:
    # the code and the paper train and test on grey persons (3 channels), tiny colour jitter
    return DataConfig(
        height=384, width=128, batch_size=64, pad=15, color_jitter=0.05, grayscale=True
    )


def _ihda_model() -> ModelConfig:
    return ModelConfig(pooling="avg")


def _ihda_optim() -> OptimConfig:
    return OptimConfig(lr=1e-4, backbone_lr_mult=1.0, warmup_factor=1 / 11)


def _ihda_train() -> TrainConfig:
    return TrainConfig(epochs=60)


@dataclass(frozen=True)
class IhdaConfig(ReidConfig):
    """IHDA: the shared sections with the paper's defaults plus ``target`` and ``ihda``.

    ``data.batch_size`` is the step-1 batch (P x K); in step 2 a batch is ``ihda.source_batch``
    source images + ``target.batch_size`` photo/sketch pairs. ``loss.label_smoothing`` applies
    to the identity CE; the other ``loss`` fields are unused (``ihda.*`` weights instead).
    """

    data: DataConfig = field(default_factory=_ihda_data)
    #: L2-normalised features ranked (the method's own evaluation; the baseline's are raw)
    eval: EvalConfig = field(default_factory=EvalConfig)
    model: ModelConfig = field(default_factory=_ihda_model)
    optim: OptimConfig = field(default_factory=_ihda_optim)
    train: TrainConfig = field(default_factory=_ihda_train)
    target: IhdaTargetConfig = field(default_factory=IhdaTargetConfig)
    ihda: IhdaSection = field(default_factory=IhdaSection)
