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


def user_error(error: BaseException | None) -> SummarizerError | None:
    """The `SummarizerError` behind `error`, if any: OmegaConf and Hydra wrap what a resolver or
    a constructor raises in their own exceptions (`InterpolationResolutionError`, ...)."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, SummarizerError):
            return error
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return None


@contextmanager
def user_errors_exit(raise_instead: bool = False) -> Iterator[None]:
    """A user's mistake ends the command with its message and status 2, not a traceback.

    `raise_instead`: log the message and re-raise (a sweep records the trial as failed).
    """
    try:
        yield
    except Exception as err:
        found = user_error(err)
        if found is None:
            raise
        log.error("%s", found)
        if raise_instead:
            raise
        sys.exit(2)
