"""Market-1501 / DukeMTMC, MSMT17, folder and DanceReID readers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from core.errors import DatasetError, UserError
from reid.data import read_dataset
from reid.data.dancereid import read_pose
from tests.reid.helpers import make_dancereid, make_folder, make_market, make_msmt


def test_market_layout(market_dir):
    splits = read_dataset("market1501", market_dir)
    assert len(splits.train) == 6 * 2 * 3
    assert sorted({s.pid for s in splits.train}) == list(range(6))  # relabelled
    assert {s.camid for s in splits.train} == {0, 1}  # c1 -> 0
    assert len(splits.query) == 4 and {s.pid for s in splits.query} == {7, 8, 9, 10}
    gallery_pids = [s.pid for s in splits.gallery]
    assert -1 not in gallery_pids  # junk dropped
    assert gallery_pids.count(0) == 1  # distractor kept
    assert len(splits.gallery) == 4 * 2 * 3 + 1


def test_market_archive_folder_one_level_down(tmp_path):
    make_market(tmp_path / "Market-1501-v15.09.15")
    assert read_dataset("dukemtmc", tmp_path).num_train_pids == 6


def test_market_missing_folder_names_it_and_the_layout(tmp_path):
    make_market(tmp_path)
    for p in (tmp_path / "query").iterdir():
        p.unlink()
    (tmp_path / "query").rmdir()
    with pytest.raises(DatasetError, match=r"missing folder 'query'.*bounding_box_train"):
        read_dataset("market1501", tmp_path)


def test_market_malformed_name(tmp_path):
    make_market(tmp_path)
    (tmp_path / "query" / "nonsense.jpg").write_bytes(b"")
    with pytest.raises(DatasetError, match=r"nonsense.jpg"):
        read_dataset("market1501", tmp_path)


def test_unknown_dataset_and_missing_root(tmp_path):
    with pytest.raises(
        UserError, match="choose one of: dancereid, dukemtmc, folder, llcm, market1501, msmt17"
    ):
        read_dataset("cuhk99", tmp_path)
    with pytest.raises(DatasetError, match="does not exist"):
        read_dataset("market1501", tmp_path / "nope")
    assert issubclass(DatasetError, ValueError)


def test_msmt17_lists(tmp_path):
    splits = read_dataset("msmt17", make_msmt(tmp_path))
    assert len(splits.train) == 16 and splits.num_train_pids == 4  # train + val combined
    assert len(splits.query) == 3 and len(splits.gallery) == 6
    assert [s.camid for s in splits.gallery[:2]] == [1, 2]  # third name field, 0-based
    (tmp_path / "list_query.txt").unlink()
    with pytest.raises(DatasetError, match=r"list_query.txt"):
        read_dataset("msmt17", tmp_path)


def test_folder_layout_camera_tags_and_fallback(tmp_path):
    splits = read_dataset("folder", make_folder(tmp_path))
    assert splits.num_train_pids == 6 and len(splits.train) == 24
    assert len({s.camid for s in splits.train}) == 24  # no tag: each image its own camera
    assert {s.camid for s in splits.query} == {1} and {s.camid for s in splits.gallery} == {2}
    q_pid = {s.pid for s in splits.query}
    assert q_pid == {s.pid for s in splits.gallery}  # shared name -> pid map
    (tmp_path / "gallery").rename(tmp_path / "gal")
    with pytest.raises(DatasetError, match="missing folder 'gallery'"):
        read_dataset("folder", tmp_path)


def test_dancereid_layout(tmp_path):
    splits = read_dataset("dancereid", make_dancereid(tmp_path))
    assert splits.num_train_pids == 4 and len(splits.train) == 4 * 8
    assert splits.eval_protocol == "single_gallery_shot"
    s = splits.query[3]
    assert s.camid == s.extra["frame"] == 15 and s.extra["video"] == "b"
    pose = read_pose(s.extra["pose"])
    assert pose.shape == (17, 2) and np.allclose(pose[3], [3, 6])
    (tmp_path / "splits.json").write_text(json.dumps([{"trainval": [0]}]))
    with pytest.raises(DatasetError, match="trainval/query/gallery"):
        read_dataset("dancereid", tmp_path)
    (tmp_path / "splits.json").unlink()
    with pytest.raises(DatasetError, match=r"missing file 'splits.json'"):
        read_dataset("dancereid", tmp_path)


def test_dancereid_split_overlap_is_dropped_from_training(tmp_path, capsys):
    """DanceReID's generator at HEAD lists pids 35-39 in trainval and in query/gallery; such
    identities stay test identities and leave the training set (seeds.md 6.f)."""
    root = make_dancereid(tmp_path)
    split = {"trainval": [0, 1, 2, 3, 4], "query": [4, 5], "gallery": [4, 5]}
    (root / "splits.json").write_text(json.dumps([split]))
    splits = read_dataset("dancereid", root)
    trained = {Path(s.path).name.split("_")[0] for s in splits.train}
    assert trained == {"0000", "0001", "0002", "0003"} and splits.num_train_pids == 4
    assert {s.pid for s in splits.query} == {4, 5}
    assert "1 identities (4) are in both trainval and query/gallery" in capsys.readouterr().err
