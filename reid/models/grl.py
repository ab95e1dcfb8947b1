"""Gradient reversal layer (Ganin & Lempitsky, JMLR 2016).

Shared by every domain-adversarial method (zero-shot SBIR, IHDA): the forward pass is the
identity, the backward pass multiplies the incoming gradient by ``-lambda_``, so a domain
classifier behind the layer minimises its loss while the encoder in front maximises it.
The coefficient is set from outside (see ``reid.engine.ramps``) so each method keeps its own
schedule.
"""

from __future__ import annotations

import torch
from torch import nn


class _GradReverse(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, lambda_: float) -> torch.Tensor:
        ctx.lambda_ = float(lambda_)
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return grad.neg() * ctx.lambda_, None


def grad_reverse(x: torch.Tensor, lambda_: float = 1.0) -> torch.Tensor:
    """Identity in the forward pass, gradient times ``-lambda_`` in the backward pass.

    Args:
        x: Any tensor (e.g. (B, D) features).
        lambda_: Reversal coefficient, >= 0; 0 blocks the gradient to ``x`` entirely.

    Returns:
        A tensor equal to ``x`` (same shape) wired to the reversed gradient.
    """
    if lambda_ < 0:
        raise ValueError(f"lambda_ must be >= 0, got {lambda_}")
    return _GradReverse.apply(x, lambda_)


class GradientReversal(nn.Module):
    """Module form of :func:`grad_reverse` with a settable coefficient.

    Args:
        lambda_: Initial reversal coefficient (update it per step/epoch from a ramp).
    """

    def __init__(self, lambda_: float = 1.0) -> None:
        super().__init__()
        self.lambda_ = float(lambda_)

    @property
    def lambda_(self) -> float:
        """Current reversal coefficient."""
        return self._lambda

    @lambda_.setter
    def lambda_(self, value: float) -> None:
        if value < 0:
            raise ValueError(f"GRL lambda_ must be >= 0, got {value}")
        self._lambda = float(value)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Identity forward; reversed, scaled gradient backward."""
        return grad_reverse(x, self._lambda)

    def extra_repr(self) -> str:
        return f"lambda_={self._lambda:g}"
