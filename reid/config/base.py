"""The shared sections of every re-ID config and the baseline's :class:`ReidConfig`.

`ReidConfig`'s defaults equal ``configs/reid/baseline.yaml``: the ST-ReIDNet repository's
baseline (seeds.md 6.b, its README command); every other method's config subclasses it (in its
own module of this package) with its defaults and extra sections. The section classes' own
defaults are neutral building blocks that the methods' factories override.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class DataConfig:
    """Input size, batch composition and augmentation."""

    height: int = 256  #: network input height, px
    width: int = 128  #: network input width, px
    batch_size: int = 64  #: images per training batch
    sampler: str = "pk"  #: "pk" (P ids x K images) | "instance" | "st" (ST-ReIDNet triplets)
    num_instances: int = 4  #: K of the P x K sampler
    st_inter_rate: float = 0.7  #: "st": probability of a far positive + same-video negative
    st_skip_frames: int = 10  #: "st": positives at least this many frames away from the anchor
    crop: str = "pad"  #: "pad" (pad + random crop) | "rect" (random-sized rectangle crop)
    pad: int = 10  #: "pad": zero padding before the random crop, px (0 = no crop)
    crop_area_min: float = 0.64  #: "rect": crop area fraction in [min, 1]
    crop_aspect_min: float = 2.0  #: "rect": crop aspect h/w lower bound
    crop_aspect_max: float = 3.0  #: "rect": crop aspect h/w upper bound
    color_jitter: float = 0.0  #: brightness, contrast, saturation and hue jitter (0 = off)
    grayscale: bool = False  #: images (train and test) become grey, replicated to 3 channels
    photo_edges: bool = False  #: photos (not sketches) become inverted edge maps (FIND_EDGES)
    hflip_prob: float = 0.5  #: probability of a horizontal flip
    erase_prob: float = 0.5  #: probability of random erasing
    erase_area_min: float = 0.02  #: erased area, fraction of the image, lower bound
    erase_area_max: float = 0.4  #: erased area, fraction of the image, upper bound
    erase_aspect_min: float = 0.3  #: erased rectangle aspect in [min, 1/min]
    erase_fill: str = "random"  #: "random" (per-pixel uniform noise) | "mean" (ImageNet mean)
    workers: int = 2  #: DataLoader worker processes (0 = load in the main process)
    test_batch_size: int = 128  #: images per batch when extracting features


@dataclass(frozen=True)
class ModelConfig:
    """Backbone and BNNeck head (the encoder used at test time)."""

    backbone: str = "resnet50"  #: "resnet50" | "resnet18" | "tiny" (tests)
    imagenet: bool = True  #: try torchvision's ImageNet weights (random init when offline)
    last_stride: int = 1  #: stride of the last backbone stage, 1 or 2
    pooling: str = "max"  #: global pooling, "max" | "avg"
    bnneck: bool = True  #: BatchNorm1d (frozen bias) between the feature and the classifier
    test_feature: str = "bn"  #: embedding at test time: "bn" (after BNNeck) | "pre_bn"


@dataclass(frozen=True)
class LossConfig:
    """Weights and options of the identity and metric losses."""

    ce_weight: float = 1.0  #: weight of the identity cross-entropy
    label_smoothing: float = 0.1  #: epsilon of the label-smoothed cross-entropy
    triplet_weight: float = 1.0  #: weight of the batch-hard triplet loss
    triplet_soft_margin: bool = True  #: soft-plus triplet; False = hinge with `triplet_margin`
    triplet_margin: float = 0.3  #: hinge margin (Euclidean distance units of the pre-BN feature)


@dataclass(frozen=True)
class OptimConfig:
    """Optimizer and learning-rate schedule (epochs)."""

    name: str = "adam"  #: "adam" | "sgd"
    lr: float = 3.5e-4  #: base learning rate of the head
    backbone_lr_mult: float = 0.1  #: backbone lr = lr * this
    weight_decay: float = 5e-4
    momentum: float = 0.9  #: SGD momentum
    scheduler: str = "step"  #: "step" | "cosine"
    step_size: int = 40  #: "step": multiply the lr by `gamma` every this many epochs
    gamma: float = 0.1
    warmup_epochs: int = 10  #: linear warm-up from `warmup_factor` * lr
    warmup_factor: float = 0.01


@dataclass(frozen=True)
class TrainConfig:
    """Run length, seeding, evaluation and checkpoint cadence."""

    epochs: int = 100
    seed: int = 0
    amp: bool = True  #: mixed precision (CUDA only; ignored on CPU)
    eval_every: int = 10  #: evaluate every this many epochs (and after the last); 0 = never
    eval_before: bool = False  #: also evaluate the untrained model (epoch 0)
    max_steps_per_epoch: int | None = None  #: cap iterations per epoch (quick runs)
    #: with several ranks (torchrun / --nproc): batch norm over the global batch
    sync_bn: bool = True


@dataclass(frozen=True)
class EvalConfig:
    """Evaluation: the protocol, the Market-style ranking options and ranking.png."""

    normalize: bool = True  #: L2-normalise features before the Euclidean distance
    protocol: str | None = None  #: a ``reid.evaluation.PROTOCOLS`` name; None = the dataset's own
    sgs_repeats: int = 10  #: random gallery draws of the single-gallery-shot CMC
    max_rank: int = 20  #: CMC computed up to this rank
    rerank: bool = False  #: k-reciprocal re-ranking
    rerank_k1: int = 20
    rerank_k2: int = 6
    rerank_lambda: float = 0.3
    vis_queries: int = 8  #: queries drawn in ranking.png
    vis_topk: int = 10  #: gallery images per query in ranking.png


def _baseline_data() -> DataConfig:
    # 128 instance triplets (anchor + two images of its identity) = 384 images, ECN's
    # random-sized rectangle crop, RandomSizedEraser p 0.75, area 0.02-0.2
    return DataConfig(
        batch_size=384, sampler="instance", crop="rect", pad=0, erase_prob=0.75, erase_area_max=0.2
    )


def _baseline_optim() -> OptimConfig:
    return OptimConfig(lr=5e-5, warmup_epochs=0)


def _baseline_eval() -> EvalConfig:
    # open-reid's evaluator ranks the raw features by Euclidean distance
    return EvalConfig(normalize=False)


@dataclass(frozen=True)
class ReidConfig:
    """Configuration of the baseline method (and the base of every other method's).

    The baseline is the ST-ReIDNet repository's ``baseline.py`` with its README options
    (seeds.md 6.b): ``--inst-mode`` (instance triplets), batch 128 triplets, Adam lr 5e-5 with
    no warm-up (backbone x 0.1, step x 0.1 at epoch 40, 100 epochs), last stride 1, BNNeck
    tested on the BN feature, label smoothing, soft-margin batch-hard triplet, the eraser
    (p 0.75, area <= 0.2) and the random-sized rectangle crop; raw (unnormalised) features
    ranked as open-reid does.
    """

    data: DataConfig = field(default_factory=_baseline_data)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    optim: OptimConfig = field(default_factory=_baseline_optim)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=_baseline_eval)
