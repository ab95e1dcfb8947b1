"""Coefficient schedules for gradient reversal (and other warm-ups).

Pure functions of the training progress, so a method evaluates them each step/epoch and writes
the result into ``GradientReversal.lambda_``.
"""

from __future__ import annotations

import math


def dann_sigmoid_ramp(
    progress: float, gamma: float = 10.0, low: float = 0.0, high: float = 1.0
) -> float:
    """DANN schedule ``(high - low) * (2 / (1 + exp(-gamma * p)) - 1) + low``.

    IHDA (seeds §2.b) uses it with ``p = iteration / 10000``, ``high = 1``, ``low = 0``.

    Args:
        progress: Training progress p, >= 0 (typically in [0, 1]; larger values saturate).
        gamma: Steepness (10 in DANN and IHDA).
        low: Value at p = 0.
        high: Asymptotic value as p -> infinity.

    Returns:
        The coefficient; ``low`` at p = 0, about ``0.9993 * (high - low) + low`` at p = 1.
    """
    if progress < 0:
        raise ValueError(f"progress must be >= 0, got {progress}")
    return (high - low) * (2.0 / (1.0 + math.exp(-gamma * progress)) - 1.0) + low


def linear_ramp(
    epoch: float, start_epoch: float, end_epoch: float, max_value: float = 1.0
) -> float:
    """Zero-shot SBIR's intended GRL ramp (seeds §4.c, ``--grl_threshold_epoch``).

    ``0`` for ``epoch < start_epoch``; ``max_value * epoch / end_epoch`` for
    ``start_epoch <= epoch < end_epoch``; ``max_value`` from ``end_epoch`` on. Note the ramp is
    proportional to ``epoch / end_epoch`` (as the reference intends: lambda = epoch / T), so it
    jumps from 0 to ``start_epoch / end_epoch`` at ``start_epoch``; pass ``start_epoch=0`` for a
    ramp that starts at 0. The reference code's ``lambda *= epoch / T`` (stays 0 until T, then
    jumps to 1) is a bug and is not reproduced.

    Args:
        epoch: Current epoch, 0-based.
        start_epoch: First epoch with a non-zero coefficient (5 in the reference).
        end_epoch: First epoch at ``max_value`` (``--grl-threshold-epoch``, 25 in the reference).
        max_value: Plateau value.

    Returns:
        The coefficient for this epoch.
    """
    if end_epoch <= 0 or start_epoch < 0 or start_epoch > end_epoch:
        raise ValueError(
            f"need 0 <= start_epoch <= end_epoch and end_epoch > 0, got "
            f"start_epoch={start_epoch}, end_epoch={end_epoch}"
        )
    if epoch < start_epoch:
        return 0.0
    if epoch >= end_epoch:
        return float(max_value)
    return float(max_value) * float(epoch) / float(end_epoch)
