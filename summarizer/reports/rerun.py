"""The command that repeats a run, from the run's own record of its overrides.

Hydra writes `.hydra/overrides.yaml` into every run directory (for a sweep, into every trial's),
and `summarizer.train()` writes the same file with the overrides it was given; the process's
`sys.argv` would name a notebook's kernel, or a whole sweep instead of its trial.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from pathlib import Path

import yaml

from summarizer.secrets import redact_argument

OVERRIDES_FILE = Path(".hydra") / "overrides.yaml"
# A sweep's own settings (its search preset, launcher, Hydra's keys and groups): they start a
# sweep, where the command should repeat one run.
SWEEP_KEYS = ("hparams_search", "launcher", "hydra.", "hydra/")


def training_command(overrides: Sequence[str]) -> str:
    """`python -m summarizer.train <overrides>` as a single run, secret values masked."""
    kept = [override for override in overrides
            if not override.split("=", 1)[0].lstrip("+~").startswith(SWEEP_KEYS)]
    return shlex.join(["python", "-m", "summarizer.train", *map(redact_argument, kept)])


def rerun_command(run_dir: str | Path) -> str | None:
    """The training command of the run in `run_dir`; None when it recorded no overrides
    (`hydra.output_subdir=null`)."""
    path = Path(run_dir) / OVERRIDES_FILE
    if not path.is_file():
        return None
    return training_command([str(item) for item in
                             yaml.safe_load(path.read_text(encoding="utf-8")) or []])


def shown_command(command: str | None, fenced: bool = True) -> str:
    """`command` for the reports, as a bash block or inline code, or why there is none."""
    if command is None:
        return (f"(not recorded: the run has no `{OVERRIDES_FILE.as_posix()}`, as with "
                "`hydra.output_subdir=null`)")
    return f"```bash\n{command}\n```" if fenced else f"`{command}`"
