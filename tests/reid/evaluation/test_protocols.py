"""The protocol registry: every reader names a registered protocol, and training keeps best.pt
by the primary metric of the protocol that ``reid.evaluate`` reports."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

import reid
from reid.data import DATASETS, read_dataset
from reid.engine import load_checkpoint
from reid.evaluation import PROTOCOLS
from tests.reid.helpers import (
    make_dancereid,
    make_folder,
    make_llcm,
    make_market,
    make_msmt,
    make_pku,
    make_qmul,
    make_regdb,
    make_sbir,
    make_sysu,
    tiny_config,
)


def test_every_reader_names_a_registered_protocol(tmp_path):
    market = make_market(tmp_path / "market", range(1, 3), range(3, 5), per_cam=1)
    roots = {
        "market1501": market,
        "dukemtmc": market,
        "msmt17": make_msmt(tmp_path / "msmt"),
        "folder": make_folder(tmp_path / "folder"),
        "dancereid": make_dancereid(tmp_path / "dance"),
        "sysu-mm01": make_sysu(tmp_path / "sysu", (1,), (2,), (3,), per_cam=1),
        "regdb": make_regdb(tmp_path / "regdb", per=1, splits=range(1, 11)),
        "llcm": make_llcm(tmp_path / "llcm"),
        "pku-sketch": make_pku(tmp_path / "pku"),
        "qmul": make_qmul(tmp_path / "qmul"),
        "sbir": make_sbir(tmp_path / "sbir", n=1),
    }
    same_layout = {
        "sketchy": "sbir",
        "tu-berlin": "sbir",
        "qmul-shoes": "qmul",
        "qmul-chairs": "qmul",
    }
    named = {}
    for name in DATASETS.names():
        split_of = next((p for p in ("regdb", "pku-sketch") if name.startswith(p)), None)
        named[name] = read_dataset(
            name, roots[split_of or same_layout.get(name, name)]
        ).eval_protocol
    assert set(named.values()) == set(PROTOCOLS.names())
    assert named["sysu-mm01"] == "sysu-mm01" and named["regdb-3"] == "regdb"
    assert named["dancereid"] == "single_gallery_shot" and named["sketchy"] == "sbir"
    assert named["pku-sketch"] == "pku-sketch" and named["qmul-chairs"] == "qmul"
    primaries = {name: PROTOCOLS.get(name).primary for name in PROTOCOLS.names()}
    assert primaries == {
        "market": "mAP",
        "single_gallery_shot": "mAP",
        "sysu-mm01": "mAP",
        "regdb": "mAP",
        "llcm": "mAP",
        "pku-sketch": "mAP",
        "qmul": "acc@1",
        "sbir": "mAP@all",
    }


@pytest.mark.parametrize(
    ("dataset", "make", "primary"),
    [("qmul-shoes", make_qmul, "acc@1"), ("pku-sketch-1", make_pku, "mAP")],
)
def test_training_keeps_best_pt_by_the_protocol_eval_reid_reports(dataset, make, primary, tmp_path):
    root = make(tmp_path / "data")
    run = reid.train(
        "baseline", tiny_config(), root, dataset, tmp_path / "run", device="cpu", progress=False
    )
    rows = list(csv.DictReader((run / "metrics.csv").open()))
    best = load_checkpoint(run / "best.pt")
    logged = next(r for r in rows if int(r["epoch"]) == best["epoch"])
    report = reid.evaluate(run / "best.pt", root, dataset, out_dir=tmp_path / "e", device="cpu")
    assert float(logged[primary]) == pytest.approx(report[primary])
    assert best["trainer"]["best_map"] == pytest.approx(report[primary])
    assert Path(tmp_path / "e" / "eval.json").is_file()
