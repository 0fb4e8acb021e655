"""`train.log` reads like the console once every progress bar is done: no carriage returns or
escape sequences, each bar at most once, in the state it ends on, and the printed metrics and
the log records whole and in order."""

from __future__ import annotations

import io
import logging
import re
import sys

import pytest
from tqdm import tqdm

from summarizer.console_log import ConsoleLog, tee_output
from tests.conftest import read_json

TRAINING_CLEARED = "\r" + " " * 46
EVAL_CLEARED = "\r" + " " * 45
# What a training epoch with an evaluation writes, call by call, as recorded from a run:
# transformers' progress bars (tqdm) on stderr, the metrics they print above themselves on
# stdout, and log records, which the run's logging file handler writes.
RECORDED = [
    ("err", "\r  0%|          | 0/16 [00:00<?, ?it/s]"),
    ("err", "\r 12%|█▎        | 2/16 [00:10<01:05,  4.68s/it]"),
    # tqdm.write: clear the bar, print above it, draw it again.
    ("err", ""), ("err", TRAINING_CLEARED), ("err", "\r"), ("err", ""),
    ("out", "{'loss': '7.45', 'epoch': '0.25'}"), ("out", "\n"),
    ("err", "\r 12%|█▎        | 2/16 [00:10<01:05,  4.68s/it]"),
    ("err", "\r 50%|█████     | 8/16 [00:43<00:49,  6.16s/it]"),
    # The evaluation's bar, one row down; the cursor goes back up to the training bar.
    ("err", "\n"), ("err", "\r  0%|          | 0/2 [00:00<?, ?it/s]"), ("err", "\x1b[A"),
    ("err", "\n"), ("err", "\r100%|██████████| 2/2 [00:01<00:00,  1.54it/s]"), ("err", "\x1b[A"),
    ("err", ""), ("err", TRAINING_CLEARED), ("err", "\r"), ("err", ""),
    ("err", "\n"), ("err", EVAL_CLEARED), ("err", "\r"), ("err", "\x1b[A"),
    ("out", "{'eval_loss': '7.008', 'eval_rouge_sum': '0', 'epoch': '1'}"), ("out", "\n"),
    ("err", "\r 50%|█████     | 8/16 [00:47<00:49,  6.16s/it]"),
    ("err", "\n"), ("err", "\r100%|██████████| 2/2 [00:02<00:00,  1.54it/s]"), ("err", "\x1b"),
    ("err", "[A"),  # an escape sequence split between two writes
    ("log", "[INFO] epoch 1/2: eval loss 7.0081, new best\n"),
    # The evaluation's bar closes and is cleared; a checkpoint's bar opens below the training
    # bar and, kept, closes on the training bar's row, which moves down.
    ("err", ""), ("err", "\n"), ("err", EVAL_CLEARED), ("err", "\x1b[A"),
    ("err", "\n"), ("err", "\rWriting model shards:   0%|          | 0/1 [00:00<?, ?it/s]"),
    ("err", "\x1b[A"), ("err", ""),
    ("err", "\rWriting model shards: 100%|██████████| 1/1 [00:00<00:00, 20.68it/s]"),
    ("err", "\n"),
    ("err", "\r 56%|█████▋    | 9/16 [00:55<00:55,  7.95s/it]"),
    # A warning printed while the bar is drawn: its own line, the bar goes on below it.
    ("err", "train.py:3: UserWarning: padding"), ("err", "\n"),
    ("err", "\r 62%|██████▎   | 10/16 [00:59<00:40,  6.76s/it]"),
    ("err", "\r100%|██████████| 16/16 [01:41<00:00,  7.15s/it]"), ("err", "\n"),
    ("log", "[INFO] Final dev ROUGE-1/2/L 0.00 / 0.00 / 0.00\n"),
    ("out", "\x1b[32mdone\x1b[0m"), ("out", "\n"),
]
EXPECTED = """\
{'loss': '7.45', 'epoch': '0.25'}
{'eval_loss': '7.008', 'eval_rouge_sum': '0', 'epoch': '1'}
[INFO] epoch 1/2: eval loss 7.0081, new best
Writing model shards: 100%|██████████| 1/1 [00:00<00:00, 20.68it/s]
train.py:3: UserWarning: padding
100%|██████████| 16/16 [01:41<00:00,  7.15s/it]
[INFO] Final dev ROUGE-1/2/L 0.00 / 0.00 / 0.00
done
"""


def test_the_log_keeps_what_the_console_shows_once_the_bars_are_done():
    file = io.StringIO()
    console_log = ConsoleLog(file)
    screens = {"out": console_log.screen(), "err": console_log.screen()}
    for source, text in RECORDED:
        if source == "log":
            console_log.write(text)
        else:
            console_log.write_console(screens[source], text)
    console_log.close()
    assert file.getvalue() == EXPECTED


def test_a_bar_still_running_at_the_end_leaves_its_last_state():
    file = io.StringIO()
    console_log = ConsoleLog(file)
    stderr = console_log.screen()
    console_log.write_console(stderr, "\r 10%|█         | 1/10 [00:01<00:09]")
    console_log.write_console(stderr, "\r 20%|██        | 2/10 [00:02<00:08]")
    console_log.close()
    assert file.getvalue() == " 20%|██        | 2/10 [00:02<00:08]\n"


def test_tee_output_writes_real_bars_and_records_in_order(tmp_path, capsys):
    path = tmp_path / "train.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("[%(levelname)s] %(message)s"))
    root, log = logging.getLogger(), logging.getLogger("summarizer.test_console_log")
    root.addHandler(handler)
    level, root.level = root.level, logging.INFO
    try:
        with tee_output(path):
            training = tqdm(total=4, mininterval=0)
            for step in range(1, 5):
                training.update()
                training.write(f"{{'loss': {step}}}")
                if step == 2:
                    evaluation = tqdm(total=3, leave=False, mininterval=0)
                    for _ in range(3):
                        evaluation.update()
                    training.write("{'eval_loss': 1.5}")
                    evaluation.close()
                    log.info("epoch 1/2: new best")
                    print("a warning", file=sys.stderr)
            training.close()
            log.info("done")
        log.info("after the run")
    finally:
        root.removeHandler(handler)
        handler.close()
        root.level = level
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[:5] == ["{'loss': 1}", "{'loss': 2}", "{'eval_loss': 1.5}",
                         "[INFO] epoch 1/2: new best", "a warning"]
    assert lines[5:7] == ["{'loss': 3}", "{'loss': 4}"]
    assert re.fullmatch(r"100%\|█+\| 4/4 \[.*\]", lines[7]), lines[7]
    assert lines[8:] == ["[INFO] done", "[INFO] after the run"]
    # The console itself still gets every redraw.
    console = capsys.readouterr()
    assert console.err.count("\r") > 10 and "\x1b[A" in console.err
    assert "{'eval_loss': 1.5}" in console.out


@pytest.mark.slow
def test_the_trained_runs_log_has_no_redraws(trained_run):
    text = (trained_run / "train.log").read_text(encoding="utf-8")
    assert "\r" not in text and "\x1b" not in text
    lines = text.splitlines()
    # Bars appear only finished: the training bar once, at its last step.
    bars = [re.search(r"\| (\d+)/(\d+) \[", line) for line in lines if "%|" in line]
    assert bars and all(bar and bar[1] == bar[2] for bar in bars), bars
    checkpoint = next(trained_run.glob("checkpoint-*"))
    steps = read_json(checkpoint / "trainer_state.json")["max_steps"]
    assert sum(line.startswith("100%|") and f"| {steps}/{steps} [" in line
               for line in lines) == 1
    # Each epoch: its printed metrics, then its record; no blank rows of cleared bars.
    evaluations = [i for i, line in enumerate(lines) if line.startswith("{'eval_loss'")]
    records = [i for i, line in enumerate(lines) if "[summarizer.reports.evaluation_log]" in line]
    assert len(evaluations) == len(records) >= 2
    assert all(evaluation < record for evaluation, record in zip(evaluations, records, strict=True))
    summary = next(i for i, line in enumerate(lines) if "Run summary" in line)
    assert all(line.strip() for line in lines[:summary])
