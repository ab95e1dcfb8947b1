"""``mplt`` command line: parses options, builds the config, calls one library function.

Every user-fixable problem surfaces as :class:`core.errors.UserError`; :func:`main` turns it
into ``error: <message>`` on stderr and exit code 2, with no traceback.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from core.errors import Terminated, UserError


def _positive_metres(ctx: click.Context, param: click.Parameter, value: float | None) -> Any:
    if value is not None and not 0 < value < float("inf"):
        raise click.BadParameter("must be a positive number of metres, e.g. 1.6")
    return value


def _camera_height(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    """``--camera-height``: metres > 0, or ``auto`` (estimated from the people)."""
    if value is None or value.strip().lower() == "auto":
        return value and "auto"
    try:
        metres = float(value)
    except ValueError:
        metres = float("nan")
    if not 0 < metres < float("inf"):
        raise click.BadParameter("must be a positive number of metres (e.g. 1.6) or auto")
    return metres


class _DatasetOption(click.Option):
    """``--dataset``: its help lists the dataset readers, asked of ``reid`` only when shown."""

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        import reid

        names = reid.list_datasets()
        # "regdb-1".."regdb-10" beside "regdb" are its numbered splits: shown as regdb[-1..10]
        splits: dict[str, list[int]] = {}
        for name in names:
            base, _, k = name.rpartition("-")
            if base in names and k.isdigit():
                splits.setdefault(base, []).append(int(k))
        shown = [
            f"{n}[-{min(splits[n])}..{max(splits[n])}]" if n in splits else n
            for n in names
            if not (n.rpartition("-")[0] in splits and n.rpartition("-")[2].isdigit())
        ]
        self.help = "Dataset reader: " + ", ".join(shown) + "."
        return super().get_help_record(ctx)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="mplt")
def cli() -> None:
    """Multi-person localization and tracking in 360° panoramic video."""


@cli.command()
@click.argument("sources", nargs=-1, required=True, metavar="SOURCE...")
@click.option(
    "-o",
    "--out",
    type=click.Path(file_okay=False),
    help="Run directory [default: runs/<video name>]; with many videos their parent [runs].",
)
@click.option(
    "-c",
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help="YAML config (see configs/track.yaml).",
)
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override one config value, e.g. --set tracker.n_init=5 (repeatable).",
)
@click.option(
    "--camera-height",
    callback=_camera_height,
    metavar="METRES|auto",
    help="Camera height above the ground, metres [default: auto, estimated from the people].",
)
@click.option(
    "--calib",
    type=click.Path(dir_okay=False),
    help="Pinhole calibration file (perspective videos).",
)
@click.option("--device", help="Inference device: auto, cpu, cuda, cuda:N.")
@click.option(
    "--detections",
    type=click.Path(dir_okay=False),
    help="Track these MOTChallenge detections instead of running the detector.",
)
@click.option(
    "--reid",
    type=click.Path(dir_okay=False),
    help="Appearance from a trained re-ID checkpoint (`mplt train`) instead of colour statistics.",
)
@click.option(
    "--fuse-colour",
    is_flag=True,
    help="With --reid: the checkpoint's features side by side with the colour statistics "
    "(embedder.kind=fused), as `mplt track --adapt` tracks again.",
)
@click.option(
    "--start",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="First frame to process (0-based).",
)
@click.option("--max-frames", type=click.IntRange(min=1), help="Process at most this many frames.")
@click.option(
    "--detect-every",
    type=click.IntRange(min=1),
    metavar="N",
    help="Detect on every N-th frame only; the tracker predicts between [detect_every: 1].",
)
@click.option("--render/--no-render", default=None, help="Also write an annotated video.mp4.")
@click.option(
    "--overwrite",
    is_flag=True,
    help="Replace the run in --out, once the new run has finished.",
)
@click.option(
    "--allow-empty-detections",
    is_flag=True,
    help="A --detections file without rows is no error (nobody in the video).",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    help="Many videos: how many are tracked at once, each in its own process [fleet.workers].",
)
@click.option(
    "--retries",
    type=click.IntRange(min=0),
    help="Many videos: tries again for a video that failed [fleet.retries].",
)
@click.option(
    "--ray",
    "ray_address",
    is_flag=False,
    flag_value="local",
    metavar="[ADDRESS]",
    help="Many videos: run them as Ray tasks, on the cluster at ADDRESS or a local Ray.",
)
@click.option(
    "--shared-model",
    is_flag=True,
    help="Many videos: --workers of them in threads of one process sharing one detector model.",
)
@click.option(
    "--adapt",
    is_flag=True,
    help="Then fine-tune the re-ID encoder on the run's own tracklets and track again, while "
    "that improves (the adapt section: adapt.iterations, adapt.stop_metric).",
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
def track(
    sources: tuple[str, ...],
    out: str | None,
    config_path: str | None,
    overrides: tuple[str, ...],
    camera_height: float | str | None,
    calib: str | None,
    device: str | None,
    detections: str | None,
    reid: str | None,
    fuse_colour: bool,
    start: int,
    max_frames: int | None,
    detect_every: int | None,
    render: bool | None,
    overwrite: bool,
    allow_empty_detections: bool,
    workers: int | None,
    retries: int | None,
    ray_address: str | None,
    shared_model: bool,
    adapt: bool,
    quiet: bool,
) -> None:
    """Detect, localize and track every person in SOURCE.

    SOURCE is a video file, a folder of images, a stream URL or a webcam index. Writes
    tracks.txt (MOTChallenge + ground x,y,z in metres), tracks.jsonl, config.yaml and
    summary.json into the run directory. Several SOURCEs, a folder of videos, a glob or
    @LIST (a file with one video per line) track each video into its own run directory under
    --out, with index.csv / index.json beside them; a rerun skips the finished ones.
    """
    from mplt.api import track as track_video
    from mplt.fleet import expand_inputs

    videos, many = expand_inputs(sources)
    flags = list(overrides)
    if device is not None:
        flags += [f"detector.device={device}", f"embedder.device={device}"]
    if reid is not None:
        flags += ["embedder.kind=reid", f"embedder.checkpoint={reid}"]
    if fuse_colour:
        flags.append("embedder.kind=fused")
    if render is not None:
        flags.append(f"output.render={str(render).lower()}")
    if detect_every is not None:
        flags.append(f"detect_every={detect_every}")
    if workers is not None:
        flags.append(f"fleet.workers={workers}")
    if retries is not None:
        flags.append(f"fleet.retries={retries}")
    if many:
        if adapt:
            raise UserError("--adapt takes one video; adapt each video's run with `mplt adapt`")
        _track_many(
            videos,
            out,
            config_path,
            flags,
            camera_height,
            calib,
            detections,
            start,
            max_frames,
            overwrite,
            allow_empty_detections,
            ray_address,
            shared_model,
            quiet,
        )
        return
    if workers is not None or retries is not None or ray_address is not None or shared_model:
        raise UserError(
            "--workers, --retries, --ray and --shared-model are for many videos; give several "
            "SOURCEs, a folder of videos or @list.txt"
        )
    if adapt:
        _track_adapt(
            videos[0],
            out,
            config_path,
            flags,
            camera_height,
            calib,
            detections,
            start,
            max_frames,
            overwrite,
            allow_empty_detections,
            quiet,
        )
        return
    summary = track_video(
        videos[0],
        config=config_path,
        out=out,
        camera_height=camera_height,
        calib=calib,
        detections=detections,
        start=start,
        max_frames=max_frames,
        progress=not quiet,
        overrides=flags,
        overwrite=overwrite,
        allow_empty_detections=allow_empty_detections,
    ).summary
    counts = summary["counts"]
    click.echo(
        f"{summary['frames_processed']} frames, {counts['tracks_confirmed']} people tracked, "
        f"{summary['timing']['fps']} frames/s -> {summary['run_dir']}"
    )


def _track_many(
    videos: list[str],
    out: str | None,
    config_path: str | None,
    flags: list[str],
    camera_height: float | str | None,
    calib: str | None,
    detections: str | None,
    start: int,
    max_frames: int | None,
    overwrite: bool,
    allow_empty_detections: bool,
    ray_address: str | None,
    shared_model: bool,
    quiet: bool,
) -> None:
    """``mplt track`` over many videos (:mod:`mplt.fleet`)."""
    from mplt.api import resolve_track_config
    from mplt.fleet import Settings, track_many

    if detections is not None:
        raise UserError(
            "--detections belongs to one video; track the videos one by one to give each its "
            "detections"
        )
    if shared_model and ray_address is not None:
        raise UserError("--shared-model runs in this process, not on Ray; drop one of them")
    cfg = resolve_track_config(config_path, flags, camera_height=camera_height, calib=calib)
    settings = Settings(
        cfg,
        {
            "start": start,
            "max_frames": max_frames,
            "allow_empty_detections": allow_empty_detections,
        },
        ray_address,
    )
    rows = track_many(
        videos,
        settings,
        out or "runs",
        backend="ray" if ray_address is not None else "shared" if shared_model else "pool",
        overwrite=overwrite,
        progress=not quiet,
    )
    frames = sum(r["frames"] for r in rows)
    click.echo(f"{len(rows)} videos, {frames} frames -> {Path(out or 'runs') / 'index.csv'}")


def _track_adapt(
    video: str,
    out: str | None,
    config_path: str | None,
    flags: list[str],
    camera_height: float | str | None,
    calib: str | None,
    detections: str | None,
    start: int,
    max_frames: int | None,
    overwrite: bool,
    allow_empty_detections: bool,
    quiet: bool,
) -> None:
    """``mplt track --adapt`` (:func:`mplt.adapt.track_and_adapt`)."""
    from mplt.adapt import track_and_adapt
    from mplt.api import resolve_track_config

    cfg = resolve_track_config(config_path, flags, camera_height=camera_height, calib=calib)
    report = track_and_adapt(
        video,
        cfg,
        out,
        progress=not quiet,
        detections=detections,
        start=start,
        max_frames=max_frames,
        overwrite=overwrite,
        allow_empty_detections=allow_empty_detections,
    )
    kept = sum(1 for r in report["rounds"][1:] if r["kept"])
    click.echo(
        f"{kept} adaptation round(s) kept ({report['stopped']}); best tracks -> "
        f"{report['best_run']}"
    )


@cli.command()
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option(
    "--video",
    type=click.Path(dir_okay=False),
    help="The source video, when it moved since the run.",
)
@click.option(
    "-c",
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help="YAML config whose adapt section is used [default: the run's config.yaml].",
)
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override an adapt setting, e.g. --set adapt.epochs=3 (repeatable).",
)
@click.option(
    "--init",
    type=click.Path(dir_okay=False),
    help="Start from this re-ID checkpoint (`mplt train`, an adapted.pt) [default: the offline "
    "ImageNet weights].",
)
@click.option("--device", help="Training device: auto, cpu, cuda, cuda:N.")
@click.option(
    "--overwrite",
    is_flag=True,
    help="Replace RUN_DIR/adapt, once the new adaptation has finished.",
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
def adapt(
    run_dir: str,
    video: str | None,
    config_path: str | None,
    overrides: tuple[str, ...],
    init: str | None,
    device: str | None,
    overwrite: bool,
    quiet: bool,
) -> None:
    """Fine-tune the re-ID encoder on a finished run's own tracklets (no labels).

    Writes RUN_DIR/adapt/: adapted.pt (track with it: mplt track VIDEO --reid
    RUN_DIR/adapt/adapted.pt --fuse-colour), metrics.csv, adapt.png, adapt.json and adapt.yaml.
    """
    from core.config import load_config
    from mplt.adapt import adapt_run, retrack_colour_weight
    from mplt.config import TrackConfig

    flags = list(overrides)
    if init is not None:
        flags.append(f"adapt.init={init}")
    if device is not None:
        flags.append(f"adapt.device={device}")
    saved = Path(run_dir) / "config.yaml"
    if config_path is None and saved.is_file():
        config_path = str(saved)
    cfg = load_config(TrackConfig, config_path, flags)
    summary = adapt_run(
        run_dir,
        cfg.adapt,
        video=video,
        overwrite=overwrite,
        progress=not quiet,
        colour_weight=retrack_colour_weight(cfg),
    )
    click.echo(
        f"{summary['pseudo_ids']} pseudo-identities from {summary['tracklets']} tracks, "
        f"agreement {100 * summary['agreement_before']:.1f} -> "
        f"{100 * summary['agreement_after']:.1f} % mAP, {summary['seconds']} s -> "
        f"{summary['adapted']}"
    )


@cli.command()
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option(
    "--video",
    type=click.Path(dir_okay=False),
    help="The source video, when it moved since the run.",
)
@click.option(
    "-o",
    "--out",
    type=click.Path(dir_okay=False),
    help="Output file [default: RUN_DIR/video.mp4, or RUN_DIR/snapshot_<FRAME>.png].",
)
@click.option(
    "--snapshot",
    type=click.IntRange(min=1),
    metavar="FRAME",
    help="Write one PNG of this frame (1-based) instead of a video.",
)
@click.option(
    "--layout",
    type=click.Choice(["side", "below", "map", "pano"]),
    help="Panorama beside the bird's-eye map, above it, the map or the panorama alone.",
)
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a render setting, e.g. --set render.map_range_m=15 (repeatable).",
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
def render(
    run_dir: str,
    video: str | None,
    out: str | None,
    snapshot: int | None,
    layout: str | None,
    overrides: tuple[str, ...],
    quiet: bool,
) -> None:
    """Draw a run's tracks on its video, with a bird's-eye map, without re-running detection."""
    from core.config import load_config
    from mplt.config import TrackConfig
    from mplt.render import render_run

    flags = list(overrides) + ([f"render.layout={layout}"] if layout else [])
    saved = Path(run_dir) / "config.yaml"
    cfg = load_config(TrackConfig, saved if saved.is_file() else None, flags).render
    path = render_run(run_dir, video=video, out=out, cfg=cfg, snapshot=snapshot, progress=not quiet)
    click.echo(f"wrote {path}")


@cli.command()
@click.argument("out_dir", type=click.Path(file_okay=False))
@click.option(
    "--scenario",
    type=click.Choice(["mixed", "crossing", "groups", "seam", "crowd"]),
    default="mixed",
    show_default=True,
    help="What the people do.",
)
@click.option(
    "--people", type=click.IntRange(min=0), help="Number of people [default: the scenario's]."
)
@click.option("--frames", type=click.IntRange(min=1), default=200, show_default=True)
@click.option("--fps", type=click.FloatRange(min=0, min_open=True), default=10.0, show_default=True)
@click.option(
    "--width",
    type=click.IntRange(min=16),
    default=1920,
    show_default=True,
    help="Panorama width in pixels (height = width / 2).",
)
@click.option(
    "--camera-height",
    type=float,
    callback=_positive_metres,
    default=2.0,
    show_default=True,
    help="Metres above the ground.",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--video/--no-video", default=True, show_default=True, help="Write video.mp4.")
@click.option(
    "--detections/--no-detections",
    default=True,
    show_default=True,
    help="Write det.txt: noisy detections derived from the ground truth.",
)
@click.option(
    "--recall",
    type=click.FloatRange(0, 1),
    default=0.9,
    show_default=True,
    help="Detection probability of a fully visible person.",
)
@click.option(
    "--false-positives",
    type=click.FloatRange(min=0),
    default=0.2,
    show_default=True,
    help="Mean false detections per frame.",
)
@click.option(
    "--jitter",
    type=click.FloatRange(min=0),
    default=0.04,
    show_default=True,
    help="Box noise, as a fraction of the box size.",
)
def synth(
    out_dir: str,
    scenario: str,
    people: int | None,
    frames: int,
    fps: float,
    width: int,
    camera_height: float,
    seed: int,
    video: bool,
    detections: bool,
    recall: float,
    false_positives: float,
    jitter: float,
) -> None:
    """Write a synthetic 360° sequence with exact ground truth into OUT_DIR.

    video.mp4, gt.txt (MOTChallenge + ground x, y in metres), det.txt (noisy detections:
    misses, false positives, jitter, occlusion-dependent recall) and meta.json. The same
    options and seed always give the same files.
    """
    from mplt.synthetic import write_sequence

    meta = write_sequence(
        out_dir,
        scenario=scenario,
        width=width,
        camera_height=camera_height,
        num_frames=frames,
        fps=fps,
        num_people=people,
        seed=seed,
        video=video,
        detections=detections,
        recall=recall,
        false_positives=false_positives,
        jitter=jitter,
    )
    stats = meta.get("stats", {})
    details = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in stats.items())
    click.echo(f"wrote {out_dir}" + (f" ({details})" if details else ""))


@cli.command()
@click.argument("model", required=False)
@click.option("--list", "list_models", is_flag=True, help="List the models that can be trained.")
@click.option("--data-dir", type=click.Path(file_okay=False), help="Dataset folder.")
@click.option("--dataset", cls=_DatasetOption)
@click.option(
    "-c",
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help="YAML config [default: the model's defaults, as in configs/reid/MODEL.yaml].",
)
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a config value, e.g. --set train.epochs=60 (repeatable).",
)
@click.option(
    "-o",
    "--out",
    type=click.Path(file_okay=False),
    help="Run directory [default: runs/reid/MODEL-DATASET].",
)
@click.option("--resume", is_flag=True, help="Continue the run in --out exactly where it stopped.")
@click.option(
    "--pretrained",
    type=click.Path(dir_okay=False),
    help="Backbone weights file (when ImageNet weights cannot be downloaded).",
)
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:N.")
@click.option(
    "--nproc",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Train on this many processes of this machine (DistributedDataParallel through "
    "torchrun; one per GPU); data.batch_size is per process.",
)
@click.option("--quiet", is_flag=True, help="No progress bars.")
def train(
    model: str | None,
    list_models: bool,
    data_dir: str | None,
    dataset: str | None,
    config_path: str | None,
    overrides: tuple[str, ...],
    out: str | None,
    resume: bool,
    pretrained: str | None,
    device: str,
    nproc: int,
    quiet: bool,
) -> None:
    """Train re-ID MODEL on a dataset; checkpoints, metrics.csv and curves.png go to the run dir.

    Several processes: --nproc N here, or torchrun (any number of machines), e.g.
    torchrun --nnodes 2 --nproc-per-node 4 ... -m cli train MODEL ... (see the README)."""
    import reid
    from core.config import load_config
    from mplt.io.files import unique_dir

    if list_models:
        click.echo("\n".join(reid.list_methods()))
        return
    if not model or not data_dir or not dataset:
        raise click.UsageError("give MODEL, --data-dir and --dataset (or --list)")
    cfg = load_config(reid.config_class(model), config_path, overrides)
    if out is None:
        if resume:
            raise click.UsageError("--resume needs --out: the run directory to continue")
        out = str(unique_dir(Path("runs") / "reid" / f"{model}-{dataset}"))
    if nproc > 1:
        from reid.engine.distributed import launch_local

        reid.check_train(
            model, cfg, data_dir, dataset, out, resume=resume, pretrained=pretrained, world=nproc
        )
        args = ["-m", "cli", "train", model, "--data-dir", data_dir, "--dataset", dataset]
        args += ["--out", out, "--device", device]
        args += ["--config", config_path] if config_path else []
        args += [a for kv in overrides for a in ("--set", kv)]
        args += ["--pretrained", pretrained] if pretrained else []
        args += ["--resume"] * resume + ["--quiet"] * quiet
        launch_local(nproc, args)
        click.echo(f"trained {model} on {nproc} processes -> {out}")
        return
    run = reid.train(
        model,
        cfg,
        data_dir,
        dataset,
        out,
        resume=resume,
        pretrained=pretrained,
        device=device,
        progress=not quiet,
    )
    if os.environ.get("RANK", "0") == "0":
        click.echo(f"trained {model} -> {run} (best.pt, last.pt, metrics.csv, curves.png)")


#: Metrics ``mplt eval-reid`` prints, where the dataset's protocol reports them.
_REID_METRICS = ("mAP", "rank1", "rank5", "rank10", "mINP", "acc@1", "acc@10", "mAP@all", "P@100")


@cli.command("eval-reid")
@click.argument("checkpoint", type=click.Path(dir_okay=False))
@click.option("--data-dir", required=True, type=click.Path(file_okay=False))
@click.option("--dataset", required=True, cls=_DatasetOption)
@click.option(
    "-o",
    "--out",
    type=click.Path(file_okay=False),
    help="Where ranking.png and eval.json go [default: beside the checkpoint].",
)
@click.option("--rerank", is_flag=True, help="k-reciprocal re-ranking.")
@click.option(
    "--mode",
    type=click.Choice(["all", "indoor"]),
    default="all",
    show_default=True,
    help="SYSU-MM01 search mode.",
)
@click.option("--device", default="auto", show_default=True)
def eval_reid(
    checkpoint: str,
    data_dir: str,
    dataset: str,
    out: str | None,
    rerank: bool,
    mode: str,
    device: str,
) -> None:
    """Retrieval quality of a re-ID checkpoint: CMC rank-k, mAP, mINP, and a ranking picture.

    The protocol follows the dataset: Market-style (same identity and camera removed) for
    market1501/dukemtmc/msmt17/folder, CUHK03 single-gallery-shot CMC for dancereid, 10 random
    single-shot trials for sysu-mm01 (all or indoor search), both directions for regdb and llcm.
    """
    import reid

    result = reid.evaluate(
        checkpoint, data_dir, dataset, out_dir=out, rerank=rerank, device=device, mode=mode
    )
    shown = {k: result[k] for k in _REID_METRICS if isinstance(result.get(k), float)}
    click.echo("  ".join(f"{k} {100 * v:.1f}" for k, v in shown.items()))
    for key in ("protocol", "num_query", "num_gallery", "ranking_png"):
        if key in result:
            click.echo(f"{key}: {result[key]}")


@cli.command()
@click.argument("checkpoint", type=click.Path(dir_okay=False))
@click.option(
    "-o",
    "--out",
    type=click.Path(dir_okay=False),
    help="ONNX file [default: beside the checkpoint, .onnx].",
)
@click.option("--opset", type=click.IntRange(min=11), default=17, show_default=True)
def export(checkpoint: str, out: str | None, opset: int) -> None:
    """Export a re-ID encoder to ONNX and check that ONNX and torch features agree."""
    import reid

    target = out or str(Path(checkpoint).with_suffix(".onnx"))
    info = reid.export_onnx(checkpoint, target, opset=opset, check=True)
    click.echo(
        f"wrote {info['path']} ({info['dim']}-d; max |onnx - torch| = "
        f"{info['max_abs_diff']:.2e} with {info['runtime']})"
    )


@cli.command("eval")
@click.option(
    "--gt",
    required=True,
    type=click.Path(),
    help="Ground truth: a MOT file, or a folder of sequences.",
)
@click.option(
    "--pred",
    required=True,
    type=click.Path(),
    help="Predictions: a run directory, a MOT file, or a folder of sequences.",
)
@click.option(
    "--width",
    type=click.FloatRange(min=0, min_open=True),
    help="Panorama width: boxes may match across the seam [default: from the run's summary.json].",
)
@click.option(
    "--iou",
    "iou_threshold",
    type=click.FloatRange(0, 1, min_open=True),
    default=0.5,
    show_default=True,
    help="IoU for a match (CLEAR, Identity; HOTA averages its own thresholds).",
)
@click.option(
    "--json",
    "json_out",
    type=click.Path(dir_okay=False, allow_dash=True),
    help="Also write the metrics as JSON ('-' for stdout only).",
)
def eval_command(
    gt: str, pred: str, width: float | None, iou_threshold: float, json_out: str | None
) -> None:
    """Score tracks against ground truth: HOTA, MOTA, IDF1, ID switches, FP, FN...

    With ground positions on both sides (MOT columns 8-9), also the ground-plane
    localization error of matched pairs in metres.
    """
    import json

    from core.files import write_atomic
    from mplt.eval import run_eval

    report = run_eval(gt, pred, width=width, iou_threshold=iou_threshold)
    if json_out == "-":
        click.echo(json.dumps(report.to_dict(), indent=2))
        return
    click.echo(report.to_text(), nl=False)
    if json_out:
        try:
            Path(json_out).parent.mkdir(parents=True, exist_ok=True)
            write_atomic(json_out, json.dumps(report.to_dict(), indent=2))
        except OSError as exc:
            raise UserError(
                f"cannot write {json_out} ({exc.strerror}); choose another --json file"
            ) from None


def main(args: list[str] | None = None) -> None:
    """Console entry point: user errors exit with code 2 and one line, no traceback.

    Args:
        args: the command line after ``mplt``; default ``sys.argv[1:]``.
    """
    try:
        cli.main(args=args, standalone_mode=False)
    except (click.exceptions.Abort, KeyboardInterrupt) as exc:
        # click turns Ctrl-C (and SIGTERM, a Terminated) into Abort; the pipeline has already
        # finalised its outputs.
        if isinstance(exc, Terminated) or isinstance(exc.__context__, Terminated):
            click.echo("terminated: outputs are valid up to the last finished frame", err=True)
            sys.exit(143)
        click.echo("interrupted: outputs are valid up to the last finished frame", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        # One line, like every other user error (click's default adds a usage block).
        hint = "; see 'mplt --help'" if isinstance(exc, click.UsageError) else ""
        click.echo(f"error: {exc.format_message()}{hint}", err=True)
        sys.exit(exc.exit_code)
    except UserError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except OSError as exc:
        # A place that cannot be read or written (a missing folder, permissions, a full
        # disk) is the user's to fix, wherever in a command it shows.
        where = f" {exc.filename}" if exc.filename else ""
        # The last line: an error re-raised from a data-loading worker carries its traceback.
        lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
        reason = exc.strerror or (lines[-1] if lines else type(exc).__name__)
        click.echo(
            f"error: cannot read or write{where} ({reason}); check the path (replace a damaged "
            "file), its permissions and the free disk space",
            err=True,
        )
        sys.exit(2)


if __name__ == "__main__":
    main()
