"""The evaluation protocols' interface and registry.

A protocol scores a method's encoder on held-out data of one kind (Market-style query/gallery,
a cross-modality benchmark, paired sketches...). Every dataset reader names its protocol in
:attr:`reid.data.datasets.ReidSplits.eval_protocol`; ``cfg.eval.protocol`` may name another.
The training-time evaluation (which keeps ``best.pt`` by the protocol's :attr:`Protocol.primary`
metric) and ``mplt eval-reid`` (:func:`reid.evaluation.checkpoint.evaluate_checkpoint`) call the
same :meth:`Protocol.evaluate`, so best.pt is chosen by the number eval-reid reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from core.registry import Registry
from reid.config import ReidConfig
from reid.data.datasets import ReidSplits
from reid.methods.base import Method


@dataclass(frozen=True)
class EvalOptions:
    """Choices of one evaluation run that are not part of the trained method's config."""

    rerank: bool | None = None  #: k-reciprocal re-ranking (Market-style); None = cfg.eval.rerank
    mode: str = "all"  #: SYSU-MM01 search mode: "all" | "indoor"
    trials: int = 10  #: random single-shot gallery draws (SYSU-MM01, LLCM)


@dataclass(frozen=True)
class Evaluation:
    """What a protocol found.

    Attributes:
        report: JSON-able metrics (fractions in [0, 1]) and their detail (per-trial results,
            the reverse direction, counts), as ``eval.json`` stores them.
        distmat: (Q, G) query-gallery distances, smaller = closer, when one matrix ranks the
            whole held-out set (for the pictures); else None.
    """

    report: dict[str, Any]
    distmat: np.ndarray | None = None

    @property
    def metrics(self) -> dict[str, float]:
        """The report's top-level float entries: what training logs per epoch."""
        return {k: v for k, v in self.report.items() if isinstance(v, float)}


class Protocol:
    """Scores an encoder on held-out data of one kind.

    To add one: subclass, set ``name`` and ``primary`` (the report key that picks best.pt;
    higher is better), implement :meth:`evaluate` (and :meth:`save_pictures` /
    :meth:`check_dataset` where they apply), register it with ``@PROTOCOLS.register(name)`` and
    import its module in ``reid/evaluation/__init__.py``.
    """

    name: ClassVar[str]
    primary: ClassVar[str]

    @classmethod
    def check_dataset(cls, dataset: str) -> None:
        """Raise :class:`~core.errors.UserError` when the dataset reader ``dataset`` cannot be
        scored this way; called before the dataset is read. The default accepts any."""

    def evaluate(self, method: Method, held_out: ReidSplits, options: EvalOptions) -> Evaluation:
        """Score ``method``'s test-time encoder (``method.model``, on ``method.device``) on
        ``held_out``'s query/gallery."""
        raise NotImplementedError

    def save_pictures(
        self, out_dir: Path, evaluation: Evaluation, held_out: ReidSplits, cfg: ReidConfig
    ) -> dict[str, str]:
        """Write this protocol's pictures into ``out_dir``; returns report key -> file path.
        The default draws none."""
        return {}


#: Protocol name -> :class:`Protocol` subclass; importing :mod:`reid.evaluation` registers all.
PROTOCOLS: Registry[type[Protocol]] = Registry("evaluation protocol")


def protocol_for(held_out: ReidSplits, cfg: ReidConfig, name: str | None = None) -> Protocol:
    """The protocol scoring ``held_out``: ``name``, else ``cfg.eval.protocol``, else the
    dataset's own."""
    protocol = PROTOCOLS.get(name or cfg.eval.protocol or held_out.eval_protocol)
    protocol.check_dataset(held_out.name)
    return protocol()
