"""Speed of ``mplt track`` on this machine, with Ultralytics' ``yolo track`` as the reference.

Data: PETS 2009 S2L1 (``../shared/data``, ``bench/realdata.py``) placed on the sphere through
the seam at 2048 x 1024 and 3840 x 1920, camera 7.07 m up, 4-8 people per frame, with the
Faster R-CNN detections that come with it (carried to the panorama).

Measurements (each in this one process, on the same video and device):

1. ``given``: tracking from the given detections with the colour embedder, frames decoded
   beforehand, on one thread (``torch.set_num_threads(1)``, ``cv2.setNumThreads(1)``, the
   process pinned to one core): localize + embed + track per frame, and the same through
   ``mplt.track --detections`` from the video file (decode and write included; ffmpeg decodes
   in its own process).
2. ``end to end``: ``mplt.track`` with the detector (the default profile, and
   ``configs/fast.yaml``), stage times (decode, detect, localize, embed, track, write) and
   frames/s, at both sizes.
3. ``yolo track``: Ultralytics' ``YOLO(weights).track`` (ByteTrack) with the same weights
   on the same video and device; the ratio of the frame rates. It runs one network input per
   frame (the panorama shrunk to 640), mplt the strips that make far people big enough.
4. On CUDA also the GPU's utilisation (sampled through NVML while the runs go) and peak
   memory; without CUDA these are reported as not measured.

Usage: ``python bench/bench_speed.py [--frames N] [--given-frames N] [--device D]
[--engine pytorch|torchscript|onnx|tensorrt] [--out FILE]``; ``yolo track`` needs ``lap``
(``pip install -e ".[bench]"``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np
import realdata as rd
import torch

import mplt
from core.config import load_config, updated
from core.types import Detections
from mplt.config import TrackConfig
from mplt.detection.weights import resolve_weights
from mplt.geometry import build_camera
from mplt.io.mot import read_mot_detections
from mplt.io.sources import open_source

ROOT = Path(__file__).resolve().parents[1]
SIZES = (2048, 3840)


def device_name(device: str) -> str:
    """The CPU model (``/proc/cpuinfo``) and core count, plus the GPU on CUDA."""
    model = platform.processor() or "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    name = f"{model}, {os.cpu_count()} cores"
    if device.startswith("cuda"):
        name += f"; {torch.cuda.get_device_name(torch.device(device))}"
    return name


def resolved_device(device: str) -> str:
    if device == "auto":
        return "cuda:0" if torch.cuda.is_available() else "cpu"
    return device


class GpuMonitor:
    """GPU utilisation sampled every 0.1 s through NVML, and torch's peak memory."""

    def __init__(self, device: str) -> None:
        self.cuda = device.startswith("cuda")
        self.device = device
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> GpuMonitor:
        if self.cuda:
            torch.cuda.reset_peak_memory_stats(self.device)
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.1):
            try:
                self.samples.append(float(torch.cuda.utilization(self.device)))
            except Exception:  # NVML missing: utilisation stays unmeasured
                return

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def report(self) -> dict:
        if not self.cuda:
            return {"gpu_utilisation_pct": None, "peak_gpu_memory_mb": None}
        return {
            "gpu_utilisation_pct": round(float(np.mean(self.samples)), 1) if self.samples else None,
            "peak_gpu_memory_mb": round(torch.cuda.max_memory_allocated(self.device) / 2**20, 1),
        }


@contextmanager
def one_core():
    """This process (and the ffmpeg it starts) on one core, one thread per library."""
    cores = os.sched_getaffinity(0)
    threads, cv_threads = torch.get_num_threads(), cv2.getNumThreads()
    os.sched_setaffinity(0, {min(cores)})
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    try:
        yield
    finally:
        os.sched_setaffinity(0, cores)
        torch.set_num_threads(threads)
        cv2.setNumThreads(cv_threads)


def sequence(width: int) -> rd.Sequence:
    """PETS on the sphere, the whole clip (written once, cached; runs take their frames)."""
    pets = rd.clips().get("PETS09-S2L1")
    if pets is None:
        raise SystemExit(f"error: PETS09-S2L1 is missing in {rd.DATA}; see bench/realdata.py")
    return rd.sphere_sequence(pets, width)


def config(seq: rd.Sequence, profile: str | None = None) -> TrackConfig:
    base = TrackConfig() if profile is None else load_config(TrackConfig, profile, ())
    return updated(base, {"camera.height_m": seq.camera_height})


def bench_given(seq: rd.Sequence, frames: int) -> dict:
    """Localize + embed + track from given detections, one core, frames in memory."""
    det = rd.sequence_detections(seq, "frcnn")
    given = read_mot_detections(det)
    cfg = config(seq)
    with one_core():
        with open_source(str(seq.video), max_frames=frames) as source:
            started = time.perf_counter()
            decoded = list(source)
            decode_s = time.perf_counter() - started
            info = source.info
        camera = build_camera(cfg.camera, (info.width, info.height))
        tracker = mplt.PanoramaTracker(camera, cfg, fps=info.fps)
        people = []
        started = time.perf_counter()
        for index, frame in decoded:
            dets = given.get(index, Detections.empty(index))
            people.append(len(dets))
            tracker.update(frame, dets)
        wall = time.perf_counter() - started
        with tempfile.TemporaryDirectory() as tmp:
            run = mplt.track(
                seq.video,
                detections=det,
                out=Path(tmp) / "run",
                max_frames=frames,
                config=cfg,
                progress=False,
            ).summary
    n = len(decoded)
    ms = {k: round(1000 * tracker.timer.seconds[k] / n, 2) for k in ("localize", "embed", "track")}
    return {
        "frames": n,
        "people_per_frame": round(float(np.mean(people)), 1),
        "ms_per_frame": ms,
        "fps_in_memory": round(n / wall, 1),
        "decode_ms_per_frame": round(1000 * decode_s / n, 2),
        "fps_from_video": run["timing"]["fps"],
        "from_video_ms_per_frame": run["timing"]["ms_per_frame"],
    }


def bench_end_to_end(
    seq: rd.Sequence, frames: int, device: str, profile: str | None, engine: str = "pytorch"
) -> dict:
    changes = {"detector.device": device, "embedder.device": device, "detector.engine": engine}
    cfg = updated(config(seq, profile), changes)
    with GpuMonitor(device) as gpu, tempfile.TemporaryDirectory() as tmp:
        summary = mplt.track(
            seq.video, out=Path(tmp) / "run", max_frames=frames, config=cfg, progress=False
        ).summary
    return {
        "profile": ("default" if profile is None else f"`configs/{Path(profile).name}`")
        + ("" if engine == "pytorch" else f", {engine} engine"),
        "frames": summary["frames_processed"],
        "detector": summary["detector"],
        "fps": summary["timing"]["fps"],
        "ms_per_frame": summary["timing"]["ms_per_frame"],
        **gpu.report(),
    }


def bench_yolo_track(seq: rd.Sequence, frames: int, device: str) -> dict:
    """Ultralytics' own tracker with the weights mplt uses, on the same video and device."""
    from ultralytics import YOLO

    weights, name = resolve_weights(None)
    model = YOLO(weights)
    times = []
    with GpuMonitor(device) as gpu:
        stream = model.track(
            source=str(seq.video), stream=True, device=device, verbose=False, persist=True
        )
        started = time.perf_counter()
        for k, _ in enumerate(stream):
            now = time.perf_counter()
            times.append(now - started)
            started = now
            if k + 1 == frames:
                break
    steady = times[1:] or times  # the first frame includes building the tracker
    return {
        "weights": name,
        "frames": len(times),
        "fps": round(len(steady) / sum(steady), 2),
        **gpu.report(),
    }


def _stage_cells(ms: dict) -> str:
    return " | ".join(f"{ms.get(k, 0):,.1f}" for k in ("decode", "detect", "localize", "embed"))


def report(results: dict) -> list[str]:
    lines = [
        "# Speed of `mplt track`",
        "",
        f"Written by `python bench/bench_speed.py {' '.join(sys.argv[1:])}` "
        f"(mplt {mplt.__version__}, torch {torch.__version__}).",
        "",
        f"- Device: **{results['device']}** (`{results['device_kind']}`).",
        "- Data: PETS 2009 S2L1 View 001 (`../shared/data`) placed on the sphere through the "
        "seam (`bench/realdata.py`), camera 7.07 m up, its Faster R-CNN detections carried "
        "to the panorama; 4-8 people per frame.",
        "",
        "## Tracking from given detections (colour embedder)",
        "",
        "| size | frames | people / frame | localize ms | embed ms | track ms "
        "| frames/s, frames in memory, one core | decode ms | frames/s from the video file "
        "(decode + write, `mplt.track --detections`) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for size, g in results["given"].items():
        ms = g["ms_per_frame"]
        lines.append(
            f"| {size} | {g['frames']} | {g['people_per_frame']} | {ms['localize']} "
            f"| {ms['embed']} | {ms['track']} | **{g['fps_in_memory']}** "
            f"| {g['decode_ms_per_frame']} | {g['fps_from_video']} |"
        )
    lines += [
        "",
        "## End to end with the detector, and Ultralytics `yolo track` on the same video",
        "",
        "| size | profile | frames | decode ms | detect ms | localize ms | embed ms | track ms "
        "| write ms | mplt frames/s | `yolo track` frames/s | ratio mplt / yolo "
        "| GPU utilisation | peak GPU memory |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for size, runs in results["end_to_end"].items():
        yolo = results["yolo_track"][size]
        for e in runs:
            ms = e["ms_per_frame"]
            ratio = e["fps"] / yolo["fps"] if yolo["fps"] else float("nan")
            gpu = e["gpu_utilisation_pct"]
            mem = e["peak_gpu_memory_mb"]
            lines.append(
                f"| {size} | {e['profile']} | {e['frames']} | {_stage_cells(ms)} "
                f"| {ms.get('track', 0):,.1f} | {ms.get('write', 0):,.1f} | {e['fps']} "
                f"| {yolo['fps']} | {ratio:.4f} "
                f"| {'not measured (no CUDA)' if gpu is None else f'{gpu} %'} "
                f"| {'not measured (no CUDA)' if mem is None else f'{mem} MB'} |"
            )
    detector = next(iter(results["end_to_end"].values()))[0]["detector"]
    lines += [
        "",
        f"Detector: {detector}; `yolo track`: the same weights "
        f"({next(iter(results['yolo_track'].values()))['weights']}), ByteTrack, one 640 input "
        "per frame.",
        "",
    ]
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--frames", type=int, default=2, help="frames of the detector runs")
    parser.add_argument("--given-frames", type=int, default=100, help="frames from detections")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--sizes", type=int, nargs="*", default=list(SIZES))
    parser.add_argument(
        "--engine",
        default="pytorch",
        help="detector.engine of the end-to-end runs (tensorrt on a GPU; the engine is "
        "exported once when the detector is built and cached, see mplt.detection.engine)",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/speed-cpu.md")
    args = parser.parse_args()
    device = resolved_device(args.device)
    results: dict = {
        "device": device_name(device),
        "device_kind": device,
        "given": {},
        "end_to_end": {},
        "yolo_track": {},
    }
    started = time.perf_counter()
    for width in args.sizes:
        size = f"{width}x{width // 2}"
        seq = sequence(width)
        if width == min(args.sizes):
            results["given"][size] = bench_given(seq, args.given_frames)
        results["end_to_end"][size] = [
            bench_end_to_end(seq, args.frames, device, profile, args.engine)
            for profile in (None, str(ROOT / "configs/fast.yaml"))
        ]
        results["yolo_track"][size] = bench_yolo_track(seq, max(args.frames, 10), device)
        print(json.dumps({size: results["end_to_end"][size]}, indent=1), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(report(results)))
    (args.out.with_suffix(".json")).write_text(json.dumps(results, indent=2))
    print(f"wrote {args.out} after {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
