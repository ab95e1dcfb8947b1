"""Feature extraction: (N, D) embeddings of samples, each image through its modality's branch."""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Sequence

import numpy as np
import torch
from PIL import Image
from torch import nn

from reid.config import DataConfig
from reid.data.datasets import Sample
from reid.data.loader import build_test_loader
from reid.data.sbir import sbir_transform
from reid.engine.distributed import current, gather_objects
from reid.methods.base import Method
from reid.metrics.sketch import SKETCH
from reid.models.sbir_net import SbirNet


def _modalities(model: nn.Module, samples: Sequence[Sample]) -> torch.Tensor | None:
    """(N,) modality of every sample (0 photo/visible, 1 sketch/infrared) when the model has a
    branch per modality (``forward(x, modality)``: DNS, IHDA) and the dataset says which."""
    if "modality" not in inspect.signature(model.forward).parameters:
        return None
    if not samples or not all(s.extra and "modality" in s.extra for s in samples):
        return None
    return torch.tensor([int(s.extra["modality"]) for s in samples])


@torch.no_grad()
def extract_features(
    model: nn.Module,
    samples: Sequence[Sample],
    data_cfg: DataConfig,
    device: torch.device,
    normalize: bool = True,
) -> np.ndarray:
    """(N, D) float32 embeddings of ``samples`` in order (model in eval mode during the pass).

    Models with a branch per modality see each image through its own branch (sketches through
    the sketch encoder, infrared images through the infrared stem). During data-parallel
    training every rank embeds every W-th sample and all ranks get the whole result.
    """
    ranks = current()
    if ranks.world == 1:
        return _embed(model, samples, data_cfg, device, normalize)
    parts = gather_objects(
        _embed(model, samples[ranks.rank :: ranks.world], data_cfg, device, normalize)
    )
    out = np.zeros((len(samples), max(p.shape[1] for p in parts)), np.float32)
    for r, part in enumerate(parts):
        if len(part):
            out[r :: ranks.world] = part
    return out


def _embed(
    model: nn.Module,
    samples: Sequence[Sample],
    data_cfg: DataConfig,
    device: torch.device,
    normalize: bool,
) -> np.ndarray:
    """:func:`extract_features` in this process alone."""
    was_training = model.training
    model.eval()
    amp = torch.autocast("cuda") if device.type == "cuda" else contextlib.nullcontext()
    modality = _modalities(model, samples)
    chunks, start = [], 0
    try:
        for batch in build_test_loader(samples, data_cfg):
            images = batch.images.to(device, non_blocking=True)
            n = len(images)
            with amp:
                if modality is None:
                    feats = model(images).float()
                else:
                    feats = model(images, modality[start : start + n].to(device)).float()
            start += n
            if normalize:
                feats = nn.functional.normalize(feats, dim=1)
            chunks.append(feats.cpu().numpy())
    finally:
        model.train(was_training)
    return np.concatenate(chunks) if chunks else np.zeros((0, 0), np.float32)


@torch.no_grad()
def embed_sbir(
    encoder: nn.Module, samples: Sequence[Sample], data_cfg: DataConfig, device: torch.device
) -> np.ndarray:
    """(N, D) float32 embeddings by one zero-shot SBIR ``encoder`` (eval mode), fed the
    un-normalised inputs it was trained on (:func:`reid.data.sbir.sbir_transform`)."""
    tf = sbir_transform(data_cfg.height, data_cfg.width)
    encoder.eval()
    out = []
    bs = data_cfg.test_batch_size
    for i in range(0, len(samples), bs):
        x = torch.stack([tf(Image.open(s.path).convert("RGB")) for s in samples[i : i + bs]])
        out.append(encoder(x.to(device)).float().cpu().numpy())
    dim = getattr(encoder, "dim", 0)
    return np.concatenate(out) if out else np.zeros((0, dim), np.float32)


class _Routed(nn.Module):
    """``model(x, modality)`` with a fixed modality, as a plain encoder ``f(x)``."""

    def __init__(self, model: nn.Module, modality: int) -> None:
        super().__init__()
        self.model, self.modality = model, modality

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x, torch.full((len(x),), self.modality, device=x.device))


def embed_modality(method: Method, samples: Sequence[Sample], modality: int) -> np.ndarray:
    """(N, D) features of images of one ``modality`` (0 photo, 1 sketch) through the branch of
    ``method.model`` for it: a zero-shot SBIR net's sketch or photo encoder, a
    ``forward(x, modality)`` model's branch; models without branches embed every image alike
    (L2-normalised)."""
    model, data_cfg, device = method.model, method.cfg.data, method.device
    if isinstance(model, SbirNet):  # its own (un-normalised) preprocessing, as in training
        encoder = model.sketch if modality == SKETCH else model.photo
        return embed_sbir(encoder, list(samples), data_cfg, device)
    if "modality" in inspect.signature(model.forward).parameters:
        model = _Routed(model, modality)
    return extract_features(model, samples, data_cfg, device)
