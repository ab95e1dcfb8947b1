"""Person re-identification: training framework, methods, evaluation and inference.

Never imports ``mplt`` (the application adapts it through its Embedder interface).

Stable entry points (used by the CLI)::

    reid.list_methods() -> list[str]
    reid.config_class(method: str) -> type  # dataclass to load configs/reid/<method>.yaml into
    reid.train(method: str, cfg: ReidConfig, data_dir, dataset: str, out_dir, *,
               resume: bool = False, pretrained: str | None = None, device: str = "auto",
               progress: bool = True) -> Path
        # the run dir: best.pt last.pt metrics.csv curves.png config.yaml
    reid.evaluate(checkpoint, data_dir, dataset: str, *, out_dir=None, rerank: bool = False,
                  device: str = "auto") -> dict
        # mAP, rank1/5/10, mINP, ...; writes ranking.png and eval.json
    reid.list_datasets() -> list[str]
    reid.load_encoder(checkpoint, device="cpu") -> Encoder   # (N,3,H,W) -> (N,D) L2-normalised
    reid.export_onnx(checkpoint, out_path, *, opset=17, check=True) -> dict

Errors: :class:`reid.errors.DatasetError` (malformed dataset folder) and its base
:class:`reid.errors.UserError` (any user-fixable problem; both are ValueErrors): the CLI maps
them to exit status 2.

Extension points (``reid.registry.Registry``, unknown name -> error listing valid ones):
``reid.data.DATASETS``, ``reid.data.SAMPLERS``, ``reid.models.BACKBONES``,
``reid.methods.METHODS``.
"""

from reid.api import config_class, evaluate, list_methods, train
from reid.config import ReidConfig
from reid.data.datasets import DATASETS
from reid.embed import Encoder, load_encoder
from core.errors import DatasetError, UserError
from reid.export import export_onnx


def list_datasets() -> list[str]:
    """Names of the dataset readers (the ``dataset`` argument of train/evaluate)."""
    return DATASETS.names()


__all__ = [
    "DatasetError",
    "Encoder",
    "ReidConfig",
    "UserError",
    "config_class",
    "evaluate",
    "export_onnx",
    "list_datasets",
    "list_methods",
    "load_encoder",
    "train",
]
