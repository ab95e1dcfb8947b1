"""``mplt adapt``: mining a scripted run, the tracklet method, the stopping rule, the CLI."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch

import reid
from cli import main
from core.config import updated
from core.errors import UserError
from mplt import adapt as adapt_mod
from mplt.adapt import (
    adapt_run,
    appearance_gate,
    cut_crops,
    observations,
    plan_tracklets,
    track_and_adapt,
    track_measure,
)
from mplt.config import AdaptConfig, TrackConfig
from mplt.geometry import Equirectangular
from reid.config import TrackletConfig
from reid.data.tracklets import CooccurrenceSampler
from reid.methods.tracklet import cooccurrence_triplet
from tests.conftest import write_video

W, H, FRAMES = 256, 128, 30
#: track ID -> (colour RGB, left x of its box, frames it is detected on, 1-based)
PEOPLE = {
    1: ((230, 30, 30), 20, range(1, 31)),
    2: ((30, 200, 30), 80, range(1, 31)),
    3: ((30, 30, 230), 140, range(1, 4)),  # too short: dropped
    4: ((230, 220, 30), W - 8, [*range(1, 13), *range(18, 31)]),  # across the seam, a gap
}
BOX_TOP, BOX_BOTTOM, BOX_WIDTH = 40, 100, 16
#: the tiny run: every crop, small batches, a few steps
TINY = AdaptConfig(
    backbone="tiny",
    frame_step=1,
    holdout_every=3,
    epochs=2,
    max_steps_per_epoch=3,
    batch_ids=4,
    crops_per_id=2,
    device="cpu",
)


def _frame() -> np.ndarray:
    """``(H, W, 3)`` uint8 RGB: grey background, each person a coloured bar."""
    img = np.full((H, W, 3), 90, np.uint8)
    for colour, x1, _ in PEOPLE.values():
        cols = np.arange(x1, x1 + BOX_WIDTH) % W  # a bar across the seam wraps round
        img[BOX_TOP:BOX_BOTTOM, cols] = colour
    return img


def _records() -> list[dict]:
    """tracks.jsonl lines: the people's detected rows; track 2's last frames weak, and a
    coasting and a tentative row that mining must ignore."""
    lines = []
    for frame in range(1, FRAMES + 1):
        tracks = []
        for tid, (_, x1, frames) in PEOPLE.items():
            if frame in frames:
                weak = tid == 2 and frame > 24
                tracks.append(_row(tid, x1, 0.2 if weak else 0.9, 0, "confirmed"))
        if frame == 14:
            tracks.append(_row(4, W - 8, 0.9, None, "confirmed"))  # coasting: no detection
        tracks.append(_row(9, 200, 0.9, 1, "tentative"))
        lines.append({"frame": frame, "time_s": frame / 10, "tracks": tracks})
    return lines


def _row(tid: int, x1: float, conf: float, det: int | None, state: str) -> dict:
    return {
        "id": tid,
        "box_xyxy": [x1, BOX_TOP, x1 + BOX_WIDTH, BOX_BOTTOM],
        "conf": conf,
        "state": state,
        "detection_index": det,
    }


def scripted_run(root: Path, *, with_video: bool = True) -> Path:
    """A finished run directory (tracks.jsonl, summary.json, config.yaml) of a scripted
    panorama video."""
    run = root / "run"
    run.mkdir(parents=True)
    video = root / "pano.mp4"
    if with_video:
        write_video(video, [_frame()] * FRAMES, 10.0)
    (run / "tracks.jsonl").write_text("".join(json.dumps(r) + "\n" for r in _records()))
    summary = {
        "status": "finished",
        "input": {"source": str(video), "width": W, "height": H, "fps": 10.0},
        "camera": {"model": "equirect", "height_m": 2.0},
    }
    (run / "summary.json").write_text(json.dumps(summary))
    (run / "config.yaml").write_text("camera:\n  height_m: 2.0\n")
    return run


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    return scripted_run(tmp_path_factory.mktemp("adapt"))


def _plan(run: Path, cfg: AdaptConfig = TINY):
    return plan_tracklets(observations(run, cfg.min_conf), cfg, FRAMES)


def test_mining_drops_short_splits_at_gaps_and_marks_cooccurring_pieces(run_dir):
    obs = observations(run_dir, 0.5)
    assert sorted(obs) == [1, 2, 3, 4]  # the tentative track 9 is no evidence
    assert obs[2][:, 0].max() == 24  # weak rows left out
    assert 14 not in obs[4][:, 0]  # nor the coasting prediction
    plan = _plan(run_dir)
    assert plan.track_ids.tolist() == [1, 2, 4, 4]  # track 3 too short, track 4 cut at its gap
    assert plan.dropped_short == 1 and plan.tracks == 4 and plan.tracklets == 3
    assert plan.spans.tolist() == [[1, 30], [1, 24], [1, 12], [18, 30]]
    expected = np.array(
        [
            [0, 1, 1, 1],
            [1, 0, 1, 1],
            [1, 1, 0, 0],  # the two pieces of track 4 never meet: no negative
            [1, 1, 0, 0],
        ],
        bool,
    )
    np.testing.assert_array_equal(plan.cooccur, expected)
    assert set(np.unique(plan.camids)) == {0, 1, 2, 3}
    assert plan.held_out.any() and not plan.held_out.all()
    assert np.all(np.diff(plan.frames) >= 0)


def test_long_tracklets_are_cut_and_crops_capped(run_dir):
    cfg = updated(TINY, {"max_tracklet_frames": 10, "max_crops_per_id": 4, "min_frames": 3})
    plan = _plan(run_dir, cfg)
    # numbered by where they start (frame, then column): 1, 11, 18, 21, 28
    assert plan.track_ids.tolist() == [1, 2, 3, 4, 1, 2, 4, 1, 2, 4]
    assert np.bincount(plan.pids).max() <= 4


def test_the_plan_does_not_depend_on_the_trackers_ids(run_dir):
    """The same pieces under other track IDs (a tracker that took an ID back numbers them
    otherwise) give the same pseudo-identities, crops and held-out split, so the same
    training."""
    obs = observations(run_dir, TINY.min_conf)
    renumbered = {100 - tid: rows for tid, rows in reversed(obs.items())}
    plan, other = _plan(run_dir), plan_tracklets(renumbered, TINY, FRAMES)
    for field in ("spans", "cooccur", "frames", "boxes", "pids", "camids", "held_out"):
        np.testing.assert_array_equal(getattr(plan, field), getattr(other, field))
    assert (100 - other.track_ids).tolist() == plan.track_ids.tolist()


def test_crops_are_rectified_and_seam_aware(run_dir):
    plan = _plan(run_dir)
    camera = Equirectangular(W, H, camera_height=2.0)
    crops = cut_crops(str(run_dir.parent / "pano.mp4"), camera, plan, progress=False)
    assert crops.shape == (len(plan.frames), 128, 64, 3) and crops.dtype == np.uint8
    seam = crops[plan.track_ids[plan.pids] == 4]
    middle = seam[:, 40:90, 24:40].reshape(-1, 3).mean(0)
    # the yellow person whole in the middle of the crop, both halves of the seam joined
    assert middle[0] > 180 and middle[1] > 170 and middle[2] < 90
    left, right = seam[:, 60, 26].mean(0), seam[:, 60, 37].mean(0)
    np.testing.assert_allclose(left, right, atol=25)


def _colour_crops(seed: int = 0):
    """Six pseudo-identities of noisy coloured crops, all seen together."""
    rng = np.random.default_rng(seed)
    num, per = 6, 12
    colours = rng.integers(0, 255, (num, 3))
    noise = rng.normal(0, 50, (num, per, 32, 16, 3))
    crops = np.clip(colours[:, None, None, None] + noise, 0, 255).astype(np.uint8)
    pids = np.repeat(np.arange(num), per)
    held = np.tile(np.arange(per) % 4 == 3, num)
    cooccur = ~np.eye(num, dtype=bool)
    return crops.reshape(-1, 32, 16, 3), pids, pids % 2, held, cooccur


def _tiny(changes: dict) -> TrackletConfig:
    """The tracklet method with the tiny backbone on 32 x 16 crops, batches of 6 x 2."""
    return updated(
        TrackletConfig(),
        {
            "model.backbone": "tiny",
            "data.height": 32,
            "data.width": 16,
            "data.batch_size": 12,
            "data.num_instances": 2,
            **changes,
        },
    )


def test_tiny_fine_tune_lowers_the_loss_and_its_checkpoint_embeds(tmp_path):
    crops, pids, cams, held, cooccur = _colour_crops()
    cfg = _tiny(
        {
            "train.epochs": 4,
            "train.max_steps_per_epoch": 4,
            "optim.lr": 1e-3,
        }
    )
    result = reid.train_tracklets(
        crops, pids, cams, held, cooccur, cfg, tmp_path, device="cpu", progress=False
    )
    losses = [row["loss"] for row in result["history"] if "loss" in row]
    assert losses[-1] < losses[0]
    assert result["history"][0]["epoch"] == 0 and "mAP" in result["history"][0]
    encoder = reid.load_encoder(result["checkpoint"])  # weights_only loading
    emb = encoder.embed_crops(crops[:3])
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    assert (tmp_path / "metrics.csv").is_file() and (tmp_path / "config.yaml").is_file()


def test_neighbourhood_invariance_pulls_pseudo_identities_of_other_segments_only(tmp_path):
    crops, pids, cams, held, cooccur = _colour_crops(2)
    cooccur[:] = False
    cooccur[0, 1] = cooccur[1, 0] = True  # the only known negatives
    cfg = _tiny(
        {
            "train.epochs": 1,
            "train.max_steps_per_epoch": 2,
            "tracklet.knn": 2,
            "tracklet.knn_start_epoch": 0,
        }
    )
    result = reid.train_tracklets(
        crops, pids, cams, held, cooccur, cfg, tmp_path, device="cpu", progress=False
    )
    assert np.isfinite(result["history"][-1]["loss"])
    method = reid.methods.tracklet.Tracklet(cfg, 0, torch.device("cpu"))
    feats = np.eye(6, 4, dtype=np.float32)[[0, 1, 2, 3, 0, 1]]  # slots 4, 5 = slots 0, 1
    segments = np.array([0, 1, 0, 1, 1, 0])
    method.set_tracklets(cooccur, segments, feats, np.arange(6))
    f = torch.tensor(feats[:1])
    # slot 0's twin 4 (another segment, never seen with it) becomes a soft positive, which
    # adds a term to the loss; without knn slot 4 is not even in the softmax
    loss_near = method._memory_loss(f, torch.tensor([0]))
    method.cfg = updated(cfg, {"tracklet.knn": 0})
    assert float(loss_near) > float(method._memory_loss(f, torch.tensor([0])))


def test_best_checkpoint_is_the_initial_encoder_unless_training_agrees_better(tmp_path):
    crops, pids, cams, held, cooccur = _colour_crops(1)
    cfg = _tiny(
        {
            "train.epochs": 1,
            "train.max_steps_per_epoch": 1,
            "optim.lr": 1e-9,  # no learning: nothing beats the initial weights
        }
    )
    result = reid.train_tracklets(
        crops, pids, cams, held, cooccur, cfg, tmp_path, device="cpu", progress=False
    )
    assert result["mAP_best"] >= result["mAP_before"]
    if result["best_epoch"] == 0:
        assert torch.load(result["checkpoint"], weights_only=True)["epoch"] == 0


def test_triplet_negatives_are_cooccurring_pseudo_identities_only():
    f = torch.nn.functional.normalize(torch.tensor([[1.0, 0], [1, 0.1], [1, 0.05], [1, 0.06]]))
    pids = torch.tensor([0, 0, 1, 2])
    never = torch.zeros(3, 3, dtype=torch.bool)
    assert float(cooccurrence_triplet(f, pids, never, 0.3)) == 0.0  # no known negative
    met = never.clone()
    met[0, 1] = met[1, 0] = True
    assert float(cooccurrence_triplet(f, pids, met, 0.3)) > 0.0


def test_sampler_puts_cooccurring_identities_in_one_batch():
    pids = np.repeat(np.arange(8), 4)
    cooccur = np.zeros((8, 8), bool)
    cooccur[0, 5] = cooccur[5, 0] = True
    sampler = CooccurrenceSampler(pids, cooccur, num_ids=2, num_instances=2, seed=0)
    sampler.set_epoch(1)
    batches = list(sampler)
    assert batches == list(sampler)  # deterministic per epoch
    # each identity seeds one batch; the batches seeded by 0 and 5 hold the pair
    assert [set(pids[b].tolist()) for b in batches].count({0, 5}) >= 2


def _digest(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir() if p.is_file()
    }


def test_adapt_run_writes_its_outputs_and_never_corrupts_an_earlier_one(tmp_path, monkeypatch):
    run = scripted_run(tmp_path)
    run_files = _digest(run)
    summary = adapt_run(run, TINY, progress=False)
    out = run / "adapt"
    for name in ("adapted.pt", "metrics.csv", "adapt.png", "adapt.json", "adapt.yaml"):
        assert (out / name).is_file(), name
    assert summary["pseudo_ids"] == 4 and summary["tracklets"] == 3
    assert summary["gate_features"] == "encoder"
    assert summary["agreement_after"] >= summary["agreement_before"]
    header = (out / "metrics.csv").read_text().splitlines()[0].split(",")
    assert {"mAP", "loss", "tracklets", "pseudo_ids"} <= set(header)
    reid.load_encoder(out / "adapted.pt")
    assert _digest(run) == run_files  # the run's own files untouched
    before = _digest(out)
    with pytest.raises(UserError, match="--overwrite"):
        adapt_run(run, TINY, progress=False)

    def broken(*args, **kwargs):
        raise UserError("training failed; scripted")

    monkeypatch.setattr(reid, "train_tracklets", broken)
    with pytest.raises(UserError, match="scripted"):
        adapt_run(run, TINY, overwrite=True, progress=False)
    assert _digest(out) == before


def _scripted_rounds(monkeypatch, tmp_path, gains, measures, streaming_ids=None):
    """track_and_adapt with the tracker and the adaptation replaced: round k's agreement gain
    is ``gains[k - 1]``, run k's rows per ID ``measures[k]`` and its streaming IDs
    ``streaming_ids[k]`` (default 10 each). Returns the runs, the config each was tracked with
    and the colour weight each adaptation was asked for."""
    import mplt.api

    runs: list[Path] = []
    configs: list[TrackConfig] = []
    weights: list[float | None] = []

    class Result:
        def __init__(self, path: Path) -> None:
            self.summary = {"run_dir": str(path)}

    def track(source, *, config, out, progress, **kwargs):
        path = Path(out)
        path.mkdir(parents=True)
        runs.append(path)
        configs.append(config)
        return Result(path)

    def adapt(run_dir, cfg, progress, colour_weight):
        k = len(runs)
        weights.append(colour_weight)
        return {
            "agreement_before": 0.5,
            "agreement_after": 0.5 + gains[k - 1],
            "adapted": "x.pt",
            "gate": 0.3,
        }

    monkeypatch.setattr(mplt.api, "track", track)
    monkeypatch.setattr(adapt_mod, "adapt_run", adapt)

    def measure(run):
        k = runs.index(run)
        return {"rows_per_id": measures[k], "streaming_ids": (streaming_ids or [10] * 4)[k]}

    monkeypatch.setattr(adapt_mod, "track_measure", measure)
    return runs, configs, weights


def _jsonl(path: Path, frames: list[list[tuple[int, str, int | None]]]) -> None:
    """A tracks file: per frame, ``(id, state, detection index)`` of each track."""
    lines = []
    for index, tracks in enumerate(frames):
        records = [
            {
                "id": i,
                "box_xyxy": [0, 0, 10, 20],
                "conf": 0.9,
                "state": state,
                "detection_index": det,
            }
            for i, state, det in tracks
        ]
        lines.append(json.dumps({"frame": index + 1, "time_s": index / 10, "tracks": records}))
    path.write_text("\n".join(lines) + "\n")


def test_the_stopping_measure_counts_the_answer_of_a_run(tmp_path):
    """Streaming: confirmed, detected rows per ID; where the run finished, every row of the
    finished tracks (their filled gaps too), since those are what the run answers."""
    _jsonl(
        tmp_path / "tracks.jsonl",
        [
            [(1, "confirmed", 0), (2, "tentative", 1)],
            [(1, "lost", None), (2, "tentative", 1)],
            [(1, "confirmed", 0), (3, "confirmed", 1)],
        ],
    )
    streaming = track_measure(tmp_path)
    assert (streaming["ids"], streaming["rows"]) == (2, 3)
    _jsonl(
        tmp_path / "tracks_final.jsonl",
        [[(1, "confirmed", 0), (2, "confirmed", 1)], [(1, "lost", None)], [(1, "confirmed", 0)]],
    )
    assert track_measure(tmp_path) == {
        "ids": 2,
        "rows": 4,
        "rows_per_id": 2.0,
        "streaming_ids": 2,
    }


@pytest.mark.parametrize(
    ("gains", "measures", "kept", "best", "streaming_ids"),
    [
        ([0.0], [10.0], 0, 0, None),  # the encoder agrees no better: no re-tracking
        ([0.1], [10.0, 9.0], 0, 0, None),  # more fragmented tracks: the round is rejected
        ([0.1], [10.0, 10.01], 0, 0, None),  # as fragmented (swaps are invisible): rejected too
        ([0.1, 0.1, 0.1], [10.0, 12.0, 12.01], 1, 1, None),  # the second gains too little: stop
        ([0.1, 0.1, 0.1], [10.0, 12.0, 14.0, 16.0], 3, 3, None),  # every round better
        # longer tracks from more streaming pieces: the finishing joined more, right or wrong
        ([0.1], [10.0, 12.0], 0, 0, [10, 11]),
        ([0.1, 0.0], [10.0, 12.0], 1, 1, [10, 9]),
    ],
)
def test_stopping_rule_keeps_the_best_run_and_stops_when_nothing_improves(
    monkeypatch, tmp_path, gains, measures, kept, best, streaming_ids
):
    runs, _, _ = _scripted_rounds(monkeypatch, tmp_path, gains, measures, streaming_ids)
    cfg = updated(
        TrackConfig(),
        {"adapt.iterations": 3, "adapt.min_gain": 0.01, "adapt.retrack_embedder": "fused"},
    )
    report = track_and_adapt("video.mp4", cfg, tmp_path / "run", progress=False)
    assert sum(r["kept"] for r in report["rounds"][1:]) == kept
    assert report["best_run"] == str(runs[best])
    assert json.loads((tmp_path / "run" / "adapt.json").read_text()) == report


@pytest.mark.parametrize(
    ("measures", "streaming_ids", "best", "embedder"),
    [
        ([10.0, 10.0, 12.0], None, 2, "reid"),  # only the encoder alone is less fragmented
        ([10.0, 11.0, 12.0], None, 2, "reid"),  # both are: the less fragmented one
        ([10.0, 12.0, 11.0], None, 1, "fused"),
        ([10.0, 12.0, 11.0], [10, 11, 10], 2, "reid"),  # fused from more streaming pieces
        ([10.0, 9.0, 9.5], None, 0, None),  # neither: the colour run stays
    ],
)
def test_both_re_trackings_are_judged_and_the_better_kept(
    monkeypatch, tmp_path, measures, streaming_ids, best, embedder
):
    """The default ``adapt.retrack_embedder: both``: one round re-tracks with the fused
    features into adapt/track and with the encoder alone into adapt/track-reid; the rule
    judges each against the colour run and keeps the one with more rows per ID it accepts."""
    runs, configs, weights = _scripted_rounds(monkeypatch, tmp_path, [0.1], measures, streaming_ids)
    cfg = TrackConfig()
    assert cfg.adapt.retrack_embedder == "both"
    report = track_and_adapt("video.mp4", cfg, tmp_path / "run", progress=False)
    assert [c.embedder.kind for c in configs[1:]] == ["fused", "reid"]
    assert runs[1:] == [
        tmp_path / "run" / "adapt" / "track",
        tmp_path / "run" / "adapt" / "track-reid",
    ]
    assert weights == [cfg.embedder.colour_weight]  # the agreement is measured fused
    row = report["rounds"][1]
    assert [c["kind"] for c in row["candidates"]] == ["fused", "reid"]
    assert report["best_run"] == str(runs[best])
    assert row["kept"] is (embedder is not None) and row.get("embedder") == embedder
    if embedder is None:
        assert "fused: " in report["stopped"] and "reid: " in report["stopped"]


@pytest.mark.parametrize(
    ("retrack", "gate", "kind", "weight", "max_cosine"),
    [
        ("fused", None, "fused", 0.5, 0.2),  # the default: colour beside the encoder, own gate
        ("reid", None, "reid", None, 0.2),
        ("fused", "auto", "fused", 0.5, 0.3),  # the gate the adaptation measured
        ("reid", 0.15, "reid", None, 0.15),
    ],
)
def test_retracking_uses_the_configured_features_and_gate(
    monkeypatch, tmp_path, retrack, gate, kind, weight, max_cosine
):
    _, configs, weights = _scripted_rounds(monkeypatch, tmp_path, [0.1], [10.0, 12.0])
    cfg = updated(TrackConfig(), {"adapt.retrack_embedder": retrack, "adapt.retrack_gate": gate})
    track_and_adapt("video.mp4", cfg, tmp_path / "run", progress=False)
    assert configs[0] == cfg and len(configs) == 2  # the first run as configured, then one
    again = configs[1]
    assert (again.embedder.kind, again.embedder.checkpoint) == (kind, "x.pt")
    assert again.tracker.max_cosine_distance == pytest.approx(max_cosine)
    ratio = cfg.tracker.finish_merge_max_cosine / cfg.tracker.max_cosine_distance
    assert again.tracker.finish_merge_max_cosine == pytest.approx(max_cosine * ratio)
    assert weights == [weight]


def test_appearance_gate_lets_own_crops_through_and_stops_people_seen_together():
    angle = np.array([0.0, 0.1, 0.2, 1.0, 1.1, 1.2])  # two people, three crops each
    feats = np.stack([np.cos(angle), np.sin(angle)], 1)
    pids = np.array([0, 0, 0, 1, 1, 1])
    q, g = np.array([1, 4]), np.array([0, 2, 3, 5])
    together = np.array([[False, True], [True, False]])
    gate = appearance_gate(feats[q], pids[q], feats[g], pids[g], together)
    own = 1 - np.cos(0.1)  # a held-out crop to its own nearest crop
    other = 1 - np.cos(0.7)  # ... to the nearest crop of the other person
    assert own < gate < other
    assert appearance_gate(feats[q], pids[q], feats[g], pids[g], np.zeros_like(together)) == 0.2


def _cli(capsys, *args: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    return exit_info.value.code, capsys.readouterr().err.strip()


def test_cli_refuses_a_missing_run_dir_in_one_line(tmp_path, capsys):
    code, err = _cli(capsys, "adapt", str(tmp_path / "nowhere"), "--quiet")
    assert code == 2 and len(err.splitlines()) == 1
    assert err.startswith("error: run directory") and "; pass the directory" in err


def test_cli_refuses_a_run_whose_video_is_gone_in_one_line(tmp_path, capsys):
    run = scripted_run(tmp_path, with_video=False)
    code, err = _cli(capsys, "adapt", str(run), "--quiet")
    assert code == 2 and len(err.splitlines()) == 1
    assert "is not there any more; pass its new location with --video" in err
    assert not (run / "adapt").exists()


def test_cli_refuses_a_bad_setting_before_anything_is_written(run_dir, capsys):
    code, err = _cli(capsys, "adapt", str(run_dir), "--set", "adapt.epochs=0", "--quiet")
    assert code == 2 and err.startswith("error: config adapt.epochs must be at least 1")
    assert not (run_dir / "adapt").exists()


def test_track_adapt_end_to_end_keeps_the_first_run_and_reports_the_rounds(tmp_path, capsys):
    video = write_video(tmp_path / "pano.mp4", [_frame()] * FRAMES, 10.0)
    rows = [
        [f, -1, x1 + 1, BOX_TOP + 1, BOX_WIDTH, BOX_BOTTOM - BOX_TOP, 0.9, -1, -1, -1]
        for _, x1, frames in PEOPLE.values()
        for f in frames
    ]
    det = tmp_path / "det.txt"
    np.savetxt(det, np.array(rows), fmt="%.2f", delimiter=",")
    tiny = [f"adapt.{k}={v}" for k, v in TINY.__dict__.items() if v != getattr(AdaptConfig(), k)]
    sets = [x for kv in tiny for x in ("--set", kv)]
    out = tmp_path / "run"
    args = ["track", str(video), "--detections", str(det), "-o", str(out), "--adapt"]
    main([*args, "--camera-height", "2", "--quiet", *sets])
    assert "adaptation round(s) kept" in capsys.readouterr().out
    report = json.loads((out / "adapt.json").read_text())
    assert report["rounds"][0]["run_dir"] == str(out)
    assert (out / "tracks.txt").is_file() and (out / "adapt" / "adapted.pt").is_file()
    # the gate is measured for the features the re-tracking uses: colour beside the encoder
    assert json.loads((out / "adapt" / "adapt.json").read_text())["gate_features"] == "fused 0.5"
    assert Path(report["best_run"]).is_dir()
