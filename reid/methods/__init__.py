"""Training methods (registry ``METHODS``): name -> :class:`reid.methods.base.Method` subclass."""

from reid.methods.base import Method
from reid.methods.baseline import Baseline
from reid.methods.st_reidnet import StReidNet
from reid.registry import Registry

METHODS: Registry[type[Method]] = Registry("re-ID method")
METHODS.register("baseline")(Baseline)
METHODS.register("st-reidnet")(StReidNet)

# Methods that register themselves with the decorator on import.
from reid.methods import dns as _dns  # noqa: E402, F401  (registers "dns")
from reid.methods import ecn as _ecn  # noqa: E402, F401  (registers "ecn")
from reid.methods import fmcl as _fmcl  # noqa: E402, F401  (registers "ecn-fmcl")
from reid.methods import ihda as _ihda  # noqa: E402, F401  (registers "ihda")
from reid.methods import sbir as _sbir  # noqa: E402, F401  (registers "sbir")

__all__ = ["METHODS", "Baseline", "Method", "StReidNet"]
