"""End to end: `mplt train` -> `mplt eval-reid` -> `mplt export` -> `mplt track --reid`."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from cli import cli
from tests.reid.helpers import make_folder
from tests.test_cli import CAMERA_HEIGHT, _run

TINY = [
    "--set",
    "data.height=32",
    "--set",
    "data.width=16",
    "--set",
    "data.batch_size=8",
    "--set",
    "data.sampler=pk",  # P x K: 8 = 4 identities x 2 (the baseline's triplets need 3k)
    "--set",
    "data.num_instances=2",
    "--set",
    "data.workers=0",
    "--set",
    "model.backbone=tiny",
    "--set",
    "model.imagenet=false",
    "--set",
    "optim.warmup_epochs=0",
    "--set",
    "train.epochs=1",
    "--set",
    "train.eval_every=1",
]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("reid")
    data = make_folder(root / "data")
    run = root / "run"
    result = CliRunner().invoke(
        cli,
        [
            "train",
            "baseline",
            "--data-dir",
            str(data),
            "--dataset",
            "folder",
            "--out",
            str(run),
            "--quiet",
            "--device",
            "cpu",
            *TINY,
        ],
    )
    assert result.exit_code == 0, result.output
    yield data, run
    torch.set_num_threads(threads)


def test_train_lists_models_and_writes_a_run(trained):
    _, run = trained
    assert CliRunner().invoke(cli, ["train", "--list"]).output.split() == [
        "baseline",
        "dns",
        "ecn",
        "ecn-fmcl",
        "ihda",
        "sbir",
        "st-reidnet",
    ]
    assert {"best.pt", "last.pt", "metrics.csv", "curves.png", "config.yaml"} <= {
        p.name for p in run.iterdir()
    }


def test_eval_reid_and_export(trained, tmp_path):
    data, run = trained
    result = CliRunner().invoke(
        cli,
        [
            "eval-reid",
            str(run / "best.pt"),
            "--data-dir",
            str(data),
            "--dataset",
            "folder",
            "--out",
            str(tmp_path),
            "--device",
            "cpu",
        ],
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith("mAP ") and (tmp_path / "ranking.png").is_file()
    result = CliRunner().invoke(
        cli, ["export", str(run / "best.pt"), "-o", str(tmp_path / "e.onnx")]
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "e.onnx").stat().st_size > 0


@pytest.mark.parametrize(
    ("extra", "embedder"), [((), "reid:best.pt"), (("--fuse-colour",), "colour+reid:best.pt")]
)
def test_track_with_a_trained_reid_model(trained, pano_clip, tmp_path, extra, embedder):
    _, run = trained
    video, det_file, _ = pano_clip
    out = tmp_path / "track"
    result = CliRunner().invoke(
        cli,
        [
            "track",
            str(video),
            "--detections",
            str(det_file),
            "--camera-height",
            str(CAMERA_HEIGHT),
            "--reid",
            str(run / "best.pt"),
            "--out",
            str(out),
            "--quiet",
            "--device",
            "cpu",
            "--max-frames",
            "10",
            *extra,
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["embedder"] == embedder
    rows = np.loadtxt(out / "tracks.txt", delimiter=",", ndmin=2)
    assert len(np.unique(rows[:, 1])) == 4


def test_reid_errors_are_one_line_exit_2(tmp_path):
    result = _run(
        "train", "baseline", "--data-dir", str(tmp_path / "none"), "--dataset", "market1501"
    )
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and "does not exist" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_bad_multi_process_training_is_refused_before_any_rank_starts(tmp_path):
    data = str(make_folder(tmp_path / "data"))
    args = ("--data-dir", data, "--dataset", "folder", "--nproc", "2", "--out")
    ecn = _run("train", "ecn", *args, str(tmp_path / "a"))
    # 2 ranks x 8 images of K=2: 8 identities per global batch, the folder has fewer
    big = _run("train", "baseline", *args, str(tmp_path / "b"), *TINY)
    for result, says in ((ecn, "trains in one process only"), (big, "over 2 ranks")):
        assert result.returncode == 2 and result.stderr.startswith("error: ")
        assert says in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


@pytest.mark.parametrize("command", ["train", "eval-reid"])
def test_help_lists_every_dataset_reader(command):
    import reid

    text = " ".join(CliRunner().invoke(cli, [command, "--help"]).output.split())
    text = text.replace("- ", "-")  # click wraps long names at their hyphens
    for name in reid.list_datasets():
        base, _, k = name.rpartition("-")
        assert name in text or (k.isdigit() and f"{base}[-1..10]" in text), name
