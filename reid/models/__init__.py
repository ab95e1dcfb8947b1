"""Re-ID networks: backbones (registry ``BACKBONES``), the BNNeck network, the gradient
reversal layer, and each method's own networks (``dns_net``, ``ecn_net``, ``ihda_net``,
``pose_gan``, ``sbir_net``)."""

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
