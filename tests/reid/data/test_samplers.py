"""P x K and ST-ReIDNet triplet batch samplers."""

from __future__ import annotations

from collections import Counter

import pytest

from core.errors import UserError
from reid.data import PKSampler, Sample, TripletSampler


def _samples(n_ids=6, per_id=(5, 3, 7, 2, 4, 6), video=None):
    out = []
    for pid in range(n_ids):
        for f in range(per_id[pid]):
            extra = {"frame": 10 * f, "video": video(pid)} if video else None
            out.append(Sample(f"{pid}_{f}.jpg", pid, f, extra))
    return out


def test_pk_batches_hold_p_ids_times_k_images():
    samples = _samples()
    sampler = PKSampler(samples, batch_size=8, num_instances=2, seed=1)
    batches = list(sampler)
    assert len(batches) == len(sampler) > 0
    for batch in batches:
        counts = Counter(samples[i].pid for i in batch)
        assert len(counts) == 4 and set(counts.values()) == {2}
    sampler.set_epoch(3)
    again = PKSampler(samples, 8, 2, seed=1)
    again.set_epoch(3)
    assert list(sampler) == list(again) and list(sampler) != batches


def test_pk_rejects_bad_sizes():
    with pytest.raises(UserError, match="multiple of num_instances"):
        PKSampler(_samples(), batch_size=7, num_instances=2)
    with pytest.raises(UserError, match="needs 8 identities"):
        PKSampler(_samples(), batch_size=16, num_instances=2)


def test_instance_triplets_share_the_identity():
    samples = _samples()
    for batch in TripletSampler(samples, batch_size=9, mode="instance", seed=0):
        a, p, n = batch[:3], batch[3:6], batch[6:]
        for i in range(3):
            assert samples[a[i]].pid == samples[p[i]].pid == samples[n[i]].pid
            assert a[i] != p[i]


def test_st_triplets_far_positive_and_same_video_negative():
    per_id = (30, 30, 30, 30, 30, 30)
    samples = _samples(per_id=per_id, video=lambda pid: pid // 3)
    sampler = TripletSampler(samples, 30, mode="st", seed=0, inter_rate=1.0, skip_frames=5)
    seen = 0
    for batch in sampler:
        b = len(batch) // 3
        for a, p, n in zip(batch[:b], batch[b : 2 * b], batch[2 * b :], strict=True):
            sa, sp, sn = samples[a], samples[p], samples[n]
            assert sa.pid == sp.pid and abs(sa.extra["frame"] - sp.extra["frame"]) > 5 * 10
            assert sn.pid != sa.pid and sn.extra["video"] == sa.extra["video"]
            seen += 1
    assert seen == len(samples) // 10 * 10
