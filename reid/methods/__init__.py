"""Training methods (registry ``METHODS``): name -> :class:`reid.methods.base.Method` subclass."""

from reid.methods.base import Method
from reid.methods.baseline import Baseline
from reid.methods.st_reidnet import StReidNet
from reid.registry import Registry

METHODS: Registry[type[Method]] = Registry("re-ID method")
METHODS.register("baseline")(Baseline)
METHODS.register("st-reidnet")(StReidNet)

__all__ = ["METHODS", "Baseline", "Method", "StReidNet"]
