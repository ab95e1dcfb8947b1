"""mplt: multi-person localization and tracking in 360° panoramic video.

Kept import-light on purpose: ``trackers/`` imports :mod:`mplt.types`, which must not drag
torch, cv2 or ultralytics along.
"""

__version__ = "0.1.0"
