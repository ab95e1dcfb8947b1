"""Cross-modality readers, sampler and evaluation protocols (SYSU-MM01, RegDB, LLCM)."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.errors import DatasetError, UserError
from reid.data.crossmodal import INFRARED, VISIBLE, CrossModalitySampler, modality_of
from reid.data.datasets import Sample, read_dataset
from reid.metrics.crossmodal import (
    aggregate,
    evaluate_crossmodal,
    rank_crossmodal,
    single_shot_gallery,
)
from tests.reid.conftest import person


def save_modal(path: Path, pid: int, index: int, infrared: bool) -> None:
    """Visible: the coloured person; infrared: its grey version (all channels equal)."""
    img = person(pid, index)
    if infrared:
        img = np.repeat(img.mean(2, keepdims=True).astype(np.uint8), 3, axis=2)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(img).save(path)


def make_sysu(root: Path, train=(1, 2, 3, 4), val=(5,), test=(6, 7, 8), per_cam: int = 2) -> Path:
    for k, ids in (("train", train), ("val", val), ("test", test)):
        (root / "exp").mkdir(parents=True, exist_ok=True)
        (root / "exp" / f"{k}_id.txt").write_text(",".join(str(i) for i in ids) + "\n")
    for cam in range(1, 7):
        for pid in (*train, *val, *test):
            for j in range(per_cam):
                save_modal(
                    root / f"cam{cam}" / f"{pid:04d}" / f"{j:04d}.jpg",
                    pid,
                    cam * 10 + j,
                    cam in (3, 6),
                )
    return root


def make_regdb(root: Path, ids_train=(0, 1, 2, 3), ids_test=(4, 5, 6), per: int = 2) -> Path:
    (root / "idx").mkdir(parents=True, exist_ok=True)
    for part, ids in (("train", ids_train), ("test", ids_test)):
        for mod, ir in (("visible", False), ("thermal", True)):
            rows = []
            for pid in ids:
                for j in range(per):
                    rel = f"{mod.capitalize()}/{pid}/{j}.bmp"
                    save_modal(root / rel, pid, j + 10 * ir, ir)
                    rows.append(f"{rel} {pid}")
            for k in (1, 2):
                (root / "idx" / f"{part}_{mod}_{k}.txt").write_text("\n".join(rows) + "\n")
    return root


def make_llcm(root: Path, train=(1, 2, 3, 4), test=(10, 11, 12)) -> Path:
    (root / "idx").mkdir(parents=True, exist_ok=True)
    for mod, ir in (("vis", False), ("nir", True)):
        rows = []
        for pid in train:
            for cam in (1, 2):
                rel = f"{mod}/{pid:04d}/test_c0{cam}_{pid}.jpg"
                save_modal(root / rel, pid, cam + 10 * ir, ir)
                rows.append(f"{rel} {pid}")
        (root / "idx" / f"train_{mod}.txt").write_text("\n".join(rows) + "\n")
        for pid in test:
            for cam in (1, 2, 4):
                save_modal(
                    root / f"test_{mod}" / f"cam{cam}" / f"{pid:04d}" / "0.jpg", pid, cam, ir
                )
    (root / "idx" / "test_id.txt").write_text(",".join(str(i) for i in test))
    return root


@pytest.fixture(scope="module")
def sysu_dir(tmp_path_factory) -> Path:
    return make_sysu(tmp_path_factory.mktemp("sysu"))


def test_sysu_reader_splits_cameras_and_modalities(sysu_dir):
    s = read_dataset("sysu-mm01", sysu_dir)
    assert s.num_train_pids == 5 and {x.pid for x in s.train} == set(range(5))
    assert len(s.train) == 5 * 6 * 2
    assert {x.camid for x in s.query} == {2, 5} and {modality_of(x) for x in s.query} == {INFRARED}
    assert {x.camid for x in s.gallery} == {0, 1, 3, 4}
    assert {modality_of(x) for x in s.gallery} == {VISIBLE}
    assert {x.pid for x in s.query} == {6, 7, 8}
    ir_train = [x for x in s.train if modality_of(x) == INFRARED]
    assert {x.camid for x in ir_train} == {2, 5}


def test_sysu_errors_name_the_missing_part(tmp_path):
    with pytest.raises(DatasetError, match=r"missing file 'exp/train_id.txt'; expected .*cam1"):
        read_dataset("sysu-mm01", tmp_path)
    root = make_sysu(tmp_path / "s", train=(1,), val=(2,), test=(3,), per_cam=1)
    import shutil

    shutil.rmtree(root / "cam6")
    with pytest.raises(DatasetError, match="missing folder 'cam6'"):
        read_dataset("sysu-mm01", root)


def test_regdb_reader_and_errors(tmp_path):
    root = make_regdb(tmp_path / "r")
    s = read_dataset("regdb-2", root)
    assert s.name == "regdb-2" and s.num_train_pids == 4 and len(s.train) == 16
    assert {modality_of(x) for x in s.query} == {INFRARED} and {x.camid for x in s.query} == {1}
    assert {x.camid for x in s.gallery} == {0} and {x.pid for x in s.gallery} == {4, 5, 6}
    assert read_dataset("regdb", root).name == "regdb-1"
    with pytest.raises(DatasetError, match=r"missing file 'idx/train_visible_3.txt'"):
        read_dataset("regdb-3", root)
    (root / "idx" / "test_thermal_1.txt").write_text("only_a_path\n")
    with pytest.raises(DatasetError, match="line 1 'only_a_path' is malformed"):
        read_dataset("regdb-1", root)


def test_llcm_reader_and_errors(tmp_path):
    root = make_llcm(tmp_path / "l")
    s = read_dataset("llcm", root)
    assert s.num_train_pids == 4 and len(s.train) == 16
    assert len(s.query) == len(s.gallery) == 9
    assert {x.camid for x in s.query} == {0, 1, 3}
    import shutil

    shutil.rmtree(root / "test_nir")
    with pytest.raises(DatasetError, match="missing folder 'test_nir'"):
        read_dataset("llcm", root)


def _samples(spec):
    return [Sample(f"{i}.jpg", pid, 0, {"modality": m}) for i, (pid, m) in enumerate(spec)]


def test_sampler_composition_p_ids_k_visible_k_infrared():
    spec = [(pid, m) for pid in range(5) for m in (0, 1) for _ in range(3 + pid)] + [(9, 0)] * 4
    samples = _samples(spec)
    sampler = CrossModalitySampler(samples, num_ids=3, num_instances=2, seed=1)
    n_max = max(sum(1 for _, m in spec if m == k) for k in (0, 1)) - 4
    assert len(sampler) == n_max // 6 + 1
    sampler.set_epoch(1)
    batches = list(sampler)
    assert len(batches) == len(sampler)
    for b in batches:
        assert len(b) == 12
        vis, ir = b[:6], b[6:]
        assert all(samples[i].extra["modality"] == 0 for i in vis)
        assert all(samples[i].extra["modality"] == 1 for i in ir)
        vp, ip = [samples[i].pid for i in vis], [samples[i].pid for i in ir]
        assert vp == ip and len(set(vp)) == 3 and vp[0] == vp[1]
        assert 9 not in vp  # visible-only identity never sampled
    assert list(sampler) == batches  # deterministic per epoch
    sampler.set_epoch(2)
    assert list(sampler) != batches
    with pytest.raises(UserError, match="needs 6 identities"):
        CrossModalitySampler(samples, num_ids=6, num_instances=2)


def test_single_shot_picks_one_per_id_camera_seeded_and_varying():
    g_pids = np.repeat(np.arange(4), 12)
    g_cams = np.tile(np.repeat([0, 1, 3, 4], 3), 4)
    draws = [single_shot_gallery(g_pids, g_cams, (0, 1, 3, 4), t) for t in range(10)]
    for d in draws:
        pairs = list(zip(g_pids[d], g_cams[d]))
        assert len(d) == 16 and len(set(pairs)) == 16
    assert np.array_equal(draws[3], single_shot_gallery(g_pids, g_cams, (0, 1, 3, 4), 3))
    assert len({tuple(d) for d in draws}) == 10
    indoor = single_shot_gallery(g_pids, g_cams, (0, 1), 0)
    assert set(g_cams[indoor]) == {0, 1} and len(indoor) == 8


def test_sysu_rule_drops_cam2_for_cam3_queries_dedup_cmc():
    # Gallery: pid 1 cam2 (closest), pid 2 cam1, pid 0 cam2, pid 0 cam1.
    g_pids, g_cams = np.array([1, 2, 0, 0]), np.array([1, 0, 1, 0])
    dist = np.array([[0.0, 0.1, 0.2, 0.3], [0.0, 0.1, 0.2, 0.3]])
    q_pids, q_cams = np.array([0, 0]), np.array([2, 5])  # SYSU cam3 and cam6
    r3 = rank_crossmodal(dist[:1], q_pids[:1], g_pids, q_cams[:1], g_cams, "sysu", dedup_cmc=True)
    # cam3 query: cam2 items (pid 1, pid 0) removed -> [2, 0]: first true match rank 2.
    assert r3["rank1"] == 0.0 and r3["rank5"] == 1.0 and r3["mAP"] == pytest.approx(0.5)
    r6 = rank_crossmodal(dist[1:], q_pids[1:], g_pids, q_cams[1:], g_cams, "sysu", dedup_cmc=True)
    # cam6 query keeps all: [1, 2, 0, 0]: AP = (1/3 + 2/4) / 2, mINP = 2/4.
    assert r6["mAP"] == pytest.approx((1 / 3 + 2 / 4) / 2) and r6["mINP"] == pytest.approx(0.5)
    # Dedup CMC: ids ranked [1, 2, 0] -> first match at rank 3 either way.
    assert r6["rank1"] == 0.0 and r6["rank5"] == 1.0


def test_same_cam_removal_and_none():
    g_pids, g_cams = np.array([0, 0, 1]), np.array([3, 4, 3])
    dist = np.array([[0.0, 0.5, 0.2]])
    r = rank_crossmodal(dist, [0], g_pids, [3], g_cams, "same_cam", dedup_cmc=True)
    assert r["rank1"] == 0.0 and r["mAP"] == pytest.approx(0.5)  # [1, 0(cam4)]
    r = rank_crossmodal(dist, [0], g_pids, [3], g_cams, "none", dedup_cmc=False)
    assert r["rank1"] == 1.0 and r["mAP"] == pytest.approx((1 + 2 / 3) / 2)
    r = rank_crossmodal(dist, [7], g_pids, [3], g_cams, "none", dedup_cmc=False)
    assert r["num_valid_queries"] == 0.0 and r["mAP"] == 0.0


def test_protocols_end_to_end_and_regdb_direction_swap():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(5, 8))
    g_pids = np.repeat(np.arange(5), 8)
    g_cams = np.tile(np.repeat([0, 1, 3, 4], 2), 5)
    gf = centres[g_pids] + 0.01 * rng.normal(size=(40, 8))
    q_pids, q_cams = np.repeat(np.arange(5), 2), np.tile([2, 5], 5)
    qf = centres[q_pids] + 0.01 * rng.normal(size=(10, 8))
    for proto in ("sysu-all", "sysu-indoor", "llcm"):
        res = evaluate_crossmodal(qf, gf, q_pids, q_cams, g_pids, g_cams, proto, trials=10)
        assert res["rank1"] == 1.0 and res["rank1_std"] == 0.0 and res["num_trials"] == 10
    res = evaluate_crossmodal(qf, gf, q_pids, q_cams, g_pids, g_cams, "regdb")
    assert res["num_trials"] == 1 and res["mAP"] == pytest.approx(1.0)
    # Direction swap: visible queries against the thermal gallery.
    swap = evaluate_crossmodal(gf, qf, g_pids, g_cams, q_pids, q_cams, "regdb")
    assert swap["trials"][0]["num_valid_queries"] == 40 and swap["rank1"] == 1.0
    with pytest.raises(UserError, match="choose one of"):
        evaluate_crossmodal(qf, gf, q_pids, q_cams, g_pids, g_cams, "market")


def test_aggregate_mean_and_std():
    trials = [
        dict.fromkeys(("rank1", "rank5", "rank10", "rank20", "mAP", "mINP"), v) for v in (0.2, 0.4)
    ]
    out = aggregate(trials)
    assert out["rank1"] == pytest.approx(0.3) and out["mAP_std"] == pytest.approx(0.1)
