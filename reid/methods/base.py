"""The method interface: a training recipe on top of the shared engine.

A method owns its networks (``modules``; ``modules["model"]`` is always the encoder used at
test time), losses, optimizers and schedulers, and implements one ``train_step``. To add one
(ST-ReIDNet, ECN, DNS...): subclass :class:`Method`, set ``config_class`` (a subclass of
:class:`reid.config.ReidConfig` with extra sections), override ``build_model`` if the encoder
differs and ``train_step``; register it with ``@METHODS.register("<name>")``, import it in
``reid/methods/__init__.py``; add configs/reid/<name>.yaml.
"""

from __future__ import annotations

import contextlib
from typing import Any, ClassVar

import torch
from torch import nn

from core.config import updated
from core.errors import UserError
from core.registry import Registry
from reid.config import ReidConfig
from reid.data.datasets import ReidSplits, Sample, read_dataset
from reid.data.loader import Batch, build_train_loader
from reid.engine.distributed import Ranks, sync_batchnorm
from reid.engine.optim import build_optimizer, build_scheduler, param_groups
from reid.models.backbones import offline_fallback
from reid.models.reidnet import build_reidnet

#: Method name -> :class:`Method` subclass; every method module registers its class here.
METHODS: Registry[type[Method]] = Registry("re-ID method")


class Method:
    """Base recipe: one encoder, one optimizer (backbone lr multiplier), one per-epoch schedule.

    Args:
        cfg: the method's config (``config_class``).
        num_classes: training identities (classifier width).
        device: where training runs; AMP is used on CUDA when ``cfg.train.amp``.
        pretrained: optional local backbone weights (.pth).
    """

    name: ClassVar[str] = "base"
    config_class: ClassVar[type] = ReidConfig
    #: Whether :meth:`distribute` may spread training over ranks: the method's step uses only
    #: :meth:`train_forward` and losses that see the global batch (no per-batch state of its
    #: own, e.g. a memory bank or a GAN, that the ranks would have to share).
    distributed: ClassVar[bool] = False
    #: whether :func:`reid.train` trains it from a dataset folder (``mplt train``)
    from_dataset: ClassVar[bool] = True

    def __init__(
        self, cfg: ReidConfig, num_classes: int, device: torch.device, pretrained: str | None = None
    ) -> None:
        self.cfg, self.num_classes, self.device = cfg, num_classes, device
        self.modules: dict[str, nn.Module] = {
            "model": self.build_model(cfg, num_classes, pretrained).to(device)
        }
        self.optimizers: dict[str, torch.optim.Optimizer] = {}
        self.schedulers: dict[str, Any] = {}
        self.build_optimizers()
        self.use_amp = cfg.train.amp and device.type == "cuda"
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.use_amp)
        self.ranks = Ranks()
        self._ddp: nn.Module | None = None

    @classmethod
    def check_ranks(cls, world: int, name: str | None = None) -> None:
        """UserError when ``world`` > 1 ranks are asked of a method that trains in one process
        only; ``name``: the method as the user named it (default: its own name)."""
        if world > 1 and not cls.distributed:
            raise UserError(
                f"method {name or cls.name!r} trains in one process only (its training state is "
                "not shared across ranks); run it without torchrun / --nproc"
            )

    def distribute(self, ranks: Ranks) -> None:
        """Train as ``ranks.rank`` of ``ranks.world`` processes (the process group is up): batch
        norm over the global batch when ``train.sync_bn``, the encoder's training forward
        through DistributedDataParallel (gradients averaged over the ranks), this rank's slice
        of every batch from :meth:`build_train_loader`."""
        self.check_ranks(ranks.world)
        if ranks.world == 1:
            return
        from torch.nn.parallel import DistributedDataParallel

        self.ranks = ranks
        if self.cfg.train.sync_bn:
            self.modules["model"] = sync_batchnorm(self.model, self.device)
        ids = [self.device.index] if self.device.type == "cuda" else None
        self._ddp = DistributedDataParallel(_TrainForward(self.model), device_ids=ids)

    def train_forward(self, images: torch.Tensor) -> Any:
        """The encoder's ``forward_train`` on a batch, through DistributedDataParallel when
        training on several ranks (a call around it would not average the gradients)."""
        if self._ddp is not None:
            return self._ddp(images)
        return self.model.forward_train(images)

    @classmethod
    def resolve_config(cls, cfg: ReidConfig, pretrained: str | None = None) -> ReidConfig:
        """The config a new run trains with: ``model.backbone`` through
        :func:`reid.models.backbones.offline_fallback` (offline, a ResNet without ImageNet
        weights becomes the offline-pretrained MobileNetV2). Methods whose network is not
        built from ``model.backbone`` return ``cfg`` unchanged."""
        backbone = offline_fallback(cfg.model.backbone, cfg.model.imagenet and pretrained is None)
        return cfg if backbone == cfg.model.backbone else updated(cfg, {"model.backbone": backbone})

    @classmethod
    def build_model(
        cls, cfg: ReidConfig, num_classes: int, pretrained: str | None = None
    ) -> nn.Module:
        """The encoder network (``forward`` -> (N, D) embedding)."""
        return build_reidnet(cfg.model, num_classes, pretrained)

    @property
    def model(self) -> nn.Module:
        return self.modules["model"]

    def build_optimizers(self) -> None:
        """Fill ``optimizers`` / ``schedulers``; the default: one Adam/SGD for the model."""
        o = self.cfg.optim
        opt = build_optimizer(param_groups(self.model, o.lr, o.backbone_lr_mult, o.weight_decay), o)
        self.optimizers["model"] = opt
        self.schedulers["model"] = build_scheduler(opt, o, self.cfg.train.epochs)

    def build_train_loader(self, samples: list[Sample]) -> torch.utils.data.DataLoader:
        """The training loader over ``samples``; methods needing more than images (e.g. poses)
        override it. The default: :func:`reid.data.loader.build_train_loader`."""
        return build_train_loader(
            samples, self.cfg.data, self.cfg.train.seed, self.ranks.rank, self.ranks.world
        )

    def read_target(self, needed_for: str) -> ReidSplits:
        """The target dataset of a two-domain method (its config's ``target.data_dir`` and
        ``target.dataset``), read once. ``needed_for`` starts the error message when either
        is missing, e.g. "ecn needs an unlabelled target dataset"."""
        cached = getattr(self, "_target_splits", None)
        if cached is None:
            target = getattr(self.cfg, "target", None)
            if target is None or not target.data_dir or not target.dataset:
                raise UserError(
                    f"{needed_for}; pass --set target.data_dir=DIR --set target.dataset=NAME"
                )
            cached = self._target_splits = read_dataset(target.dataset, target.data_dir)
        return cached

    def eval_splits(self, splits: ReidSplits) -> ReidSplits:
        """The query/gallery evaluated during training; domain adaptation evaluates on the
        target domain instead of the (source) dataset it trains on."""
        return splits

    def autocast(self) -> contextlib.AbstractContextManager:
        """Mixed precision on CUDA when enabled, else a no-op."""
        return torch.autocast("cuda") if self.use_amp else contextlib.nullcontext()

    def set_train_mode(self, mode: bool) -> None:
        for m in self.modules.values():
            m.train(mode)

    def current_lr(self) -> float:
        """Head learning rate of the first optimizer (logged per epoch)."""
        opt = next(iter(self.optimizers.values()))
        return float(opt.param_groups[-1]["lr"])

    def step_schedulers(self) -> None:
        for sched in self.schedulers.values():
            sched.step()

    def train_step(self, batch: Batch) -> dict[str, float]:
        """One optimisation step on ``batch``; returns named scalar losses (``loss`` = total)."""
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        return {
            "modules": {k: m.state_dict() for k, m in self.modules.items()},
            "optimizers": {k: o.state_dict() for k, o in self.optimizers.items()},
            "schedulers": {k: s.state_dict() for k, s in self.schedulers.items()},
            "scaler": self.scaler.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for k, m in self.modules.items():
            m.load_state_dict(state["modules"][k])
        for k, o in self.optimizers.items():
            o.load_state_dict(state["optimizers"][k])
        for k, s in self.schedulers.items():
            s.load_state_dict(state["schedulers"][k])
        if state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])


class _TrainForward(nn.Module):
    """The encoder with ``forward_train`` as its forward, which DistributedDataParallel calls."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, images: torch.Tensor) -> Any:
        return self.model.forward_train(images)
