"""GRL coefficient ramps (DANN sigmoid, zero-shot SBIR's linear ramp)."""

from __future__ import annotations

import math

import pytest

from reid.engine.ramps import dann_sigmoid_ramp, linear_ramp


def test_dann_sigmoid_ramp_values():
    assert dann_sigmoid_ramp(0.0) == 0.0
    assert dann_sigmoid_ramp(1.0) == pytest.approx(2 / (1 + math.exp(-10)) - 1)
    assert dann_sigmoid_ramp(0.1) == pytest.approx(0.46211715726)  # tanh(0.5)
    assert dann_sigmoid_ramp(0.1, gamma=10, low=0.2, high=1.2) == pytest.approx(0.66211715726)
    with pytest.raises(ValueError):
        dann_sigmoid_ramp(-0.1)


def test_linear_ramp_intended_schedule():
    vals = [linear_ramp(e, 5, 25) for e in (0, 4, 5, 10, 24, 25, 40)]
    assert vals == pytest.approx([0.0, 0.0, 0.2, 0.4, 0.96, 1.0, 1.0])
    assert linear_ramp(5, 0, 10, max_value=2.0) == pytest.approx(1.0)
    assert linear_ramp(0, 0, 10) == 0.0
    with pytest.raises(ValueError):
        linear_ramp(1, 10, 5)


def test_grl_ramp_follows_the_iteration(tmp_path):
    assert dann_sigmoid_ramp(0.0) == 0.0
    assert dann_sigmoid_ramp(0.5) == pytest.approx(2 / (1 + math.exp(-5)) - 1)
