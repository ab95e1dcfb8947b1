"""Re-ID models: backbones (registry ``BACKBONES``) and the BNNeck network."""

from reid.models.backbones import BACKBONES, TinyCNN, build_backbone, load_pretrained
from reid.models.reidnet import BNNeck, ReidNet, TrainOutput, build_reidnet

__all__ = [
    "BACKBONES",
    "BNNeck",
    "ReidNet",
    "TinyCNN",
    "TrainOutput",
    "build_backbone",
    "build_reidnet",
    "load_pretrained",
]
