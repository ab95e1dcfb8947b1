"""Training data given as plain crops (no image files): pseudo-identities mined from tracks.

The caller (``mplt adapt``) hands over crops in memory with a pseudo-identity and a "camera"
(time segment) each, and which pseudo-identities were seen in the same frames; nothing here
knows of videos or trackers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from reid.data.loader import Batch
from reid.data.samplers import EpochSampler


class CropDataset(Dataset):
    """In-memory crops as :class:`reid.data.loader.Batch` items.

    Args:
        crops: ``(N, h, w, 3)`` uint8 RGB.
        pids: ``(N,)`` int pseudo-identity of each crop, 0-based.
        camids: ``(N,)`` int camera (time segment) of each crop.
        transform: PIL image -> ``(3, H, W)`` float tensor.
    """

    def __init__(
        self,
        crops: np.ndarray,
        pids: np.ndarray,
        camids: np.ndarray,
        transform: Callable[[Image.Image], torch.Tensor],
    ) -> None:
        if not (len(crops) == len(pids) == len(camids)):
            raise ValueError(
                f"crops, pids and camids differ in length: {len(crops)}, {len(pids)}, {len(camids)}"
            )
        self.crops, self.transform = crops, transform
        self.pids = np.asarray(pids, np.int64)
        self.camids = np.asarray(camids, np.int64)

    def __len__(self) -> int:
        return len(self.crops)

    def __getitem__(self, i: int) -> Batch:
        image = Image.fromarray(np.ascontiguousarray(self.crops[i]))
        return Batch(self.transform(image), int(self.pids[i]), int(self.camids[i]), i)


class CooccurrenceSampler(EpochSampler):
    """Batches of ``num_ids`` pseudo-identities x ``num_instances`` crops, the identities of a
    batch chosen to be seen together: a seed identity, then those it co-occurs with, then
    theirs, then random ones. Co-occurring identities are the only known negatives, so a batch
    of strangers would teach nothing but their own sameness.

    Args:
        pids: ``(N,)`` pseudo-identity of each crop of the dataset.
        cooccur: ``(P, P)`` bool, True where two pseudo-identities share a frame.
        num_ids, num_instances: batch layout (crops drawn with replacement when fewer).
        seed: the draws depend only on (seed, epoch).
    """

    def __init__(
        self,
        pids: np.ndarray,
        cooccur: np.ndarray,
        num_ids: int,
        num_instances: int,
        seed: int,
    ) -> None:
        super().__init__(seed)
        pids = np.asarray(pids, np.int64)
        self.index = {int(p): np.flatnonzero(pids == p) for p in np.unique(pids)}
        self.ids = np.array(sorted(self.index))
        self.cooccur = np.asarray(cooccur, bool)
        self.num_ids = min(num_ids, len(self.ids))
        self.num_instances = num_instances
        self.batches = max(1, len(pids) // (self.num_ids * num_instances))

    def __len__(self) -> int:
        return self.batches

    def _identities(self, rng: np.random.Generator, seed_id: int) -> list[int]:
        chosen, frontier = [seed_id], [seed_id]
        while frontier and len(chosen) < self.num_ids:
            nxt = []
            for p in frontier:
                mates = [int(q) for q in rng.permutation(np.flatnonzero(self.cooccur[p]))]
                for q in mates:
                    if q in self.index and q not in chosen and len(chosen) < self.num_ids:
                        chosen.append(q)
                        nxt.append(q)
            frontier = nxt
        rest = [int(q) for q in rng.permutation(self.ids) if int(q) not in chosen]
        return chosen + rest[: self.num_ids - len(chosen)]

    def __iter__(self) -> Iterator[list[int]]:
        rng = self._rng()
        seeds = rng.permutation(np.resize(self.ids, max(self.batches, len(self.ids))))
        for b in range(self.batches):
            batch: list[int] = []
            for p in self._identities(rng, int(seeds[b])):
                idx = self.index[p]
                replace = len(idx) < self.num_instances
                batch += [int(i) for i in rng.choice(idx, self.num_instances, replace=replace)]
            yield batch
