"""Run one BoxMOT tracker on a MOTChallenge detection file; benchmark helper, not part of mplt.

Executed by the BoxMOT virtual environment's python (BoxMOT pins filterpy<2 and pandas<3,
which conflict with mplt's environment), as a subprocess of ``bench/compare_trackers.py``::

    bench/.venv-boxmot/bin/python bench/boxmot_runner.py --tracker bytetrack \\
        --det det.txt --out tracks.txt --width 1920 --height 960 --fps 10 \\
        [--embeddings emb.npy] [--video video.mp4] [--set key=value ...]

Input: MOT detection rows ``frame,id,left,top,width,height,score,...`` (1-based frames and
pixels); ``--embeddings`` an ``(R, D)`` float32 ``.npy`` aligned row by row with the file.
Output: MOT rows ``frame,id,left,top,width,height,score,-1,-1,-1`` (ids from 1) and one JSON line
on stdout: tracker, options, frames, seconds spent in ``update()`` alone, tracker-only fps.

Appearance: trackers that use appearance get ``--embeddings`` (mplt's features of the same
boxes); without them they run with appearance off, since ReID weights cannot be downloaded.
Camera-motion compensation is off for every tracker (static cameras; mplt has none either).
StrongSORT's ECC cannot be switched off by an option, so its estimator is removed; it still
insists on a frame, so it gets the decoded video frame (``--video``) or a black one.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

# Options that switch off camera-motion compensation / appearance, per tracker.
NO_CMC = {
    "botsort": {"use_cmc": False},
    "deepocsort": {"cmc_off": True},
    "boosttrack": {"use_ecc": False},
}
NO_APPEARANCE = {
    "botsort": {"use_embeddings": False},
    "deepocsort": {"use_embeddings": False},
    "boosttrack": {"use_embeddings": False},
}
# Trackers with a frame-rate option that scales their lost-track buffer.
HAS_FRAME_RATE = {"bytetrack", "botsort"}


def _parse_value(text: str) -> object:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return {"true": True, "false": False, "null": None}.get(text.lower(), text)


def _frames(video: str | None, width: int, height: int, count: int):
    """Decoded BGR frames of ``video`` (or black frames), one per detection frame."""
    if video is None:
        black = np.zeros((height, width, 3), np.uint8)
        for _ in range(count):
            yield black
        return
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(video)
    size = next(reader)["size"]
    for _, raw in zip(range(count), reader, strict=False):
        yield np.frombuffer(raw, np.uint8).reshape(size[1], size[0], 3)[:, :, ::-1].copy()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--tracker", required=True, help="bytetrack, botsort, strongsort, ocsort, deepocsort, ..."
    )
    parser.add_argument("--det", required=True, help="MOT detection file")
    parser.add_argument("--out", required=True, help="MOT output file")
    parser.add_argument("--width", type=int, required=True)
    parser.add_argument("--height", type=int, required=True)
    parser.add_argument("--fps", type=float, required=True)
    parser.add_argument("--embeddings", help="(R, D) .npy aligned with the detection rows")
    parser.add_argument("--video", help="video for trackers that insist on a frame")
    parser.add_argument(
        "--num-frames", type=int, help="frames in the sequence (default: last det frame)"
    )
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()

    import boxmot
    import torch
    from boxmot import create_tracker
    from boxmot.structures import Boxes, Detections
    from boxmot.trackers.specs import TrackerSpec

    torch.set_num_threads(1)
    has_rows = Path(args.det).read_text().strip() != ""
    rows = np.loadtxt(args.det, delimiter=",", ndmin=2) if has_rows else np.zeros((0, 10))
    embeddings = np.load(args.embeddings).astype(np.float32) if args.embeddings else None
    if embeddings is not None and len(embeddings) != len(rows):
        raise SystemExit(f"{args.embeddings}: {len(embeddings)} rows, {args.det} has {len(rows)}")

    options: dict[str, object] = dict(NO_CMC.get(args.tracker, {}))
    if embeddings is None:
        options.update(NO_APPEARANCE.get(args.tracker, {}))
    if args.tracker in HAS_FRAME_RATE:
        options["frame_rate"] = round(args.fps)
    for item in args.overrides:
        key, _, value = item.partition("=")
        options[key] = _parse_value(value)
    tracker = create_tracker(TrackerSpec(name=args.tracker, options=tuple(sorted(options.items()))))
    if getattr(tracker, "cmc", None) is not None:
        tracker.cmc = None
    wants_embeddings = bool(tracker.requirements.embeddings)
    if wants_embeddings and embeddings is None:
        raise SystemExit(
            f"{args.tracker} needs appearance: pass --embeddings (no ReID weights here)"
        )
    wants_frame = bool(tracker.requirements.frame)

    frames = rows[:, 0].astype(np.int64) - 1
    num_frames = args.num_frames or (int(frames.max()) + 1 if len(frames) else 0)
    order = np.argsort(frames, kind="stable")
    bounds = np.searchsorted(frames[order], np.arange(num_frames + 1))
    out_lines: list[str] = []
    spent = 0.0
    images = _frames(args.video if wants_frame else None, args.width, args.height, num_frames)
    for f, image in zip(range(num_frames), images, strict=False):
        idx = order[bounds[f] : bounds[f + 1]]
        r = rows[idx]
        boxes = np.column_stack(
            [r[:, 2] - 1, r[:, 3] - 1, r[:, 2] - 1 + r[:, 4], r[:, 3] - 1 + r[:, 5]]
        )
        scores = np.clip(r[:, 6], 0.0, 1.0)
        frame = image if wants_frame else None
        if wants_embeddings:
            dets = Detections(
                geometry=Boxes(torch.from_numpy(np.ascontiguousarray(boxes, np.float32))),
                scores=torch.from_numpy(np.ascontiguousarray(scores, np.float32)),
                class_ids=torch.zeros(len(r), dtype=torch.int64),
                sample_id=f"frame{f}",
                embeddings=torch.from_numpy(np.ascontiguousarray(embeddings[idx])),
            )
            start = time.perf_counter()
            result = tracker.update(dets, frame)
            spent += time.perf_counter() - start
            ids = result.track_ids.numpy()
            out_boxes = result.geometry.values.numpy()
            conf = result.scores.numpy()
        else:
            dets = (
                np.column_stack([boxes, scores, np.zeros(len(r))]).astype(np.float32).reshape(-1, 6)
            )
            start = time.perf_counter()
            result = tracker.update(dets, frame)
            spent += time.perf_counter() - start
            result = np.asarray(result).reshape(-1, 8)
            ids, out_boxes, conf = result[:, 4], result[:, :4], result[:, 5]
        for i, b, c in zip(ids, out_boxes, conf, strict=True):
            out_lines.append(
                f"{f + 1},{int(i) + 1},{b[0] + 1:.2f},{b[1] + 1:.2f},"
                f"{b[2] - b[0]:.2f},{b[3] - b[1]:.2f},{c:.3f},-1,-1,-1\n"
            )
    Path(args.out).write_text("".join(out_lines))
    print(
        json.dumps(
            {
                "tracker": args.tracker,
                "class": type(tracker).__name__,
                "boxmot_version": boxmot.__version__,
                "options": options,
                "appearance": "given embeddings" if wants_embeddings else "off",
                "frames": num_frames,
                "update_seconds": spent,
                "fps": num_frames / spent if spent > 0 else None,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
