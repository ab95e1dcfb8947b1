"""IHDA (Yang et al., "Instance-level Heterogeneous Domain Adaptation for Limited-labeled
Sketch-to-Photo Retrieval", IEEE TMM 2021; seeds.md 2).

Step 1 (``ihda.step: 1``, source photos only): L1 = L_id + l1 L_tri + l2 L_att^s.
Step 2 (``ihda.step: 2``, source photos + target photo/sketch pairs):
L2 = L_id^{t1,t2} + l1 L_tri^{t2->t1} + l2 (L_att^s + H(t1) + H(t2) + L_con) + l3 L_d, where
L_d is the 3-domain CE (source photo 0, target photo 1, target sketch 2) of a domain classifier
behind a gradient reversal layer whose coefficient follows the DANN ramp over
``ihda.grl_iters`` iterations.

Network (seeds.md 2.b): SE-ResNeXt-50 is not in torchvision, so the photo encoder E1 and the
sketch encoder E2 are the framework's backbones (``model.backbone``: resnet50 as in the paper,
``tiny`` for tests) with global average pooling; identity head BN (frozen bias) -> Dropout ->
Linear; attribute head and domain classifier are 2-hidden-layer MLPs (paper width 512).
E2 starts as a copy of E1 (load the step-1 run with ``ihda.step1_checkpoint``).

Released-code bugs not reproduced (seeds.md 7.3): the domain loss is +l3 CE(logits, d) on raw
logits (code: -0.1 CE(softmax(logits)), double softmax and inverted sign), so C_d learns to
separate the domains and the encoders, through the GRL, to confuse them; the warm-up is
(epoch+1)/11 of the lr (``optim.warmup_factor`` 1/11 over 10 epochs), not (epoch+1) times it.
``IhdaNet.forward(x, modality)`` routes sketches (modality 1) to E2 and photos to E1; the
engine's feature extraction passes each sample's modality to such models, so training-time
evaluation and the PKU-Sketch / QMUL evaluators embed sketches with E2
(:meth:`IhdaNet.forward_sketch` = all-E2).
"""

from __future__ import annotations

import copy
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from reid.config import IhdaConfig, IhdaSection
from reid.data.attributes import attribute_targets, read_market_attributes
from reid.data.datasets import ReidSplits, Sample
from reid.data.ihda_loader import IhdaBatch, build_pair_loader
from reid.data.loader import Batch
from reid.engine.optim import build_scheduler
from reid.engine.ramps import dann_sigmoid_ramp
from core.errors import UserError
from reid.losses import CrossEntropyLabelSmooth, TripletLoss
from reid.methods.base import METHODS, Method
from reid.models.backbones import build_backbone, load_pretrained
from reid.models.grl import GradientReversal


def _mlp(dim: int, hidden: int, out: int, dropout: float | None) -> nn.Sequential:
    layers: list[nn.Module] = []
    for c_in in (dim, hidden):
        layers += [nn.Linear(c_in, hidden), nn.BatchNorm1d(hidden), nn.LeakyReLU(0.1)]
        if dropout is not None:
            layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(hidden, out))
    for m in layers:
        if isinstance(m, nn.Linear):
            nn.init.kaiming_normal_(m.weight, a=0.1)
            nn.init.zeros_(m.bias)
    return nn.Sequential(*layers)


class IhdaNet(nn.Module):
    """E1 (``backbone``), E2 (``sketch_backbone``), identity / attribute / domain heads."""

    def __init__(
        self,
        backbone: nn.Module,
        num_classes: int,
        num_attributes: int,
        s: IhdaSection,
    ) -> None:
        super().__init__()
        dim = backbone.out_channels
        self.backbone, self.sketch_backbone = backbone, copy.deepcopy(backbone)
        self.bn = nn.BatchNorm1d(dim)
        self.bn.bias.requires_grad_(False)
        self.drop = nn.Dropout(s.id_dropout if s.step == 2 else 0.0)
        self.classifier = nn.Linear(dim, num_classes) if num_classes > 0 else None
        self.attribute_head = _mlp(dim, s.att_hidden, num_attributes, s.att_dropout)
        self.domain_head = _mlp(dim, s.domain_hidden, 3, None)
        self.grl = GradientReversal(0.0)
        self.dim = dim

    def features(self, x: torch.Tensor, sketch: bool = False) -> torch.Tensor:
        """GAP feature (N, D) of images x (N, 3, H, W) through E2 (``sketch``) or E1."""
        net = self.sketch_backbone if sketch else self.backbone
        return F.adaptive_avg_pool2d(net(x), 1).flatten(1)

    def id_logits(self, g: torch.Tensor) -> torch.Tensor:
        """Identity logits (N, num_classes) of features g (N, D)."""
        if self.classifier is None:
            raise UserError("this IHDA network has no identity classifier (built for inference)")
        return self.classifier(self.drop(self.bn(g)))

    def domain_logits(self, g: torch.Tensor) -> torch.Tensor:
        """3-domain logits (N, 3) of C_d(GRL(g)); g's gradient is reversed and scaled."""
        return self.domain_head(self.grl(g))

    def forward(self, x: torch.Tensor, modality: torch.Tensor | None = None) -> torch.Tensor:
        """Test embedding BN(E feature), (N, D), of images x (N, 3, H, W).

        ``modality`` (N,) or scalar: 0 = photo (E1), 1 = sketch (E2), the codes of
        ``extra["modality"]``, so modality-aware evaluators (PKU-Sketch, QMUL) route each image
        to its own encoder; None embeds every image with E1.
        """
        if modality is None:
            return self.bn(self.features(x))
        mod = torch.as_tensor(modality, device=x.device).expand(len(x))
        if ((mod != 0) & (mod != 1)).any():
            raise ValueError(f"IHDA modality must be 0 (photo) or 1 (sketch), got {mod.tolist()}")
        is_sketch = mod == 1
        if is_sketch.all() or not is_sketch.any():
            return self.bn(self.features(x, sketch=bool(is_sketch.any())))
        gp = self.features(x[~is_sketch])
        gk = self.features(x[is_sketch], sketch=True)
        g = gp.new_empty(len(x), gp.shape[1])
        g[~is_sketch], g[is_sketch] = gp, gk.to(gp.dtype)
        return self.bn(g)

    def forward_sketch(self, x: torch.Tensor) -> torch.Tensor:
        """Sketch test embedding: BN(E2 feature), (N, D)."""
        return self.bn(self.features(x, sketch=True))


# -- losses (seeds.md 2.c; paper forms) -----------------------------------------------------


def attribute_bce(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """L_att^s: mean binary CE of sigmoid(logits) (N, A) against 0/1 targets (N, A)."""
    if logits.numel() == 0:
        return logits.sum() * 0.0
    return F.binary_cross_entropy_with_logits(logits.float(), targets.float())


def attribute_entropy(logits: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Entropy minimisation on unlabelled attributes: mean over images of -sum_i phi_i log phi_i,
    phi = sigmoid(logits) (N, A)."""
    phi = torch.sigmoid(logits.float())
    return -(phi * torch.log(phi + eps)).sum(1).mean()


def attribute_consistency(logits_photo: torch.Tensor, logits_sketch: torch.Tensor) -> torch.Tensor:
    """L_con: mean over pairs of ||phi(photo) - phi(sketch)||^2 (rows are same-identity pairs)."""
    d = torch.sigmoid(logits_photo.float()) - torch.sigmoid(logits_sketch.float())
    return (d * d).sum(1).mean()


def domain_loss(logits: torch.Tensor, domains: torch.Tensor) -> torch.Tensor:
    """L_d = CE(logits (N, 3), domains (N,)) on raw logits, minimised by C_d (the GRL makes the
    encoders maximise it). The released code's -CE(softmax(logits)) is the fixed bug."""
    return F.cross_entropy(logits.float(), domains)


def hetero_triplet(
    sketch: torch.Tensor, photo: torch.Tensor, pids: torch.Tensor, margin: float = 0.3
) -> torch.Tensor:
    """Sketch-anchor triplet [||a - p||^2 - ||a - n||^2 + margin]_+ with the paired photo as p
    and the closest other-identity photo of the batch as n; sketch, photo (N, D), pids (N,)."""
    d2 = torch.cdist(sketch.float(), photo.float()).pow(2)
    same = pids[:, None] == pids[None, :]
    d_ap = d2.diagonal()
    d_an = d2.masked_fill(same, float("inf")).amin(1)
    valid = torch.isfinite(d_an)
    if not valid.any():
        return sketch.sum() * 0.0
    return F.relu(d_ap[valid] - d_an[valid] + margin).mean()


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
        """Adam over every trainable parameter: both encoders at lr x backbone_lr_mult, heads
        at lr; the per-epoch warm-up + step schedule of ``optim``."""
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
        opt = torch.optim.Adam(groups, lr=o.lr, weight_decay=o.weight_decay)
        self.optimizers["model"] = opt
        self.schedulers["model"] = build_scheduler(opt, o, self.cfg.train.epochs)

    def load_target(self) -> ReidSplits:
        """The target dataset (``target.data_dir`` / ``target.dataset``), read once."""
        return self.read_target("ihda step 2 needs the target photo/sketch dataset (e.g. pku-sketch)")

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
        return attribute_bce(logits[lab.to(self.device)], self.attr_targets[index][lab].to(self.device))

    def losses_step1(self, batch: Batch) -> dict[str, torch.Tensor]:
        s, net = self.cfg.ihda, self.model
        x, pids = batch.images.to(self.device), batch.pids.to(self.device)
        with self.autocast():
            g = net.features(x)
            logits = net.id_logits(g)
            att = net.attribute_head(g) if s.lambda2 > 0 else g.new_zeros(len(g), 0)
        parts = {"loss_id": self.ce(logits, pids)}
        if s.lambda1 > 0 and self.epoch_index >= s.triplet_start_epoch:
            parts["loss_tri"] = self.triplet(g, pids)
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
            gs, gp = net.features(xs), net.features(xp)
            gk = net.features(xk, sketch=True)
            lp, lk = net.id_logits(gp), net.id_logits(gk)
            feats = torch.cat([gs, gp, gk])
            att = net.attribute_head(feats)
            dom = net.domain_logits(feats)
        ns, nt = len(gs), len(gp)
        parts = {"loss_id": self.ce(lp, pids) + self.ce(lk, pids)}
        if s.lambda1 > 0 and self.epoch_index >= s.triplet_start_epoch:
            parts["loss_tri"] = hetero_triplet(gk, gp, pids, s.triplet_margin)
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
    from reid.engine.checkpoint import load_checkpoint

    state = load_checkpoint(path)["modules"]["model"]
    keep = {k: v for k, v in state.items() if not k.startswith(("classifier.", "sketch_backbone."))}
    keep.update({"sketch_" + k: v for k, v in state.items() if k.startswith("backbone.")})
    missing = net.load_state_dict(keep, strict=False)
    if any(k.startswith(("backbone.", "attribute_head.")) for k in missing.missing_keys):
        raise UserError(f"{path} is not an IHDA step-1 checkpoint of this backbone; pass one")
