"""User-fixable errors (bad dataset layout, unusable checkpoint): one line, what + what to do."""

from __future__ import annotations


class ReidError(ValueError):
    """A problem with the user's input to the re-ID library; the CLI exits with status 2."""


class DatasetError(ReidError):
    """A dataset folder lacks a file/folder or holds malformed names; names the expected layout."""
