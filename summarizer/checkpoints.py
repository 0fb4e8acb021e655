"""Checkpoints: which are complete, which one a run resumes from, where a moved run's best is.

A checkpoint a run was writing when it died lacks files or holds one cut short; it is judged
from file headers and archive directories, never by loading weights.
"""

from __future__ import annotations

import json
import logging
import zipfile
from pathlib import Path

from summarizer.causal.saved import ADAPTER_WEIGHTS
from summarizer.errors import SummarizerError
from summarizer.run_files import FAILED_FILE

log = logging.getLogger(__name__)

CHECKPOINT_PREFIX = "checkpoint-"
# A checkpoint missing any of these, or holding one cut short, was being written when the run
# died and cannot resume.
CHECKPOINT_STATE_FILES = ("trainer_state.json", "optimizer.pt", "scheduler.pt")
# The weights; a checkpoint of a run with adapters (peft=lora/qlora) holds only the adapter's.
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin", ADAPTER_WEIGHTS)


def safetensors_intact(path: Path) -> bool:
    """The header (8-byte little-endian length, then JSON) accounts for every byte of the file.

    Reads the header only, never the tensors, so checking a large checkpoint stays cheap.
    """
    size = path.stat().st_size
    with path.open("rb") as handle:
        head = handle.read(8)
        if len(head) < 8:
            return False
        header_size = int.from_bytes(head, "little")
        if header_size > size - 8:
            return False
        header = handle.read(header_size)
    try:
        end = max((entry["data_offsets"][1] for key, entry in json.loads(header).items()
                   if key != "__metadata__"), default=0)
        return 8 + header_size + end == size
    except (ValueError, KeyError, TypeError, IndexError, AttributeError):
        return False


def _json_intact(path: Path) -> bool:
    try:
        json.loads(path.read_bytes())
    except ValueError:
        return False
    return True


def _file_intact(path: Path) -> bool:
    """Whether a checkpoint file was written to its end, judged without loading it."""
    if path.suffix == ".safetensors":
        return safetensors_intact(path)
    if path.suffix == ".json":
        return _json_intact(path)
    # torch.save writes a zip archive, whose directory sits at the end of the file.
    return zipfile.is_zipfile(path)


def checkpoint_problems(path: Path) -> list[str]:
    """What keeps `path` from resuming (`missing optimizer.pt`, `truncated model.safetensors`);
    empty for a complete checkpoint."""
    problems, files = [], [path / name for name in CHECKPOINT_STATE_FILES]
    weights = next((path / name for name in WEIGHT_FILES if (path / name).is_file()), None)
    if weights is None:
        problems.append(f"missing {WEIGHT_FILES[0]}")
    else:
        files.insert(0, weights)
    for file in files:
        if not file.is_file():
            problems.append(f"missing {file.name}")
        elif not _file_intact(file):
            problems.append(f"truncated {file.name}")
    return problems


def is_complete_checkpoint(path: Path) -> bool:
    return not checkpoint_problems(path)


def latest_checkpoint(run_dir: Path) -> Path | None:
    """The newest complete `checkpoint-<step>` of a run; incomplete ones are skipped with a
    warning."""
    steps = {path: path.name.removeprefix(CHECKPOINT_PREFIX)
             for path in run_dir.glob(f"{CHECKPOINT_PREFIX}*")}
    candidates = [path for path, step in steps.items() if path.is_dir() and step.isdigit()]
    for path in sorted(candidates, key=lambda path: int(steps[path]), reverse=True):
        problems = checkpoint_problems(path)
        if not problems:
            return path
        log.warning("Skipping incomplete checkpoint %s (%s)", path, ", ".join(problems))
    return None


def relocated_best_checkpoint(recorded: str | None, output_dir: str | Path,
                              resumed_checkpoint: str | Path) -> str | None:
    """Where the best checkpoint named in a resumed trainer state is now, or None.

    transformers records it by the path it had when saved; a run directory moved or copied
    since still names the old place, which may be gone or hold another run's weights by now.
    The checkpoint of the same name in this run's directory is the one, else the one next to
    the resumed checkpoint (a run resumed into a new directory).
    """
    if recorded is None:
        return None
    name = Path(recorded).name
    for folder in (Path(output_dir), Path(resumed_checkpoint).parent):
        if (folder / name).is_dir():
            return str(folder / name)
    return None


def resolve_checkpoint(value: str | None, run_dir: Path) -> str | None:
    """`training.resume_from_checkpoint`: a checkpoint dir, a run dir, `last` or `auto`.

    `last` takes the newest checkpoint of this run directory (a re-run with `hydra.run.dir=`),
    else of the most recent earlier run of the same experiment (`outputs/<name>/*`).
    `auto` takes the newest checkpoint of this run directory and starts afresh when it has none:
    a cluster job requeued into its own folder carries on, a new one never borrows another
    trial's checkpoint.
    """
    if value is None or value == "":
        return None
    if value == "auto":
        found = latest_checkpoint(run_dir)
        if found is not None:
            log.info("Resuming from %s", found)
        return None if found is None else str(found)
    if value == "last":
        earlier = (path for path in run_dir.parent.iterdir() if path.is_dir() and path != run_dir)
        runs = [run_dir, *sorted(earlier, key=lambda path: path.name, reverse=True)]
        for run in runs:
            found = latest_checkpoint(run)
            if found is not None:
                failed = run / FAILED_FILE
                why = failed.read_text().strip() if failed.is_file() else ""
                log.info("Resuming from %s%s", found, f" (that run failed: {why})" if why else "")
                return str(found)
        raise SummarizerError(
            f"training.resume_from_checkpoint=last found no complete checkpoint in {run_dir} or "
            f"the earlier runs under {run_dir.parent}. Give a checkpoint directory instead."
        )
    path = Path(value)
    if not path.is_dir():
        raise SummarizerError(
            f"training.resume_from_checkpoint={value}: no such directory. Give a checkpoint-* "
            "directory, a run directory that holds checkpoints, `last` or `auto`."
        )
    problems = checkpoint_problems(path)
    if not problems:
        return str(path)
    if path.name.startswith(CHECKPOINT_PREFIX):
        raise SummarizerError(
            f"training.resume_from_checkpoint={value} is incomplete ({', '.join(problems)}): "
            "the run was stopped while writing it. Give the run directory instead (its newest "
            "complete checkpoint is used) or an earlier checkpoint-* directory."
        )
    found = latest_checkpoint(path)
    if found is None:
        raise SummarizerError(
            f"training.resume_from_checkpoint={value}: no complete checkpoint-* directory there "
            "(one with weights, optimizer, scheduler and trainer state). Give a checkpoint-* "
            "directory or a run directory that has one, or leave the key unset to start afresh."
        )
    log.info("Resuming from %s", found)
    return str(found)
