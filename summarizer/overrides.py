"""The overrides the user gave: typed on the command line, or passed to `summarizer.load_config`."""

from __future__ import annotations

import sys
from contextvars import ContextVar

# The overrides `summarizer.load_config` was given, while `summarizer.train` runs its config.
API_OVERRIDES: ContextVar[list[str] | None] = ContextVar("api_overrides", default=None)


def command_line_overrides() -> list[str]:
    """The overrides typed on the command line, read from `sys.argv` (a config file can add
    entries to Hydra's own record of them, `hydra.overrides.task`), or given to the API."""
    given = API_OVERRIDES.get()
    if given is not None:
        return list(given)
    return [arg for arg in sys.argv[1:] if "=" in arg and not arg.startswith("-")]
