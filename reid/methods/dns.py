"""DNS (Jiang et al., ECCV 2024; seeds.md 5.b-5.d) on the shared engine: dual-stem ResNet-50
with HSS / CSS, trained on [visible | infrared] P x K batches with

    L = L_id + L_cir / B + w_da * L_da + L_dd

(L_id: CE on the BN feature's logits; L_cir: pair-wise Circle loss on Z_bn; L_da: multi-kernel
MMD alignment of Z and the CSS feature; L_dd: KL to the other modality's EMA classifier plus
per-modality CE, for Z_bn and the CSS feature). SGD (Nesterov) with per-group lr multipliers and
a per-iteration one-cycle schedule: linear from ``warmup_start * lr`` to ``lr`` at epoch
``decay_step``, then linear to 0 at ``train.epochs``.

Network :class:`reid.models.dns_net.DnsNet`, losses :mod:`reid.losses.dns`, schedule
:class:`reid.engine.optim.OneCycle`.

Choices: the Circle loss is divided by B once (seeds 5.c lists the division twice in words; the
code's value is mean / B); AMP via the engine's autocast/GradScaler on CUDA. Test feature: Z_bn
(``model.test_feature``). The channel-erasing of the original is approximated by a second
random erasing with the mean fill.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from reid.config import DnsConfig
from reid.data.crossmodal import build_crossmodal_loader
from reid.data.datasets import Sample
from reid.data.loader import Batch
from reid.engine.optim import OneCycle
from reid.losses.dns import (
    circle_loss,
    domain_alignment_loss,
    domain_distillation_term,
    ema_update,
)
from reid.methods.base import METHODS, Method
from reid.models.backbones import load_pretrained
from reid.models.dns_net import DnsNet


@METHODS.register("dns")
class Dns(Method):
    """DNS method; ``modules["model"]`` is the :class:`reid.models.dns_net.DnsNet`."""

    name = "dns"
    config_class = DnsConfig

    @classmethod
    def resolve_config(cls, cfg: DnsConfig, pretrained: str | None = None) -> DnsConfig:
        """Unchanged: the dual-stem network is a ResNet-50 (or ``tiny``) only."""
        return cfg

    @classmethod
    def build_model(cls, cfg: DnsConfig, num_classes: int, pretrained: str | None = None) -> DnsNet:
        m, d = cfg.model, cfg.dns
        net = DnsNet(num_classes, m.backbone, m.imagenet, d.gem_p, d.css_dropout, m.test_feature)
        if pretrained is not None:
            for stem in (net.stem_vis, net.stem_ir):
                load_pretrained(stem, pretrained)
        return net

    def build_optimizers(self) -> None:
        o, d, net = self.cfg.optim, self.cfg.dns, self.model
        head = [net.bottleneck, net.classifier, net.cls_vis, net.cls_ir]
        special = {id(p): 1.0 for mod in head for p in mod.parameters()}
        special.update({id(p): d.lr_mult_layer3 for p in net.layer3.parameters()})
        special.update({id(p): d.lr_mult_layer4 for p in net.layer4.parameters()})
        groups: dict[float, list] = {}
        for p in net.parameters():
            if p.requires_grad:
                groups.setdefault(special.get(id(p), d.lr_mult_base), []).append(p)
        param_groups = [
            {"params": ps, "lr": o.lr * mult, "weight_decay": o.weight_decay}
            for mult, ps in sorted(groups.items())
        ]
        opt = torch.optim.SGD(param_groups, lr=o.lr, momentum=o.momentum, nesterov=True)
        self.optimizers["model"] = opt
        self.schedulers["model"] = OneCycle(
            opt, d.decay_step, self.cfg.train.epochs, d.warmup_start
        )

    def build_train_loader(self, samples: list[Sample]) -> torch.utils.data.DataLoader:
        """[visible | infrared] P x K loader (see :mod:`reid.data.crossmodal`)."""
        d = self.cfg.dns
        loader = build_crossmodal_loader(
            samples,
            self.cfg.data,
            self.cfg.train.seed,
            exchange_prob=d.exchange_prob,
            ir_hue=d.ir_hue,
        )
        cap = self.cfg.train.max_steps_per_epoch
        self.schedulers["model"].steps_per_epoch = min(len(loader), cap) if cap else len(loader)
        return loader

    def losses(self, batch: Batch) -> dict[str, torch.Tensor]:
        """Named loss tensors (``loss`` = total) of a [visible | infrared] batch."""
        d, net = self.cfg.dns, self.model
        images = batch.images.to(self.device, non_blocking=True)
        pids = batch.pids.to(self.device, non_blocking=True)
        half = len(pids) // 2
        if half == 0 or len(pids) != 2 * half:
            raise ValueError(
                f"dns needs [visible | infrared] batches of even size, got {len(pids)}"
            )
        with self.autocast():
            out = net.forward_train(images[:half], images[half:])
        z, z_bn, z_hat = out.z.float(), out.z_bn.float(), out.z_hat.float()
        loss_id = F.cross_entropy(out.logits.float(), pids)
        loss_cir = circle_loss(z_bn, pids, d.circle_margin, d.circle_gamma)
        loss_da = domain_alignment_loss(z, z_hat, d.da_inter, d.da_intra)
        loss_dd = sum(
            domain_distillation_term(
                f, pids, net.cls_vis, net.cls_ir, net.ema_vis, net.ema_ir, d.dd_ce_weight
            )
            for f in (z_bn, z_hat)
        )
        total = loss_id + loss_cir / len(pids) + d.da_weight * loss_da + loss_dd
        with torch.no_grad():
            acc = (out.logits.argmax(1) == pids).float().mean()
        return {
            "loss": total,
            "loss_id": loss_id,
            "loss_circle": loss_cir,
            "loss_da": loss_da,
            "loss_dd": loss_dd,
            "acc": acc,
        }

    def train_step(self, batch: Batch) -> dict[str, float]:
        logs = self.losses(batch)
        opt, net = self.optimizers["model"], self.model
        self.schedulers["model"].step_iter()
        opt.zero_grad(set_to_none=True)
        self.scaler.scale(logs["loss"]).backward()
        self.scaler.step(opt)
        self.scaler.update()
        ema_update(net.ema_vis, net.cls_vis, self.cfg.dns.ema_tau)
        ema_update(net.ema_ir, net.cls_ir, self.cfg.dns.ema_tau)
        return {k: float(v.detach()) for k, v in logs.items()}
