"""The one user-error class: what the user did wrong and what to do about it.

``cli.py`` prints ``error: <message>`` and exits with code 2, without a traceback, for a
:class:`UserError` raised anywhere below it (tracking, re-ID, evaluation). Library code raises
it only for problems a user can fix (bad input, settings, environment); bugs stay ordinary
exceptions. Messages follow ``<what is wrong>; <what to do>``.
"""

from __future__ import annotations


class UserError(Exception):
    """Bad input or environment; the message says what is wrong and what to do."""


class DatasetError(UserError, ValueError):
    """A dataset folder lacks a file/folder or holds malformed names; names the expected layout.

    Also a :class:`ValueError` (a malformed value read from disk), as it always was.
    """


class Terminated(KeyboardInterrupt):
    """SIGTERM: a run stops as on Ctrl-C (outputs finalised); the command exits with 143."""
