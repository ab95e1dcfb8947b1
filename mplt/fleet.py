"""``mplt track`` over many videos: one run directory per video, a table of results, resume.

The inputs (:func:`expand_inputs`): several paths, a folder that holds video files (a folder
of images stays one sequence), a glob pattern, or ``@FILE``, a list file with one path per line
(``#`` comments; relative paths are relative to the list file). Each video gets the run
directory ``PARENT/<its name>`` (a short hash of its path is added when two names collide, so
the mapping does not depend on the order of the inputs), and ``PARENT`` holds

* ``index.csv`` and ``index.json``: one row per video (video, run directory, status, frames,
  people, fps, attempts, error), rewritten atomically each time a video ends;
* ``config.yaml``: the resolved configuration every video ran with.

A rerun skips the videos whose run directory says ``finished`` (``summary.json``) and redoes
the others, replacing what an interrupted or failed attempt left (``--overwrite`` redoes
everything). A failed video is tried again ``fleet.retries`` times; the others go on. One
progress bar counts the frames of all videos, read from the ``summary.json`` that each run
rewrites about every second.

Backends (:data:`BACKENDS`):

* ``pool`` (the default): ``fleet.workers`` videos at a time on this machine, each in a fresh
  process of its own (``spawn``): a crash or a kill of one worker takes only its video with it,
  and a video's output is what ``mplt track VIDEO`` alone writes, byte for byte.
* ``shared`` (``--shared-model``): ``fleet.workers`` videos at a time in threads of this
  process sharing one detector model, the patches of all of them batched into its forward
  passes (:mod:`mplt.detection.shared`); each video's output is still its own run's.
* ``ray``: the same videos as Ray Core tasks (one task per video, ``fleet.ray_num_cpus`` /
  ``fleet.ray_num_gpus`` each) on a Ray cluster (``--ray ADDRESS``) or a local Ray instance
  (``--ray``). Tasks rather than actors that keep a model loaded: loading the detector takes a
  second against minutes of tracking per video, and a task that dies (a lost node, an
  out-of-memory kill) takes only its own video; Ray's scheduler places the tasks by the
  resources they ask for. The run directories must be on a filesystem that every node sees.

A backend is a function ``(jobs, settings, slots, on_done, tick) -> None`` that runs every job
(in any order, ``slots`` at a time at most), calls ``on_done(job, outcome)`` as each one ends
and ``tick()`` about every half second (the progress bar).
"""

from __future__ import annotations

import csv
import glob
import hashlib
import io
import json
import multiprocessing
import os
import queue
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.config import dump_config
from core.errors import UserError
from core.files import write_atomic
from core.registry import Registry
from mplt.config import TrackConfig
from mplt.io.sources import IMAGE_EXTENSIONS

#: Files taken for videos in a folder or a glob.
VIDEO_EXTENSIONS = frozenset(
    {".mp4", ".mov", ".mkv", ".avi", ".m4v", ".webm", ".mts", ".ts", ".mpg", ".mpeg", ".insv"}
)
INDEX_COLUMNS = ("video", "run_dir", "status", "frames", "people", "fps", "attempts", "error")


@dataclass(frozen=True)
class Job:
    """One video of a many-video run."""

    video: str
    run_dir: Path


@dataclass(frozen=True)
class Settings:
    """What every job runs with: the resolved config and ``mplt.track``'s keyword arguments."""

    config: TrackConfig
    track_kwargs: dict[str, Any] = field(default_factory=dict)
    ray_address: str | None = None


@dataclass(frozen=True)
class Outcome:
    """How one attempt of a job ended."""

    ok: bool
    error: str | None = None


Backend = Callable[
    [list[Job], Settings, int, Callable[[Job, Outcome], None], Callable[[], None]], None
]
BACKENDS: Registry[Backend] = Registry("fleet backend")


def _is_glob(spec: str) -> bool:
    return any(c in spec for c in "*?[") and not Path(spec).exists()


def _folder_videos(folder: Path) -> list[str] | None:
    """The videos of ``folder`` (sorted), or None when it is a folder of images."""
    files = [p for p in folder.iterdir() if p.is_file()]
    videos = sorted(str(p) for p in files if p.suffix.lower() in VIDEO_EXTENSIONS)
    images = [p for p in files if p.suffix.lower() in IMAGE_EXTENSIONS]
    if videos and images:
        raise UserError(
            f"folder {folder} holds both videos and images; put the image sequence in a folder "
            "of its own, or list the videos (@list.txt)"
        )
    return videos or None  # images, or nothing: one sequence, which says what it lacks


def expand_inputs(specs: Sequence[str]) -> tuple[list[str], bool]:
    """The inputs of ``mplt track`` and whether they make a many-video run.

    Returns:
        (sources, many): ``many`` is False for one ordinary source (a video, a folder of
        images, a stream), which ``sources`` then holds alone.

    Raises:
        UserError: a list file, glob or folder that yields nothing, a missing list file, or a
            folder mixing videos and images.
    """
    if not specs:
        raise UserError("no input given; pass a video, a folder, a glob or @list.txt")
    out: list[str] = []
    many = len(specs) > 1
    for spec in specs:
        if spec.startswith("@"):
            listing = Path(spec[1:])
            if not listing.is_file():
                raise UserError(f"list file {listing} does not exist; check the path after @")
            lines = listing.read_text(encoding="utf-8").splitlines()
            entries = [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
            if not entries:
                raise UserError(f"list file {listing} names no videos; one path per line")
            out += [e if "://" in e else str(listing.parent / e) for e in entries]
            many = True
        elif _is_glob(spec):
            found = sorted(glob.glob(spec))
            if not found:
                raise UserError(f"no file matches {spec!r}; check the pattern")
            out += found
            many = True
        elif Path(spec).is_dir():
            videos = _folder_videos(Path(spec))
            if videos is None:
                out.append(spec)
            else:
                out += videos
                many = True
        else:
            out.append(spec)
    if len(set(out)) != len(out):
        raise UserError("a video is listed twice; list each video once")
    return out, many


def plan(videos: Sequence[str], parent: Path) -> list[Job]:
    """One job per video, each with its own run directory in ``parent``."""
    names = [Path(v.rstrip("/")).stem or "video" for v in videos]
    clash = {n for n in names if names.count(n) > 1}
    jobs = []
    for video, name in zip(videos, names, strict=True):
        if name in clash:
            digest = hashlib.sha1(os.path.abspath(video).encode()).hexdigest()[:8]
            name = f"{name}-{digest}"
        jobs.append(Job(video, parent / name))
    return jobs


def _summary(run_dir: Path) -> dict[str, Any] | None:
    try:
        return json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _row(job: Job, summary: dict[str, Any] | None, attempts: int, error: str | None) -> dict:
    s = summary or {}
    ok = s.get("status") == "finished" and error is None
    return {
        "video": job.video,
        "run_dir": str(job.run_dir),
        "status": "finished" if ok else "failed",
        "frames": s.get("frames_processed", 0) if ok else 0,
        "people": (s.get("counts") or {}).get("tracks_confirmed", 0) if ok else 0,
        "fps": (s.get("timing") or {}).get("fps", 0.0) if ok else 0.0,
        "attempts": attempts,
        "error": error or "",
    }


def write_index(parent: Path, rows: list[dict]) -> None:
    """``index.csv`` and ``index.json`` of ``rows`` in ``parent``, each written atomically."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=INDEX_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_atomic(parent / "index.csv", buffer.getvalue())
    write_atomic(parent / "index.json", json.dumps(rows, indent=2) + "\n")


# -- the work of one job, wherever it runs --------------------------------------------------


def run_job(job: Job, settings: Settings, overwrite: bool, shared: Any = None) -> Outcome:
    """Track one video into its run directory (what every backend runs); ``shared``: the
    detector model shared with the jobs in other threads."""
    from mplt.api import track

    try:
        track(
            job.video,
            config=settings.config,
            out=job.run_dir,
            progress=False,
            overwrite=overwrite,
            shared_detector=shared,
            **settings.track_kwargs,
        )
    except UserError as exc:
        return Outcome(False, str(exc))
    except Exception as exc:  # a crash in one video must not take the others down
        return Outcome(False, f"{type(exc).__name__}: {exc}")
    return Outcome(True)


def _child(job: Job, settings: Settings, overwrite: bool, results: Any, threads: int) -> None:
    # Each worker gets its share of the cores: OpenCV and torch would each take them all, and
    # N workers would then fight over N times the cores (Ray's tasks are limited the same way).
    import cv2
    import torch

    cv2.setNumThreads(threads)
    torch.set_num_threads(threads)
    results.put((str(job.run_dir), run_job(job, settings, overwrite)))


def _overwrite(job: Job) -> bool:
    """An earlier attempt left files (failed, interrupted): the new one replaces them."""
    return job.run_dir.is_dir() and any(job.run_dir.iterdir())


@BACKENDS.register("pool")
def run_pool(
    jobs: list[Job],
    settings: Settings,
    slots: int,
    on_done: Callable[[Job, Outcome], None],
    tick: Callable[[], None],
) -> None:
    """Each job in a fresh ``spawn`` process, ``slots`` at a time."""
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    threads = max(1, (os.cpu_count() or 1) // max(1, min(slots, len(jobs))))
    waiting = list(jobs)
    running: dict[str, tuple[Job, Any]] = {}
    reported: dict[str, Outcome] = {}
    while waiting or running:
        while waiting and len(running) < slots:
            job = waiting.pop(0)
            args = (job, settings, _overwrite(job), results, threads)
            proc = ctx.Process(target=_child, args=args)
            proc.start()
            running[str(job.run_dir)] = (job, proc)
        try:
            key, outcome = results.get(timeout=0.5)
            reported[key] = outcome
        except queue.Empty:
            pass
        tick()
        for key, (job, proc) in list(running.items()):
            if proc.is_alive():
                continue
            proc.join()
            outcome = reported.pop(key, None)
            if outcome is None:
                try:  # the result may still be in the queue's pipe
                    k, o = results.get(timeout=1.0)
                    reported[k] = o
                    outcome = reported.pop(key, None)
                except queue.Empty:
                    pass
            if outcome is None:
                code = proc.exitcode
                why = (
                    f"killed by signal {-code}" if code is not None and code < 0 else f"exit {code}"
                )
                outcome = Outcome(False, f"the worker process died ({why})")
            del running[key]
            on_done(job, outcome)


@BACKENDS.register("ray")
def run_ray(
    jobs: list[Job],
    settings: Settings,
    slots: int,
    on_done: Callable[[Job, Outcome], None],
    tick: Callable[[], None],
) -> None:
    """Each job a Ray Core task (``fleet.ray_num_cpus`` / ``ray_num_gpus``)."""
    try:
        import ray
    except ImportError:
        raise UserError(
            "--ray needs Ray: pip install 'ray>=2.40' (or pip install -e '.[ray]')"
        ) from None
    if not ray.is_initialized():
        address = settings.ray_address
        try:
            if address in (None, "local"):
                ray.init(num_cpus=max(slots, 1), include_dashboard=False, log_to_driver=False)
            else:
                ray.init(address=address, include_dashboard=False, log_to_driver=False)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise UserError(
                f"cannot reach the Ray cluster at {address} ({exc}); check --ray"
            ) from None
    fleet = settings.config.fleet
    task = ray.remote(num_cpus=fleet.ray_num_cpus, num_gpus=fleet.ray_num_gpus, max_retries=0)(
        run_job
    )
    waiting = list(jobs)
    running: dict[Any, Job] = {}
    while waiting or running:
        while waiting and len(running) < slots:
            job = waiting.pop(0)
            running[task.remote(job, settings, _overwrite(job))] = job
        ready, _ = ray.wait(list(running), num_returns=1, timeout=0.5)
        tick()
        for ref in ready:
            job = running.pop(ref)
            try:
                outcome = ray.get(ref)
            except ray.exceptions.RayError as exc:  # the worker died with the task
                outcome = Outcome(False, f"the Ray task failed ({type(exc).__name__})")
            on_done(job, outcome)


@BACKENDS.register("shared")
def run_shared(
    jobs: list[Job],
    settings: Settings,
    slots: int,
    on_done: Callable[[Job, Outcome], None],
    tick: Callable[[], None],
) -> None:
    """``slots`` jobs at a time, each in a thread of this process, all detecting through one
    model (:class:`mplt.detection.SharedDetector`): the patches of all the videos running go
    through it together, each video keeps its own tracker and run directory."""
    import threading

    from mplt.detection import shared_model

    shared = shared_model(settings.config.detector)
    done: queue.Queue[tuple[Job, Outcome]] = queue.Queue()

    def work(job: Job, overwrite: bool) -> None:
        with shared.member():
            outcome = run_job(job, settings, overwrite, shared)
        done.put((job, outcome))

    waiting = list(jobs)
    running = 0
    while waiting or running:
        while waiting and running < slots:
            job = waiting.pop(0)
            threading.Thread(target=work, args=(job, _overwrite(job)), daemon=True).start()
            running += 1
        try:
            job, outcome = done.get(timeout=0.5)
        except queue.Empty:
            tick()
            continue
        running -= 1
        tick()
        on_done(job, outcome)


# -- the whole run -------------------------------------------------------------------------


class _Bar:
    """One progress bar over the frames of all videos (tqdm on stderr; silent when off)."""

    def __init__(self, total: int | None, enabled: bool) -> None:
        self._bar = None
        if enabled:
            from tqdm import tqdm

            self._bar = tqdm(total=total, unit="frame", dynamic_ncols=True, file=sys.stderr)

    def show(self, frames: int, videos_done: int, videos: int) -> None:
        if self._bar is not None:
            self._bar.n = frames
            self._bar.set_description(f"{videos_done}/{videos} videos", refresh=False)
            self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _frames_so_far(job: Job) -> int:
    for folder in (job.run_dir.with_name(f"{job.run_dir.name}.new"), job.run_dir):
        s = _summary(folder)
        if s is not None and s.get("status") == "running":
            return int(s.get("frames_processed", 0))
    return 0


def _total_frames(videos: Sequence[str], max_frames: int | None) -> int | None:
    from mplt.io.sources import open_source

    total = 0
    for video in videos:
        try:
            with open_source(video, max_frames=max_frames) as src:
                n = src.info.total_frames
        except UserError:
            n = None  # reported when the video runs
        if n is None:
            return None
        total += n if max_frames is None else min(n, max_frames)
    return total


def track_many(
    videos: Sequence[str],
    settings: Settings,
    parent: str | Path,
    *,
    backend: str = "pool",
    overwrite: bool = False,
    progress: bool = True,
) -> list[dict]:
    """Track every video into its own run directory under ``parent`` (see the module notes).

    Returns:
        The rows of ``index.json``, in the order of ``videos``.

    Raises:
        UserError: a bad setting or an unusable ``parent`` (before anything runs), or, at the
            end, videos that failed every attempt (the index says which and why).
    """
    run = BACKENDS.get(backend)
    parent = Path(parent)
    if parent.exists() and not parent.is_dir():
        raise UserError(f"output path {parent} is a file; choose a folder for --out")
    parent.mkdir(parents=True, exist_ok=True)
    cfg = settings.config
    write_atomic(parent / "config.yaml", dump_config(cfg))
    jobs = plan(videos, parent)
    rows: dict[Path, dict] = {}
    todo = []
    for job in jobs:
        summary = _summary(job.run_dir)
        if not overwrite and summary is not None and summary.get("status") == "finished":
            rows[job.run_dir] = _row(job, summary, 0, None)
        else:
            todo.append(job)
    order = [j.run_dir for j in jobs]

    def publish() -> None:
        write_index(parent, [rows[k] for k in order if k in rows])

    publish()
    attempts = dict.fromkeys((j.run_dir for j in todo), 0)
    total = _total_frames([j.video for j in jobs], settings.track_kwargs.get("max_frames"))
    bar = _Bar(total, progress)
    running = {j.run_dir: j for j in todo}
    retry: list[Job] = []

    def on_done(job: Job, outcome: Outcome) -> None:
        attempts[job.run_dir] += 1
        summary = _summary(job.run_dir)
        error = outcome.error
        if outcome.ok and (summary is None or summary.get("status") != "finished"):
            error = "the run ended without a finished summary.json"
        row = _row(job, summary, attempts[job.run_dir], error)
        if row["status"] != "finished" and attempts[job.run_dir] <= cfg.fleet.retries:
            retry.append(job)
            return
        rows[job.run_dir] = row
        running.pop(job.run_dir, None)
        publish()

    def tick() -> None:
        frames = sum(r["frames"] for r in rows.values())
        frames += sum(_frames_so_far(j) for j in running.values())
        bar.show(frames, len(rows), len(jobs))

    try:
        while todo:
            run(todo, settings, cfg.fleet.workers, on_done, tick)
            todo, retry = retry, []
        tick()
    finally:
        bar.close()
    out = [rows[k] for k in order]
    failed = [r for r in out if r["status"] != "finished"]
    if failed:
        raise UserError(
            f"{len(failed)} of {len(out)} videos failed (first: {failed[0]['video']}: "
            f"{failed[0]['error']}); see {parent / 'index.csv'}, rerun to retry them"
        )
    return out
