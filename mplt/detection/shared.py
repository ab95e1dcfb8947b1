"""One detector model shared by several streams tracked at once, each in its own thread.

Each stream's thread joins as a member (:meth:`SharedDetector.member`, for as long as it
runs) and detects through a :meth:`SharedDetector.client`. A round waits until every member
has handed in its images (the patches of its batch of frames), then sends all of them
through the model in one call -- on a GPU the patches of all streams fill its batches -- and
gives each stream its own results back. A member that leaves (its video ended or failed)
no longer holds a round up. Results are per image, so a stream gets what it would alone.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np

from mplt.detection.base import DetectionResult, Detector, box_margins_of, filter_height


class SharedDetector:
    """The rounds of one ``base`` detector (built without a size filter) for its members."""

    def __init__(self, base: Detector) -> None:
        self.base = base
        self.name = base.name
        self._cond = threading.Condition()
        self._members: set[int] = set()
        self._waiting: dict[int, list[np.ndarray]] = {}
        self._results: dict[int, list[DetectionResult] | BaseException] = {}

    @contextmanager
    def member(self) -> Iterator[None]:
        """The calling thread takes part in the rounds while the block runs."""
        me = threading.get_ident()
        with self._cond:
            self._members.add(me)
        try:
            yield
        finally:
            with self._cond:
                self._members.discard(me)
                self._run_if_complete()

    def client(self, min_box_height_px: float = 0.0) -> _Client:
        """A detector for one stream, dropping its boxes lower than ``min_box_height_px``."""
        return _Client(self, float(min_box_height_px))

    def detect(self, images: Sequence[np.ndarray]) -> list[DetectionResult]:
        """The calling member's images, detected in the next round (alone outside one)."""
        me = threading.get_ident()
        with self._cond:
            if me not in self._members:
                return self.base.detect(list(images))
            self._waiting[me] = list(images)
            self._run_if_complete()
            while me not in self._results:
                self._cond.wait()
            out = self._results.pop(me)
        if isinstance(out, BaseException):
            raise out
        return out

    def _run_if_complete(self) -> None:
        """Run the round once every member waits in it (the lock is held)."""
        if not self._waiting or not self._members <= set(self._waiting):
            return
        order = sorted(self._waiting)
        images = [im for k in order for im in self._waiting[k]]
        try:
            found = self.base.detect(images)
        except BaseException as exc:  # every waiting stream hears of the failure
            for k in order:
                self._results[k] = exc
        else:
            start = 0
            for k in order:
                n = len(self._waiting[k])
                self._results[k] = found[start : start + n]
                start += n
        self._waiting.clear()
        self._cond.notify_all()


class _Client:
    """One stream's view of a :class:`SharedDetector` (a :class:`Detector`)."""

    def __init__(self, shared: SharedDetector, min_box_height_px: float) -> None:
        self._shared = shared
        self.name = shared.name
        self.box_margins = box_margins_of(shared.base)
        self._min_height = min_box_height_px

    def detect(self, images: Sequence[np.ndarray]) -> list[DetectionResult]:
        found = self._shared.detect(images)
        return [filter_height(b, s, self._min_height) for b, s in found]
