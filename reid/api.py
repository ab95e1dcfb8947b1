"""Library entry points behind ``mplt train`` / ``mplt eval-reid`` (see reid/__init__.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from core.config import config_to_dict, dump_config
from reid.config import ReidConfig
from reid.data.datasets import read_dataset
from reid.data.transforms import IMAGENET_MEAN, IMAGENET_STD
from reid.engine.checkpoint import load_checkpoint, set_rng_state
from reid.engine.device import resolve_device
from reid.engine.evaluator import evaluate_model
from reid.engine.hooks import CheckpointHook, EvalHook, LogHook
from reid.engine.trainer import Trainer, seed_everything
from core.errors import UserError
from core.files import write_atomic
from reid.methods import METHODS
from reid.methods.base import Method
from reid.methods.load import load_method
from reid.metrics.visualize import save_ranking_png


def list_methods() -> list[str]:
    """Names of the registered training methods."""
    return METHODS.names()


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
        "input": {
            "height": d.height,
            "width": d.width,
            "mean": list(IMAGENET_MEAN),
            "std": list(IMAGENET_STD),
        },
    }


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

    The run folder receives config.yaml, last.pt (every epoch), best.pt (best mAP; the last
    weights when evaluation is off), metrics.csv and curves.png. With ``resume`` training continues
    from ``out_dir/last.pt`` exactly where it stopped (same batches, same weights as an
    uninterrupted run); without it an existing run in ``out_dir`` is an error.

    Raises:
        DatasetError: the dataset folder is malformed. UserError: other user-fixable problems.
    """
    method_cls = METHODS.get(method)
    if not isinstance(cfg, method_cls.config_class):
        raise UserError(
            f"method {method!r} needs a {method_cls.config_class.__name__}, "
            f"got {type(cfg).__name__}"
        )
    if pretrained is not None and not Path(pretrained).is_file():
        raise UserError(f"pretrained weights {pretrained} do not exist; pass a local .pth file")
    run_dir = Path(out_dir)
    last = run_dir / "last.pt"
    if resume and not last.is_file():
        raise UserError(f"cannot resume: {last} does not exist; train without --resume first")
    if not resume and last.exists():
        raise UserError(
            f"{run_dir} already holds a run (last.pt); pass --resume or choose another folder"
        )
    splits = read_dataset(dataset, data_dir)
    dev = resolve_device(device)
    seed_everything(cfg.train.seed)
    impl = method_cls(cfg, splits.num_train_pids, dev, pretrained=pretrained)
    loader = impl.build_train_loader(splits.train)
    extra = _checkpoint_extra(impl, method, dataset)
    held_out = impl.eval_splits(splits)
    protocol = cfg.eval.protocol or held_out.eval_protocol

    def evaluate() -> dict[str, float]:
        result = evaluate_model(
            impl.model, held_out.query, held_out.gallery, cfg.data, cfg.eval, dev, protocol
        )
        return result.metrics

    hooks = [
        EvalHook(evaluate, cfg.train.eval_every, run_dir, extra, before=cfg.train.eval_before),
        LogHook(run_dir, verbose=progress),
        CheckpointHook(run_dir, extra),
    ]
    trainer = Trainer(
        impl,
        loader,
        epochs=cfg.train.epochs,
        seed=cfg.train.seed,
        hooks=hooks,
        max_steps_per_epoch=cfg.train.max_steps_per_epoch,
        progress=progress,
    )
    run_dir.mkdir(parents=True, exist_ok=True)
    if resume:
        ckpt = load_checkpoint(last)
        impl.load_state_dict(ckpt)
        trainer.state = ckpt["trainer"]
        set_rng_state(ckpt["rng"])
    write_atomic(run_dir / "config.yaml", dump_config(cfg))
    trainer.run()
    return run_dir



def _own_protocol(dataset: str) -> Any:
    """The evaluation of datasets with a protocol of their own (not query/gallery CMC + mAP),
    as ``fn(checkpoint, data_dir, dataset, *, out_dir, device, mode) -> dict``; else None."""
    if dataset in ("sysu-mm01", "llcm") or dataset.startswith("regdb"):
        from reid.metrics.crossmodal import evaluate_checkpoint as crossmodal

        return lambda ckpt, root, name, *, out_dir, device, mode: crossmodal(
            ckpt, root, name, mode=mode, device=device)
    if dataset.startswith("pku-sketch"):
        from reid.metrics.sketch import evaluate_checkpoint as sketch

        return lambda ckpt, root, name, *, out_dir, device, mode: sketch(
            ckpt, root, name, device=device)
    if dataset in ("sketchy", "tu-berlin"):
        from reid.methods.sbir import evaluate_checkpoint as sbir

        return lambda ckpt, root, name, *, out_dir, device, mode: sbir(
            ckpt, root, name, out_dir=out_dir, device=device)
    if dataset in ("qmul-shoes", "qmul-chairs"):
        from reid.metrics.qmul import evaluate_checkpoint as qmul

        return lambda ckpt, root, name, *, out_dir, device, mode: qmul(ckpt, root, name, device=device)
    return None


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
    """Evaluate a checkpoint's encoder on ``dataset``'s query/gallery.

    Writes ``ranking.png`` and ``eval.json`` into ``out_dir`` (default: the checkpoint's folder).
    Cross-modality datasets (SYSU-MM01, RegDB, LLCM) use their own protocols instead:
    10 random single-shot gallery trials (``mode`` all or indoor for SYSU-MM01), both
    directions for RegDB and LLCM, mean and std over trials; PKU-Sketch: sketch queries
    against photos over its 10 random 150/50 identity splits; QMUL-Shoes/Chairs: acc@1/@10
    over the test pairs. They write ``eval.json`` only.

    Returns:
        ``mAP``, ``rank1``, ``rank5``, ``rank10``, ``mINP`` (fractions in [0, 1]),
        ``num_valid_queries``, ``num_query``, ``num_gallery``, ``protocol``, ``rerank``,
        ``ranking_png`` (path string).
    """
    own_protocol = _own_protocol(dataset)
    if own_protocol is not None:
        report = own_protocol(checkpoint, data_dir, dataset, out_dir=out_dir, device=device, mode=mode)
        out = Path(out_dir) if out_dir is not None else Path(checkpoint).parent
        out.mkdir(parents=True, exist_ok=True)
        write_atomic(out / "eval.json", json.dumps(report, indent=2, default=str))
        return report
    dev = resolve_device(device)
    impl, ckpt = load_method(checkpoint, dev)
    cfg = impl.cfg
    splits = read_dataset(dataset, data_dir)
    protocol = cfg.eval.protocol or splits.eval_protocol
    result = evaluate_model(
        impl.model, splits.query, splits.gallery, cfg.data, cfg.eval, dev, protocol, rerank
    )
    out = Path(out_dir) if out_dir is not None else Path(checkpoint).parent
    out.mkdir(parents=True, exist_ok=True)
    png = save_ranking_png(
        out / "ranking.png",
        result.distmat,
        splits.query,
        splits.gallery,
        num_queries=cfg.eval.vis_queries,
        topk=cfg.eval.vis_topk,
        tile_hw=(cfg.data.height, cfg.data.width) if cfg.data.height <= 256 else (256, 128),
    )
    report = {
        **result.metrics,
        "num_query": len(splits.query),
        "num_gallery": len(splits.gallery),
        "protocol": protocol,
        "rerank": rerank,
        "ranking_png": str(png),
        "checkpoint": str(checkpoint),
        "epoch": int(ckpt["epoch"]),
    }
    write_atomic(out / "eval.json", json.dumps(report, indent=2))
    return report
