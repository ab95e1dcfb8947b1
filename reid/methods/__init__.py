"""Training methods: each module registers its :class:`~reid.methods.base.Method` subclass in
:data:`METHODS` (name -> class); importing this package registers them all."""

from reid.methods.base import METHODS, Method
from reid.methods.baseline import Baseline
from reid.methods.dns import Dns
from reid.methods.ecn import Ecn
from reid.methods.fmcl import Fmcl
from reid.methods.ihda import Ihda
from reid.methods.sbir import Sbir
from reid.methods.st_reidnet import StReidNet
from reid.methods.tracklet import Tracklet

__all__ = [
    "METHODS",
    "Baseline",
    "Dns",
    "Ecn",
    "Fmcl",
    "Ihda",
    "Method",
    "Sbir",
    "StReidNet",
    "Tracklet",
]
