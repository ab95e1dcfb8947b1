"""Market-1501 attribute annotations (Lin et al., "Improving Person Re-identification by
Attribute and Identity Learning"): ``market_attribute.mat``.

Standard layout of the file (MATLAB struct, read with :func:`scipy.io.loadmat`)::

    market_attribute.train / market_attribute.test   structs, one entry per identity
        image_index : 1 x N cell of 4-digit identity strings ('0002', ...)
        age         : 1 x N, 1..4 (young .. old)
        gender, hair, up, down, clothes, hat, backpack, bag, handbag, up<colour>, down<colour>:
                      1 x N, values 1 | 2 (gender 1 male / 2 female, hair 1 short / 2 long,
                      up 1 long / 2 short sleeve, down 1 long / 2 short lower-body clothing,
                      clothes 1 dress / 2 pants, hat..handbag and colours 1 no / 2 yes)

Labels are per identity. Binary targets here are ``value == 2`` (the second category), except
the combined ``bag`` which is 1 when the person carries a bag OR a handbag. IHDA's released code
maps 2 -> 0 instead (the same labels flipped, which BCE, entropy and consistency do not care
about) but then takes max(handbag, bag) of the flipped values, which would mean "lacks one of
the two"; the union of carried bags is what the paper's "bag" attribute names.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from core.errors import DatasetError
from reid.config.ihda import IHDA_ATTRIBUTES
from reid.data.datasets import Sample

_FORMAT = "market_attribute.mat with struct market_attribute.{train,test}.{image_index,<attr>}"
_PID_IN_NAME = re.compile(r"^(\d+)_")


def _field(struct, name: str, path: Path) -> np.ndarray:
    if not hasattr(struct, name):
        raise DatasetError(f"attribute file {path} lacks field {name!r}; expected {_FORMAT}")
    return np.atleast_1d(np.asarray(getattr(struct, name)))


def read_market_attributes(
    path: str | Path, names: Sequence[str] = IHDA_ATTRIBUTES
) -> dict[int, np.ndarray]:
    """Binary attributes per Market-1501 identity.

    Args:
        path: ``market_attribute.mat`` in the standard layout (module docstring).
        names: attributes to return, in this order; ``bag`` = bag or handbag. ``age`` has four
            values and is not binary, so it is rejected.

    Returns:
        ``{pid: int8 array (len(names),)}`` over the train and test identities.

    Raises:
        DatasetError: the file is missing, unreadable or not in the standard layout.
    """
    import scipy.io

    path = Path(path)
    if "age" in names:
        raise DatasetError("attribute 'age' has 4 values, not binary; drop it from the list")
    if not path.is_file():
        raise DatasetError(f"attribute file {path} does not exist; pass market_attribute.mat")
    try:
        mat = scipy.io.loadmat(str(path), squeeze_me=True, struct_as_record=False)
    except (scipy.io.matlab.MatReadError, ValueError, OSError, TypeError) as exc:
        raise DatasetError(
            f"cannot read attribute file {path} ({exc}); expected {_FORMAT}"
        ) from None
    root = mat.get("market_attribute")
    if root is None:
        raise DatasetError(f"attribute file {path} has no 'market_attribute'; expected {_FORMAT}")
    table: dict[int, np.ndarray] = {}
    for part in ("train", "test"):
        if not hasattr(root, part):
            continue
        struct = getattr(root, part)
        index = _field(struct, "image_index", path)
        try:
            pids = [int(str(p)) for p in index]
        except ValueError:
            raise DatasetError(
                f"attribute file {path}: {part}.image_index holds non-numeric ids; "
                f"expected 4-digit identity strings"
            ) from None
        columns = []
        for name in names:
            if name == "bag":
                value = (_field(struct, "bag", path) == 2) | (_field(struct, "handbag", path) == 2)
            else:
                value = _field(struct, name, path) == 2
            if value.shape != (len(pids),):
                raise DatasetError(
                    f"attribute file {path}: {part}.{name} has {value.size} values for "
                    f"{len(pids)} identities; expected one per image_index entry"
                )
            columns.append(value)
        rows = np.stack(columns, axis=1).astype(np.int8) if columns else np.zeros((len(pids), 0))
        table.update(zip(pids, rows, strict=True))
    if not table:
        raise DatasetError(f"attribute file {path} has neither train nor test; expected {_FORMAT}")
    return table


def attribute_targets(
    samples: Sequence[Sample], table: dict[int, np.ndarray], num_attributes: int
) -> tuple[np.ndarray, np.ndarray]:
    """Attribute targets of Market-named images (``<pid>_c<cam>...``), by the pid in the name.

    Returns:
        targets (N, num_attributes) float32 (0 where unknown), labelled (N,) bool (images whose
        identity is in ``table``).
    """
    targets = np.zeros((len(samples), num_attributes), np.float32)
    labelled = np.zeros(len(samples), bool)
    for i, s in enumerate(samples):
        m = _PID_IN_NAME.match(Path(s.path).name)
        row = table.get(int(m.group(1))) if m else None
        if row is not None:
            targets[i], labelled[i] = row, True
    return targets, labelled
