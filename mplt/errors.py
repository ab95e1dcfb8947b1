"""The one exception type that reaches the user as a one-line message and exit code 2."""

from __future__ import annotations


class MpltError(Exception):
    """Bad input or environment: the message says what is wrong and what to do.

    ``cli.py`` prints ``error: <message>`` and exits with code 2, without a traceback.
    Library code raises it only for problems a user can fix; bugs stay ordinary exceptions.
    """
