"""Which appearance features hold IDs on real detections: colour, a learned colour metric, an
encoder's features, fused — the tracker replayed with each, at several appearance gates.

Run from the repository root (after ``bench/tracker_lab.py`` has recorded the suite)::

    python bench/appearance_lab.py [--only LABEL ...] [--adapted WORK] [--gates 0.15,0.2,0.25]

Per sequence of :func:`compare_trackers.real_suite` the recorded detections of
``bench/tracker_lab.py`` are tracked with the default settings except the appearance
features and the gates that compare them (``tracker.max_cosine_distance`` = ``reid_max_cosine``
= g, ``finish_merge_max_cosine`` = 1.25 g, the defaults' ratio):

* ``colour``: the default embedder's features (what the recording holds: the background's
  votes cut to a fifth by the foot finder's foreground mask);
* ``colour metric``: the colour features through a metric learned, without labels, from the
  colour run's own tracklets (mined as ``mplt adapt`` mines them, :func:`mplt.adapt.
  plan_tracklets`): KISSME (Koestinger et al. 2012) in a PCA space of the tracklets' features,
  same-tracklet differences against the differences of tracklets seen in the same frame,
  concatenated 50/50 with the colour features; ``auto`` gate: the colour gate scaled so that
  as many held-out nearest co-occurring pairs pass it as pass the colour gate;
* ``colour, whole crops``: the colour histograms with the background voting like the person
  (``embedder.foreground_floor`` 1, the default before the foreground mask);
* ``colour + ImageNet``: the colour features fused 50/50 with those of the ImageNet
  MobileNetV2 that adaptation starts from (no adaptation: what fusion alone buys);
* with ``--adapted WORK`` (a ``bench/bench_adapt.py --work`` directory): the encoder
  ``mplt adapt`` trained on each sequence (``WORK/<sequence>/<run>/adapt/adapted.pt``), alone
  and fused 50/50 with the colour features (features of every recorded box computed once and
  cached beside the recordings).

Scores (HOTA / IDF1 / ID switches, %) of the finished tracks, then the streaming ones, with
:func:`mplt.eval.run_eval`. Results: ``bench/results/appearance_lab.md``.
"""

from __future__ import annotations

import argparse
import hashlib
import pickle
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import compare_trackers as ct
import numpy as np
import tracker_lab as tl

from core.config import updated
from mplt.adapt import CROP_HW, plan_tracklets
from mplt.appearance import ColourEmbedder, extract_crops
from mplt.config import AdaptConfig
from mplt.eval import run_eval
from mplt.geometry import build_camera
from mplt.io.sources import open_source

ROOT = Path(__file__).resolve().parents[1]
Features = Callable[[int, np.ndarray], np.ndarray]


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)).astype(np.float32)


def mined(seq: ct.Sequence, data: dict) -> tuple[np.ndarray, object]:
    """The colour features of the colour run's tracklets, as ``mplt adapt`` would mine them
    (every frame of a tracklet: ``frame_step`` 1), and the plan (pseudo-identities, negatives)."""
    observed: list[tuple[int, int, int, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        tl.replay(seq, [], [], Path(tmp) / "t.txt", False, observed=observed)
    cfg = AdaptConfig(frame_step=1, max_crops_per_id=1000)
    rows: dict[int, list[list[float]]] = {}
    for tid, frame, det, score in observed:
        if score >= cfg.min_conf:  # detection index stands in the box columns
            rows.setdefault(tid, []).append([frame + 1, det, 0, 0, 0])
    tracks = {t: np.asarray(r, np.float64) for t, r in sorted(rows.items())}
    plan = plan_tracklets(tracks, cfg, len(data["detections"]))
    by_frame = {d.frame_index + 1: d.embeddings for d in data["detections"]}
    feats = np.stack(
        [by_frame[f][int(i)] for f, i in zip(plan.frames, plan.boxes[:, 0], strict=True)]
    )
    return feats, plan


def kissme(feats: np.ndarray, plan, dims: int = 40, reg: float = 1e-3) -> Callable:
    """``(N, D)`` -> ``(N, D + dims)`` unit features: colour 50/50 with its KISSME projection
    (PSD part of inv(S_same) - inv(S_other), in the top-``dims`` PCA space of ``feats``)."""
    mean = feats.mean(0)
    _, _, vt = np.linalg.svd(feats - mean, full_matrices=False)
    pca = vt[:dims].T  # (D, dims)
    z = (feats - mean) @ pca
    centres = np.stack([z[plan.pids == p].mean(0) for p in range(plan.num_ids)])
    within = z - centres[plan.pids]
    s_same = within.T @ within / len(z) + reg * np.eye(len(pca.T))
    a, b = np.nonzero(np.triu(plan.cooccur))
    diff = centres[a] - centres[b]
    s_other = diff.T @ diff / max(len(diff), 1) + s_same
    w, v = np.linalg.eigh(np.linalg.inv(s_same) - np.linalg.inv(s_other))
    proj = pca @ (v * np.sqrt(np.clip(w, 0, None)))  # (D, dims)
    return lambda f: unit(np.hstack([np.sqrt(0.5) * f, np.sqrt(0.5) * unit((f - mean) @ proj)]))


def matched_gate(feats: np.ndarray, plan, transform: Callable, gate: float = 0.2) -> float:
    """The gate for transformed features that lets through as many held-out nearest
    co-occurring (different-people) pairs as ``gate`` does for the colour features."""
    held = plan.held_out

    def nearest_other(f: np.ndarray) -> np.ndarray:
        dist = 1.0 - f[held] @ f[~held].T
        other = plan.cooccur[plan.pids[held]][:, plan.pids[~held]]
        return np.where(other, dist, np.inf).min(1)[other.any(1)]

    passed = float((nearest_other(feats) <= gate).mean())
    return float(np.quantile(nearest_other(transform(feats)), max(passed, 1e-3)))


def encoder_features(
    seq: ct.Sequence, data: dict, checkpoint: Path | None
) -> dict[int, np.ndarray]:
    """Unit features of every recorded box by the encoder of ``checkpoint`` (None: the offline
    ImageNet MobileNetV2 adaptation starts from), cached."""
    import reid

    tag = "imagenet" if checkpoint is None else hashlib.sha1(str(checkpoint).encode()).hexdigest()
    cache = tl.LAB / f"{seq.slug}-{tag[:12]}.pkl"
    stamp = checkpoint.stat().st_mtime if checkpoint else 0.0
    if cache.is_file() and cache.stat().st_mtime > stamp:
        return pickle.loads(cache.read_bytes())
    cfg = tl.sequence_config(seq)
    height = data["camera"]["height_m"]
    camera = build_camera(updated(cfg.camera, {"height_m": height}), (seq.width, seq.height))
    if checkpoint is None:
        encoder = reid.imagenet_encoder("mobilenetv2", *CROP_HW, "cpu")
    else:
        encoder = reid.load_encoder(checkpoint, device="cpu")
    boxes = {d.frame_index: d.boxes for d in data["detections"] if len(d)}
    out = {}
    with open_source(seq.video, max_frames=seq.frames) as frames:
        for index, frame in frames:
            if index in boxes:
                crops = extract_crops(frame, camera, boxes[index], CROP_HW)
                out[index] = unit(encoder.embed_crops(crops))
    cache.write_bytes(pickle.dumps(out))
    return out


def whole_crop_features(seq: ct.Sequence, data: dict) -> dict[int, np.ndarray]:
    """The colour features of every recorded box from whole crops (``embedder.
    foreground_floor`` 1: the background votes like the person), cached. The crops are cut
    with the recording's final camera: where ``mplt track`` estimated a perspective camera's
    tilt during the run (the uncalibrated PETS cell) its first frames were cut with the
    camera it started with, so that cell differs from a whole-crop recording."""
    cache = tl.LAB / f"{seq.slug}-whole-crops.pkl"
    if cache.is_file() and cache.stat().st_mtime > tl.record(seq).stat().st_mtime:
        return pickle.loads(cache.read_bytes())
    cfg = tl.sequence_config(seq)
    camera = tl.recorded_camera(seq, data, cfg)
    embedder = ColourEmbedder(
        camera, crop_height=cfg.embedder.crop_height, crop_width=cfg.embedder.crop_width
    )
    boxes = {d.frame_index: d.boxes for d in data["detections"] if len(d)}
    out = {}
    with open_source(seq.video, max_frames=seq.frames) as frames:
        for index, frame in frames:
            if index in boxes:
                out[index] = embedder.embed(frame, boxes[index])
    cache.write_bytes(pickle.dumps(out))
    return out


def scores(
    seq: ct.Sequence, features: Features | None, gate: float, extra: list[str]
) -> tuple[tuple, tuple]:
    """(finished, streaming) HOTA / IDF1 (%) / ID switches with ``features`` at ``gate``."""
    sets = [
        *extra,
        f"tracker.max_cosine_distance={gate}",
        f"tracker.reid_max_cosine={gate}",
        f"tracker.finish_merge_max_cosine={1.25 * gate}",
    ]
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        stream = Path(tmp) / "t.txt"
        final = tl.replay(seq, sets, [], stream, True, features=features)
        for path in (final, stream):
            c = run_eval(seq.gt, path, width=seq.width if seq.panorama else None).to_dict()
            c = c["combined"]
            out.append((100 * c["HOTA"], 100 * c["IDF1"], int(c["IDSW"])))
    return out[0], out[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", nargs="*", help="sequence labels")
    parser.add_argument("--adapted", type=Path, help="a bench/bench_adapt.py --work directory")
    parser.add_argument("--gates", default="0.15,0.2,0.25")
    parser.add_argument("--set", action="append", default=[], help="tracker.key=value, all runs")
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/appearance_lab.md")
    args = parser.parse_args()
    gates = [float(g) for g in args.gates.split(",")]
    started = time.perf_counter()
    tables: dict[str, dict[str, list[str]]] = {"finished": {}, "streaming": {}}
    columns: list[str] = []
    for seq in ct.real_suite():
        if args.only and seq.label not in args.only:
            continue
        data = pickle.loads(tl.record(seq).read_bytes())
        feats, plan = mined(seq, data)
        metric = kissme(feats, plan)
        auto_gate = round(matched_gate(feats, plan, metric), 3)
        variants: list[tuple[str, Features | None, list[float]]] = [
            ("colour", None, gates),
            ("colour metric", lambda i, f, m=metric: m(f), [auto_gate]),
            ("colour metric", lambda i, f, m=metric: m(f), gates),
        ]
        whole = whole_crop_features(seq, data)
        variants += [("colour, whole crops", lambda i, f, e=whole: e[i], gates)]
        imagenet = encoder_features(seq, data, None)
        variants += [
            ("colour + ImageNet", lambda i, f, e=imagenet: unit(np.hstack([f, e[i]])), gates)
        ]
        found = sorted((args.adapted / seq.slug).glob("*/adapt/adapted.pt")) if args.adapted else []
        if found:
            adapted = found[0]
            enc = encoder_features(seq, data, adapted)
            variants += [
                ("adapted encoder", lambda i, f, e=enc: e[i], gates),
                ("colour + adapted", lambda i, f, e=enc: unit(np.hstack([f, e[i]])), gates),
            ]
        cells = {"finished": [], "streaming": []}
        names = []
        for name, features, grid in variants:
            for gate in grid:
                auto = grid is not gates
                names.append(f"{name}, gate {'auto' if auto else f'{gate:g}'}")
                tag = f" ({gate:g})" if auto else ""
                for kind, (h, i, n) in zip(
                    cells, scores(seq, features, gate, args.set), strict=True
                ):
                    cells[kind].append(f"{h:.1f} / {i:.1f} / {n}{tag}")
                print(seq.label, names[-1], cells["finished"][-1], "|", cells["streaming"][-1])
        columns = names if len(names) > len(columns) else columns
        for kind in cells:
            tables[kind][seq.label] = cells[kind]
    lines = [
        "# Appearance features on real detections: colour, a learned colour metric, adapted",
        "",
        f"Written by `python bench/appearance_lab.py {' '.join(sys.argv[1:])}` "
        f"({time.perf_counter() - started:.0f} s; 2 CPU cores). Same recorded detections and "
        "default tracker settings in every cell except the features and the gates; cells "
        "HOTA / IDF1 / ID switches (%, IoU 0.5, `mplt.eval.run_eval`).",
    ]
    for kind, rows in tables.items():
        lines += ["", f"## {kind} tracks", "", "| variant | " + " | ".join(rows) + " |"]
        lines.append("|---|" + "---:|" * len(rows))
        for k, name in enumerate(columns):
            row = [cells[k] if k < len(cells) else "-" for cells in rows.values()]
            lines.append(f"| {name} | " + " | ".join(row) + " |")
    args.out.write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
