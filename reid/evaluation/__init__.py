"""Re-ID evaluation: one protocol per kind of held-out data, shared by training and eval-reid.

:data:`PROTOCOLS` (name -> :class:`~reid.evaluation.base.Protocol`; primary metric in brackets,
the one that keeps ``best.pt``):

* ``market`` (mAP) -- Market-1501, DukeMTMC-reID, MSMT17, folder: :mod:`~.market`
* ``single_gallery_shot`` (mAP) -- DanceReID: :mod:`~.market`
* ``sysu-mm01``, ``regdb``, ``llcm`` (mAP) -- visible-infrared: :mod:`~.crossmodal`
* ``pku-sketch`` (mAP) -- sketch -> photo over PKU-Sketch's splits: :mod:`~.pku_sketch`
* ``qmul`` (acc@1) -- QMUL-Shoes / Chairs pairs: :mod:`~.qmul`
* ``sbir`` (mAP@all) -- Sketchy / TU-Berlin zero-shot SBIR: :mod:`~.sbir`

Feature extraction is :mod:`~.features`, pictures :mod:`~.visualize`, a checkpoint's
evaluation :mod:`~.checkpoint`; the ranking maths is :mod:`reid.metrics`.
"""

from reid.evaluation.base import PROTOCOLS, EvalOptions, Evaluation, Protocol, protocol_for
from reid.evaluation.checkpoint import evaluate_checkpoint
from reid.evaluation.crossmodal import Llcm, RegDb, SysuMm01
from reid.evaluation.features import embed_modality, extract_features
from reid.evaluation.market import Market, SingleGalleryShot
from reid.evaluation.pku_sketch import PkuSketch
from reid.evaluation.qmul import Qmul
from reid.evaluation.sbir import ZeroShotSbir
from reid.evaluation.split_runs import evaluate_regdb_splits, evaluate_split_checkpoints

__all__ = [
    "PROTOCOLS",
    "EvalOptions",
    "Evaluation",
    "Llcm",
    "Market",
    "PkuSketch",
    "Protocol",
    "Qmul",
    "RegDb",
    "SingleGalleryShot",
    "SysuMm01",
    "ZeroShotSbir",
    "embed_modality",
    "evaluate_checkpoint",
    "evaluate_regdb_splits",
    "evaluate_split_checkpoints",
    "extract_features",
    "protocol_for",
]
