"""FMCL (binquanwang/FMCL_UDA, "Fast Momentum Contrast Learning for Unsupervised Person
Re-Identification"; seeds.md 3.h): ECN with a momentum (EMA) encoder and MoCo-style logits.

On top of :mod:`reid.methods.ecn` (the momentum pieces are :mod:`reid.losses.fmcl`):

* an EMA copy of the network (``modules["ema"]``, no gradients): after every SGD step
  ``ema <- a ema + (1 - a) theta`` over the parameters, a = ``fmcl.ema_alpha_early`` while the
  0-based epoch <= ``fmcl.ema_early_epochs`` (almost a copy), ``fmcl.ema_alpha`` afterwards;
* target logits ``[l_pos | q Q^T] / T`` (B, 1 + N_t): q = the online target feature,
  k = the EMA feature of the same image, l_pos = q.k, Q (N_t, D) a per-image memory of EMA keys
  whose slot is overwritten by the image's latest key after each step. The label is the image's
  own memory column ``idx + 1`` (column 0 is l_pos); the original code uses ``idx``, one column
  off (the flagged bug of seeds.md 3.h);
* neighbourhood soft targets from ``fmcl.knn_start_epoch`` on (:func:`momentum_neighbour_targets`);
* a soft cross-entropy between the online and EMA classifier outputs on the target images
  (MMT's SoftEntropy), weight ``fmcl.soft_ce_weight``.

L = (1 - lmd) CE_src + lmd L_un + w L_softCE. The online network is the test encoder. The EMA
network and the key memory are saved in checkpoints, so a resumed run continues exactly.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch
import torch.nn.functional as F
from PIL import Image

from reid.config import FmclConfig
from reid.data.crossdomain import CrossDomainBatch
from reid.data.datasets import Sample
from reid.data.transforms import build_train_transform
from reid.losses.fmcl import ema_update, momentum_logits, momentum_neighbour_targets, soft_entropy
from reid.methods.base import METHODS
from reid.methods.ecn import Ecn
from reid.models.ecn_net import EcnNet


def target_heads(net: EcnNet, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Unit target feature (N, features) and source-classifier logits (N, num_classes)."""
    e = net.embedding(net.features(x))
    f = F.normalize(net.drop(F.normalize(e.float(), dim=1)), dim=1)
    return f, net.classifier(net.drop(F.relu(e)))


@METHODS.register("ecn-fmcl")
class Fmcl(Ecn):
    """FMCL on the shared engine; modules: model (online :class:`EcnNet`), ema (its EMA copy).
    ``memory`` holds the EMA keys (checkpoint key ``ecn_memory``)."""

    name = "ecn-fmcl"
    config_class = FmclConfig

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.modules["ema"] = copy.deepcopy(self.model).requires_grad_(False)

    def build_train_loader(self, samples: list[Sample]) -> torch.utils.data.DataLoader:
        """ECN's loader; the key memory starts as random unit vectors (as MoCo's queue),
        drawn from a generator seeded by ``train.seed``."""
        loader = super().build_train_loader(samples)
        gen = torch.Generator().manual_seed(self.cfg.train.seed)
        init = torch.randn(self.memory.features.shape, generator=gen)
        self.memory.features.copy_(F.normalize(init, dim=1))
        return loader

    def train_transform(self) -> Callable[[Image.Image], torch.Tensor]:
        """FMCL's own augmentation (``data``): resize, h-flip, pad + random crop, erasing."""
        return build_train_transform(self.cfg.data)

    def ema_rate(self, epoch: int) -> float:
        """EMA rate a of the 0-based ``epoch``."""
        f = self.cfg.fmcl
        return f.ema_alpha_early if epoch <= f.ema_early_epochs else f.ema_alpha

    def train_step(self, batch: CrossDomainBatch) -> dict[str, float]:
        """One SGD step on (1 - lmd) CE_src + lmd L_un + w L_softCE, then the EMA and memory
        updates."""
        if self.memory is None:
            raise RuntimeError("build_train_loader() creates the key memory; call it first")
        e, f, dev, epoch = self.cfg.ecn, self.cfg.fmcl, self.device, self.epoch_index
        src = batch.source.images.to(dev, non_blocking=True)
        pids = batch.source.pids.to(dev, non_blocking=True)
        tgt = batch.target.images.to(dev, non_blocking=True)
        idx = batch.target.index.to(dev, non_blocking=True)
        ema = self.modules["ema"]
        with self.autocast():
            logits_s = self.model.forward_source(src)
            q, cls_t = target_heads(self.model, tgt)
            with torch.no_grad():
                k, cls_ema = target_heads(ema, tgt)
        loss_src = F.cross_entropy(logits_s.float(), pids)
        logits = momentum_logits(q.float(), k.float(), self.memory.features, f.temperature)
        labels = idx + 1  # column 0 is l_pos; the original's `idx` is one column off
        if f.knn > 0 and epoch >= f.knn_start_epoch:
            targets = momentum_neighbour_targets(logits, labels, f.knn)
            loss_un = -(targets * F.log_softmax(logits, dim=1)).sum(1).mean()
        else:
            loss_un = F.cross_entropy(logits, labels)
        loss_soft = soft_entropy(cls_t, cls_ema)
        loss = (1 - e.lmd) * loss_src + e.lmd * loss_un + f.soft_ce_weight * loss_soft
        opt = self.optimizers["model"]
        opt.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(opt)
        self.scaler.update()
        ema_update(ema, self.model, self.ema_rate(epoch))
        self.memory.update(k, idx, 0.0)  # overwrite each slot with its latest EMA key
        with torch.no_grad():
            acc = (logits_s.argmax(1) == pids).float().mean()
        logs = {
            "loss": loss,
            "loss_src": loss_src,
            "loss_un": loss_un,
            "loss_soft": loss_soft,
            "acc": acc,
        }
        return {name: float(v.detach()) for name, v in logs.items()}
