"""Agreement with reference numbers: py-motmetrics on its TUD files, TrackEval's own loader,
and HOTA worked out by hand."""

from __future__ import annotations

import contextlib
import io
import shutil
from pathlib import Path

import numpy as np
import pytest

from mplt.eval import run_eval

mm = pytest.importorskip("motmetrics")
TUD = Path(mm.__file__).parent / "data"
SEQS = ("TUD-Campus", "TUD-Stadtmitte")

# motmetrics 1.4.0, tests/test_metrics.py::test_motchallenge_files (iou, distth=0.5):
# idf1, idp, idr, recall, precision, GT objects, MT, PT, ML, FP, FN, IDSW, Frag, MOTA and
# MOTP (motmetrics' MOTP is a mean distance 1 - IoU; ours is TrackEval's mean IoU).
REFERENCE = {
    "TUD-Campus": (
        0.557659,
        0.729730,
        0.451253,
        0.582173,
        0.941441,
        8,
        1,
        6,
        1,
        13,
        150,
        7,
        7,
        0.526462,
        0.277201,
    ),
    "TUD-Stadtmitte": (
        0.644619,
        0.819760,
        0.531142,
        0.608997,
        0.939920,
        10,
        5,
        4,
        1,
        45,
        452,
        7,
        6,
        0.564014,
        0.345904,
    ),
    "OVERALL": (
        0.624296,
        0.799176,
        0.512211,
        0.602640,
        0.940268,
        18,
        6,
        10,
        2,
        58,
        602,
        14,
        13,
        0.555116,
        0.330177,
    ),
}


def _as_reference(m: dict) -> tuple:
    return (
        m["IDF1"],
        m["IDP"],
        m["IDR"],
        m["recall"],
        m["precision"],
        m["gt_ids"],
        m["MT"],
        m["PT"],
        m["ML"],
        m["FP"],
        m["FN"],
        m["IDSW"],
        m["Frag"],
        m["MOTA"],
        1 - m["MOTP"],
    )


@pytest.fixture(scope="module")
def tud_predictions(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """motmetrics' test.txt files as a directory of <seq>.txt predictions."""
    pred = tmp_path_factory.mktemp("tud_pred")
    for seq in SEQS:
        shutil.copy(TUD / seq / "test.txt", pred / f"{seq}.txt")
    return pred


@pytest.mark.parametrize("seq", SEQS)
def test_single_tud_sequence_reproduces_motmetrics_reference(seq: str) -> None:
    report = run_eval(TUD / seq / "gt.txt", TUD / seq / "test.txt")
    assert list(report.sequences) == [seq]
    ours = _as_reference(report.combined)
    # Reference values are printed with 6 decimals; counts must be equal.
    assert ours == pytest.approx(REFERENCE[seq], abs=1e-6)


def test_tud_directory_reproduces_motmetrics_overall(tud_predictions: Path) -> None:
    # motmetrics' data folder is the <seq>/gt.txt layout (its iotest/ folder has no gt.txt).
    report = run_eval(TUD, tud_predictions)
    assert list(report.sequences) == list(SEQS)
    for seq in SEQS:
        assert _as_reference(report.sequences[seq]) == pytest.approx(REFERENCE[seq], abs=1e-6)
    assert _as_reference(report.combined) == pytest.approx(REFERENCE["OVERALL"], abs=1e-6)


def _trackeval_end_to_end(gt_root: Path, trackers: Path, benchmark: str, lengths: dict) -> dict:
    """TrackEval's own MOTChallenge loader + evaluator (the official path), quietly."""
    trackeval = pytest.importorskip("trackeval")
    evaluator = trackeval.Evaluator(
        {
            "USE_PARALLEL": False,
            "PRINT_RESULTS": False,
            "PRINT_CONFIG": False,
            "OUTPUT_SUMMARY": False,
            "OUTPUT_DETAILED": False,
            "PLOT_CURVES": False,
            "TIME_PROGRESS": False,
        }
    )
    dataset = trackeval.datasets.MotChallenge2DBox(
        {
            "GT_FOLDER": str(gt_root),
            "TRACKERS_FOLDER": str(trackers),
            "BENCHMARK": benchmark,
            "SKIP_SPLIT_FOL": True,
            "SEQ_INFO": lengths,
            "PRINT_CONFIG": False,
            "TRACKERS_TO_EVAL": ["t"],
        }
    )
    metrics = [
        trackeval.metrics.HOTA(),
        trackeval.metrics.CLEAR({"PRINT_CONFIG": False}),
        trackeval.metrics.Identity({"PRINT_CONFIG": False}),
    ]
    with contextlib.redirect_stdout(io.StringIO()):
        results, _ = evaluator.evaluate([dataset], metrics)
    return results["MotChallenge2DBox"]["t"]


def _assert_same_as_trackeval(ours: dict, theirs: dict) -> None:
    for key in ("HOTA", "DetA", "AssA", "LocA"):
        assert ours[key] == pytest.approx(np.mean(theirs["HOTA"][key]), abs=1e-12), key
    clear, ident = theirs["CLEAR"], theirs["Identity"]
    assert ours["MOTA"] == pytest.approx(clear["MOTA"], abs=1e-12)
    assert ours["MOTP"] == pytest.approx(clear["MOTP"], abs=1e-12)
    assert ours["IDF1"] == pytest.approx(ident["IDF1"], abs=1e-12)
    for ours_key, key in (
        ("IDSW", "IDSW"),
        ("FP", "CLR_FP"),
        ("FN", "CLR_FN"),
        ("MT", "MT"),
        ("ML", "ML"),
        ("Frag", "Frag"),
    ):
        assert ours[ours_key] == clear[key], ours_key


def test_tud_matches_trackeval_end_to_end(tmp_path: Path, tud_predictions: Path) -> None:
    for seq in SEQS:
        (tmp_path / "gt" / seq / "gt").mkdir(parents=True)
        shutil.copy(TUD / seq / "gt.txt", tmp_path / "gt" / seq / "gt" / "gt.txt")
    shutil.copytree(tud_predictions, tmp_path / "trk" / "t" / "data")
    theirs = _trackeval_end_to_end(
        tmp_path / "gt", tmp_path / "trk", "MOT15", {"TUD-Campus": 71, "TUD-Stadtmitte": 179}
    )
    ours = run_eval(tmp_path / "gt", tmp_path / "trk" / "t")  # finds data/<seq>.txt
    for seq in SEQS:
        _assert_same_as_trackeval(ours.sequences[seq], theirs[seq]["pedestrian"])
    _assert_same_as_trackeval(ours.combined, theirs["COMBINED_SEQ"]["pedestrian"])


def test_mot17_classes_and_distractors_match_trackeval(tmp_path: Path) -> None:
    # Nine-column MOT17 ground truth: pedestrians (class 1), a static person (7, a
    # distractor), a car (3), an ignored pedestrian (conf 0). Predictions cover all of them.
    gt_rows, pred_rows = [], []
    for f in range(1, 9):
        gt_rows += [
            f"{f},1,{10 + 5 * f},20,30,80,1,1,1.0",
            f"{f},2,{200 - 4 * f},30,30,90,1,1,0.8",
            f"{f},3,400,40,30,90,0,7,1.0",
            f"{f},4,500,100,80,40,0,3,1.0",
            f"{f},5,300,200,30,80,0,1,0.2",
        ]
        pred_rows += [
            f"{f},11,{12 + 5 * f},21,30,80,0.9,-1,-1,-1",
            f"{f},{12 if f < 5 else 13},{201 - 4 * f},31,30,90,0.9,-1,-1,-1",
            f"{f},14,401,41,30,90,0.9,-1,-1,-1",  # on the distractor: dropped
            f"{f},15,501,101,80,40,0.9,-1,-1,-1",  # on the car: a false positive
            f"{f},16,301,201,30,80,0.9,-1,-1,-1",  # on the ignored pedestrian: a false positive
        ]
    (tmp_path / "gt" / "MOT17-99" / "gt").mkdir(parents=True)
    (tmp_path / "gt" / "MOT17-99" / "gt" / "gt.txt").write_text("\n".join(gt_rows) + "\n")
    (tmp_path / "trk" / "t" / "data").mkdir(parents=True)
    (tmp_path / "trk" / "t" / "data" / "MOT17-99.txt").write_text("\n".join(pred_rows) + "\n")
    theirs = _trackeval_end_to_end(tmp_path / "gt", tmp_path / "trk", "MOT17", {"MOT17-99": 8})
    ours = run_eval(tmp_path / "gt", tmp_path / "trk" / "t").combined
    _assert_same_as_trackeval(ours, theirs["MOT17-99"]["pedestrian"])
    assert (ours["gt_ids"], ours["pred_ids"], ours["IDSW"], ours["FP"]) == (2, 5, 1, 16)


def _write_random_sequence(seed: int, gt_path: Path, pred_path: Path) -> None:
    """Random walkers with gaps, box noise, ID changes and clutter, as 10-column MOT files."""
    rng = np.random.default_rng(seed)
    n, frames = 8, 60
    pos = rng.uniform([0, 0], [600, 300], (n, 2))
    vel = rng.normal(0, 4, (n, 2))
    size = rng.uniform([20, 50], [50, 120], (n, 2))
    pred_ids, next_id = np.arange(n) + 100, 200
    gt, pred = [], []
    for t in range(1, frames + 1):
        pos += vel
        for i in range(n):
            if rng.random() < 0.1:
                continue
            gt.append((t, i + 1, *pos[i], *size[i], 1, -1, -1, -1))
            if rng.random() < 0.15:
                continue
            if rng.random() < 0.03:
                pred_ids[i], next_id = next_id, next_id + 1
            noise = rng.normal(0, 4, 4)
            box = (*(pos[i] + noise[:2]), *(size[i] + noise[2:]))
            pred.append((t, pred_ids[i], *box, 1, -1, -1, -1))
        for _ in range(rng.poisson(0.5)):
            pred.append((t, next_id, *rng.uniform([0, 0], [600, 300]), 30, 80, 1, -1, -1, -1))
            next_id += 1
    np.savetxt(gt_path, np.array(gt), delimiter=",", fmt="%.3f")
    np.savetxt(pred_path, np.array(pred), delimiter=",", fmt="%.3f")


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.filterwarnings("ignore:Operation with tuple is deprecated")  # motmetrics' loader
def test_live_motmetrics_agrees_on_random_tracks(seed: int, tmp_path: Path, monkeypatch) -> None:
    # motmetrics 1.4.0 calls np.asfarray (removed in numpy 2) in distances.iou_matrix:
    # restore it for this test only.
    monkeypatch.setattr(np, "asfarray", lambda a, dtype=float: np.asarray(a, dtype), raising=False)
    gt, pred = tmp_path / "gt.txt", tmp_path / "pred.txt"
    _write_random_sequence(seed, gt, pred)
    acc = mm.utils.compare_to_groundtruth(mm.io.loadtxt(gt), mm.io.loadtxt(pred), "iou", distth=0.5)
    names = [
        "mota",
        "idf1",
        "idp",
        "idr",
        "num_switches",
        "num_false_positives",
        "num_misses",
        "precision",
        "recall",
        "motp",
    ]
    ref = mm.metrics.create().compute(acc, metrics=names).iloc[0]
    ours = run_eval(gt, pred).combined
    # MT (TrackEval: > 80 % tracked, motmetrics: >= 80 %) and Frag (TrackEval also counts a
    # re-start after frames where the person is not annotated) are defined differently.
    assert (
        ours["MOTA"],
        ours["IDF1"],
        ours["IDP"],
        ours["IDR"],
        ours["IDSW"],
        ours["FP"],
        ours["FN"],
        ours["precision"],
        ours["recall"],
        1 - ours["MOTP"],
    ) == pytest.approx(tuple(ref[names]), abs=1e-9)
    assert ours["IDSW"] > 0 and ours["FP"] > 0 and ours["FN"] > 0  # a non-trivial case


def _write(path: Path, rows: list[str]) -> Path:
    path.write_text("".join(r + "\n" for r in rows))
    return path


def test_hota_on_a_hand_computed_case(tmp_path: Path) -> None:
    # One person over 4 frames, box 100 x 10. The prediction covers its left 62 % (IoU 0.62)
    # and changes ID half-way. Of TrackEval's 19 thresholds alpha = 0.05 .. 0.95, the 12 up
    # to 0.60 accept the matches: DetA = 1 there (TP 4, no FN/FP) and every match's
    # association score is TPA / (TPA + FNA + FPA) = 2 / (2 + 2 + 0) = 0.5, so
    # HOTA_alpha = sqrt(1 * 0.5); above 0.62 nothing matches and HOTA_alpha = 0.
    gt = _write(tmp_path / "gt.txt", [f"{f},1,1,1,100,10,1,-1,-1,-1" for f in range(1, 5)])
    pred = _write(
        tmp_path / "pred.txt",
        [f"{f},{7 if f <= 2 else 8},1,1,62,10,1,-1,-1,-1" for f in range(1, 5)],
    )
    m = run_eval(gt, pred).combined
    assert m["DetA"] == pytest.approx(12 / 19)
    assert m["AssA"] == pytest.approx(0.5 * 12 / 19)
    assert m["HOTA"] == pytest.approx(np.sqrt(0.5) * 12 / 19)
    # CLEAR / Identity at IoU 0.5: 4 matches, 1 switch; best ID mapping covers 2 of 4.
    assert (m["TP"], m["FP"], m["FN"], m["IDSW"]) == (4, 0, 0, 1)
    assert m["MOTA"] == pytest.approx(0.75)
    assert m["MOTP"] == pytest.approx(0.62)
    assert m["IDF1"] == pytest.approx(0.5)


def test_hota_is_one_for_a_perfect_tracker(tmp_path: Path) -> None:
    rows = [f"{f},{i},{10 + 50 * i + f},20,30,80,1,-1,-1,-1" for f in range(1, 6) for i in (1, 2)]
    gt = _write(tmp_path / "gt.txt", rows)
    m = run_eval(gt, gt).combined
    assert (m["HOTA"], m["DetA"], m["AssA"], m["MOTA"], m["IDF1"]) == pytest.approx((1,) * 5)
