"""Domain-adaptation batches: the [source | target] sampler."""

from __future__ import annotations

import pytest

from core.errors import UserError
from reid.data.crossdomain import CrossDomainSampler


def test_crossdomain_sampler_layout_and_determinism():
    s = CrossDomainSampler(20, 7, 4, 3, seed=1)
    s.set_epoch(2)
    batches = list(s)
    assert len(batches) == len(s) == 5 and all(len(b) == 7 for b in batches)
    assert sorted(i for b in batches for i in b[:4]) == list(range(20))
    for b in batches:  # target part: offset indices, no repeats inside a batch
        assert all(20 <= i < 27 for i in b[4:]) and len(set(b[4:])) == 3
    assert batches == list(s)
    with pytest.raises(UserError, match=r"target.batch_size"):
        CrossDomainSampler(20, 2, 4, 3)
