"""Data-parallel training across processes (``torchrun``): ranks, collectives with gradients,
batch norm over the global batch.

One run of N ranks trains on a global batch of N x ``data.batch_size`` images and computes the
same losses and gradients as one process on that global batch: the batch samplers give each
rank a disjoint slice of the one-process batch (:mod:`reid.data.samplers`), the batch-hard
triplet mines over every rank's features (:func:`gather_rows`), batch norm uses the statistics
of the global batch (:func:`sync_batchnorm`) and DistributedDataParallel averages the
gradients. Only rank 0 writes files. Collectives work on CPU (gloo) and CUDA (NCCL).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from core.errors import UserError


@dataclass(frozen=True)
class Ranks:
    """Where this process sits: ``rank`` of ``world`` processes, ``local_rank`` on its machine."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        """Rank 0: the one that writes checkpoints, metrics and curves and shows progress."""
        return self.rank == 0

    @classmethod
    def from_env(cls) -> Ranks:
        """The ranks ``torchrun`` announces (RANK, WORLD_SIZE, LOCAL_RANK); one process without."""
        try:
            world = int(os.environ.get("WORLD_SIZE", "1"))
            rank = int(os.environ.get("RANK", "0"))
            local = int(os.environ.get("LOCAL_RANK", str(rank)))
        except ValueError:
            raise UserError(
                "WORLD_SIZE, RANK or LOCAL_RANK is not an integer; launch with torchrun"
            ) from None
        return cls(rank, world, local)


def world_size() -> int:
    """Processes in the initialised process group; 1 without one (cheap: hot paths ask)."""
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def current() -> Ranks:
    """The ranks of the initialised process group (one process when there is none)."""
    if world_size() > 1:
        return Ranks(dist.get_rank(), dist.get_world_size(), Ranks.from_env().local_rank)
    return Ranks()


def start(ranks: Ranks, device: torch.device) -> torch.device:
    """Join the process group of ``ranks`` (NCCL on CUDA, gloo on CPU); returns this rank's
    device (``cuda:LOCAL_RANK`` when training on CUDA)."""
    if device.type == "cuda":
        device = torch.device("cuda", ranks.local_rank)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group(
            "nccl" if device.type == "cuda" else "gloo", rank=ranks.rank, world_size=ranks.world
        )
    return device


def stop() -> None:
    """Leave the process group (no-op without one)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


class _GatherRows(torch.autograd.Function):
    """All ranks' (n, ...) tensors stacked in rank order; the gradient of this rank's rows is
    the sum of every rank's gradient of them (each rank's loss uses all rows)."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        ctx.rank, ctx.n = dist.get_rank(), x.shape[0]
        parts = [torch.empty_like(x) for _ in range(dist.get_world_size())]
        dist.all_gather(parts, x.contiguous())
        return torch.cat(parts)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.contiguous().clone()
        dist.all_reduce(grad)
        return grad[ctx.rank * ctx.n : (ctx.rank + 1) * ctx.n]


class _SumOverRanks(torch.autograd.Function):
    """The sum of every rank's tensor, on every rank; each rank's gradient is the sum of all
    ranks' gradients of the result."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        x = x.clone(memory_format=torch.contiguous_format)
        dist.all_reduce(x)
        return x

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.clone(memory_format=torch.contiguous_format)
        dist.all_reduce(grad)
        return grad


def gather_rows(x: torch.Tensor) -> torch.Tensor:
    """(n, ...) on each of W ranks -> (W n, ...) in rank order, differentiable; ``x`` itself
    with one process. Every rank must pass the same n."""
    return _GatherRows.apply(x) if world_size() > 1 else x


def mean_over_ranks(values: dict[str, float]) -> dict[str, float]:
    """Each key averaged over the ranks (every rank passes the same keys, in the same order)."""
    if world_size() == 1 or not values:
        return values
    keys = list(values)
    t = torch.tensor([values[k] for k in keys], dtype=torch.float64)
    if dist.get_backend() == "nccl":
        t = t.cuda()
    dist.all_reduce(t)
    return {k: float(v) / dist.get_world_size() for k, v in zip(keys, t.tolist(), strict=True)}


def gather_objects(obj: Any) -> list[Any]:
    """Every rank's ``obj`` (picklable) in rank order; ``[obj]`` with one process."""
    if world_size() == 1:
        return [obj]
    out: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out


class GlobalBatchNorm(nn.modules.batchnorm._BatchNorm):
    """Batch norm whose training statistics are those of the global batch over all ranks, on
    any backend (torch's ``SyncBatchNorm`` runs on CUDA only; this one is used on the CPU).

    Mean and variance come from all-reduced sums (two passes: the mean first, then the squared
    deviations), differentiable, so the gradient equals one process's on the global batch.
    Without a process group, or in eval mode, it is plain batch norm. Same parameters, buffers
    and state-dict keys as the ``BatchNorm1d/2d`` it replaces.
    """

    def _check_input_dim(self, x: torch.Tensor) -> None:
        if x.dim() < 2:
            raise ValueError(f"expected at least 2D input (got {x.dim()}D input)")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or world_size() == 1:
            return super().forward(x)
        dims = [0, *range(2, x.dim())]
        shape = [1, x.shape[1]] + [1] * (x.dim() - 2)
        count = torch.tensor([x.numel() // x.shape[1]], dtype=x.dtype, device=x.device)
        dist.all_reduce(count)
        mean = _SumOverRanks.apply(x.sum(dims)) / count
        centred = x - mean.view(shape)
        var = _SumOverRanks.apply((centred * centred).sum(dims)) / count
        y = centred * torch.rsqrt(var + self.eps).view(shape)
        if self.affine:
            y = y * self.weight.view(shape) + self.bias.view(shape)
        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked += 1
                m = self.momentum if self.momentum is not None else 1.0 / self.num_batches_tracked
                unbiased = var * count / (count - 1).clamp(min=1)
                self.running_mean.mul_(1 - m).add_(mean.detach(), alpha=m)
                self.running_var.mul_(1 - m).add_(unbiased.detach(), alpha=m)
        return y


def _to_global(module: nn.Module) -> nn.Module:
    if isinstance(module, nn.modules.batchnorm._BatchNorm) and not isinstance(
        module, GlobalBatchNorm
    ):
        out = GlobalBatchNorm(
            module.num_features,
            module.eps,
            module.momentum,
            module.affine,
            module.track_running_stats,
        )
        if module.affine:
            # the same Parameter objects: optimizers built before the conversion keep them
            out.weight, out.bias = module.weight, module.bias
        if module.track_running_stats:
            out.running_mean, out.running_var = module.running_mean, module.running_var
            out.num_batches_tracked = module.num_batches_tracked
        out.train(module.training)
        return out
    for name, child in module.named_children():
        module.add_module(name, _to_global(child))
    return module


def sync_batchnorm(model: nn.Module, device: torch.device) -> nn.Module:
    """Every batch norm of ``model`` normalised over the global batch: torch's SyncBatchNorm
    on CUDA, :class:`GlobalBatchNorm` elsewhere. Parameters are kept (not copied)."""
    if device.type == "cuda":
        return nn.SyncBatchNorm.convert_sync_batchnorm(model)
    return _to_global(model)


def launch_local(nproc: int, argv: Sequence[str]) -> None:
    """Run ``python ARGV...`` as ``nproc`` ranks on this machine through torchrun (a free port,
    one rendezvous); returns when all have finished.

    Raises:
        UserError: a rank failed (its own message is above), or this already is a rank.
    """
    if "WORLD_SIZE" in os.environ:
        raise UserError("--nproc given inside torchrun; use one of them, not both")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    rc = subprocess.call([*cmd, f"--nproc_per_node={nproc}", *argv])
    if rc:
        raise UserError(
            f"training on {nproc} ranks failed (exit code {rc}); the failing rank's message is "
            "above, fix it and rerun (with --resume to continue from the last epoch)"
        )
