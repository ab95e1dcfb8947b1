"""The baseline (seeds.md 6.b): BNNeck ResNet, label-smoothed CE on the BN feature's logits +
batch-hard triplet on the pre-BN feature."""

from __future__ import annotations

import torch

from reid.data.loader import Batch
from reid.engine.distributed import gather_rows
from reid.losses import CrossEntropyLabelSmooth, TripletLoss
from reid.methods.base import METHODS, Method


@METHODS.register("baseline")
class Baseline(Method):
    """L = ce_weight * CE_ls(logits, pid) + triplet_weight * Triplet(g, pid)."""

    name = "baseline"
    distributed = True

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        lc = self.cfg.loss
        self.ce = CrossEntropyLabelSmooth(lc.label_smoothing)
        self.triplet = TripletLoss(None if lc.triplet_soft_margin else lc.triplet_margin)

    def losses(self, batch: Batch) -> dict[str, torch.Tensor]:
        """Named loss tensors (``loss`` = weighted total) for ``batch``."""
        images = batch.images.to(self.device, non_blocking=True)
        pids = batch.pids.to(self.device, non_blocking=True)
        lc = self.cfg.loss
        with self.autocast():
            out = self.train_forward(images)
        parts = {}
        if lc.ce_weight > 0:
            parts["loss_ce"] = self.ce(out.logits, pids)
        if lc.triplet_weight > 0:
            # Mined over every rank's batch (the global batch one process would see); this
            # rank's images are the anchors, so the ranks' mean is the global batch's loss.
            feats, labels = gather_rows(out.feature), gather_rows(pids)
            mine = torch.zeros(len(labels), dtype=torch.bool, device=labels.device)
            start = self.ranks.rank * len(pids)
            mine[start : start + len(pids)] = True
            parts["loss_triplet"] = self.triplet(feats, labels, anchor_mask=mine)
        total = lc.ce_weight * parts.get("loss_ce", 0.0) + lc.triplet_weight * parts.get(
            "loss_triplet", 0.0
        )
        with torch.no_grad():
            acc = (
                (out.logits.argmax(1) == pids).float().mean()
                if out.logits.shape[1]
                else torch.zeros(())
            )
        return {"loss": total, **parts, "acc": acc}

    def train_step(self, batch: Batch) -> dict[str, float]:
        logs = self.losses(batch)
        opt = self.optimizers["model"]
        opt.zero_grad(set_to_none=True)
        self.scaler.scale(logs["loss"]).backward()
        self.scaler.step(opt)
        self.scaler.update()
        return {k: float(v.detach()) for k, v in logs.items()}
