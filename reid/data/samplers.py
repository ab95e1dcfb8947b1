"""Batch samplers: identity-balanced P x K, and ST-ReIDNet's instance / spatial-temporal triplets.

All samplers are batch samplers (they yield lists of dataset indices), are deterministic given
``seed`` and the epoch set through :meth:`set_epoch`, and drop incomplete batches.

Data-parallel training (``world`` > 1 ranks, :mod:`reid.engine.distributed`): every rank draws
the same global batch of ``world`` x ``batch_size`` images, the one a single process with that
batch size draws, and keeps its own slice of it: whole identities of a P x K batch (so each
rank holds a disjoint share of the batch's identities and of the epoch's images), its anchors
with their positives and negatives of a triplet batch. N ranks x batch B thus see exactly the
batches of one process x batch N B.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence

import numpy as np

from core.errors import UserError
from core.registry import Registry
from reid.config import DataConfig
from reid.data.datasets import Sample


class EpochSampler:
    """Base of the batch samplers: their draws depend only on (seed, epoch); ``rank`` of
    ``world`` selects this process's slice of each global batch."""

    def __init__(self, seed: int, rank: int = 0, world: int = 1) -> None:
        if not 0 <= rank < world:
            raise ValueError(f"rank {rank} outside a world of {world}")
        self.seed = seed
        self.epoch = 0
        self.rank, self.world = rank, world

    def set_epoch(self, epoch: int) -> None:
        """Select the shuffling of ``epoch`` (resume reproduces the same batches)."""
        self.epoch = epoch

    def _rng(self) -> np.random.Generator:
        return np.random.default_rng([self.seed, self.epoch])


def _index_by_pid(samples: Sequence[Sample]) -> dict[int, np.ndarray]:
    groups: dict[int, list[int]] = defaultdict(list)
    for i, s in enumerate(samples):
        groups[s.pid].append(i)
    return {pid: np.asarray(idx) for pid, idx in sorted(groups.items())}


class PKSampler(EpochSampler):
    """Batches of P identities x K images (P = batch_size / K).

    Each identity's images are shuffled and cut into chunks of K (a short identity is
    re-sampled with replacement up to K); batches draw P distinct identities among those with
    chunks left (topped up with fresh draws near the end), so one epoch of ``len(self)``
    batches visits about every image once. With ``world`` ranks the global batch holds
    ``world`` x P identities and this rank yields its P of them.
    """

    def __init__(
        self,
        samples: Sequence[Sample],
        batch_size: int,
        num_instances: int,
        seed: int = 0,
        rank: int = 0,
        world: int = 1,
    ):
        super().__init__(seed, rank, world)
        if num_instances < 1 or batch_size % num_instances:
            raise UserError(
                f"batch_size {batch_size} must be a multiple of num_instances {num_instances}; "
                "change data.batch_size or data.num_instances"
            )
        self.k = num_instances
        self.p = batch_size // num_instances * world  # identities of the global batch
        self.by_pid = _index_by_pid(samples)
        if len(self.by_pid) < self.p:
            ranks = f" over {world} ranks" if world > 1 else ""
            raise UserError(
                f"P x K sampling needs {self.p} identities per batch{ranks} but the training set "
                f"has {len(self.by_pid)}; lower data.batch_size or raise data.num_instances"
            )
        chunks = sum(max(1, len(v) // self.k) for v in self.by_pid.values())
        self._len = chunks // self.p

    def __len__(self) -> int:
        return self._len

    def __iter__(self) -> Iterator[list[int]]:
        rng = self._rng()
        chunks: dict[int, list[np.ndarray]] = {}
        for pid, idx in self.by_pid.items():
            idx = (
                rng.choice(idx, size=self.k, replace=True)
                if len(idx) < self.k
                else rng.permutation(idx)
            )
            n = len(idx) // self.k
            chunks[pid] = [idx[i * self.k : (i + 1) * self.k] for i in range(n)]
        for _ in range(self._len):
            alive = [pid for pid, c in chunks.items() if c]
            chosen = list(rng.choice(alive, size=min(self.p, len(alive)), replace=False))
            if len(chosen) < self.p:
                # Late in the epoch too few identities have chunks left: top up with fresh
                # draws from exhausted ones so every batch still holds P distinct identities.
                spent = [pid for pid, c in chunks.items() if not c]
                for pid in rng.choice(spent, size=self.p - len(chosen), replace=False):
                    idx = self.by_pid[int(pid)]
                    chunks[int(pid)].append(rng.choice(idx, size=self.k, replace=len(idx) < self.k))
                    chosen.append(pid)
            share = len(chosen) // self.world
            mine = chosen[self.rank * share : (self.rank + 1) * share]
            popped = {int(pid): chunks[int(pid)].pop() for pid in chosen}
            yield [int(i) for pid in mine for i in popped[int(pid)]]


class TripletSampler(EpochSampler):
    """ST-ReIDNet's triplet sampling: every image is an anchor once per epoch (seeds 6.b).

    A batch of b = batch_size / 3 anchors is laid out as ``[anchors | positives | negatives]``
    (each block b long) so methods can treat the last third specially.

    Modes:
        instance: positive and "negative" are two random other images of the anchor's
            identity; batch-hard mining finds negatives across the batch.
        st: with probability ``inter_rate`` the positive lies outside a +-``skip`` window around
            the anchor in the identity's frame-sorted list (skip shrinks to len/5 for tracks
            shorter than 2 * skip) and the negative is another person of the same video;
            otherwise positive = any other image of the identity, negative = any other identity.

    With ``world`` ranks the global batch holds ``world`` x b anchors and this rank yields its
    b anchors, their positives and negatives, in the same layout.
    """

    def __init__(
        self,
        samples: Sequence[Sample],
        batch_size: int,
        *,
        mode: str,
        seed: int = 0,
        inter_rate: float = 0.7,
        skip_frames: int = 10,
        rank: int = 0,
        world: int = 1,
    ):
        super().__init__(seed, rank, world)
        if mode not in ("instance", "st"):
            raise UserError(f"unknown triplet sampling mode {mode!r}; choose instance or st")
        if batch_size < 3 or batch_size % 3:
            raise UserError(
                f"triplet sampling needs data.batch_size divisible by 3, got {batch_size};"
                f" change it"
            )
        self.mode, self.b = mode, batch_size // 3 * world  # anchors of the global batch
        self.inter_rate, self.skip = inter_rate, skip_frames
        self.n = len(samples)
        pids = np.array([s.pid for s in samples])
        # Frame order within an identity: the dataset's frame if known, else file order.
        frames = np.array([(s.extra or {}).get("frame", i) for i, s in enumerate(samples)])
        videos = [(s.extra or {}).get("video") for s in samples]
        self.pids = pids
        self.by_pid = {
            pid: idx[np.argsort(frames[idx], kind="stable")]
            for pid, idx in _index_by_pid(samples).items()
        }
        if len(self.by_pid) < 2:
            raise UserError(
                "triplet sampling needs at least 2 identities in the training set; add identities "
                "or use data.sampler=pk"
            )
        self.rank_in_pid = np.empty(self.n, np.int64)
        for idx in self.by_pid.values():
            self.rank_in_pid[idx] = np.arange(len(idx))
        video_pids: dict[object, set[int]] = defaultdict(set)
        for pid, v in zip(pids, videos, strict=True):
            if v is not None:
                video_pids[v].add(int(pid))
        self.same_video_others = {
            int(pid): np.array(sorted(video_pids[v] - {int(pid)}))
            for pid, v in zip(pids, videos, strict=True)
            if v is not None
        }

    def __len__(self) -> int:
        return self.n // self.b

    def _positive(self, rng: np.random.Generator, anchor: int, far: bool) -> int:
        idx = self.by_pid[int(self.pids[anchor])]
        if len(idx) == 1:
            return anchor
        r = self.rank_in_pid[anchor]
        if far:
            skip = self.skip if len(idx) >= 2 * self.skip else max(1, len(idx) // 5)
            candidates = np.concatenate([idx[: max(0, r - skip)], idx[r + skip + 1 :]])
            if len(candidates):
                return int(rng.choice(candidates))
        return int(rng.choice(np.delete(idx, r)))

    def _negative(self, rng: np.random.Generator, anchor: int, same_video: bool) -> int:
        pid = int(self.pids[anchor])
        others = self.same_video_others.get(pid) if same_video else None
        if others is None or not len(others):
            others = np.array([p for p in self.by_pid if p != pid])
        return int(rng.choice(self.by_pid[int(rng.choice(others))]))

    def __iter__(self) -> Iterator[list[int]]:
        rng = self._rng()
        order = rng.permutation(self.n)
        for start in range(0, len(self) * self.b, self.b):
            anchors = order[start : start + self.b]
            pos, neg = [], []
            for a in anchors:
                if self.mode == "instance":
                    pos.append(self._positive(rng, a, far=False))
                    neg.append(self._positive(rng, a, far=False))
                else:
                    inter = rng.random() < self.inter_rate
                    pos.append(self._positive(rng, a, far=inter))
                    neg.append(self._negative(rng, a, same_video=inter))
            share = self.b // self.world
            mine = slice(self.rank * share, (self.rank + 1) * share)
            yield [int(a) for a in anchors[mine]] + pos[mine] + neg[mine]


#: ``data.sampler`` name -> factory ``(samples, data_cfg, seed, rank, world) -> batch sampler``.
SAMPLERS: Registry[Callable[[Sequence[Sample], DataConfig, int, int, int], EpochSampler]] = (
    Registry("sampler")
)
SAMPLERS.register("pk")(
    lambda samples, cfg, seed, rank, world: PKSampler(
        samples, cfg.batch_size, cfg.num_instances, seed, rank, world
    )
)
SAMPLERS.register("instance")(
    lambda samples, cfg, seed, rank, world: TripletSampler(
        samples, cfg.batch_size, mode="instance", seed=seed, rank=rank, world=world
    )
)
SAMPLERS.register("st")(
    lambda samples, cfg, seed, rank, world: TripletSampler(
        samples,
        cfg.batch_size,
        mode="st",
        seed=seed,
        inter_rate=cfg.st_inter_rate,
        skip_frames=cfg.st_skip_frames,
        rank=rank,
        world=world,
    )
)


def build_sampler(
    samples: Sequence[Sample], data_cfg: DataConfig, seed: int, rank: int = 0, world: int = 1
) -> PKSampler | TripletSampler:
    """The batch sampler named by ``data_cfg.sampler`` (this rank's slice of ``world``)."""
    return SAMPLERS.get(data_cfg.sampler)(samples, data_cfg, seed, rank, world)
