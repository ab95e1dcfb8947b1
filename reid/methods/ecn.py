"""ECN (Zhong et al., "Invariance Matters: Exemplar Memory for Domain Adaptive Person
Re-identification", CVPR 2019; seeds.md 3): labelled source + unlabelled target.

Network (:class:`reid.models.ecn_net.EcnNet`): backbone -> global pool (pool5 g, the test
feature) -> Linear(C -> 4096) -> BN -> e. Source head ReLU(e) -> Dropout -> Linear(4096 ->
N_src), plain cross-entropy. Target feature f = Dropout(L2norm(e)) scored against an exemplar
memory of all target training images (:mod:`reid.losses.exemplar`): exemplar + camera invariance
(CamStyle copies share their original's slot, :mod:`reid.data.crossdomain`), neighbourhood
invariance from ``ecn.knn_start_epoch`` on. L = (1 - lmd) L_src + lmd L_tgt; after each step the
batch's slots move to f with momentum ``alpha x epoch`` (0-based) and are re-normalised.

The target is given by ``target.data_dir`` / ``target.dataset``; training-time evaluation
uses the target's query/gallery through :meth:`Ecn.eval_splits`. The FMCL momentum-encoder
variant (seeds.md 3.h) is :mod:`reid.methods.fmcl`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from core.errors import UserError
from reid.config import EcnConfig
from reid.data.crossdomain import (
    CrossDomainBatch,
    build_crossdomain_loader,
    build_rect_crop_transform,
    camstyle_index,
    camstyle_notice,
    find_camstyle_dir,
)
from reid.data.datasets import ReidSplits, Sample
from reid.engine.optim import build_scheduler, param_groups
from reid.losses.exemplar import ExemplarMemory, invariance_loss
from reid.methods.base import METHODS, Method
from reid.models.backbones import build_backbone, load_pretrained
from reid.models.ecn_net import EcnNet


@METHODS.register("ecn")
class Ecn(Method):
    """ECN on the shared engine; modules: model (:class:`EcnNet`). The memory is saved in
    checkpoints (``ecn_memory``) so a resumed run continues exactly."""

    name = "ecn"
    config_class = EcnConfig

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.memory: ExemplarMemory | None = None
        self.camstyle: dict[tuple[str, int], str] | None = None

    @classmethod
    def build_model(
        cls, cfg: EcnConfig, num_classes: int, pretrained: str | None = None
    ) -> nn.Module:
        m, e = cfg.model, cfg.ecn
        backbone = build_backbone(m.backbone, m.last_stride, m.imagenet and pretrained is None)
        if pretrained is not None:
            load_pretrained(backbone, pretrained)
        return EcnNet(
            backbone,
            num_classes,
            features=e.features,
            dropout=e.dropout,
            pooling=m.pooling,
            freeze_early=e.freeze_early,
            output_feature=e.output_feature,
        )

    def build_optimizers(self) -> None:
        """SGD (Nesterov per ``ecn.nesterov``): backbone at lr x backbone_lr_mult, new layers
        at lr; the per-epoch step schedule of ``optim``."""
        o = self.cfg.optim
        if o.name != "sgd":
            raise UserError(f"ecn trains with SGD; set optim.name=sgd (got {o.name!r})")
        groups = [
            g
            for g in param_groups(self.model, o.lr, o.backbone_lr_mult, o.weight_decay)
            if g["params"]
        ]
        opt = torch.optim.SGD(
            groups, lr=o.lr, momentum=o.momentum, nesterov=self.cfg.ecn.nesterov and o.momentum > 0
        )
        self.optimizers["model"] = opt
        self.schedulers["model"] = build_scheduler(opt, o, self.cfg.train.epochs)

    def load_target(self) -> ReidSplits:
        """The target dataset (``target.data_dir`` / ``target.dataset``), read once."""
        return self.read_target("ecn needs an unlabelled target dataset (e.g. dukemtmc)")

    def eval_splits(self, splits: ReidSplits) -> ReidSplits:
        """The splits evaluated during training: the target's (``splits`` is the source's)."""
        return self.load_target()

    def _camstyle(self, train: list[Sample]) -> dict[tuple[str, int], str] | None:
        t = self.cfg.target
        if not t.camstyle:
            return None
        folder = find_camstyle_dir(t.data_dir, train)
        if folder is None:
            camstyle_notice(
                Path(t.data_dir) / "bounding_box_train_camstyle",
                "target has no CamStyle images folder",
            )
            return None
        index = camstyle_index(folder)
        if not index:
            camstyle_notice(folder, "no <stem>_fake_<src>to<dst>.jpg images in the CamStyle folder")
            return None
        return index

    def build_train_loader(self, samples: list[Sample]) -> torch.utils.data.DataLoader:
        """[source | target] batches (``samples`` = the source train split); builds the memory."""
        target = [s._replace(pid=-1) for s in self.load_target().train]
        e = self.cfg.ecn
        self.memory = ExemplarMemory(len(target), e.features, self.device)
        num_cams = len({s.camid for s in target})
        self.camstyle = self._camstyle(target)
        return build_crossdomain_loader(
            samples,
            target,
            self.cfg.data,
            self.cfg.target.batch_size,
            self.cfg.train.seed,
            self.train_transform(),
            self.camstyle,
            max(num_cams, 1),
        )

    def train_transform(self) -> Callable[[Image.Image], torch.Tensor]:
        """ECN's augmentation: the random-sized rectangle crop of ``ecn.crop_*``, h-flip,
        erasing, normalisation."""
        e = self.cfg.ecn
        return build_rect_crop_transform(
            self.cfg.data, (e.crop_area_min, 1.0), (e.crop_aspect_min, e.crop_aspect_max)
        )

    @property
    def epoch_index(self) -> int:
        """0-based index of the running epoch (= finished epochs, the scheduler's count)."""
        return int(self.schedulers["model"].last_epoch)

    def train_step(self, batch: CrossDomainBatch) -> dict[str, float]:
        """One SGD step on L = (1 - lmd) CE_src + lmd L_inv, then the memory update."""
        if self.memory is None:
            raise RuntimeError("build_train_loader() creates the exemplar memory; call it first")
        e, dev, epoch = self.cfg.ecn, self.device, self.epoch_index
        src = batch.source.images.to(dev, non_blocking=True)
        pids = batch.source.pids.to(dev, non_blocking=True)
        tgt = batch.target.images.to(dev, non_blocking=True)
        idx = batch.target.index.to(dev, non_blocking=True)
        with self.autocast():
            logits_s = self.model.forward_source(src)
            f_t = self.model.forward_target(tgt)
        loss_src = F.cross_entropy(logits_s.float(), pids)
        knn = e.knn if epoch >= e.knn_start_epoch else 0
        loss_tgt = invariance_loss(self.memory.logits(f_t, e.beta), idx, knn)
        loss = (1 - e.lmd) * loss_src + e.lmd * loss_tgt
        opt = self.optimizers["model"]
        opt.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(opt)
        self.scaler.update()
        self.memory.update(f_t, idx, e.alpha * epoch)
        with torch.no_grad():
            acc = (logits_s.argmax(1) == pids).float().mean()
        logs = {"loss": loss, "loss_src": loss_src, "loss_tgt": loss_tgt, "acc": acc}
        return {k: float(v.detach()) for k, v in logs.items()}

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        if self.memory is not None:
            state["ecn_memory"] = self.memory.features.cpu()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        if self.memory is not None and "ecn_memory" in state:
            saved = state["ecn_memory"]
            if saved.shape != self.memory.features.shape:
                raise UserError(
                    f"checkpoint memory has {saved.shape[0]} target slots but the target has "
                    f"{self.memory.features.shape[0]} images; resume with the same target dataset"
                )
            self.memory.features.copy_(saved)
