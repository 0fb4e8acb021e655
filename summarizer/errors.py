"""Errors of the project that are meant for the person running a command."""

from __future__ import annotations


class SummarizerError(Exception):
    """An error whose message is user-facing: complete, one paragraph, no traceback needed.

    Command-line entry points catch it, print ``str(err)`` to stderr and exit with status 2.
    Raise it for problems with the user's inputs (missing files or columns, mismatched ids, bad
    options); let programming errors propagate as ordinary exceptions.
    """
