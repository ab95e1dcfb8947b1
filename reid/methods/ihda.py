"""IHDA (Yang et al., "Instance-level Heterogeneous Domain Adaptation for Limited-labeled
Sketch-to-Photo Retrieval", IEEE TMM 2021; seeds.md 2).

Step 1 (``ihda.step: 1``, source photos only): L1 = L_id + l1 L_tri + l2 L_att^s.
With ``ihda.layer3_triplet`` (the released code) each L_tri is applied to both the final GAP
feature and the GAP of layer3 (f1) and summed.
Step 2 (``ihda.step: 2``, source photos + target photo/sketch pairs):
L2 = L_id^{t1,t2} + l1 L_tri^{t2->t1} + l2 (L_att^s + H(t1) + H(t2) + L_con) + l3 L_d, where
L_d is the 3-domain CE (source photo 0, target photo 1, target sketch 2) of a domain classifier
behind a gradient reversal layer whose coefficient follows the DANN ramp over
``ihda.grl_iters`` iterations.

Network: :class:`reid.models.ihda_net.IhdaNet` (photo encoder E1, sketch encoder E2, identity,
attribute and domain heads); E2 starts as a copy of E1 (load the step-1 run with
``ihda.step1_checkpoint``). Losses: :mod:`reid.losses.ihda`.

Released-code bugs not reproduced (seeds.md 7.3): the domain loss is +l3 CE(logits, d) on raw
logits (code: -0.1 CE(softmax(logits)), double softmax and inverted sign), so C_d learns to
separate the domains and the encoders, through the GRL, to confuse them; the warm-up is
(epoch+1)/11 of the lr (``optim.warmup_factor`` 1/11 over 10 epochs), not (epoch+1) times it.
``IhdaNet.forward(x, modality)`` routes sketches (modality 1) to E2 and photos to E1;
:func:`reid.evaluation.features.extract_features` passes each sample's modality to such models,
so training-time evaluation and the PKU-Sketch / QMUL protocols embed sketches with E2
(:meth:`IhdaNet.forward_sketch` = all-E2).

Choices where the paper and the released code differ (seeds.md 2.b-2.d), named in the config:
the code's Adam betas (0.5, 0.999) and its layer3 triplet, because the reported numbers come
from that code (the paper gives neither betas nor the layers the triplet is on); the code's
grey 3-channel persons, ColorJitter 0.05 and the target's +-15 degree rotation; for shoes
(``data.photo_edges``) the code's inverted FIND_EDGES photos. The step-2 triplet keeps the
paper's sketch-anchor form (squared distances), as before.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from core.errors import UserError
from reid.config import IhdaConfig
from reid.data.attributes import attribute_targets, read_market_attributes
from reid.data.datasets import ReidSplits, Sample
from reid.data.ihda_loader import IhdaBatch, build_pair_loader
from reid.data.loader import Batch
from reid.engine.checkpoint import load_checkpoint
from reid.engine.optim import build_scheduler
from reid.engine.ramps import dann_sigmoid_ramp
from reid.losses import CrossEntropyLabelSmooth, TripletLoss
from reid.losses.ihda import (
    attribute_bce,
    attribute_consistency,
    attribute_entropy,
    domain_loss,
    hetero_triplet,
)
from reid.methods.base import METHODS, Method
from reid.models.backbones import build_backbone, load_pretrained
from reid.models.ihda_net import IhdaNet


@METHODS.register("ihda")
class Ihda(Method):
    """IHDA on the shared engine; modules: model (:class:`IhdaNet`). ``iteration`` (the GRL
    ramp's clock, step 2) is saved in checkpoints so a resumed run continues the ramp."""

    name = "ihda"
    config_class = IhdaConfig

    def __init__(self, cfg: IhdaConfig, *args, **kwargs) -> None:
        if cfg.ihda.step not in (1, 2):
            raise UserError(f"ihda.step must be 1 or 2, got {cfg.ihda.step}")
        if cfg.ihda.attribute_format != "market_mat":
            raise UserError(
                f"ihda.attribute_format {cfg.ihda.attribute_format!r} is unknown; use market_mat"
            )
        super().__init__(cfg, *args, **kwargs)
        self.ce = CrossEntropyLabelSmooth(cfg.loss.label_smoothing)
        self.triplet = TripletLoss(cfg.ihda.triplet_margin)
        self.iteration = 0
        self.attr_targets = torch.zeros(0, self.num_attributes)
        self.attr_labelled = torch.zeros(0, dtype=torch.bool)

    @property
    def num_attributes(self) -> int:
        return len([a for a in self.cfg.ihda.attributes.split(",") if a.strip()])

    @classmethod
    def build_model(
        cls, cfg: IhdaConfig, num_classes: int, pretrained: str | None = None
    ) -> nn.Module:
        m = cfg.model
        backbone = build_backbone(m.backbone, m.last_stride, m.imagenet and pretrained is None)
        if pretrained is not None:
            load_pretrained(backbone, pretrained)
        n_att = len([a for a in cfg.ihda.attributes.split(",") if a.strip()])
        net = IhdaNet(backbone, num_classes, n_att, cfg.ihda)
        if cfg.ihda.step == 2 and cfg.ihda.step1_checkpoint:
            _load_step1(net, cfg.ihda.step1_checkpoint)
        return net

    def build_optimizers(self) -> None:
        """Adam (betas ``ihda.adam_beta1/2``) over every trainable parameter: both encoders at
        lr x backbone_lr_mult, heads at lr; the per-epoch warm-up + step schedule of ``optim``."""
        o, net = self.cfg.optim, self.model
        enc = [p for n in ("backbone", "sketch_backbone") for p in getattr(net, n).parameters()]
        enc_ids = {id(p) for p in enc}
        head = [p for p in net.parameters() if p.requires_grad and id(p) not in enc_ids]
        groups = [
            {"params": enc, "lr": o.lr * o.backbone_lr_mult, "name": "backbone"},
            {"params": head, "lr": o.lr, "name": "head"},
        ]
        if o.name != "adam":
            raise UserError(f"ihda trains with Adam; set optim.name=adam (got {o.name!r})")
        betas = (self.cfg.ihda.adam_beta1, self.cfg.ihda.adam_beta2)
        opt = torch.optim.Adam(groups, lr=o.lr, betas=betas, weight_decay=o.weight_decay)
        self.optimizers["model"] = opt
        self.schedulers["model"] = build_scheduler(opt, o, self.cfg.train.epochs)

    def load_target(self) -> ReidSplits:
        """The target dataset (``target.data_dir`` / ``target.dataset``), read once."""
        return self.read_target(
            "ihda step 2 needs the target photo/sketch dataset (e.g. pku-sketch)"
        )

    def eval_splits(self, splits: ReidSplits) -> ReidSplits:
        """Step 2 evaluates on the target's query/gallery, step 1 on the source's."""
        return self.load_target() if self.cfg.ihda.step == 2 else splits

    def _load_attributes(self, source: list[Sample]) -> None:
        s = self.cfg.ihda
        if s.lambda2 <= 0:
            return
        if not s.attribute_file:
            raise UserError(
                "ihda needs source attributes; pass --set ihda.attribute_file=market_attribute.mat "
                "(or ihda.lambda2=0)"
            )
        names = [a.strip() for a in s.attributes.split(",") if a.strip()]
        table = read_market_attributes(s.attribute_file, names)
        targets, labelled = attribute_targets(source, table, len(names))
        if not labelled.any():
            raise UserError(
                f"no source training image has attributes in {s.attribute_file}; "
                "check that it belongs to the source dataset"
            )
        self.attr_targets = torch.from_numpy(targets)
        self.attr_labelled = torch.from_numpy(labelled)

    def build_train_loader(self, samples: list[Sample]) -> torch.utils.data.DataLoader:
        """Step 1: the framework's P x K source loader. Step 2: [source | photos | sketches]
        batches; the identity classifier is resized to the target identities."""
        self._load_attributes(samples)
        if self.cfg.ihda.step == 1:
            return super().build_train_loader(samples)
        target = self.load_target().train
        num_ids = len({t.pid for t in target})
        net = self.model
        net.classifier = nn.Linear(net.dim, num_ids).to(self.device)
        self.num_classes = num_ids
        self.build_optimizers()
        return build_pair_loader(
            samples,
            target,
            self.cfg.data,
            self.cfg.ihda.source_batch,
            self.cfg.target.batch_size,
            self.cfg.train.seed,
            self.cfg.ihda.target_rotation_deg,
        )

    @property
    def epoch_index(self) -> int:
        """0-based index of the running epoch."""
        return int(self.schedulers["model"].last_epoch)

    def grl_coefficient(self, iteration: int) -> float:
        """DANN ramp c = ramp(iteration / grl_iters) scaled to ``grl_high``."""
        s = self.cfg.ihda
        return dann_sigmoid_ramp(iteration / s.grl_iters, s.grl_gamma, 0.0, s.grl_high)

    def _attr_loss(self, logits: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        lab = self.attr_labelled[index]
        return attribute_bce(
            logits[lab.to(self.device)], self.attr_targets[index][lab].to(self.device)
        )

    def losses_step1(self, batch: Batch) -> dict[str, torch.Tensor]:
        s, net = self.cfg.ihda, self.model
        x, pids = batch.images.to(self.device), batch.pids.to(self.device)
        with self.autocast():
            g3, g = net.features_pair(x)
            logits = net.id_logits(g)
            att = net.attribute_head(g) if s.lambda2 > 0 else g.new_zeros(len(g), 0)
        parts = {"loss_id": self.ce(logits, pids)}
        if s.lambda1 > 0 and self.epoch_index >= s.triplet_start_epoch:
            parts["loss_tri"] = self.triplet(g, pids)
            if s.layer3_triplet:
                parts["loss_tri"] = parts["loss_tri"] + self.triplet(g3, pids)
        if s.lambda2 > 0:
            parts["loss_att"] = self._attr_loss(att, batch.index)
        total = (
            parts["loss_id"]
            + s.lambda1 * parts.get("loss_tri", 0.0)
            + s.lambda2 * parts.get("loss_att", 0.0)
        )
        acc = (logits.argmax(1) == pids).float().mean()
        return {"loss": total, **parts, "acc": acc}

    def losses_step2(self, batch: IhdaBatch) -> dict[str, torch.Tensor]:
        s, net, dev = self.cfg.ihda, self.model, self.device
        net.grl.lambda_ = self.grl_coefficient(self.iteration)
        xs, xp, xk = (b.images.to(dev) for b in (batch.source, batch.photo, batch.sketch))
        pids = batch.photo.pids.to(dev)
        with self.autocast():
            gs = net.features(xs)
            (gp3, gp), (gk3, gk) = net.features_pair(xp), net.features_pair(xk, sketch=True)
            lp, lk = net.id_logits(gp), net.id_logits(gk)
            feats = torch.cat([gs, gp, gk])
            att = net.attribute_head(feats)
            dom = net.domain_logits(feats)
        ns, nt = len(gs), len(gp)
        parts = {"loss_id": self.ce(lp, pids) + self.ce(lk, pids)}
        if s.lambda1 > 0 and self.epoch_index >= s.triplet_start_epoch:
            parts["loss_tri"] = hetero_triplet(gk, gp, pids, s.triplet_margin)
            if s.layer3_triplet:
                parts["loss_tri"] = parts["loss_tri"] + hetero_triplet(
                    gk3, gp3, pids, s.triplet_margin
                )
        if s.lambda2 > 0:
            att_p, att_k = att[ns : ns + nt], att[ns + nt :]
            parts["loss_att"] = self._attr_loss(att[:ns], batch.source.index)
            parts["loss_ent"] = attribute_entropy(att_p) + attribute_entropy(att_k)
            parts["loss_con"] = attribute_consistency(att_p, att_k)
        domains = torch.cat([torch.full((n,), d, device=dev) for d, n in enumerate((ns, nt, nt))])
        parts["loss_d"] = domain_loss(dom, domains)
        att_total = sum(parts.get(k, 0.0) for k in ("loss_att", "loss_ent", "loss_con"))
        total = (
            parts["loss_id"]
            + s.lambda1 * parts.get("loss_tri", 0.0)
            + s.lambda2 * att_total
            + s.lambda3 * parts["loss_d"]
        )
        acc = (torch.cat([lp, lk]).argmax(1) == pids.repeat(2)).float().mean()
        return {"loss": total, **parts, "acc": acc, "grl": torch.tensor(net.grl.lambda_)}

    def train_step(self, batch: Batch | IhdaBatch) -> dict[str, float]:
        """One Adam step on L1 (step 1) or L2 (step 2)."""
        logs = self.losses_step1(batch) if self.cfg.ihda.step == 1 else self.losses_step2(batch)
        opt = self.optimizers["model"]
        opt.zero_grad(set_to_none=True)
        self.scaler.scale(logs["loss"]).backward()
        self.scaler.step(opt)
        self.scaler.update()
        self.iteration += 1
        return {k: float(torch.as_tensor(v).detach()) for k, v in logs.items()}

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "ihda_iteration": self.iteration}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.iteration = int(state.get("ihda_iteration", 0))


def _load_step1(net: IhdaNet, path: str) -> None:
    """E1, E2 (copy of E1), BN and attribute head from a step-1 run; the identity classifier
    (source identities) is not carried over."""
    state = load_checkpoint(path)["modules"]["model"]
    keep = {k: v for k, v in state.items() if not k.startswith(("classifier.", "sketch_backbone."))}
    keep.update({"sketch_" + k: v for k, v in state.items() if k.startswith("backbone.")})
    missing = net.load_state_dict(keep, strict=False)
    if any(k.startswith(("backbone.", "attribute_head.")) for k in missing.missing_keys):
        raise UserError(f"{path} is not an IHDA step-1 checkpoint of this backbone; pass one")
