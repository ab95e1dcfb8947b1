"""Per-track appearance memory: the last ``budget`` features, or one exponential average."""

from __future__ import annotations

import numpy as np


class FeatureGallery:
    """The appearance features of one track, for nearest-neighbour cosine matching.

    A fixed-size ring buffer rather than a ``deque`` of vectors: the nearest-neighbour search
    reads the gallery as one contiguous (G, F) array every frame, and stacking a deque would
    copy it each time. Order does not matter to a nearest-neighbour search, so overwriting the
    oldest row is equivalent to a ``deque(maxlen=budget)``.

    Args:
        budget: most features kept (DeepSORT's ``nn_budget``), >= 1.
        ema: when given, keep a single feature ``e = ema * e + (1 - ema) * f`` (renormalised)
            instead of a gallery, as StrongSORT does; in [0, 1).
    """

    __slots__ = ("_budget", "_count", "_data", "_ema")

    def __init__(self, budget: int, ema: float | None = None) -> None:
        self._budget = 1 if ema is not None else int(budget)
        self._ema = ema
        self._data: np.ndarray | None = None
        self._count = 0

    def add(self, feature: np.ndarray) -> None:
        """Remember one L2-normalised feature (F,)."""
        if self._data is None:
            self._data = np.empty((self._budget, len(feature)), np.float32)
        if self._ema is not None and self._count:
            mixed = self._ema * self._data[0] + (1.0 - self._ema) * feature
            norm = float(np.linalg.norm(mixed))
            # Opposite features can cancel out; keep the newest then.
            self._data[0] = mixed / norm if norm > 0 else feature
        else:
            self._data[self._count % self._budget] = feature
        self._count += 1

    def distance_within(self, feature: np.ndarray, max_distance: float, newest: int) -> float:
        """Cosine distance from ``feature`` (F,) to *some* stored feature within ``max_distance``.

        Checks the ``newest`` most recent features first and stops there if one is close
        enough; otherwise returns the exact nearest-neighbour distance over the whole gallery.
        When the answer only has to be compared with ``max_distance`` this reads a fraction
        of the gallery (a gallery of 100 x 512 floats is 200 kB, read every frame).

        Returns:
            A distance <= ``max_distance`` if any stored feature is that close, else the minimum
            distance (> ``max_distance``); ``inf`` for an empty gallery.
        """
        n = len(self)
        if n == 0 or self._data is None:
            return float("inf")
        if n > newest:
            recent = (self._count - 1 - np.arange(newest)) % self._budget
            best = 1.0 - float((self._data[recent] @ feature).max())
            if best <= max_distance:
                return best
        return 1.0 - float((self._data[:n] @ feature).max())

    @property
    def newest(self) -> np.ndarray | None:
        """(F,) the most recently added feature (the average with ``ema``); None when empty."""
        if self._data is None or self._count == 0:
            return None
        return self._data[(self._count - 1) % self._budget]

    @property
    def features(self) -> np.ndarray:
        """(G, F) float32 stored features, G <= budget; (0, 0) before the first ``add``."""
        if self._data is None:
            return np.zeros((0, 0), np.float32)
        return self._data[: min(self._count, self._budget)]

    def __len__(self) -> int:
        return min(self._count, self._budget)
