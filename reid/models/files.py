"""Reading a torch weights file the user names: any file gives one line, never code or noise.

``weights_only=True`` means a malicious pickle is refused, not run. Every other way such a
file can fail (a text file, a truncated one, a pickle of something else) becomes one
:class:`~core.errors.UserError`, and torch's warnings about old pickle protocols are not
printed: the user either gets the tensors or the one line.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import torch

from core.errors import UserError


def torch_load(path: str | Path, what: str, fix: str) -> Any:
    """``torch.load(path, weights_only=True)`` on the CPU.

    Args:
        path: the file.
        what: what it should be, for the message (``"checkpoint"``, ``"pretrained weights"``).
        fix: what to do when it cannot be read.

    Raises:
        UserError: the file is missing or is not a weights-only torch file.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{what} {path} does not exist; {fix}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return torch.load(path, map_location="cpu", weights_only=True)
        # torch raises many kinds (UnpicklingError, KeyError, EOFError, RuntimeError...) for
        # a file that is not what it should be; each is the user's file to replace
        except Exception as exc:
            unsafe = "Weights only load failed" in str(exc)
            reason = "it holds code or objects other than tensors" if unsafe else type(exc).__name__
            raise UserError(f"{what} {path} cannot be read ({reason}); {fix}") from None
