"""Re-ID data: dataset readers (registry ``DATASETS``), samplers, transforms and loaders.

Importing this package registers every reader: Market-1501, DukeMTMC-reID, MSMT17 and folder
(:mod:`~reid.data.datasets`), DanceReID, the cross-modality SYSU-MM01 / RegDB / LLCM,
PKU-Sketch, QMUL-Shoes / Chairs and the zero-shot SBIR Sketchy / TU-Berlin.
"""

from reid.data.crossmodal import read_llcm, read_regdb, read_sysu_mm01
from reid.data.dancereid import read_dancereid
from reid.data.datasets import DATASETS, ReidSplits, Sample, read_dataset, relabel
from reid.data.loader import Batch, ImageDataset, build_test_loader, build_train_loader
from reid.data.pku_sketch import read_pku_sketch
from reid.data.qmul import read_qmul
from reid.data.samplers import SAMPLERS, PKSampler, TripletSampler, build_sampler
from reid.data.sbir import read_sketchy, read_tu_berlin
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
    "read_dancereid",
    "read_dataset",
    "read_llcm",
    "read_pku_sketch",
    "read_qmul",
    "read_regdb",
    "read_sketchy",
    "read_sysu_mm01",
    "read_tu_berlin",
    "relabel",
]
