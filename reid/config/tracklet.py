"""The configuration of the ``tracklet`` method: a re-ID encoder fine-tuned on crops mined from a
tracking run (no identity labels; ``mplt adapt`` builds the data, :func:`reid.train_tracklets`
trains)."""

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
class TrackletSection:
    """Losses over pseudo-identities (tracklets) whose only known negatives are co-occurrences.

    ECN's exemplar memory with one slot per pseudo-identity: a softmax at temperature ``beta``
    over the own slot and the slots of pseudo-identities seen in the same frames (the only ones
    known to be other people); with ``knn`` > 0, from ``knn_start_epoch`` (0-based) on, the
    ``knn`` nearest slots of other time segments (ECN's cameras) that never co-occur with it are
    soft positives (weight 1/knn: a person who left and came back). Plus a batch-hard triplet on
    the unit features with co-occurring pseudo-identities as the negatives.
    """

    beta: float = 0.05  #: softmax temperature of the memory logits
    memory_momentum: float = 0.5  #: slot <- m slot + (1 - m) feature, then re-normalised
    memory_weight: float = 1.0
    triplet_weight: float = 1.0
    margin: float = 0.3  #: triplet hinge margin, Euclidean distance of unit features
    knn: int = 0
    knn_start_epoch: int = 2
    #: batch norms keep their ImageNet statistics (ECN keeps its early ones so): a batch of a
    #: few people of one scene is a poor estimate of them
    freeze_bn: bool = True


def _data() -> DataConfig:
    # the tracker's crop size; a light pad-crop and erasing: the crops are already aligned
    return DataConfig(
        height=128, width=64, batch_size=32, num_instances=4, pad=6, erase_prob=0.3, workers=0
    )


def _model() -> ModelConfig:
    # no BNNeck and average pooling: before any step the encoder is exactly the ImageNet
    # embedder of `mplt track` (embedder.kind imagenet), so "before" is a fair baseline
    return ModelConfig(backbone="mobilenetv2", pooling="avg", bnneck=False, test_feature="pre_bn")


def _optim() -> OptimConfig:
    # no head: every parameter is the backbone's, learning at lr
    return OptimConfig(lr=1e-4, backbone_lr_mult=1.0, warmup_epochs=0, step_size=1000)


def _train() -> TrainConfig:
    return TrainConfig(epochs=6, eval_every=1, eval_before=True, max_steps_per_epoch=20)


@dataclass(frozen=True)
class TrackletConfig(ReidConfig):
    """The ``tracklet`` method's configuration."""

    data: DataConfig = field(default_factory=_data)
    model: ModelConfig = field(default_factory=_model)
    optim: OptimConfig = field(default_factory=_optim)
    train: TrainConfig = field(default_factory=_train)
    eval: EvalConfig = field(default_factory=EvalConfig)
    tracklet: TrackletSection = field(default_factory=TrackletSection)
