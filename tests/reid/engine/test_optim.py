"""Learning-rate schedules: DNS's one-cycle, ST-ReIDNet's linear decay."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from reid.engine.optim import LinearDecay, OneCycle


def test_one_cycle_schedule():
    opt = torch.optim.SGD([{"params": [nn.Parameter(torch.zeros(1))], "lr": 0.2}])
    sched = OneCycle(opt, peak=16, total=100, start=1e-4)
    assert [sched.factor(t) for t in (0, 16, 58, 100)] == pytest.approx([1e-4, 1, 0.5, 0])
    sched.steps_per_epoch = 4
    sched.step_iter()
    sched.step_iter()
    assert opt.param_groups[0]["lr"] == pytest.approx(0.2 * (1e-4 + (1 - 1e-4) * 0.25 / 16))
    sched.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(0.2 * (1e-4 + (1 - 1e-4) / 16))


def test_linear_decay_schedule():
    f = LinearDecay(50, 50)
    assert f(0) == f(48) == 1.0
    assert math.isclose(f(49), 1 - 1 / 51) and math.isclose(f(74), 1 - 26 / 51)
