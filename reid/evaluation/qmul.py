"""QMUL-Shoes / QMUL-Chairs protocol (seeds.md 2.f): instance-level sketch -> photo retrieval.

Every test sketch queries all test photos; its paired photo is the one correct match. Features
come from each image's branch (:func:`reid.evaluation.features.embed_modality`); the score is
acc@1 / acc@10 of the cosine ranking (:func:`reid.metrics.sbir.evaluate_pairs`), photo ->
sketch under ``"photo_to_sketch"``. The primary metric is ``acc@1``.
"""

from __future__ import annotations

from core.errors import UserError
from reid.data.datasets import ReidSplits
from reid.data.qmul import QMUL_DATASETS
from reid.evaluation.base import PROTOCOLS, EvalOptions, Evaluation, Protocol
from reid.evaluation.features import embed_modality
from reid.methods.base import Method
from reid.metrics.sbir import evaluate_pairs
from reid.metrics.sketch import PHOTO, SKETCH


@PROTOCOLS.register("qmul")
class Qmul(Protocol):
    """acc@1 / acc@10 over the test pairs (query k's match is gallery k); primary ``acc@1``."""

    name = "qmul"
    primary = "acc@1"

    @classmethod
    def check_dataset(cls, dataset: str) -> None:
        if dataset not in QMUL_DATASETS:
            raise UserError(f"{dataset!r} is not a QMUL dataset; use {' or '.join(QMUL_DATASETS)}")

    def evaluate(self, method: Method, held_out: ReidSplits, options: EvalOptions) -> Evaluation:
        return Evaluation(
            evaluate_pairs(
                embed_modality(method, held_out.query, SKETCH),
                embed_modality(method, held_out.gallery, PHOTO),
            )
        )
