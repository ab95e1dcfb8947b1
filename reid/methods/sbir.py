"""Zero-shot SBIR with a triplet loss and a domain loss through a GRL (seeds.md §4).

Two non-shared encoders, sketch (theta) and photo (phi), and a domain classifier D behind one
gradient reversal layer (:mod:`reid.models.sbir_net`).

Per batch of (sketch, positive photo, negative photo) triplets::

    L = r_t * TripletMargin(theta(s), phi(p), phi(n); margin 1, p = 2)
      + r_d * [BCE(D(GRL(phi(p))), 1) + BCE(D(GRL(phi(n))), 1) + BCE(D(GRL(theta(s))), 0)]

with D called once per domain batch (its BatchNorm sees photos or sketches, never both)
with one Adam over theta, phi and D. Negatives: the negative class c' of a sketch of class c is
drawn with probability proportional to 1 / ||w_c - w_c'|| (class word vectors, seeds §4.d;
:mod:`reid.data.sbir`); without vectors the draw is uniform over the other classes (a one-line
notice says so).

GRL coefficient per 0-based epoch: :func:`reid.engine.ramps.linear_ramp` with
(``grl_start_epoch``, ``grl_threshold_epoch``) = (5, 25): 0 before epoch 5, epoch / 25 up to 25,
then 1 — the reference's intent; its ``lambda *= epoch / T`` (0 until T, then 1) is a bug.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader

from core.notify import notice
from reid.config import SbirConfig
from reid.data.datasets import Sample
from reid.data.sbir import (
    TripletBatch,
    build_triplet_loader,
    load_class_vectors,
    negative_class_probs,
)
from reid.engine.ramps import linear_ramp
from reid.methods.base import METHODS, Method
from reid.models.grl import GradientReversal
from reid.models.sbir_net import DomainClassifier, SbirNet


@METHODS.register("sbir")
class Sbir(Method):
    """Zero-shot SBIR; modules: model (:class:`SbirNet`), domain (:class:`DomainClassifier`)."""

    name = "sbir"
    config_class = SbirConfig

    def __init__(self, *args, **kwargs) -> None:
        self.epoch = 0
        super().__init__(*args, **kwargs)

    @classmethod
    def build_model(
        cls, cfg: SbirConfig, num_classes: int, pretrained: str | None = None
    ) -> nn.Module:
        return SbirNet(cfg.model.backbone, cfg.model.imagenet)

    def build_optimizers(self) -> None:
        self.grl = GradientReversal(0.0)
        self.modules["domain"] = DomainClassifier(self.model.dim).to(self.device)
        params = [p for m in self.modules.values() for p in m.parameters()]
        o = self.cfg.optim
        self.optimizers["model"] = torch.optim.Adam(params, lr=o.lr, weight_decay=o.weight_decay)
        self.schedulers["model"] = torch.optim.lr_scheduler.LambdaLR(
            self.optimizers["model"], lambda e: 1.0
        )
        self.update_grl()

    def update_grl(self) -> float:
        """Set the GRL coefficient for the current 0-based epoch; returns it."""
        so = self.cfg.sbir
        self.grl.lambda_ = linear_ramp(
            self.epoch, so.grl_start_epoch, so.grl_threshold_epoch, so.grl_max
        )
        return self.grl.lambda_

    def step_schedulers(self) -> None:
        super().step_schedulers()
        self.epoch += 1
        self.update_grl()

    def class_vectors(self, samples: list[Sample]) -> np.ndarray | None:
        """Seen-class word vectors from ``sbir.class_embeddings`` or the dataset's
        train_embeddings.npy; None (uniform negatives, with a notice) when neither exists."""
        so = self.cfg.sbir
        if so.class_embeddings:
            return load_class_vectors(Path(so.class_embeddings), self.num_classes)
        root = Path(samples[0].path).parents[2] if samples else Path(".")
        if (root / "train_embeddings.npy").is_file():
            return load_class_vectors(root / "train_embeddings.npy", self.num_classes)
        notice(
            "sbir: no class word vectors (sbir.class_embeddings or "
            "train_embeddings.npy); negative classes are drawn uniformly"
        )
        return None

    def build_train_loader(self, samples: list[Sample]) -> DataLoader:
        probs = negative_class_probs(self.num_classes, self.class_vectors(samples))
        return build_triplet_loader(samples, self.cfg.data, probs, self.cfg.train.seed)

    def losses(self, batch: TripletBatch) -> dict[str, torch.Tensor]:
        """Named loss tensors (``loss`` = r_t * triplet + r_d * domain) for ``batch``."""
        so, dev = self.cfg.sbir, self.device
        s = self.model.embed_sketch(batch.sketch.to(dev))
        p = self.model(batch.positive.to(dev))
        n = self.model(batch.negative.to(dev))
        triplet = F.triplet_margin_loss(s, p, n, margin=so.triplet_margin, p=2)
        # One classifier call per domain batch, as the reference: its BatchNorm layers
        # normalise positives, negatives and sketches each with their own batch statistics
        # (one call on cat([p, n, s]) would mix sketches and photos in one batch).
        domain = s.new_zeros(())
        for x, label in ((p, 1.0), (n, 1.0), (s, 0.0)):
            logits = self.modules["domain"](self.grl(x))  # (B,)
            domain = domain + F.binary_cross_entropy_with_logits(
                logits, torch.full_like(logits, label)
            )
        total = so.triplet_loss_ratio * triplet + so.domain_loss_ratio * domain
        return {
            "loss": total,
            "loss_triplet": triplet,
            "loss_domain": domain,
            "grl_lambda": torch.tensor(self.grl.lambda_),
        }

    def train_step(self, batch: TripletBatch) -> dict[str, float]:
        logs = self.losses(batch)
        opt = self.optimizers["model"]
        opt.zero_grad(set_to_none=True)
        logs["loss"].backward()
        opt.step()
        return {k: float(v.detach()) for k, v in logs.items()}

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "epoch": self.epoch}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.epoch = int(state.get("epoch", 0))
        self.update_grl()
