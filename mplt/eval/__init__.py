"""MOT evaluation: TrackEval's HOTA, CLEAR and Identity metrics with seam-aware matching.

``run_eval(gt, pred, width=None, iou_threshold=0.5) -> EvalReport`` is the entry point of
``mplt eval``; see :mod:`mplt.eval.sequences` for the accepted inputs and
:mod:`mplt.eval.metrics` for what is measured and how.
"""

from mplt.eval.metrics import run_eval
from mplt.eval.report import EvalReport

__all__ = ["EvalReport", "run_eval"]
