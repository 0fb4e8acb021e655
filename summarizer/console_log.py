"""`train.log`: the run's console and its log records, in order, as the console reads once
every progress bar is done."""

from __future__ import annotations

import io
import logging
import os
import re
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# Escape sequences: CSI (tqdm's cursor-up `ESC [ A`, colours) and the two-character ones.
_ESCAPE = r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-Z\\-_]"
_CONTROL = re.compile(rf"\r|\n|{_ESCAPE}")
_RECORD_NOISE = re.compile(rf"\r|{_ESCAPE}")
# The start of an escape sequence at the end of a write; the next write holds the rest.
_UNFINISHED_ESCAPE = re.compile(r"\x1b(\[[0-?]*[ -/]*)?\Z")


class _Screen:
    """One console stream as a terminal shows it, from the oldest row that may still change
    down to the lowest row written.

    tqdm redraws a bar after `\\r`; it draws a nested bar (an evaluation during training) a row
    further down and moves back up with `ESC [ A`, and clears a bar that does not stay. The rows
    above the cursor are final only once something else is written.
    """

    def __init__(self):
        self.rows = [""]
        self.redrawn = [False]  # last drawn after `\r`: a progress bar, blank when cleared
        self.row = 0
        self.after_return = False
        self.unfinished = ""

    def feed(self, text: str) -> None:
        text = self.unfinished + text
        cut = _UNFINISHED_ESCAPE.search(text)
        self.unfinished = cut.group() if cut else ""
        text = text[:cut.start()] if cut else text
        start = 0
        for control in _CONTROL.finditer(text):
            self._print(text[start:control.start()])
            self._control(control.group())
            start = control.end()
        self._print(text[start:])

    def _print(self, text: str) -> None:
        if not text:
            return
        if self.redrawn[self.row]:
            # A bar replaces its row after `\r` (tqdm pads only to its own last length). Text
            # written onto a bar's row otherwise, such as a warning during training, is no part
            # of the bar, whose state then was not its last: the text takes the row.
            self.rows[self.row] = text
            self.redrawn[self.row] = self.after_return
        else:
            self.rows[self.row] += text
        self.after_return = False

    def _control(self, control: str) -> None:
        if control == "\r":
            self.redrawn[self.row] = self.after_return = True
        elif control == "\n":
            self.row, self.after_return = self.row + 1, False
            if self.row == len(self.rows):
                self.rows.append("")
                self.redrawn.append(False)
        elif control.startswith("\x1b[") and control.endswith("A"):
            # Rows already in the log cannot change; the cursor stops at the oldest one kept.
            self.row, self.after_return = max(0, self.row - int(control[2:-1] or 1)), False
        # Colours and other sequences do not change the text.

    def take_lines(self, everything: bool = False) -> list[str]:
        """The rows above the cursor (every row, with `everything`) as the log keeps them,
        without trailing blanks, cleared bars left out; they leave the screen."""
        end = len(self.rows) if everything else self.row
        rows = list(zip(self.rows[:end], self.redrawn[:end], strict=True))
        if everything and not self.rows[-1]:
            rows.pop()  # the row after the last newline, nothing written on it
        lines = [row.rstrip() for row, redrawn in rows if row.strip() or not redrawn]
        del self.rows[:end], self.redrawn[:end]
        self.row = 0
        if not self.rows:
            self.rows, self.redrawn = [""], [False]
        return lines


class ConsoleLog:
    """Writes the console streams and the log records into one file in the order they come.

    Log records (this is the stream of the run's logging file handler) go in whole; console text
    goes in by finished rows of its `_Screen`, so that a progress bar leaves only the state it
    ends on, or nothing when it is cleared.
    """

    def __init__(self, file):
        self.file = file
        self.screens: list[_Screen] = []  # the most recently written last
        self.lock = threading.RLock()

    def screen(self) -> _Screen:
        screen = _Screen()
        self.screens.append(screen)
        return screen

    def write_console(self, screen: _Screen, text: str) -> None:
        with self.lock:
            # Written to now, the other streams' rows above their cursors are done.
            self._write_lines([line for other in self.screens if other is not screen
                               for line in other.take_lines()])
            screen.feed(text)
            self.screens.remove(screen)
            self.screens.append(screen)

    def write(self, text: str) -> int:
        """A formatted log record."""
        with self.lock:
            self._write_lines([line for screen in self.screens for line in screen.take_lines()])
            self.file.write(_RECORD_NOISE.sub("", text))
        return len(text)

    def flush(self) -> None:
        self.file.flush()

    def close(self) -> None:
        """Writes what is still on the screens: the last state of a bar still running."""
        with self.lock:
            self._write_lines([line for screen in self.screens
                               for line in screen.take_lines(everything=True)])

    def _write_lines(self, lines: list[str]) -> None:
        if lines:
            self.file.write("".join(line + "\n" for line in lines))
            self.file.flush()


class _Tee(io.TextIOBase):
    """Mirrors a console stream into the run's log file.

    transformers 5 prints per-step losses and evaluation metrics instead of logging them, so the
    log file has to see the console.
    """

    def __init__(self, stream, console_log: ConsoleLog):
        self.stream = stream
        self.console_log = console_log
        self.screen = console_log.screen()

    def write(self, text: str) -> int:
        self.stream.write(text)
        self.console_log.write_console(self.screen, text)
        return len(text)

    def flush(self) -> None:
        self.stream.flush()

    def isatty(self) -> bool:
        return self.stream.isatty()

    def fileno(self) -> int:
        return self.stream.fileno()

    @property
    def encoding(self) -> str:
        return self.stream.encoding


@contextmanager
def tee_output(log_path: Path) -> Iterator[None]:
    """Mirrors stdout and stderr into `log_path`; the root logger's file handlers for that path
    write through the same `ConsoleLog`, so that records and console lines keep their order."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("a", encoding="utf-8") as log_file:
        console_log = ConsoleLog(log_file)
        handlers = [handler for handler in logging.getLogger().handlers
                    if isinstance(handler, logging.FileHandler)
                    and os.path.realpath(handler.baseFilename) == os.path.realpath(log_path)]
        streams = [handler.setStream(console_log) for handler in handlers]
        out, err = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = _Tee(out, console_log), _Tee(err, console_log)
        try:
            yield
        finally:
            sys.stdout, sys.stderr = out, err
            console_log.close()
            for handler, stream in zip(handlers, streams, strict=True):
                handler.setStream(stream)
