"""A corpus of bad inputs for every command, written into one folder by :func:`build`.

Each :class:`Case` is a command line whose inputs are broken in one way (a video, an image
folder, a detection file, a calibration, a config, a flag, a run directory, a dataset, a
checkpoint, ground truth); ``tests/corpus/test_corpus.py`` runs every case and checks that it
fails the way the README promises: the exit code, one line ``error: <what>; <what to do>``, no
traceback, no warning, and no file that existed before changed (nor any left behind, except
the run directory of a run that failed part-way, whose ``summary.json`` must say so).

``python -m tests.corpus.bad_inputs DIR`` writes the corpus into DIR and lists the cases.
"""

from __future__ import annotations

import json
import os
import pickle
import sys
from dataclasses import dataclass
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import torch
import yaml
from PIL import Image

import reid
from mplt.config import TrackConfig
from mplt.pipeline import run_track
from tests.conftest import write_video
from tests.reid.helpers import make_market, tiny_config

#: The good panorama video: 64 x 32, 12 frames at 10 frames/s.
W, H, FRAMES, FPS = 64, 32, 12, 10.0
#: The good perspective video (calibration cases): 64 x 48.
PW, PH = 64, 48
#: Where the malicious pickle would leave its trace if it ever ran.
PWNED = "pwned.txt"


@dataclass(frozen=True)
class Case:
    """One bad command line.

    Attributes:
        name: unique id (the pytest parameter id).
        args: the command line after ``mplt``; ``{root}`` stands for the corpus folder.
        match: a regular expression the error line must contain (beyond ``error: ...; ...``).
        code: the expected exit code.
        leaves: a run directory (relative to the root) the command may leave behind, because
            the error comes part-way through the run; its ``summary.json`` must have
            ``status``.
        status: that status.
    """

    name: str
    args: tuple[str, ...]
    match: str = ""
    code: int = 2
    leaves: str | None = None
    status: str | None = None


def _frames(n: int, width: int = W, height: int = H) -> list[np.ndarray]:
    rng = np.random.default_rng(n)
    return [rng.integers(0, 255, (height, width, 3), dtype=np.uint8) for _ in range(n)]


def _det_rows(frames: int, width: float = 8.0) -> str:
    return "".join(f"{f},-1,10,4,{width},16,0.9,-1,-1,-1\n" for f in range(1, frames + 1))


def _write(path: Path, data: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data, encoding="utf-8")
    return path


class _Malicious:
    """Unpickling this runs ``touch PWNED``: a checkpoint must never be unpickled freely."""

    def __init__(self, target: Path) -> None:
        self.target = str(target)

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (os.system, (f"touch {self.target}",))


def _files(root: Path) -> None:
    """Write every input file of the corpus under ``root``."""
    good_video = write_video(root / "good.mp4", _frames(FRAMES), FPS)
    _write(root / "good_det.txt", _det_rows(FRAMES))
    # a good run of the good video, whose summary the damaged runs below borrow
    run_track(
        str(good_video),
        TrackConfig(),
        root / "rendered",
        detections_file=root / "good_det.txt",
        progress=False,
    )
    write_video(root / "perspective.mp4", _frames(4, PW, PH), FPS)
    write_video(root / "square.mp4", _frames(3, 32, 32), FPS)

    # videos
    _write(root / "video" / "empty.mp4", b"")
    _write(root / "video" / "text.mp4", "this is not a video\n")
    _write(root / "video" / "random.mp4", np.random.default_rng(1).bytes(4096))
    # an mp4 whose index (moov, first with +faststart) promises 80 frames, cut in the middle
    long_video = root / "video" / "long.mp4"
    writer = imageio_ffmpeg.write_frames(
        str(long_video),
        (W, H),
        fps=FPS,
        quality=None,
        macro_block_size=1,
        ffmpeg_log_level="error",
        output_params=["-crf", "10", "-movflags", "+faststart"],
    )
    writer.send(None)
    for frame in _frames(80):
        writer.send(frame)
    writer.close()
    data = long_video.read_bytes()
    _write(root / "video" / "truncated.mp4", data[: data.find(b"mdat") + len(data) // 2])
    long_video.unlink()
    _write(root / "video" / "header_only.mp4", good_video.read_bytes()[:200])

    # image folders
    (root / "folder_corrupt").mkdir()
    for k, frame in enumerate(_frames(4)):
        Image.fromarray(frame).save(root / "folder_corrupt" / f"{k:03d}.png")
    _write(root / "folder_corrupt" / "004.png", b"\x89PNG broken")
    (root / "folder_sizes").mkdir()
    for k, frame in enumerate(_frames(3)):
        Image.fromarray(frame).save(root / "folder_sizes" / f"{k:03d}.png")
    Image.fromarray(_frames(1, 32, 32)[0]).save(root / "folder_sizes" / "003.png")
    (root / "folder_empty").mkdir()
    _write(root / "folder_empty" / "notes.txt", "no images here\n")
    _write(root / "folder_zero" / "000.png", b"")

    # detection files
    det = root / "det"
    _write(det / "binary.txt", np.random.default_rng(2).bytes(512))
    _write(det / "nul.txt", "1,-1,10,4,8,16,0.9\x00\x00\n")
    _write(det / "utf16.txt", _det_rows(2).encode("utf-16"))
    _write(det / "empty.txt", "")
    _write(det / "blank.txt", "\n \n\n")
    _write(det / "columns.txt", "1,-1,10\n")
    _write(det / "word.txt", "1,-1,ten,4,8,16,0.9\n")
    _write(det / "nan_conf.txt", "1,-1,10,4,8,16,nan\n")
    _write(det / "inf_left.txt", "1,-1,inf,4,8,16,0.9\n")
    _write(det / "negative_width.txt", "1,-1,10,4,-8,16,0.9\n")
    _write(det / "zero_height.txt", "1,-1,10,4,8,0,0.9\n")
    _write(det / "outside_right.txt", "1,-1,5000,4,8,16,0.9\n")
    _write(det / "outside_above.txt", "1,-1,10,-500,8,16,0.9\n")
    _write(det / "outside_below.txt", "1,-1,10,400,8,16,0.9\n")
    _write(det / "huge.txt", "1,-1,10,4,1e15,16,0.9\n")
    _write(det / "tall.txt", "1,-1,10,1,8,33,0.9\n")
    _write(det / "conf57.txt", "1,-1,10,4,8,16,57\n")
    _write(det / "conf_negative.txt", "1,-1,10,4,8,16,-0.5\n")
    _write(det / "beyond.txt", "".join(f"{f},-1,10,4,8,16,0.9\n" for f in range(1000, 1004)))
    _write(det / "some_beyond.txt", _det_rows(FRAMES) + "40,-1,10,4,8,16,0.9\n")
    _write(det / "frame0.txt", "0,-1,10,4,8,16,0.9\n")
    _write(det / "frame_fraction.txt", "1.5,-1,10,4,8,16,0.9\n")
    _write(det / "frame_negative.txt", "-3,-1,10,4,8,16,0.9\n")
    (det / "a_folder.txt").mkdir()

    # calibrations (of the 64 x 48 perspective video)
    good = {"width": PW, "height": PH, "K": [[50, 0, 32], [0, 50, 24], [0, 0, 1]]}
    good["R"] = [[1, 0, 0], [0, 0, -1], [0, 1, 0]]
    good["t"] = [0, 1.5, 0]
    calib = {
        "singular_K": {**good, "K": [[0, 0, 32], [0, 0, 24], [0, 0, 1]]},
        "K_2x2": {**good, "K": [[50, 0], [0, 50]]},
        "K_strings": {**good, "K": [["a", "b", "c"], [0, 50, 24], [0, 0, 1]]},
        "K_nan": {**good, "K": [[float("nan"), 0, 32], [0, 50, 24], [0, 0, 1]]},
        "R_2x3": {**good, "R": [[1, 0, 0], [0, 1, 0]]},
        "R_singular": {**good, "R": [[0, 0, 0], [0, 0, 0], [0, 0, 0]]},
        "R_mirror": {**good, "R": [[-1, 0, 0], [0, 1, 0], [0, 0, 1]]},
        "R_and_rvec": {**good, "rvec": [0, 0, 0]},
        "dist_strings": {**good, "dist": ["x", "y", "z", "w"]},
        "dist_7": {**good, "dist": [0.1, 0, 0, 0, 0, 0.2, 0.1]},
        "t_2": {**good, "t": [0, 1]},
        "no_K": {k: v for k, v in good.items() if k != "K"},
        "size_negative": {**good, "width": -64},
        "size_string": {**good, "width": "wide"},
    }
    for name, data in calib.items():
        _write(root / "calib" / f"{name}.yaml", yaml.safe_dump(data))
    _write(root / "calib" / "list.yaml", "- 1\n- 2\n")
    _write(root / "calib" / "syntax.yaml", "K: [[1, 2\nwidth: 3\n")
    _write(root / "calib" / "binary.yaml", np.random.default_rng(3).bytes(300))
    _write(root / "calib" / "bad.json", "{not json")
    _write(root / "calib" / "other_size.yaml", yaml.safe_dump({**good, "width": 640}))

    # configs
    cfg = root / "config"
    _write(cfg / "binary.yaml", np.random.default_rng(4).bytes(300))
    _write(cfg / "list.yaml", "- tracker\n- camera\n")
    _write(cfg / "syntax.yaml", "tracker: {n_init: [1\n")
    _write(cfg / "unknown_key.yaml", "tracker:\n  n_inti: 3\n")
    _write(cfg / "unknown_section.yaml", "trackers:\n  n_init: 3\n")
    _write(cfg / "wrong_type.yaml", "tracker:\n  n_init: three\n")
    _write(cfg / "float_for_int.yaml", "tracker:\n  n_init: 2.5\n")
    _write(cfg / "bool_for_float.yaml", "localize:\n  person_height_m: yes\n")
    _write(cfg / "nan.yaml", "camera:\n  yaw_deg: .nan\n")
    _write(cfg / "inf.yaml", "localize:\n  person_height_m: .inf\n")
    _write(cfg / "minus_inf_union.yaml", "camera:\n  height_m: -.inf\n")
    _write(cfg / "section_scalar.yaml", "tracker: 5\n")
    _write(cfg / "batch_zero.yaml", "batch_frames: 0\n")
    _write(cfg / "utf16.yaml", "tracker:\n  n_init: 3\n".encode("utf-16"))
    _write(cfg / "number_key.yaml", "1: a\nbatch_frames: 2\nzz: 3\n")
    _write(cfg / "null_key.yaml", "tracker:\n  ~: 3\n  x: 1\n")

    # run directories
    finished = root / "runs" / "finished"
    _write(finished / "tracks.txt", "1,1,10,4,8,16,0.9,-1,-1,-1\n")
    _write(finished / "tracks.jsonl", '{"frame": 1, "time_s": 0.0, "tracks": []}\n')
    _write(finished / "config.yaml", "batch_frames: 4\n")
    _write(finished / "summary.json", json.dumps({"status": "finished"}))
    _write(root / "runs" / "foreign" / "notes.md", "my own notes\n")
    _write(root / "runs" / "a_file", "not a directory\n")

    # checkpoints and weights
    ck = root / "ckpt"
    ck.mkdir()
    with open(ck / "malicious.pt", "wb") as handle:
        pickle.dump(_Malicious(root / PWNED), handle)
    torch.save(_Malicious(root / PWNED), ck / "malicious_torch.pt")
    _write(ck / "text.pt", "not a checkpoint\n")
    _write(ck / "empty.pt", b"")
    torch.save({"weights": torch.zeros(2)}, ck / "legacy.pt", _use_new_zipfile_serialization=False)
    torch.save({"modules": 3, "method": "baseline"}, ck / "no_model.pt")
    torch.save([1, 2, 3], ck / "a_list.pt")
    torch.save({"conv1.weight": torch.zeros(3)}, ck / "wrong_shapes.pth")

    # datasets, and a good checkpoint trained on one
    make_market(root / "market")
    reid.train(
        "baseline",
        tiny_config(epochs=1, eval_every=0),
        root / "market",
        "market1501",
        root / "trained",
        device="cpu",
        progress=False,
    )
    (root / "market_empty").mkdir()
    _write(root / "market_broken" / "bounding_box_train" / "junk.txt", "x\n")

    # evaluation
    ev = root / "eval"
    _write(ev / "gt.txt", "".join(f"{f},1,10,4,8,16,1,-1,-1,-1\n" for f in range(1, 4)))
    _write(ev / "gt_big.txt", "".join(f"{f},1,100,40,16,32,1,-1,-1,-1\n" for f in range(1, 4)))
    _write(ev / "gt_binary.txt", np.random.default_rng(5).bytes(256))
    _write(ev / "gt_nan.txt", "1,1,nan,4,8,16,1,-1,-1,-1\n")
    _write(ev / "gt_duplicate.txt", "1,1,10,4,8,16,1\n1,1,20,4,8,16,1\n")
    run = ev / "run"
    _write(run / "tracks.txt", "".join(f"{f},1,10,4,8,16,0.9,-1,-1,-1\n" for f in range(1, 4)))
    summary = {"status": "finished", "input": {"width": W, "height": H}}
    _write(run / "summary.json", json.dumps({**summary, "camera": {"model": "equirect"}}))
    _write(ev / "bad_summary" / "tracks.txt", "1,1,10,4,8,16,0.9\n")
    _write(ev / "bad_summary" / "summary.json", "{broken")
    _write(root / "runs" / "binary_jsonl" / "tracks.jsonl", np.random.default_rng(6).bytes(300))
    _write(root / "runs" / "binary_jsonl" / "tracks.txt", "")
    _write(root / "runs" / "list_jsonl" / "tracks.jsonl", "[1, 2]\n")
    _write(root / "runs" / "list_jsonl" / "tracks.txt", "")
    good_summary = json.loads((root / "rendered" / "summary.json").read_text())
    for name in ("binary_jsonl", "list_jsonl"):
        _write(root / "runs" / name / "summary.json", json.dumps(good_summary))


def _track(*args: str) -> tuple[str, ...]:
    return ("track", *args, "--quiet")


def _cases() -> list[Case]:
    video, det = "{root}/good.mp4", "{root}/good_det.txt"
    fresh = "{root}/out/new"
    given = ("--detections", det, "--out", fresh)
    cases: list[Case] = []

    def add(name: str, *args: str, match: str = "", **kw) -> None:
        cases.append(Case(name, tuple(args), match, **kw))

    # videos and image folders
    for name, match in [
        ("empty", "cannot decode video"),
        ("text", "cannot decode video"),
        ("random", "cannot decode video"),
        ("header_only", "cannot decode video"),
    ]:
        add(f"video-{name}", *_track(f"{{root}}/video/{name}.mp4", *given), match=match)
    add(
        "video-truncated-with-index",
        *_track(
            "{root}/video/truncated.mp4",
            "--out",
            fresh,
            "--allow-empty-detections",
            "--detections",
            "{root}/det/empty.txt",
        ),
        match=r"of the \d+ frames|failed near frame",
        leaves="out/new",
        status="truncated|failed",
    )
    add("video-missing", *_track("{root}/video/nope.mp4", *given), match="does not exist")
    add(
        "video-square-as-equirect",
        *_track("{root}/square.mp4", *given, "--set", "camera.model=equirect"),
        match="2:1",
    )
    add("video-start-beyond-end", *_track(video, *given, "--start", "500"), match="beyond the end")
    add(
        "folder-corrupt-image-after-good-ones",
        *_track(
            "{root}/folder_corrupt",
            "--out",
            fresh,
            "--allow-empty-detections",
            "--detections",
            "{root}/det/empty.txt",
        ),
        match="cannot read image",
        leaves="out/new",
        status="failed",
    )
    add(
        "folder-image-of-another-size",
        *_track(
            "{root}/folder_sizes",
            "--out",
            fresh,
            "--allow-empty-detections",
            "--detections",
            "{root}/det/empty.txt",
        ),
        match="all frames must have the same size",
        leaves="out/new",
        status="failed",
    )
    add("folder-no-images", *_track("{root}/folder_empty", *given), match="contains no images")
    add("folder-zero-byte-image", *_track("{root}/folder_zero", *given), match="cannot read image")
    add(
        "folder-start-beyond-end",
        *_track("{root}/folder_sizes", *given, "--start", "9"),
        match="beyond the end",
    )

    # detection files
    for name, match in [
        ("binary", "not a text file|NUL bytes"),
        ("nul", "NUL bytes"),
        ("utf16", "not a text file|NUL bytes"),
        ("empty", "has no rows"),
        ("blank", "has no rows"),
        ("columns", "need at least 6"),
        ("word", "is not a number"),
        ("nan_conf", "finite"),
        ("inf_left", "finite"),
        ("negative_width", "negative box width"),
        ("zero_height", "box is empty"),
        ("outside_right", "outside the 64x32 frame"),
        ("outside_above", "outside the 64x32 frame"),
        ("outside_below", "outside the 64x32 frame"),
        ("huge", "larger than the 64x32 frame"),
        ("tall", "larger than the 64x32 frame"),
        ("conf57", r"confidence 57 is outside \[0, 1\]"),
        ("conf_negative", r"outside \[0, 1\]"),
        ("beyond", "beyond the end of the video"),
        ("some_beyond", "frame 40 is beyond the end"),
        ("frame0", "numbered from 1"),
        ("frame_fraction", "numbered from 1"),
        ("frame_negative", "numbered from 1"),
        ("missing", "does not exist"),
        ("a_folder", "directory"),
    ]:
        add(
            f"detections-{name}",
            *_track(video, "--detections", f"{{root}}/det/{name}.txt", "--out", fresh),
            match=match,
        )

    # calibrations
    persp = (
        "{root}/perspective.mp4",
        "--detections",
        "{root}/det/empty.txt",
        "--allow-empty-detections",
        "--out",
        fresh,
    )
    for name, match in [
        ("singular_K", "invalid 'K'"),
        ("K_2x2", "invalid 'K'"),
        ("K_strings", "invalid 'K'"),
        ("K_nan", "invalid 'K'|cannot parse"),
        ("R_2x3", "invalid 'R'"),
        ("R_singular", "not a rotation"),
        ("R_mirror", "not a rotation"),
        ("R_and_rvec", "both 'R' and 'rvec'"),
        ("dist_strings", "invalid 'dist'"),
        ("dist_7", "invalid 'dist'"),
        ("t_2", "invalid 't'"),
        ("no_K", "missing key 'K'"),
        ("size_negative", "invalid image size"),
        ("size_string", "width/height"),
        ("list", "expected a mapping"),
        ("syntax", "cannot parse"),
        ("binary", "not a text file|cannot parse"),
        ("missing", "does not exist|cannot read"),
        ("other_size", "640"),
    ]:
        suffix = "json" if name == "bad" else "yaml"
        add(
            f"calib-{name}",
            *_track(*persp[:1], "--calib", f"{{root}}/calib/{name}.{suffix}", *persp[1:]),
            match=match,
        )
    add(
        "calib-bad-json",
        *_track(*persp[:1], "--calib", "{root}/calib/bad.json", *persp[1:]),
        match="cannot parse",
    )

    # configs
    for name, match in [
        ("binary", "not a text|not valid YAML"),
        ("utf16", "not a text|not valid YAML"),
        ("list", "must hold a mapping"),
        ("syntax", "not valid YAML"),
        ("unknown_key", "unknown config key tracker.n_inti"),
        ("unknown_section", "unknown config key trackers"),
        ("wrong_type", "tracker.n_init must be an integer"),
        ("float_for_int", "tracker.n_init must be an integer"),
        ("bool_for_float", "person_height_m must be a number"),
        ("nan", "camera.yaw_deg must be a finite number"),
        ("inf", "person_height_m must be a finite number"),
        ("minus_inf_union", "camera.height_m must be a finite number"),
        ("section_scalar", "tracker must be a mapping"),
        ("batch_zero", "batch_frames must be at least 1"),
        ("missing", "does not exist"),
        ("number_key", "unknown config key 1"),
        ("null_key", "unknown config key tracker.None"),
    ]:
        add(
            f"config-{name}",
            *_track(video, *given, "--config", f"{{root}}/config/{name}.yaml"),
            match=match,
        )
    for name, setting, match in [
        ("yaw-nan-word", "camera.yaw_deg=nan", "camera.yaw_deg must be a number"),
        ("yaw-nan", "camera.yaw_deg=.nan", "camera.yaw_deg must be a finite number"),
        ("height-inf", "camera.height_m=.inf", "finite"),
        ("height-negative", "camera.height_m=-2", "camera height is -2"),
        ("no-equals", "tracker.n_init", "expects key=value"),
        ("section-value", "tracker=5", "tracker must be a mapping"),
        ("into-a-value", "batch_frames.x=1", "batch_frames must be an integer"),
        ("batch-zero", "batch_frames=0", "batch_frames must be at least 1"),
        ("batch-negative", "batch_frames=-3", "batch_frames must be at least 1"),
        ("unknown-key", "tracker.n_inti=2", "unknown config key"),
        ("bad-layout", "render.layout=sideways", "sideways"),
        ("bad-camera", "camera.model=fisheye", "fisheye"),
        ("bad-feet", "feet.source=shoes", "shoes"),
    ]:
        add(f"set-{name}", *_track(video, *given, "--render", "--set", setting), match=match)

    for setting in [
        "tracker.n_init=0",
        "tracker.max_age_s=-5",
        "tracker.nn_budget=0",
        "tracker.max_cosine_distance=-1",
        "tracker.gating_probability=1",
        "detector.confidence_threshold=5",
        "detector.imgsz=0",
        "embedder.crop_height=0",
        "embedder.colour_weight=1",
        "feet.min_fill=0",
        "feet.max_foreground=2",
        "camera.auto_height_delay_s=-1",
        "camera.auto_box_top=-0.1",
        "camera.auto_box_bottom=0.5",
        "tracker.high_score=7",
        "tracker.low_max_iou_distance=-1",
        "tracker.reid_window_s=-3",
        "tracker.reid_max_cosine=5",
        "tracker.finish_smooth_accel_mps2=-1",
        "render.crf=60",
        "render.width=0",
    ]:
        key = setting.split("=")[0]
        add(f"set-range-{key}", *_track(video, *given, "--set", setting), match=f"{key} must be")

    # flags
    for name, flags, match in [
        ("device-banana-with-detections", ("--device", "banana"), "banana"),
        ("device-cuda7-with-detections", ("--device", "cuda:7"), "cuda:7"),
        ("camera-height-negative", ("--camera-height", "-1"), "positive number"),
        ("camera-height-word", ("--camera-height", "tall"), "positive number"),
        ("camera-height-nan", ("--camera-height", "nan"), "positive number"),
        ("start-negative", ("--start", "-1"), "start"),
        ("max-frames-zero", ("--max-frames", "0"), "max-frames"),
        ("unknown-option", ("--bogus",), "bogus"),
        ("reid-text", ("--reid", "{root}/ckpt/text.pt"), "cannot be read"),
        ("reid-malicious", ("--reid", "{root}/ckpt/malicious.pt"), "cannot be read"),
        ("reid-legacy", ("--reid", "{root}/ckpt/legacy.pt"), "not a reid checkpoint"),
        ("reid-missing", ("--reid", "{root}/ckpt/nope.pt"), "does not exist"),
        ("fuse-colour-without-reid", ("--fuse-colour",), "fused needs a checkpoint; pass --reid"),
    ]:
        add(f"flag-{name}", *_track(video, *given, *flags), match=match)
    add("flag-device-banana", *_track(video, "--out", fresh, "--device", "banana"), match="banana")
    add("flag-no-source", "track", match="SOURCE")

    # run directories
    add(
        "rundir-finished-run",
        *_track(video, "--detections", det, "--out", "{root}/runs/finished"),
        match="already holds a run.*--overwrite",
    )
    add(
        "rundir-foreign-folder",
        *_track(video, "--detections", det, "--out", "{root}/runs/foreign"),
        match="is not empty",
    )
    add(
        "rundir-a-file",
        *_track(video, "--detections", det, "--out", "{root}/runs/a_file"),
        match="file|directory",
    )
    add(
        "rundir-overwrite-with-bad-input",
        *_track(
            video,
            "--detections",
            "{root}/det/conf57.txt",
            "--out",
            "{root}/runs/finished",
            "--overwrite",
        ),
        match="confidence",
    )
    add(
        "rundir-unwritable",
        *_track(video, "--detections", det, "--out", "/proc/mplt-corpus/run"),
        match="cannot create output directory",
    )
    add(
        "rundir-locked",
        *_track(video, "--detections", det, "--out", "{root}/runs/locked"),
        match="being written by another mplt track",
    )

    # training settings and datasets
    market = (
        "--data-dir",
        "{root}/market",
        "--dataset",
        "market1501",
        "--out",
        "{root}/out/reid",
        "--device",
        "cpu",
        "--quiet",
    )
    tiny = ("--set", "model.backbone=tiny", "--set", "data.height=32", "--set", "data.width=16")
    for name, settings, match in [
        ("epochs-negative", ("train.epochs=-1",), "train.epochs must be at least 1"),
        ("epochs-zero", ("train.epochs=0",), "train.epochs must be at least 1"),
        ("batch-zero", ("data.batch_size=0",), "data.batch_size must be at least 1"),
        ("instances-zero", ("data.num_instances=0",), "num_instances must be at least 1"),
        ("height-zero", ("data.height=0",), "data.height must be at least 1"),
        ("lr-zero", ("optim.lr=0",), "optim.lr must be positive"),
        ("lr-nan", ("optim.lr=.nan",), "optim.lr must be a finite number"),
        ("eval-every-negative", ("train.eval_every=-2",), "eval_every must be at least 0"),
        ("unknown-key", ("train.epoch=3",), "unknown config key train.epoch"),
    ]:
        flags = [f for s in settings for f in ("--set", s)]
        add(f"train-{name}", "train", "baseline", *market, *tiny, *flags, match=match)
    add(
        "train-pretrained-text",
        "train",
        "baseline",
        *market,
        "--set",
        "model.backbone=resnet18",
        "--pretrained",
        "{root}/ckpt/text.pt",
        match="pretrained weights .* cannot be read",
    )
    add(
        "train-pretrained-malicious",
        "train",
        "baseline",
        *market,
        "--set",
        "model.backbone=resnet18",
        "--pretrained",
        "{root}/ckpt/malicious_torch.pt",
        match="cannot be read",
    )
    add(
        "train-pretrained-a-list",
        "train",
        "baseline",
        *market,
        "--set",
        "model.backbone=resnet18",
        "--pretrained",
        "{root}/ckpt/a_list.pt",
        match="not a state dict",
    )
    add(
        "train-pretrained-wrong-shapes",
        "train",
        "baseline",
        *market,
        "--set",
        "model.backbone=resnet18",
        "--pretrained",
        "{root}/ckpt/wrong_shapes.pth",
        match="match none",
    )
    add(
        "train-pretrained-missing",
        "train",
        "baseline",
        *market,
        "--pretrained",
        "{root}/ckpt/nope.pth",
        match="do not exist",
    )
    add(
        "train-config-binary",
        "train",
        "baseline",
        *market,
        "--config",
        "{root}/config/binary.yaml",
        match="not a text|not valid YAML",
    )
    add("train-unknown-model", "train", "nonet", *market, match="nonet")
    add(
        "train-unknown-dataset",
        "train",
        "baseline",
        "--data-dir",
        "{root}/market",
        "--dataset",
        "imagenet",
        "--out",
        "{root}/out/reid",
        match="imagenet",
    )
    add(
        "train-dataset-missing",
        "train",
        "baseline",
        "--data-dir",
        "{root}/nowhere",
        "--dataset",
        "market1501",
        "--out",
        "{root}/out/reid",
        match="nowhere",
    )
    add(
        "train-dataset-empty",
        "train",
        "baseline",
        "--data-dir",
        "{root}/market_empty",
        "--dataset",
        "market1501",
        "--out",
        "{root}/out/reid",
        match="bounding_box_train",
    )
    add(
        "train-dataset-broken",
        "train",
        "baseline",
        "--data-dir",
        "{root}/market_broken",
        "--dataset",
        "market1501",
        "--out",
        "{root}/out/reid",
        match="market_broken",
    )
    add(
        "train-resume-without-out",
        "train",
        "baseline",
        "--data-dir",
        "{root}/market",
        "--dataset",
        "market1501",
        "--resume",
        match="--resume needs --out",
    )
    add("train-resume-nothing", "train", "baseline", *market, "--resume", match="cannot resume")
    add("train-no-dataset", "train", "baseline", match="--dataset")
    add(
        "train-unwritable-out",
        "train",
        "baseline",
        "--data-dir",
        "{root}/market",
        "--dataset",
        "market1501",
        "--out",
        "/proc/mplt-corpus/reid",
        "--device",
        "cpu",
        "--quiet",
        *tiny,
        "--set",
        "train.epochs=1",
        match="cannot create run directory",
    )

    # checkpoints: eval-reid and export
    data = ("--data-dir", "{root}/market", "--dataset", "market1501", "--device", "cpu")
    for name, match in [
        ("malicious", "cannot be read"),
        ("malicious_torch", "cannot be read"),
        ("text", "cannot be read"),
        ("empty", "cannot be read"),
        ("legacy", "not a reid checkpoint"),
        ("no_model", "damaged reid checkpoint"),
        ("a_list", "not a reid checkpoint"),
        ("nope", "does not exist"),
    ]:
        add(f"eval-reid-{name}", "eval-reid", f"{{root}}/ckpt/{name}.pt", *data, match=match)
        add(
            f"export-{name}",
            "export",
            f"{{root}}/ckpt/{name}.pt",
            "-o",
            "{root}/out/model.onnx",
            match=match,
        )

    good_ckpt = "{root}/trained/best.pt"
    add(
        "eval-reid-unwritable-out",
        "eval-reid",
        good_ckpt,
        *data,
        "--out",
        "/proc/mplt-corpus/e",
        match="cannot",
    )
    add(
        "export-unwritable-out",
        "export",
        good_ckpt,
        "-o",
        "/proc/mplt-corpus/m.onnx",
        match="cannot",
    )
    add(
        "eval-reid-dataset-of-another-layout",
        "eval-reid",
        good_ckpt,
        "--data-dir",
        "{root}/market",
        "--dataset",
        "sysu-mm01",
        "--device",
        "cpu",
        match="sysu-mm01",
    )
    add(
        "flag-reid-good-checkpoint-device-banana",
        *_track(video, *given, "--reid", good_ckpt, "--device", "banana"),
        match="banana",
    )

    # mplt eval
    gt, run = "{root}/eval/gt.txt", "{root}/eval/run"
    for name, args, match in [
        (
            "width-of-another-frame",
            ("--gt", gt, "--pred", run, "--width", "128"),
            "does not match the 64-pixel-wide",
        ),
        (
            "gt-of-another-resolution",
            ("--gt", "{root}/eval/gt_big.txt", "--pred", run),
            "outside the run's 64x32 frames",
        ),
        ("gt-binary", ("--gt", "{root}/eval/gt_binary.txt", "--pred", run), "not a text|NUL"),
        ("gt-nan", ("--gt", "{root}/eval/gt_nan.txt", "--pred", run), "finite"),
        (
            "gt-duplicate-id",
            ("--gt", "{root}/eval/gt_duplicate.txt", "--pred", run),
            "more than once",
        ),
        ("gt-missing", ("--gt", "{root}/eval/nope.txt", "--pred", run), "nope"),
        ("pred-missing", ("--gt", gt, "--pred", "{root}/eval/nothing"), "do not exist"),
        ("pred-binary", ("--gt", gt, "--pred", "{root}/eval/gt_binary.txt"), "not a text|NUL"),
        ("bad-summary", ("--gt", gt, "--pred", "{root}/eval/bad_summary"), "not valid JSON"),
        ("width-zero", ("--gt", gt, "--pred", run, "--width", "0"), "width"),
        ("iou-zero", ("--gt", gt, "--pred", run, "--iou", "0"), "iou"),
        (
            "json-unwritable",
            ("--gt", gt, "--pred", run, "--json", "/proc/mplt-corpus/m.json"),
            "cannot write",
        ),
        (
            "width-beyond-boxes",
            ("--gt", "{root}/eval/gt_big.txt", "--pred", "{root}/eval/gt.txt", "--width", "64"),
            "outside the 64x32 panorama",
        ),
    ]:
        add(f"eval-{name}", "eval", *args, match=match)

    # render
    add("render-missing-run", "render", "{root}/runs/nope", match="nope")
    add("render-foreign-folder", "render", "{root}/runs/foreign", match="foreign")
    for name in ("binary_jsonl", "list_jsonl"):
        add(
            f"render-{name}",
            "render",
            f"{{root}}/runs/{name}",
            "--video",
            video,
            "--snapshot",
            "1",
            "-o",
            "{root}/out/snap.png",
            match="tracks.jsonl",
        )
    return cases


def build(root: Path) -> list[Case]:
    """Write the corpus into ``root`` (an empty folder) and return its cases."""
    root.mkdir(parents=True, exist_ok=True)
    _files(root)
    return _cases()


def case_names() -> list[str]:
    """The cases' names, without writing any file (for pytest's parameter ids)."""
    return [case.name for case in _cases()]


if __name__ == "__main__":
    for case in build(Path(sys.argv[1])):
        print(case.name, " ".join(case.args))
