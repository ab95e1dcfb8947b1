"""``mplt adapt``: the re-ID encoder learns the scene from a run's own tracklets, without labels.

A finished run (``tracks.jsonl``) is mined for pseudo-identities (:func:`plan_tracklets`): each
track's confirmed, detected, confident rows, cut at gaps (where the tracker may have switched
people) and at a maximum length; short pieces are dropped. Two pieces seen in the same frame are
different people: the only negatives a tracker can vouch for. The video is re-opened and each
chosen row cut out as the tracker's embedder sees it (:func:`mplt.appearance.extract_crops`:
rectified, seam-aware). Time segments of the video stand in for ECN's cameras. The encoder is
fine-tuned with the ``tracklet`` method of the re-ID zoo on the shared engine
(:func:`reid.train_tracklets`); its ``best.pt`` is the initial encoder unless an epoch agrees
better with the pseudo-identities on held-out frames. Outputs, in ``RUN_DIR/adapt/``:
``adapted.pt`` (for ``mplt track --reid``), ``metrics.csv``, ``adapt.png``, ``adapt.json``,
``adapt.yaml`` (the resolved ``adapt`` section) and the engine's ``config.yaml`` / ``last.pt``
/ ``curves.png``.

:func:`track_and_adapt` (``mplt track --adapt``) iterates track -> adapt -> track while a
label-free measure improves (``adapt.stop_metric``).
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from core.config import config_to_dict, dump_config, updated
from core.errors import UserError
from core.files import atomic_path, write_atomic
from core.types import TrackState
from mplt.appearance import ColourEmbedder, extract_crops, fuse_features
from mplt.config import AdaptConfig, TrackConfig
from mplt.io.jsonl import read_jsonl, tracks_from_record
from mplt.io.rundir import claim_run_dir
from mplt.io.sources import open_source
from mplt.render.run import check_video, load_run, resolve_source, run_camera

#: the encoder's input and the crops cut for it (height, width), px: the tracker's crop size
CROP_HW = (128, 64)


@dataclass(frozen=True)
class TrackletPlan:
    """Pseudo-identities mined from a run, and the crops to cut for them.

    Attributes:
        track_ids: ``(P,)`` the run's track ID each pseudo-identity comes from.
        spans: ``(P, 2)`` first and last observed frame of each, 1-based.
        cooccur: ``(P, P)`` bool, True where two pseudo-identities were seen in the same frame
            (different people); False on the diagonal.
        frames: ``(N,)`` 1-based frame of each crop to cut, ascending.
        boxes: ``(N, 4)`` xyxy pixels of each crop (seam-unwrapped on a panorama).
        pids: ``(N,)`` pseudo-identity of each crop, 0-based.
        camids: ``(N,)`` time segment of each crop (ECN's camera).
        held_out: ``(N,)`` bool, crops kept out of training to measure the agreement.
        tracks: confirmed tracks with detected rows in the run.
        dropped_short: pieces dropped for having fewer than ``min_frames`` frames.
    """

    track_ids: np.ndarray
    spans: np.ndarray
    cooccur: np.ndarray
    frames: np.ndarray
    boxes: np.ndarray
    pids: np.ndarray
    camids: np.ndarray
    held_out: np.ndarray
    tracks: int
    dropped_short: int

    @property
    def num_ids(self) -> int:
        return len(self.track_ids)

    @property
    def tracklets(self) -> int:
        """Tracks that gave at least one pseudo-identity."""
        return len(set(self.track_ids.tolist()))


def observations(run_dir: str | Path, min_conf: float) -> dict[int, np.ndarray]:
    """Each track's confirmed rows matched to a detection of confidence ``min_conf`` or more
    (coasting predictions are no evidence of what the person looks like).

    Returns:
        track ID -> ``(M, 5)`` rows ``frame (1-based), x1, y1, x2, y2`` (pixels), by frame.
    """
    rows: dict[int, list[list[float]]] = {}
    for record in read_jsonl(Path(run_dir) / "tracks.jsonl"):
        tracks = tracks_from_record(record)
        keep = (
            (tracks.states == TrackState.CONFIRMED)
            & (tracks.detection_indices >= 0)
            & (tracks.scores >= min_conf)
        )
        for tid, box in zip(tracks.ids[keep], tracks.boxes[keep], strict=True):
            rows.setdefault(int(tid), []).append([tracks.frame_index + 1, *box])
    return {
        tid: np.asarray(sorted(r, key=lambda row: row[0]), np.float64)
        for tid, r in sorted(rows.items())
    }


def _pieces(rows: np.ndarray, cfg: AdaptConfig) -> list[np.ndarray]:
    """``rows`` (M, 5) of one track cut at gaps longer than ``max_gap_frames`` and every
    ``max_tracklet_frames`` frames."""
    frames = rows[:, 0].astype(np.int64)
    cuts = np.flatnonzero(np.diff(frames) > cfg.max_gap_frames + 1) + 1
    out = []
    for piece in np.split(rows, cuts):
        if cfg.max_tracklet_frames > 0:
            start = piece[:, 0].astype(np.int64) - int(piece[0, 0])
            part = start // cfg.max_tracklet_frames
            out += [piece[part == k] for k in np.unique(part)]
        else:
            out.append(piece)
    return out


def plan_tracklets(
    tracks: dict[int, np.ndarray], cfg: AdaptConfig, last_frame: int
) -> TrackletPlan:
    """Pseudo-identities and their crops from :func:`observations`.

    Args:
        tracks: track ID -> ``(M, 5)`` rows ``frame, x1, y1, x2, y2``.
        cfg: the ``adapt`` section (mining settings).
        last_frame: the run's last frame, 1-based (for the time segments).
    """
    pieces: list[tuple[int, np.ndarray]] = []
    dropped = 0
    for tid, rows in tracks.items():
        for piece in _pieces(rows, cfg):
            if len(piece) >= cfg.min_frames:
                pieces.append((tid, piece))
            else:
                dropped += 1
    # numbered by where they start in the video, not by the tracker's IDs: the same pieces
    # then train the same encoder whichever IDs a tracker gave them (the batches follow the
    # numbering; a re-numbering alone moved a fused round by 12 IDF1, README *Adapting*)
    pieces.sort(key=lambda item: (int(item[1][0, 0]), float(item[1][0, 1])))
    num = len(pieces)
    seen = [set(piece[:, 0].astype(np.int64).tolist()) for _, piece in pieces]
    cooccur = np.zeros((num, num), bool)
    for i in range(num):
        for j in range(i + 1, num):
            if not seen[i].isdisjoint(seen[j]):
                cooccur[i, j] = cooccur[j, i] = True
    chosen = []
    for pid, (_, piece) in enumerate(pieces):
        picked = piece[:: cfg.frame_step]
        if len(picked) > cfg.max_crops_per_id:
            picked = picked[
                np.linspace(0, len(picked) - 1, cfg.max_crops_per_id).round().astype(int)
            ]
        chosen += [(row, pid) for row in picked]
    chosen.sort(key=lambda item: (item[0][0], item[1]))
    frames = np.array([int(row[0]) for row, _ in chosen], np.int64)
    boxes = np.array([row[1:5] for row, _ in chosen], np.float64).reshape(-1, 4)
    pids = np.array([pid for _, pid in chosen], np.int64)
    camids = np.minimum(
        (frames - 1) * cfg.time_segments // max(last_frame, 1), cfg.time_segments - 1
    )
    block = (frames - 1) // cfg.holdout_block_frames
    held_out = block % cfg.holdout_every == cfg.holdout_every - 1
    return TrackletPlan(
        track_ids=np.array([tid for tid, _ in pieces], np.int64),
        spans=np.array([[int(p[0, 0]), int(p[-1, 0])] for _, p in pieces], np.int64).reshape(-1, 2),
        cooccur=cooccur,
        frames=frames,
        boxes=boxes,
        pids=pids,
        camids=camids.astype(np.int64),
        held_out=held_out,
        tracks=len(tracks),
        dropped_short=dropped,
    )


def cut_crops(source: str, camera: Any, plan: TrackletPlan, *, progress: bool = True) -> np.ndarray:
    """The plan's crops from the video, as the tracker's embedder cuts them.

    Returns:
        ``(N, 128, 64, 3)`` uint8 RGB, in the order of ``plan.frames``.
    """
    crops = np.zeros((len(plan.frames), *CROP_HW, 3), np.uint8)
    if not len(plan.frames):
        return crops
    first, last = int(plan.frames[0]), int(plan.frames[-1])
    bar = tqdm(total=last - first + 1, desc="cutting crops", unit="frame", disable=not progress)
    with open_source(source, start=first - 1, max_frames=last - first + 1) as frames:
        for index, frame in frames:
            rows = np.flatnonzero(plan.frames == index + 1)
            if len(rows):
                crops[rows] = extract_crops(frame, camera, plan.boxes[rows], CROP_HW)
            bar.update(1)
    bar.close()
    return crops


def _count_rows(path: Path, detected_only: bool) -> tuple[int, int]:
    """Track IDs and rows of a tracks file; ``detected_only``: confirmed rows with a
    detection (a streaming file's coasting rows say nothing)."""
    ids: set[int] = set()
    rows = 0
    for record in read_jsonl(path):
        tracks = tracks_from_record(record)
        keep = np.ones(len(tracks), bool)
        if detected_only:
            keep = (tracks.states == TrackState.CONFIRMED) & (tracks.detection_indices >= 0)
        ids.update(int(i) for i in tracks.ids[keep])
        rows += int(keep.sum())
    return len(ids), rows


def track_measure(run_dir: str | Path) -> dict[str, float]:
    """The fragmentation of a run's answer, without ground truth: its track IDs and rows per
    ID (higher = fewer fragments of the same people). The answer is the finished tracks where
    the run wrote them (``tracks_final.jsonl``: every row, the gaps it filled included), else
    the streaming ones (``tracks.jsonl``: confirmed, detected rows); ``streaming_ids`` counts
    the streaming tracks' confirmed IDs either way."""
    run = Path(run_dir)
    streaming_ids, streaming_rows = _count_rows(run / "tracks.jsonl", detected_only=True)
    ids, rows = streaming_ids, streaming_rows
    if (run / "tracks_final.jsonl").is_file():
        ids, rows = _count_rows(run / "tracks_final.jsonl", detected_only=False)
    return {
        "ids": ids,
        "rows": rows,
        "rows_per_id": rows / max(ids, 1),
        "streaming_ids": streaming_ids,
    }


def appearance_gate(
    query: np.ndarray,
    q_pids: np.ndarray,
    gallery: np.ndarray,
    g_pids: np.ndarray,
    cooccur: np.ndarray,
) -> float:
    """The tracker's appearance gate (largest cosine distance of a match) for an encoder,
    from the tracklets alone: each held-out crop's nearest crop of its own pseudo-identity is a
    match the gate must let through, its nearest crop of a pseudo-identity seen with it in
    the same frames one it must stop; the gate is the threshold with the fewest errors of
    both kinds (equally weighted), as the tracker compares a detection with a track's gallery.

    Args:
        query, gallery: ``(Q, D)`` / ``(G, D)`` unit features of held-out / training crops.
        q_pids, g_pids: ``(Q,)`` / ``(G,)`` their pseudo-identities.
        cooccur: ``(P, P)`` bool, pseudo-identities seen in the same frame.

    Returns:
        The cosine distance, in (0, 2); 0.2 (the default gate) when nothing can be measured.
    """
    dist = 1.0 - query @ gallery.T  # (Q, G) cosine distances
    own = q_pids[:, None] == g_pids[None, :]
    other = cooccur[q_pids][:, g_pids]
    usable = own.any(1) & other.any(1)
    if not usable.any():
        return 0.2
    pos = np.where(own, dist, np.inf).min(1)[usable]
    neg = np.where(other, dist, np.inf).min(1)[usable]
    cands = np.unique(np.concatenate([pos, neg]))
    errors = [(pos > c).mean() + (neg <= c).mean() for c in cands]
    best = int(np.argmin(errors))
    # halfway to the next candidate: the gate is not tied to one crop's distance
    upper = cands[best + 1] if best + 1 < len(cands) else cands[best]
    return float(np.clip(0.5 * (cands[best] + upper), 1e-3, 1.999))


def reid_config(cfg: AdaptConfig) -> Any:
    """The ``tracklet`` method's config for the ``adapt`` section (run length, batch, lr)."""
    from reid.config import TrackletConfig

    return updated(
        TrackletConfig(),
        {
            "model.backbone": cfg.backbone,
            "train.epochs": cfg.epochs,
            "train.max_steps_per_epoch": cfg.max_steps_per_epoch,
            "train.seed": cfg.seed,
            "data.batch_size": cfg.batch_ids * cfg.crops_per_id,
            "data.num_instances": cfg.crops_per_id,
            "optim.lr": cfg.lr,
            "tracklet.knn": cfg.knn,
        },
    )


def write_plot(path: Path, plan: TrackletPlan, history: list[dict[str, Any]]) -> Path:
    """adapt.png: what was mined; the losses per epoch; the held-out agreement per epoch
    (tracklet-retrieval mAP and rank-1, %, epoch 0 = the initial encoder)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # no global backend switch
    from matplotlib.figure import Figure

    from reid.engine.logs import draw_history

    fig = Figure(figsize=(13, 4), dpi=100)
    FigureCanvasAgg(fig)
    ax_mined, ax_loss, ax_agree = fig.subplots(1, 3)
    counts = {
        "tracks": plan.tracks,
        "tracks\nused": plan.tracklets,
        "pseudo-\nids": plan.num_ids,
        "pieces\ntoo short": plan.dropped_short,
        "pairs seen\ntogether": int(plan.cooccur.sum() // 2),
    }
    bars = ax_mined.bar(list(counts), list(counts.values()), color="tab:blue")
    ax_mined.bar_label(bars)
    ax_mined.set(title=f"mined: {len(plan.frames)} crops ({int(plan.held_out.sum())} held out)")
    draw_history(ax_loss, ax_agree, history, "agreement with the tracklets (held out)")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    return path


def adapt_run(
    run_dir: str | Path,
    cfg: AdaptConfig,
    *,
    video: str | Path | None = None,
    overwrite: bool = False,
    progress: bool = True,
    colour_weight: float | None = None,
) -> dict[str, Any]:
    """Fine-tune the re-ID encoder on a finished run's tracklets; writes ``RUN_DIR/adapt/``.

    ``RUN_DIR/adapt`` is claimed like a run directory: an existing one is refused, or with
    ``overwrite`` replaced only once the new one has finished (a failed adaptation leaves the
    earlier one as it was). ``colour_weight``: the re-tracking fuses the colour statistics
    with the encoder at this weight (:class:`mplt.appearance.FusedEmbedder`), so the gate
    (``gate`` in the summary) is measured for those features; None = the encoder alone.

    Returns:
        The summary written to ``adapt/adapt.json``: what was mined, the agreement before and
        after, the best epoch, ``adapted`` (the checkpoint's path), seconds.

    Raises:
        UserError: no run there, its video gone, too little to learn from, a bad setting.
    """
    import reid
    from mplt.pipeline import check_settings

    check_settings(updated(TrackConfig(), {"adapt": cfg}))
    started = time.perf_counter()
    run = load_run(run_dir)
    source = resolve_source(run, video)
    camera, _ = run_camera(run)
    with open_source(source) as probe:
        check_video(probe.info, run, source)
    plan = plan_tracklets(observations(run.run_dir, cfg.min_conf), cfg, run.first + run.count)
    if plan.num_ids < 2:
        raise UserError(
            f"run {run.run_dir} has {plan.num_ids} tracklet(s) of at least {cfg.min_frames} "
            "confident frames; adapt on a longer run with more people, or lower "
            "adapt.min_frames / adapt.min_conf"
        )
    reid_cfg = reid_config(cfg)
    claim = claim_run_dir(run.run_dir / "adapt", overwrite=overwrite)
    try:
        crops = cut_crops(source, camera, plan, progress=progress)
        mined = {
            "tracks": plan.tracks,
            "tracklets": plan.tracklets,
            "pseudo_ids": plan.num_ids,
            "crops": len(crops),
        }
        result = reid.train_tracklets(
            crops,
            plan.pids,
            plan.camids,
            plan.held_out,
            plan.cooccur,
            reid_cfg,
            claim.path,
            init=cfg.init,
            device=cfg.device,
            progress=progress,
            log_columns=mined,
        )
        with atomic_path(claim.path / "adapted.pt") as tmp:
            shutil.copyfile(result["checkpoint"], tmp)
        encoder = reid.load_encoder(claim.path / "adapted.pt", device=cfg.device)
        feats = encoder.embed_crops(crops)
        if colour_weight is not None:
            colour = ColourEmbedder(camera, crop_height=CROP_HW[0], crop_width=CROP_HW[1])
            feats = fuse_features(colour.embed_crops(crops), feats, colour_weight)
        held = plan.held_out
        gate = appearance_gate(
            feats[held], plan.pids[held], feats[~held], plan.pids[~held], plan.cooccur
        )
        write_plot(claim.path / "adapt.png", plan, result["history"])
        write_atomic(claim.path / "adapt.yaml", dump_config(cfg))
        final = run.run_dir / "adapt"
        summary = {
            "run_dir": str(run.run_dir),
            "source": source,
            **mined,
            "dropped_short": plan.dropped_short,
            "held_out_crops": int(plan.held_out.sum()),
            "cooccurring_pairs": int(plan.cooccur.sum() // 2),
            "time_segments": cfg.time_segments,
            "init": cfg.init or f"ImageNet {cfg.backbone}",
            "agreement_before": round(result["mAP_before"], 4),
            "agreement_after": round(result["mAP_best"], 4),
            "best_epoch": result["best_epoch"],
            "improved": result["best_epoch"] > 0,
            "gate": round(gate, 4),
            "gate_features": "encoder" if colour_weight is None else f"fused {colour_weight:g}",
            "adapted": str(final / "adapted.pt"),
            "seconds": round(time.perf_counter() - started, 1),
            "config": config_to_dict(cfg),
        }
        write_atomic(claim.path / "adapt.json", json.dumps(summary, indent=2) + "\n")
        claim.publish()
    finally:
        claim.release()
    return summary


def retrack_kinds(cfg: TrackConfig) -> tuple[str, ...]:
    """The embedder kinds ``mplt track --adapt`` re-tracks with, in order."""
    kind = cfg.adapt.retrack_embedder
    return ("fused", "reid") if kind == "both" else (kind,)


def retrack_colour_weight(cfg: TrackConfig) -> float | None:
    """The colour share of the re-tracking's fused features, where it re-tracks with them
    (None: the encoder alone); the adaptation's agreement is measured with it."""
    return cfg.embedder.colour_weight if "fused" in retrack_kinds(cfg) else None


def track_and_adapt(
    source: str,
    cfg: TrackConfig,
    out: str | Path | None = None,
    *,
    progress: bool = True,
    **track_kwargs: Any,
) -> dict[str, Any]:
    """``mplt track --adapt``: track, then up to ``adapt.iterations`` rounds of adapt -> track.

    Round k adapts on round k-1's tracks (from round k-1's adapted encoder, or ``adapt.init``
    first) into ``<run k-1>/adapt/`` and re-tracks with it into ``<run k-1>/adapt/track/``. The
    stopping rule, without ground truth (``adapt.stop_metric``): a round counts only if its
    encoder agrees better with the held-out tracklets than the one it started from (by
    ``min_gain`` mAP); with ``fragmentation`` its answer must also be less fragmented by
    ``min_gain`` (relative rise of the rows per ID, :func:`track_measure`: of the finished
    tracks where the runs finish) from streaming tracks that are not more numerous (confirmed
    IDs): where the new features cut the streaming tracks into more pieces, the finishing
    joins more of them, right or wrong, and its rows per ID rise either way. A rejected round
    stops the loop and the best earlier run stays the answer. ``adapt.json`` in the first run
    directory lists the rounds. Why strict: a re-tracking as fragmented as its start can still
    lose IDF1 to ID swaps, which the measure cannot see (``bench/results/adapt.md``).

    The re-tracking's features are ``adapt.retrack_embedder``: ``fused`` = the colour
    statistics and the adapted encoder side by side (:class:`mplt.appearance.FusedEmbedder`),
    ``reid`` = the encoder alone, ``both`` (default) = a re-tracking with each (into
    ``adapt/track/`` and ``adapt/track-reid/``), of which the rule keeps the one with more
    rows per ID among those it would keep (each round's ``candidates`` in ``adapt.json``).
    Why both: behind the pillar of ``bench/compare_trackers.py --suites pillar`` the encoder
    alone re-tracked PETS on the sphere at 70.3 / 8 and 76.0 / 8 (finished IDF1 / ID switches;
    two trainings, seeds 0 and 1) where the fused features gave 57.1 / 15 and 57.5 / 11 and
    colour 64.4 / 9, while behind the pillar on TUD-Stadtmitte the fused round is the better
    (71.8 / 6 against 64.9 / 5 alone). Its appearance gate
    (``tracker.max_cosine_distance``, and the finishing merge's in proportion) is
    ``adapt.retrack_gate``: null (default) = the run's own, ``auto`` = measured on the
    tracklets for the re-tracking's features (:func:`appearance_gate`), or a number.

    Returns:
        ``rounds`` (one dict per round), ``best_run`` (run directory), ``best_checkpoint``
        (None when no adaptation was kept), ``stopped`` (why).
    """
    from mplt.api import track

    a = cfg.adapt
    weight = retrack_colour_weight(cfg)
    kinds = retrack_kinds(cfg)
    first = track(source, config=cfg, out=out, progress=progress, **track_kwargs)
    best_run, best_ckpt = Path(first.summary["run_dir"]), None
    best_measure = track_measure(best_run)
    rounds: list[dict[str, Any]] = [{"round": 0, "run_dir": str(best_run), **best_measure}]
    init, run_dir, stopped = a.init, best_run, f"{a.iterations} round(s) done"
    for k in range(1, a.iterations + 1):
        adapted = adapt_run(
            run_dir, updated(a, {"init": init}), progress=progress, colour_weight=weight
        )
        gain = adapted["agreement_after"] - adapted["agreement_before"]
        row: dict[str, Any] = {"round": k, "agreement_gain": round(gain, 4), "kept": False}
        rounds.append(row)
        if gain < a.min_gain:
            stopped = f"round {k}: the encoder agrees no better with the tracklets ({gain:+.4f})"
            break
        gate = adapted["gate"] if a.retrack_gate == "auto" else a.retrack_gate
        candidates = [
            _retrack(source, cfg, kind, adapted["adapted"], gate, folder, progress, track_kwargs)
            for kind, folder in zip(kinds, _retrack_dirs(run_dir, kinds), strict=True)
        ]
        for c in candidates:
            c["rows_per_id_gain"] = round(
                c["rows_per_id"] / max(best_measure["rows_per_id"], 1e-9) - 1.0, 4
            )
            c["rejected"] = _rejected(c, best_measure, a)
        row["candidates"] = candidates
        passing = [c for c in candidates if c["rejected"] is None]
        chosen = max(passing, key=lambda c: c["rows_per_id"]) if passing else candidates[0]
        row.update({key: v for key, v in chosen.items() if key not in ("rejected", "kind")})
        if not passing:
            stopped = f"round {k}: " + "; ".join(
                (f"{c['kind']}: " if len(candidates) > 1 else "") + c["rejected"]
                for c in candidates
            )
            break
        row.update({"kept": True, "embedder": chosen["kind"]})
        run_dir = Path(chosen["run_dir"])
        best_run, best_ckpt = run_dir, adapted["adapted"]
        best_measure = {key: v for key, v in chosen.items() if key in best_measure}
        init = adapted["adapted"]
    report = {
        "rounds": rounds,
        "best_run": str(best_run),
        "best_checkpoint": best_ckpt,
        "stopped": stopped,
    }
    write_atomic(Path(first.summary["run_dir"]) / "adapt.json", json.dumps(report, indent=2) + "\n")
    return report


def _retrack_dirs(run_dir: Path, kinds: tuple[str, ...]) -> list[Path]:
    """Where a round's re-trackings go: ``adapt/track``, then ``adapt/track-<kind>``."""
    return [
        run_dir / "adapt" / ("track" if n == 0 else f"track-{kind}") for n, kind in enumerate(kinds)
    ]


def _retrack(
    source: str,
    cfg: TrackConfig,
    kind: str,
    checkpoint: str,
    gate: float | None,
    out: Path,
    progress: bool,
    track_kwargs: dict[str, Any],
) -> dict[str, Any]:
    """One re-tracking of a round with the adapted encoder as ``kind``; its run directory,
    embedder kind and :func:`track_measure`."""
    from mplt.api import track

    changes: dict[str, Any] = {"embedder.kind": kind, "embedder.checkpoint": checkpoint}
    if gate is not None:
        # the finishing merge keeps its margin over the gate
        ratio = cfg.tracker.finish_merge_max_cosine / cfg.tracker.max_cosine_distance
        changes["tracker.max_cosine_distance"] = gate
        changes["tracker.finish_merge_max_cosine"] = min(gate * ratio, 2.0)
    result = track(source, config=updated(cfg, changes), out=out, progress=progress, **track_kwargs)
    run_dir = Path(result.summary["run_dir"])
    return {"kind": kind, "run_dir": str(run_dir), **track_measure(run_dir)}


def _rejected(candidate: dict[str, Any], best: dict[str, Any], a: AdaptConfig) -> str | None:
    """Why the stopping rule rejects a re-tracking against the best run so far, or None."""
    if a.stop_metric != "fragmentation":
        return None
    rel = candidate["rows_per_id_gain"]
    if rel < a.min_gain:
        return f"the tracks are not less fragmented by {a.min_gain:.1%} ({rel:+.1%} rows per ID)"
    more = candidate["streaming_ids"] - best["streaming_ids"]
    if more > 0:
        # the finishing had more pieces to join: its gain may be joins, right or wrong
        return f"the streaming tracks are more fragmented ({more:+d} IDs)"
    return None
