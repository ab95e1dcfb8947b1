"""Re-ID data: dataset readers (registry ``DATASETS``), samplers, transforms and loaders."""

from reid.data import crossmodal as _crossmodal  # noqa: F401  (sysu-mm01, regdb*, llcm)
from reid.data import dancereid as _dancereid  # noqa: F401  (registers "dancereid")
from reid.data import pku_sketch as _pku_sketch  # noqa: F401  (pku-sketch, pku-sketch-1..10)
from reid.data import qmul as _qmul  # noqa: F401  (registers "qmul-shoes", "qmul-chairs")
from reid.data import sbir as _sbir  # noqa: F401  (registers "sketchy", "tu-berlin")
from reid.data.datasets import DATASETS, ReidSplits, Sample, read_dataset, relabel
from reid.data.loader import Batch, ImageDataset, build_test_loader, build_train_loader
from reid.data.samplers import SAMPLERS, PKSampler, TripletSampler, build_sampler
from reid.data.transforms import IMAGENET_MEAN, IMAGENET_STD, RandomErasing

__all__ = [
    "DATASETS",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "SAMPLERS",
    "Batch",
    "ImageDataset",
    "PKSampler",
    "RandomErasing",
    "ReidSplits",
    "Sample",
    "TripletSampler",
    "build_sampler",
    "build_test_loader",
    "build_train_loader",
    "read_dataset",
    "relabel",
]
