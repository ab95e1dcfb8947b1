"""Video sources and sinks, MOTChallenge and JSON Lines writers and readers.

Submodules import their heavy dependencies (imageio-ffmpeg, cv2) only when used.
"""

from core.files import write_atomic
from mplt.io.files import ensure_writable_dir
from mplt.io.jsonl import JsonlWriter, read_jsonl
from mplt.io.mot import MotWriter, read_mot, read_mot_detections
from mplt.io.sources import FrameSource, VideoInfo, open_source
from mplt.io.video import VideoWriter

__all__ = [
    "FrameSource",
    "JsonlWriter",
    "MotWriter",
    "VideoInfo",
    "VideoWriter",
    "ensure_writable_dir",
    "open_source",
    "read_jsonl",
    "read_mot",
    "read_mot_detections",
    "write_atomic",
]
