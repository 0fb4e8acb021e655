"""Errors that carry a user-facing message, and how entry points report them."""

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager

log = logging.getLogger("summarizer")


class SummarizerError(Exception):
    """A problem the user can fix (bad data, bad config); its message says what and how.

    Entry points print the message and exit with status 2 instead of showing a traceback.
    """


@contextmanager
def user_errors_exit() -> Iterator[None]:
    """A user's mistake ends the command with its message and status 2, not a traceback."""
    try:
        yield
    except SummarizerError as err:
        log.error("%s", err)
        sys.exit(2)
