"""Person re-identification: training framework, methods, evaluation and inference.

Never imports ``mplt`` (the application adapts it through its Embedder interface).

Stable entry points (behind ``mplt train``, ``mplt eval-reid`` and ``mplt export``;
``mplt track --reid`` embeds with ``load_encoder``)::

    reid.list_methods() -> list[str]
    reid.config_class(method: str) -> type  # dataclass to load configs/reid/<method>.yaml into
    reid.train(method: str, cfg: ReidConfig, data_dir, dataset: str, out_dir, *,
               resume: bool = False, pretrained: str | None = None, device: str = "auto",
               progress: bool = True) -> Path
        # the run dir: best.pt last.pt metrics.csv curves.png config.yaml; under torchrun
        # every rank calls it and they train one model together (rank 0 writes the files)
    reid.check_train(method, cfg, data_dir, dataset: str, out_dir, *, resume=False,
                     pretrained=None, world: int = 1) -> None  # train()'s input checks alone
    reid.evaluate(checkpoint, data_dir, dataset: str, *, out_dir=None, rerank: bool = False,
                  device: str = "auto", mode: str = "all") -> dict
        # the dataset's protocol: mAP, rank1/5/10, mINP, ...; writes eval.json (+ ranking.png)
    reid.list_datasets() -> list[str]
    reid.load_encoder(checkpoint, device="cpu") -> Encoder   # (N,3,H,W) -> (N,D) L2-normalised
    reid.imagenet_encoder(backbone="mobilenetv2", height=128, width=64, device="cpu") -> Encoder
        # untrained: pooled ImageNet features (mobilenetv2's weights ship offline)
    reid.export_onnx(checkpoint, out_path, *, opset=17, check=True) -> dict
    reid.train_tracklets(crops, pids, camids, held_out, cooccur, cfg: TrackletConfig, out_dir,
                         *, init=None, device="auto", progress=True, log_columns=None) -> dict
        # `mplt adapt`: fine-tuning on pseudo-identities given as (N, h, w, 3) uint8 crops

Errors: :class:`core.errors.DatasetError` (malformed dataset folder, also a ValueError) and its
base :class:`core.errors.UserError` (any user-fixable problem): the CLI prints them as one line
and exits with status 2.

Extension points (:class:`core.registry.Registry`, unknown name -> error listing valid ones):
``reid.data.DATASETS``, ``reid.data.SAMPLERS``, ``reid.models.BACKBONES``,
``reid.methods.METHODS``, ``reid.evaluation.PROTOCOLS``.

Sub-packages, lowest first: ``config`` (typed configs), ``metrics`` (numpy ranking maths),
``data``, ``models``, ``losses``, ``engine`` (trainer, hooks, checkpoints, schedules),
``methods`` (training recipes), ``evaluation`` (protocols, features, pictures).
"""

from core.errors import DatasetError, UserError
from reid.api import (
    check_train,
    config_class,
    evaluate,
    list_methods,
    tracklet_agreement,
    train,
    train_tracklets,
)
from reid.config import ReidConfig
from reid.data.datasets import DATASETS
from reid.embed import Encoder, imagenet_encoder, load_encoder
from reid.export import export_onnx


def list_datasets() -> list[str]:
    """Names of the dataset readers (the ``dataset`` argument of train/evaluate)."""
    return DATASETS.names()


__all__ = [
    "DatasetError",
    "Encoder",
    "ReidConfig",
    "UserError",
    "check_train",
    "config_class",
    "evaluate",
    "export_onnx",
    "imagenet_encoder",
    "list_datasets",
    "list_methods",
    "load_encoder",
    "tracklet_agreement",
    "train",
    "train_tracklets",
]
