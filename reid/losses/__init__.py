"""Re-ID losses (leaf package: imports only torch)."""

from reid.losses.classification import CrossEntropyLabelSmooth
from reid.losses.triplet import TripletLoss, pairwise_euclidean

__all__ = ["CrossEntropyLabelSmooth", "TripletLoss", "pairwise_euclidean"]
