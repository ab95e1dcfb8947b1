"""Training transforms: random erasing."""

from __future__ import annotations

import numpy as np
import torch

from reid.data import RandomErasing


def test_random_erasing_pastes_a_rectangle_at_varied_positions():
    torch.manual_seed(0)
    eraser = RandomErasing(prob=1.0, area_min=0.05, area_max=0.1, fill="mean")
    corners = set()
    for _ in range(20):
        img = torch.ones(3, 64, 32)
        out = eraser(img)
        changed = (out != img).any(0).numpy()
        ys, xs = np.nonzero(changed)
        assert changed.sum() == (np.ptp(ys) + 1) * (np.ptp(xs) + 1)  # one filled rectangle
        assert 0.03 * 64 * 32 <= changed.sum() <= 0.12 * 64 * 32
        corners.add((ys.min(), xs.min()))
    assert len(corners) > 10  # not pasted at a fixed place (the original code's bug)
