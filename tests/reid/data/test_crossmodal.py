"""Cross-modality readers (SYSU-MM01, RegDB, LLCM) and the P x (K + K) sampler."""

from __future__ import annotations

import shutil

import pytest

from core.errors import DatasetError, UserError
from reid.data import Sample, read_dataset
from reid.data.crossmodal import INFRARED, VISIBLE, CrossModalitySampler, modality_of
from tests.reid.helpers import make_llcm, make_regdb, make_sysu


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
