"""ST-ReIDNet's configuration (seeds.md 6.c-6.e); defaults equal
``configs/reid/st-reidnet.yaml``."""

from __future__ import annotations

from dataclasses import dataclass, field

from reid.config.base import DataConfig, ModelConfig, OptimConfig, ReidConfig


@dataclass(frozen=True)
class PoseConfig:
    """Keypoints, pose heatmaps and skeleton masks of ST-ReIDNet."""

    sigma: float = 5.0  #: Gaussian sigma of a keypoint heatmap at 256 px height (scales with it)
    aug: str = "gauss"  #: "gauss" (sigma drawn from {sigma-1, sigma, sigma+1}) | "none"
    mask: bool = True  #: weight the reconstruction loss by the skeleton mask
    keypoint_model: str | None = None  #: ultralytics pose weights for datasets without keypoints
    min_confidence: float = 0.3  #: keypoints detected below this confidence count as missing
    cache_dir: str | None = None  #: where detected keypoints are cached (None: next to the images)


@dataclass(frozen=True)
class GanConfig:
    """Generator / discriminators, their losses and optimisers (E's are in ``optim``/``loss``)."""

    ngf: int = 64  #: generator base width
    ndf: int = 64  #: PatchGAN discriminator base width
    pose_dim: int = 128  #: pose code length
    dropout: float = 0.2  #: dropout in the generator's decoder
    num_down: int = 5  #: stride-2 stages of the pose encoder (input sides must divide 2**this)
    d_backbone: str = "resnet18"  #: image discriminator backbone (a reid backbone name)
    mask_alpha: float = 9.0  #: masked L1 = (L1 + alpha * L1 inside the mask) / (1 + alpha)
    swap_weight: float = 0.7  #: L_recon = w * swaps + (1 - w) * self-reconstructions
    lambda_d: float = 0.1  #: weight of the image-discriminator adversarial term
    lambda_dp: float = 0.1  #: weight of the pose-discriminator adversarial term
    lambda_recon: float = 10.0  #: weight of the reconstruction loss
    smooth_label: bool = True  #: discriminator targets real ~ U(0.9, 1), fake ~ U(0, 0.1)
    lr_g: float = 1e-5  #: generator Adam learning rate (betas 0.5, 0.999)
    lr_d: float = 4e-5  #: discriminators' SGD learning rate
    d_momentum: float = 0.9
    d_weight_decay: float = 1e-4
    niter: int = 50  #: epochs at constant learning rate (all four networks)
    niter_decay: int = 50  #: epochs of linear decay after `niter`


def _st_data() -> DataConfig:
    return DataConfig(
        batch_size=72, sampler="st", pad=0, erase_prob=0.75, erase_area_max=0.2, workers=4
    )


def _st_model() -> ModelConfig:
    return ModelConfig(test_feature="pre_bn")


def _st_optim() -> OptimConfig:
    return OptimConfig(name="sgd", lr=2e-5, warmup_epochs=0)


@dataclass(frozen=True)
class StReidNetConfig(ReidConfig):
    """ST-ReIDNet: the baseline sections with the paper's defaults plus ``pose`` and ``gan``.

    ``optim`` configures the encoder E only (SGD 2e-5, backbone lr multiplier honoured);
    ``optim.scheduler`` is ignored: every network follows gan.niter / gan.niter_decay.
    """

    data: DataConfig = field(default_factory=_st_data)
    model: ModelConfig = field(default_factory=_st_model)
    optim: OptimConfig = field(default_factory=_st_optim)
    pose: PoseConfig = field(default_factory=PoseConfig)
    gan: GanConfig = field(default_factory=GanConfig)
