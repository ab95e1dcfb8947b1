"""Re-ID losses (imports only torch): label-smoothed CE and batch-hard triplet here, each
method's own terms in ``dns``, ``exemplar`` (ECN), ``fmcl``, ``ihda`` and ``reconstruction``
(ST-ReIDNet)."""

from reid.losses.classification import CrossEntropyLabelSmooth
from reid.losses.triplet import TripletLoss, pairwise_euclidean

__all__ = ["CrossEntropyLabelSmooth", "TripletLoss", "pairwise_euclidean"]
