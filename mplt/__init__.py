"""mplt: multi-person localization and tracking in 360° panoramic video."""

from mplt.version import __version__

__all__ = ["__version__"]
