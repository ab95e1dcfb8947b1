"""Zero-shot SBIR with a triplet loss and a domain loss through a GRL (seeds.md §4).

Two non-shared encoders, sketch (theta) and photo (phi): DenseNet-121 ``features`` + global max
pool -> 1024-d (the reference's MaxPool2d(7) at 224x224), or the ``tiny`` CNN for tests. A domain
classifier D ([Linear-BN-ReLU] x 4 -> Linear -> 1 logit) sits behind one gradient reversal layer.

Per batch of (sketch, positive photo, negative photo) triplets::

    L = r_t * TripletMargin(theta(s), phi(p), phi(n); margin 1, p = 2)
      + r_d * [BCE(D(GRL(phi(p))), 1) + BCE(D(GRL(phi(n))), 1) + BCE(D(GRL(theta(s))), 0)]

with one Adam over theta, phi and D. Negatives: the negative class c' of a sketch of class c is
drawn with probability proportional to 1 / ||w_c - w_c'|| (class word vectors, seeds §4.d); without
vectors the draw is uniform over the other classes (a one-line notice says so).

GRL coefficient per 0-based epoch: :func:`reid.engine.ramps.linear_ramp` with
(``grl_start_epoch``, ``grl_threshold_epoch``) = (5, 25): 0 before epoch 5, epoch / 25 up to 25,
then 1 — the reference's intent; its ``lambda *= epoch / T`` (0 until T, then 1) is a bug.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
import torchvision.transforms as T
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader, Dataset

from reid.config import SbirConfig
from reid.data.datasets import Sample
from reid.data.sbir import PHOTO, SKETCH, load_class_vectors
from reid.engine.ramps import linear_ramp
from reid.methods.base import METHODS, Method
from reid.models.backbones import TinyCNN
from reid.models.grl import GradientReversal


class Encoder(nn.Module):
    """Backbone feature map -> global max pool -> (N, dim) embedding (no head, no norm)."""

    def __init__(self, backbone: str, imagenet: bool) -> None:
        super().__init__()
        if backbone == "densenet121":
            weights = None
            if imagenet:
                try:
                    weights = torchvision.models.DenseNet121_Weights.IMAGENET1K_V1
                    net = torchvision.models.densenet121(weights=weights)
                except (OSError, RuntimeError):  # offline: no download possible
                    warnings.warn(
                        "DenseNet-121 ImageNet weights unavailable; random init", stacklevel=2
                    )
                    net = torchvision.models.densenet121(weights=None)
            else:
                net = torchvision.models.densenet121(weights=None)
            self.body, self.dim = net.features, 1024
        elif backbone == "tiny":
            self.body = TinyCNN(2)
            self.dim = self.body.out_channels
        else:
            raise ValueError(f"sbir backbone must be 'densenet121' or 'tiny', got {backbone!r}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (N,3,H,W) -> (N, dim)."""
        return torch.amax(self.body(x), dim=(2, 3))


class DomainClassifier(nn.Module):
    """[Linear(d, d)-BN-ReLU] x 4 -> Linear(d, 1): logit of "photo" (sketch = 0)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for _ in range(4):
            layers += [nn.Linear(dim, dim), nn.BatchNorm1d(dim), nn.ReLU(inplace=True)]
        self.net = nn.Sequential(*layers, nn.Linear(dim, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(1)


class SbirNet(nn.Module):
    """Both encoders; ``forward`` embeds photos, :meth:`embed_sketch` sketches."""

    def __init__(self, backbone: str, imagenet: bool) -> None:
        super().__init__()
        self.sketch = Encoder(backbone, imagenet)
        self.photo = Encoder(backbone, imagenet)
        self.dim = self.photo.dim

    def embed_sketch(self, x: torch.Tensor) -> torch.Tensor:
        return self.sketch(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.photo(x)


class TripletBatch(NamedTuple):
    """(B,3,H,W) sketches, positive photos, negative photos; (B,) anchor classes."""

    sketch: torch.Tensor
    positive: torch.Tensor
    negative: torch.Tensor
    labels: torch.Tensor


def negative_class_probs(num_classes: int, vectors: np.ndarray | None) -> np.ndarray:
    """(C, C) row-stochastic matrix: P(negative class c' | anchor class c), zero diagonal;
    proportional to 1 / ||w_c - w_c'|| with vectors (C, d), uniform without."""
    if num_classes < 2:
        raise ValueError("zero-shot SBIR training needs at least 2 seen classes")
    if vectors is None:
        w = np.ones((num_classes, num_classes))
    else:
        d = np.linalg.norm(vectors[:, None, :] - vectors[None, :, :], axis=2)
        w = 1.0 / np.maximum(d, 1e-12)
    np.fill_diagonal(w, 0.0)
    return w / w.sum(1, keepdims=True)


class TripletBatchSampler:
    """Batches of (sketch, positive photo, negative photo) index triples, one per training sketch
    (``drop_last``, shuffled); the draw depends only on (seed, epoch)."""

    def __init__(
        self, samples: list[Sample], batch_size: int, probs: np.ndarray, seed: int = 0
    ) -> None:
        labels = np.array([s.pid for s in samples])
        domains = np.array([s.camid for s in samples])
        self.sketches = np.flatnonzero(domains == SKETCH)
        self.photos_of = {
            c: np.flatnonzero((domains == PHOTO) & (labels == c)) for c in np.unique(labels)
        }
        self.labels, self.probs = labels, probs
        self.batch_size, self.seed, self.epoch = batch_size, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.sketches) // self.batch_size

    def __iter__(self) -> Iterator[list[tuple[int, int, int]]]:
        rng = np.random.default_rng([self.seed, self.epoch])
        order = rng.permutation(self.sketches)
        cum = np.cumsum(self.probs, axis=1)
        for b in range(len(self)):
            batch = []
            for s in order[b * self.batch_size : (b + 1) * self.batch_size]:
                c = self.labels[s]
                neg_c = int(
                    min(np.searchsorted(cum[c], rng.random() * cum[c, -1], "right"), len(cum) - 1)
                )
                batch.append(
                    (
                        int(s),
                        int(rng.choice(self.photos_of[c])),
                        int(rng.choice(self.photos_of[neg_c])),
                    )
                )
            yield batch


class TripletImages(Dataset):
    """Loads the three images of an index triple; 224x224 resize + ToTensor (no normalisation,
    as the reference)."""

    def __init__(self, samples: list[Sample], height: int, width: int) -> None:
        self.samples = samples
        self.tf = T.Compose([T.Resize((height, width)), T.ToTensor()])

    def load(self, i: int) -> torch.Tensor:
        return self.tf(Image.open(self.samples[i].path).convert("RGB"))

    def __getitem__(self, triple: tuple[int, int, int]):
        s, p, n = triple
        return self.load(s), self.load(p), self.load(n), self.samples[s].pid


def _collate(items) -> TripletBatch:
    s, p, n, y = zip(*items)
    return TripletBatch(torch.stack(s), torch.stack(p), torch.stack(n), torch.tensor(y))


@METHODS.register("sbir")
class Sbir(Method):
    """Zero-shot SBIR; modules: model (:class:`SbirNet`), domain (:class:`DomainClassifier`)."""

    name = "sbir"
    config_class = SbirConfig

    def __init__(self, *args, **kwargs) -> None:
        self.epoch = 0
        super().__init__(*args, **kwargs)

    @classmethod
    def build_model(
        cls, cfg: SbirConfig, num_classes: int, pretrained: str | None = None
    ) -> nn.Module:
        return SbirNet(cfg.model.backbone, cfg.model.imagenet)

    def build_optimizers(self) -> None:
        self.grl = GradientReversal(0.0)
        self.modules["domain"] = DomainClassifier(self.model.dim).to(self.device)
        params = [p for m in self.modules.values() for p in m.parameters()]
        o = self.cfg.optim
        self.optimizers["model"] = torch.optim.Adam(params, lr=o.lr, weight_decay=o.weight_decay)
        self.schedulers["model"] = torch.optim.lr_scheduler.LambdaLR(
            self.optimizers["model"], lambda e: 1.0
        )
        self.update_grl()

    def update_grl(self) -> float:
        """Set the GRL coefficient for the current 0-based epoch; returns it."""
        so = self.cfg.sbir
        self.grl.lambda_ = linear_ramp(
            self.epoch, so.grl_start_epoch, so.grl_threshold_epoch, so.grl_max
        )
        return self.grl.lambda_

    def step_schedulers(self) -> None:
        super().step_schedulers()
        self.epoch += 1
        self.update_grl()

    def class_vectors(self, samples: list[Sample]) -> np.ndarray | None:
        """Seen-class word vectors from ``sbir.class_embeddings`` or the dataset's
        train_embeddings.npy; None (uniform negatives, with a notice) when neither exists."""
        so = self.cfg.sbir
        if so.class_embeddings:
            return load_class_vectors(Path(so.class_embeddings), self.num_classes)
        root = Path(samples[0].path).parents[2] if samples else Path(".")
        if (root / "train_embeddings.npy").is_file():
            return load_class_vectors(root / "train_embeddings.npy", self.num_classes)
        warnings.warn(
            "sbir: no class word vectors (sbir.class_embeddings or "
            "train_embeddings.npy); negative classes are drawn uniformly",
            stacklevel=2,
        )
        return None

    def build_train_loader(self, samples: list[Sample]) -> DataLoader:
        probs = negative_class_probs(self.num_classes, self.class_vectors(samples))
        d = self.cfg.data
        sampler = TripletBatchSampler(samples, d.batch_size, probs, self.cfg.train.seed)
        return DataLoader(
            TripletImages(samples, d.height, d.width),
            batch_sampler=sampler,
            num_workers=d.workers,
            collate_fn=_collate,
        )

    def losses(self, batch: TripletBatch) -> dict[str, torch.Tensor]:
        """Named loss tensors (``loss`` = r_t * triplet + r_d * domain) for ``batch``."""
        so, dev = self.cfg.sbir, self.device
        s = self.model.embed_sketch(batch.sketch.to(dev))
        p = self.model(batch.positive.to(dev))
        n = self.model(batch.negative.to(dev))
        triplet = F.triplet_margin_loss(s, p, n, margin=so.triplet_margin, p=2)
        logits = self.modules["domain"](self.grl(torch.cat([p, n, s])))
        b = s.shape[0]
        target = torch.cat([torch.ones(2 * b, device=dev), torch.zeros(b, device=dev)])
        # the reference sums three batch-mean BCE terms
        domain = 3.0 * F.binary_cross_entropy_with_logits(logits, target)
        total = so.triplet_loss_ratio * triplet + so.domain_loss_ratio * domain
        return {
            "loss": total,
            "loss_triplet": triplet,
            "loss_domain": domain,
            "grl_lambda": torch.tensor(self.grl.lambda_),
        }

    def train_step(self, batch: TripletBatch) -> dict[str, float]:
        logs = self.losses(batch)
        opt = self.optimizers["model"]
        opt.zero_grad(set_to_none=True)
        logs["loss"].backward()
        opt.step()
        return {k: float(v.detach()) for k, v in logs.items()}

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "epoch": self.epoch}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.epoch = int(state.get("epoch", 0))
        self.update_grl()


@torch.no_grad()
def embed(
    encoder: nn.Module, samples: list[Sample], cfg: SbirConfig, device: torch.device
) -> np.ndarray:
    """(N, D) float32 embeddings of ``samples`` by ``encoder`` (eval mode)."""
    tf = T.Compose([T.Resize((cfg.data.height, cfg.data.width)), T.ToTensor()])
    encoder.eval()
    out = []
    bs = cfg.data.test_batch_size
    for i in range(0, len(samples), bs):
        x = torch.stack([tf(Image.open(s.path).convert("RGB")) for s in samples[i : i + bs]])
        out.append(encoder(x.to(device)).float().cpu().numpy())
    dim = getattr(encoder, "dim", 0)
    return np.concatenate(out) if out else np.zeros((0, dim), np.float32)


def evaluate_sbir(
    net: SbirNet, query: list[Sample], gallery: list[Sample], cfg: SbirConfig, device: torch.device
) -> tuple[dict[str, float], np.ndarray]:
    """Zero-shot SBIR evaluation: sketch queries vs photo gallery, Euclidean distance.

    Returns:
        (``{"mAP@all", "P@100"}``, (Q, G) distance matrix).
    """
    from reid.metrics.sbir import sbir_metrics

    q = embed(net.sketch, query, cfg, device)
    g = embed(net.photo, gallery, cfg, device)
    dist = np.sqrt(np.maximum(((q[:, None, :] - g[None, :, :]) ** 2).sum(-1), 0.0))
    metrics = sbir_metrics(
        dist, np.array([s.pid for s in query]), np.array([s.pid for s in gallery]), 100
    )
    return metrics, dist


def evaluate_checkpoint(
    checkpoint: str | Path,
    data_dir: str | Path,
    dataset: str,
    *,
    out_dir: str | Path | None = None,
    device: str = "auto",
) -> dict[str, Any]:
    """Load an ``sbir`` checkpoint, evaluate on ``dataset``'s unseen classes and write
    ``retrieval.png`` (top-5 photos of 4 sketches) into ``out_dir`` (default: beside it)."""
    from reid.engine.device import resolve_device
    from reid.methods.load import load_method
    from reid.data.datasets import read_dataset
    from reid.metrics.sbir import save_retrieval_png

    dev = resolve_device(device)
    impl, ckpt = load_method(checkpoint, dev)
    splits = read_dataset(dataset, data_dir)
    metrics, dist = evaluate_sbir(impl.model, splits.query, splits.gallery, impl.cfg, dev)
    out = Path(out_dir) if out_dir is not None else Path(checkpoint).parent
    png = save_retrieval_png(
        out / "retrieval.png",
        dist,
        [s.path for s in splits.query],
        np.array([s.pid for s in splits.query]),
        [s.path for s in splits.gallery],
        np.array([s.pid for s in splits.gallery]),
    )
    return {
        **metrics,
        "dataset": dataset,
        "num_query": len(splits.query),
        "num_gallery": len(splits.gallery),
        "retrieval_png": str(png),
        "checkpoint": str(checkpoint),
        "epoch": int(ckpt["epoch"]),
    }
