"""A checkpoint's evaluation (behind ``mplt eval-reid``): load it, read the dataset, score it
with its protocol, write the protocol's pictures and ``eval.json``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from core.files import write_atomic
from reid.data.datasets import read_dataset
from reid.engine.device import resolve_device
from reid.evaluation.base import PROTOCOLS, EvalOptions, protocol_for
from reid.methods.load import load_method


def evaluate_checkpoint(
    checkpoint: str | Path,
    data_dir: str | Path,
    dataset: str,
    *,
    protocol: str | None = None,
    options: EvalOptions | None = None,
    device: str = "auto",
    out_dir: str | Path | None = None,
) -> dict[str, Any]:
    """Score the encoder of ``checkpoint`` on ``dataset`` read from ``data_dir``.

    Args:
        protocol: a :data:`~reid.evaluation.base.PROTOCOLS` name; None = the checkpoint's
            ``eval.protocol``, else the dataset's own (what training evaluated).
        options: search mode, trials, re-ranking (None: the defaults).
        out_dir: where the protocol's pictures (ranking.png, retrieval.png) and ``eval.json``
            are written; None writes nothing.

    Returns:
        The protocol's report plus ``protocol``, ``dataset``, ``checkpoint``, ``epoch`` and the
        pictures' paths (e.g. ``ranking_png``).
    """
    if protocol is not None:
        PROTOCOLS.get(protocol).check_dataset(dataset)
    dev = resolve_device(device)
    impl, ckpt = load_method(checkpoint, dev)
    held_out = read_dataset(dataset, data_dir)
    proto = protocol_for(held_out, impl.cfg, protocol)
    evaluation = proto.evaluate(impl, held_out, options or EvalOptions())
    report = {"protocol": proto.name, **evaluation.report}
    run = {"dataset": dataset, "checkpoint": str(checkpoint), "epoch": int(ckpt["epoch"])}
    if out_dir is None:
        return {**report, **run}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    report = {**report, **proto.save_pictures(out, evaluation, held_out, impl.cfg), **run}
    write_atomic(out / "eval.json", json.dumps(report, indent=2, default=str))
    return report
