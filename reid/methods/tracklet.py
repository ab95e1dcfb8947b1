"""Fine-tuning on a tracking run's own tracklets (``mplt adapt``), no identity labels.

The encoder (:class:`reid.models.reidnet.ReidNet` without BNNeck or classifier) embeds crops;
the losses (:class:`reid.config.TrackletSection`) use only what a tracker can vouch for: crops
of one tracklet show one person, and two tracklets seen in the same frame are two people.
ECN's exemplar memory (seeds.md 3.c) holds one slot per pseudo-identity; its softmax runs over
the own slot and the co-occurring ones only (a tracklet that never met this one may be the
same person, so it is no negative), with ECN's neighbourhood invariance restricted to other
time segments (its camera invariance without CamStyle). A batch-hard triplet with co-occurring
negatives adds a margin. Trained through :func:`reid.train_tracklets`; ``mplt train`` cannot
feed it (no dataset folder holds co-occurrences).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from reid.config import TrackletConfig
from reid.data.loader import Batch
from reid.losses.exemplar import ExemplarMemory
from reid.methods.base import METHODS, Method

#: stands in for -inf in masked logits (finite, so 0 x it stays 0 in the soft-target sum)
_MASKED = -1e4


def cooccurrence_triplet(
    features: torch.Tensor, pids: torch.Tensor, cooccur: torch.Tensor, margin: float
) -> torch.Tensor:
    """Batch-hard triplet whose negatives are co-occurring pseudo-identities only.

    Args:
        features: ``(B, D)`` unit feature vectors.
        pids: ``(B,)`` int64 pseudo-identities.
        cooccur: ``(P, P)`` bool, pseudo-identities seen in the same frame.
        margin: hinge margin, Euclidean distance.

    Returns:
        The mean hinge over anchors with a positive and a known negative (0 when none has).
    """
    dist = torch.cdist(features.float(), features.float())
    same = pids[:, None] == pids[None, :]
    other = cooccur[pids][:, pids]
    eye = torch.eye(len(pids), dtype=torch.bool, device=pids.device)
    pos = same & ~eye
    usable = pos.any(1) & other.any(1)
    if not usable.any():
        return dist.sum() * 0.0
    hardest_pos = dist.masked_fill(~pos, -1.0).amax(1)
    hardest_neg = dist.masked_fill(~other, float("inf")).amin(1)
    return F.relu(hardest_pos - hardest_neg + margin)[usable].mean()


@METHODS.register("tracklet")
class Tracklet(Method):
    """The recipe; :meth:`set_tracklets` gives it the co-occurrences and the slots' time
    segments before training. The memory is saved in checkpoints (``tracklet_memory``)."""

    name = "tracklet"
    config_class = TrackletConfig
    from_dataset = False

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.memory: ExemplarMemory | None = None
        self.cooccur: torch.Tensor | None = None
        self.segments: torch.Tensor | None = None

    def set_tracklets(
        self, cooccur: np.ndarray, segments: np.ndarray, features: np.ndarray, pids: np.ndarray
    ) -> None:
        """The pseudo-identities' constraints and the memory's first slots.

        Args:
            cooccur: ``(P, P)`` bool, True where two pseudo-identities share a frame.
            segments: ``(P,)`` int, each pseudo-identity's time segment (its "camera").
            features: ``(N, D)`` unit features of the training crops by the initial encoder.
            pids: ``(N,)`` int pseudo-identity of each of those crops.
        """
        num = len(cooccur)
        self.cooccur = torch.as_tensor(np.asarray(cooccur, bool), device=self.device)
        self.segments = torch.as_tensor(np.asarray(segments, np.int64), device=self.device)
        self.memory = ExemplarMemory(num, features.shape[1], self.device)
        sums = np.zeros((num, features.shape[1]), np.float64)
        np.add.at(sums, np.asarray(pids, np.int64), features)
        self.memory.features.copy_(F.normalize(torch.as_tensor(sums, dtype=torch.float32), dim=1))

    def set_train_mode(self, mode: bool) -> None:
        super().set_train_mode(mode)
        if mode and self.cfg.tracklet.freeze_bn:
            for m in self.model.modules():
                if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                    m.eval()

    @property
    def epoch_index(self) -> int:
        """0-based index of the running epoch (= finished epochs, the scheduler's count)."""
        return int(self.schedulers["model"].last_epoch)

    def _memory_loss(self, features: torch.Tensor, pids: torch.Tensor) -> torch.Tensor:
        t = self.cfg.tracklet
        logits = self.memory.logits(features, t.beta)  # (B, P)
        num = logits.shape[1]
        own = F.one_hot(pids, num).bool()
        valid = own | self.cooccur[pids]
        targets = own.float()
        if t.knn > 0 and self.epoch_index >= t.knn_start_epoch:
            seg = self.segments
            candidate = ~valid & (seg[None, :] != seg[pids][:, None])
            k = min(t.knn, num)
            top = logits.detach().masked_fill(~candidate, _MASKED).topk(k, dim=1)
            near = torch.zeros_like(valid).scatter_(1, top.indices, True) & candidate
            valid = valid | near
            targets = targets + near.float() / k
        log_p = F.log_softmax(logits.float().masked_fill(~valid, _MASKED), dim=1)
        return -(targets * log_p).sum(1).mean()

    def train_step(self, batch: Batch) -> dict[str, float]:
        """One step on L = memory_weight L_memory + triplet_weight L_triplet, then the memory
        update of the batch's slots."""
        if self.memory is None or self.cooccur is None:
            raise RuntimeError("call set_tracklets() before training")
        t = self.cfg.tracklet
        images = batch.images.to(self.device, non_blocking=True)
        pids = batch.pids.to(self.device, non_blocking=True)
        with self.autocast():
            g = self.model.features(images)
        f = F.normalize(g.float(), dim=1)
        loss_mem = self._memory_loss(f, pids)
        loss_tri = cooccurrence_triplet(f, pids, self.cooccur, t.margin)
        loss = t.memory_weight * loss_mem + t.triplet_weight * loss_tri
        opt = self.optimizers["model"]
        opt.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(opt)
        self.scaler.update()
        self.memory.update(f, pids, t.memory_momentum)
        logs = {"loss": loss, "loss_memory": loss_mem, "loss_triplet": loss_tri}
        return {k: float(v.detach()) for k, v in logs.items()}

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        if self.memory is not None:
            state["tracklet_memory"] = self.memory.features.cpu()
        return state
