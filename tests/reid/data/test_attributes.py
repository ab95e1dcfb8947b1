"""Market-1501 attribute annotations (IHDA)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.io

from core.errors import DatasetError
from reid.data import Sample
from reid.data.attributes import attribute_targets, read_market_attributes
from tests.reid.helpers import FIELDS, write_attributes


def test_attribute_reader_on_generated_file(tmp_path):
    path = tmp_path / "market_attribute.mat"
    scipy.io.savemat(
        path,
        {
            "market_attribute": {
                "train": {
                    **{f: np.array([1, 2], np.uint8) for f in FIELDS},
                    "bag": np.array([1, 1], np.uint8),
                    "handbag": np.array([2, 1], np.uint8),
                    "image_index": np.array(["0002", "0007"], dtype=object),
                }
            }
        },
    )
    table = read_market_attributes(path, ("gender", "hat", "bag"))
    assert sorted(table) == [2, 7]
    # value 2 -> 1; bag = bag or handbag.
    np.testing.assert_array_equal(table[2], [0, 0, 1])
    np.testing.assert_array_equal(table[7], [1, 1, 0])
    samples = [Sample("/x/0007_c1s1_000001_00.jpg", 0, 0), Sample("/x/0003_c1s1_1.jpg", 1, 0)]
    targets, labelled = attribute_targets(samples, table, 3)
    np.testing.assert_array_equal(labelled, [True, False])
    np.testing.assert_array_equal(targets, [[1, 1, 0], [0, 0, 0]])


def test_attribute_reader_malformed_files_are_one_line_errors(tmp_path):
    bad = tmp_path / "bad.mat"
    scipy.io.savemat(bad, {"something": np.zeros(3)})
    missing = tmp_path / "missing.mat"
    write_attributes(missing, [1, 2])
    text = tmp_path / "text.mat"
    text.write_text("not a mat file")
    for path, names in (
        (bad, ("gender",)),
        (missing, ("nonexistent",)),
        (text, ("gender",)),
        (tmp_path / "none.mat", ("gender",)),
        (missing, ("age",)),
    ):
        with pytest.raises(DatasetError) as exc:
            read_market_attributes(path, names)
        assert "\n" not in str(exc.value)
