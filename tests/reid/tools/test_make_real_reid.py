"""reid.tools.make_real_reid on a synthetic clip: persons disjoint between train and test, a
returning person merged, query and gallery from different halves of a person's time."""

from __future__ import annotations

import re
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest

from reid.tools import make_real_reid

NAME = re.compile(r"^(\d{4})_c(\d)s(\d)_(\d{6})_00\.jpg$")


def _clip(root: Path) -> None:
    """8 frames of 160 x 120 with 5 MOT ids (64 px tall boxes); id 5 is id 2 coming back."""
    frames = np.full((8, 128, 160, 3), 90, np.uint8)
    rows = []
    for f in range(8):
        for i, x in ((1, 4), (2, 36), (3, 68), (4, 100)):
            if i == 2 and f >= 4:  # leaves after frame 4 ...
                continue
            rows.append((f + 1, i, x + 1, 21, 24, 64, 1))
            frames[f, 20:84, x : x + 24] = 40 * i
        if f >= 5:  # ... and returns as id 5
            rows.append((f + 1, 5, 131, 21, 24, 64, 1))
            frames[f, 20:84, 130:154] = 80
    rows.append((1, 1, 1, 1, 24, 20, 1))  # too short: skipped
    rows.append((2, 3, 69, 21, 24, 64, 0))  # flagged ignore: dropped
    iio.imwrite(root / "syn.mp4", frames, fps=5, codec="libx264", macro_block_size=1)
    np.savetxt(root / "gt.txt", np.array(rows), fmt="%d", delimiter=",")


def test_persons_disjoint_and_returning_person_merged(tmp_path, monkeypatch):
    pytest.importorskip("imageio_ffmpeg")
    _clip(tmp_path)
    monkeypatch.setattr(make_real_reid, "SEQUENCES", (("SYN", "syn.mp4", "gt.txt"),))
    monkeypatch.setattr(make_real_reid, "PERSONS", {"SYN": {5: 2}})
    counts = make_real_reid.build(tmp_path / "out", tmp_path, queries=1)
    found = {}
    for folder in ("bounding_box_train", "query", "bounding_box_test"):
        names = sorted(p.name for p in (tmp_path / "out" / folder).iterdir())
        assert len(names) == counts[folder]
        found[folder] = [NAME.match(n).groups() for n in names]
    persons = {k: {int(g[0]) for g in v} for k, v in found.items()}
    # persons 1..4 (5 is 2) alternate train / test; pid = 100 * (sequence + 1) + first id
    assert persons["bounding_box_train"] == {101, 103}
    assert persons["query"] == persons["bounding_box_test"] == {102, 104}
    assert not persons["bounding_box_train"] & persons["bounding_box_test"]
    # the returning person: one identity, its halves split at the return (camera 2 after it)
    frames_of_102 = {
        (int(g[1]), int(g[3]))
        for k in ("query", "bounding_box_test")
        for g in found[k]
        if g[0] == "0102"
    }
    assert {f for c, f in frames_of_102 if c == 1} == {0, 1, 2, 3}
    assert {f for c, f in frames_of_102 if c == 2} == {5, 6, 7}
    # a query per half and person, every other test crop in the gallery, skipped rows gone
    assert sorted((g[0], g[1]) for g in found["query"]) == [
        ("0102", "1"),
        ("0102", "2"),
        ("0104", "1"),
        ("0104", "2"),
    ]
    assert counts["bounding_box_train"] == 8 + 8
    assert counts["query"] + counts["bounding_box_test"] == 7 + 8
