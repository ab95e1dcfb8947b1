"""One-line notices on stderr: something the user should know that is not an error."""

from __future__ import annotations

import sys


def notice(message: str) -> None:
    """Print ``notice: <message>`` on stderr (one line; the run goes on)."""
    print(f"notice: {message}", file=sys.stderr, flush=True)
