"""Checkpoint averaging: one model whose weights are the mean of several checkpoints of a run.

Checkpoints from the end of a run lie around the same minimum; their mean often scores better
than any one of them, at no training cost. Weights are read one checkpoint at a time, tensor by
tensor, and summed in float32, so memory holds the running sum and one checkpoint's tensor, never
every checkpoint. A run with adapters (`peft=lora/qlora`) checkpoints the adapter alone: its
weights are the ones averaged, and the result loads on the base model as a checkpoint does.
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from omegaconf import OmegaConf
from safetensors import safe_open
from safetensors.torch import save_file

from summarizer.causal.saved import (
    ADAPTER_CONFIG,
    ADAPTER_WEIGHTS,
    BASE_DIR,
    base_model,
    read_prompt_config,
    recorded_base,
    write_prompt_config,
)
from summarizer.checkpoints import CHECKPOINT_PREFIX, safetensors_intact
from summarizer.drop_in_tokenizer import rewrite_as_drop_in
from summarizer.errors import SummarizerError
from summarizer.metric_names import EVAL_PREFIX, EVAL_ROUGE_METRICS, OBJECTIVE, ROUGE_METRICS
from summarizer.reports.history import evaluations
from summarizer.run_config import saved_config
from summarizer.run_files import FINAL_MODEL

log = logging.getLogger(__name__)

AVERAGED_MODEL = "final_model_averaged"
METRICS_FILE = "metrics.json"
MODEL_WEIGHTS = "model.safetensors"
MODEL_INDEX = "model.safetensors.index.json"
TRAINER_STATE = "trainer_state.json"
# Pickles (optimizer, scheduler, RNG state, training arguments) resume training, and loading a
# pickle can run code: the averaged model never carries them.
PICKLE_SUFFIXES = (".pt", ".pth", ".bin")
# Recorded by the library that saved a config, not part of the architecture.
VERSION_KEYS = ("transformers_version", "peft_version", "_name_or_path")
RULES = ("last", "best")


@dataclass(frozen=True)
class Selection:
    """Which checkpoints to average: the `count` newest (`last`) or best-scored (`best`)."""

    rule: str
    count: int

    def __str__(self) -> str:
        return f"{self.rule}={self.count}"


def selection(last: Any = None, best: Any = None) -> Selection:
    """The user's `last=N` or `best=N`, exactly one of them, N an integer of at least 2."""
    given = {rule: value for rule, value in zip(RULES, (last, best), strict=True)
             if value is not None}
    if len(given) != 1:
        what = "both last= and best=" if given else "neither last= nor best="
        raise SummarizerError(
            f"Average which checkpoints? Got {what}: give one of them, last=N (the N newest "
            "checkpoints of the run) or best=N (the N with the best dev score the run kept its "
            "best model by), e.g. last=3.")
    [(rule, count)] = given.items()
    if isinstance(count, bool) or not isinstance(count, int) or count < 2:
        raise SummarizerError(f"{rule}={count} is invalid: it must be an integer >= 2 (the number "
                              f"of checkpoints to average), e.g. {rule}=3.")
    return Selection(rule, count)


def step_of(checkpoint: Path) -> int:
    return int(checkpoint.name.removeprefix(CHECKPOINT_PREFIX))


def weight_files(checkpoint: Path) -> list[str]:
    """The safetensors files that hold a checkpoint's weights (the adapter's in an adapter run);
    empty when it has none."""
    for name in (ADAPTER_WEIGHTS, MODEL_WEIGHTS):
        if (checkpoint / name).is_file():
            return [name]
    index = checkpoint / MODEL_INDEX
    if index.is_file():
        return sorted(set(json.loads(index.read_text(encoding="utf-8"))["weight_map"].values()))
    return []


def run_checkpoints(run_dir: Path) -> list[Path]:
    """The run's checkpoints with whole safetensors weights, oldest first; a checkpoint cut short
    while saving is skipped with a warning."""
    if not run_dir.is_dir():
        raise SummarizerError(f"run={run_dir} does not exist. Give the directory of a training "
                              "run (outputs/<name>/<time>/), which holds its checkpoint-* "
                              "directories.")
    found = []
    for path in run_dir.glob(f"{CHECKPOINT_PREFIX}*"):
        if not (path.is_dir() and path.name.removeprefix(CHECKPOINT_PREFIX).isdigit()):
            continue
        files = weight_files(path)
        whole = bool(files) and all((path / name).is_file() and safetensors_intact(path / name)
                                    for name in files)
        if whole:
            found.append(path)
        else:
            log.warning("Skipping %s: its safetensors weights are %s", path,
                        "cut short" if files else "missing")
    return sorted(found, key=step_of)


def best_metric(run_dir: Path) -> tuple[str, bool]:
    """The metric the run kept its best model by, as evaluations log it (`eval_rouge_sum`),
    and whether higher is better."""
    config = saved_config(run_dir)
    if config is None:
        config = OmegaConf.create()
    metric = str(OmegaConf.select(config, "training.args.metric_for_best_model") or OBJECTIVE)
    metric = metric if metric.startswith(EVAL_PREFIX) else EVAL_PREFIX + metric
    greater = OmegaConf.select(config, "training.args.greater_is_better")
    return metric, metric != f"{EVAL_PREFIX}loss" if greater is None else bool(greater)


def _read_json(path: Path, consequence: str) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise SummarizerError(f"{path} is missing or unreadable, {consequence}") from None


def checkpoint_score(checkpoint: Path, metric: str) -> float:
    """`metric` of the evaluation at the checkpoint's own step, from its trainer state."""
    state_file = checkpoint / TRAINER_STATE
    state = _read_json(state_file, f"so {checkpoint.name} cannot be ranked by {metric}. Choose "
                                   "checkpoints by step with last=N instead.")
    step = state.get("global_step", step_of(checkpoint))
    scores = [entry[metric] for entry in evaluations(state.get("log_history", []))
              if entry.get("step") == step and metric in entry]
    if not scores:
        raise SummarizerError(
            f"{checkpoint.name} has no evaluation of {metric} at its step {step} in "
            f"{state_file}, so it cannot be ranked (the run saved at steps it did not evaluate "
            "at). Choose checkpoints by step with last=N instead.")
    return scores[-1]


def select_checkpoints(run_dir: Path, chosen: Selection) -> list[Path]:
    """The checkpoints `chosen` names, oldest first."""
    found = run_checkpoints(run_dir)
    if not found and any(run_dir.parent.glob(f"{CHECKPOINT_PREFIX}*")):
        raise SummarizerError(f"run={run_dir} is a folder inside a training run: give the run "
                              f"directory itself, run={run_dir.parent}.")
    if len(found) < chosen.count:
        kept = (f"keeps {len(found)} ({', '.join(path.name for path in found)})" if found
                else "keeps no checkpoint-* directory with safetensors weights")
        fix = (f"Ask for {chosen.rule}={len(found)} at most, or train" if len(found) >= 2
               else "Train")
        raise SummarizerError(
            f"{chosen} asks for {chosen.count} checkpoints, but {run_dir} {kept}. {fix} the run "
            f"again with training.save_total_limit={chosen.count} or more, which keeps that many.")
    if chosen.rule == "last":
        return found[-chosen.count:]
    metric, greater = best_metric(run_dir)
    scores = {path: checkpoint_score(path, metric) for path in found}
    ranked = sorted(found, key=lambda path: (scores[path] if greater else -scores[path],
                                             step_of(path)), reverse=True)
    picked = sorted(ranked[:chosen.count], key=step_of)
    log.info("Best %d checkpoints by %s: %s", chosen.count, metric,
             ", ".join(f"{path.name} ({scores[path]:.4f})" for path in picked))
    return picked


def _architecture(checkpoint: Path) -> tuple[str, dict]:
    """The config that must match for weights to be averaged: the adapter's or the model's."""
    name = ADAPTER_CONFIG if (checkpoint / ADAPTER_CONFIG).is_file() else "config.json"
    path = checkpoint / name
    config = _read_json(path, f"so {checkpoint.name} cannot be checked to hold the same "
                              "architecture as the others. Choose other checkpoints with last=N "
                              "or best=N, or move it out of the run directory.")
    return name, {key: value for key, value in config.items() if key not in VERSION_KEYS}


def _mismatch(checkpoint: Path, first: Path, what: str) -> SummarizerError:
    return SummarizerError(
        f"{checkpoint} holds another architecture than {first.name}: {what}. Only checkpoints "
        f"of one model can be averaged: move {checkpoint.name} out of {checkpoint.parent}, or "
        "choose other checkpoints with last=N or best=N.")


def check_same_architecture(checkpoints: list[Path]) -> None:
    first, (name, expected) = checkpoints[0], _architecture(checkpoints[0])
    for checkpoint in checkpoints[1:]:
        other_name, config = _architecture(checkpoint)
        if other_name != name:
            raise _mismatch(checkpoint, first, f"one holds {name}, the other {other_name}")
        differing = sorted(key for key in expected.keys() | config.keys()
                           if expected.get(key) != config.get(key))
        if differing:
            key = differing[0]
            raise _mismatch(checkpoint, first, f"{name} differs in {key} "
                            f"({config.get(key)!r} there, {expected.get(key)!r} in {first.name})")
        if weight_files(checkpoint) != weight_files(first):
            raise _mismatch(checkpoint, first, "its weights are split into other files")


def check_adapter_base(checkpoint: Path) -> None:
    """An averaged adapter is scored and used on its base model: stop before averaging when the
    base cannot be found where predict looks for it (`summarizer.causal.saved.base_model`)."""
    if not (checkpoint / ADAPTER_CONFIG).is_file():
        return
    try:
        base_model(checkpoint, checkpoint)
    except SummarizerError:
        named = recorded_base(checkpoint)
        where = ("the adapters name none: the base was built from a config, and the run kept it "
                 "only merged with the final adapter" if named is None else
                 f"the adapters name {named!r}, which is neither a model directory here nor a "
                 "downloaded hub model")
        download = f", or download {named!r} while online (`hf download {named}`)" if named else ""
        raise SummarizerError(
            f"The checkpoints of {checkpoint.parent} hold LoRA adapters, and their base model "
            f"cannot be found: {where}. An averaged adapter is scored and used on its base "
            "model: put the base model's files (config.json, safetensors weights) in "
            f"{checkpoint.parent / FINAL_MODEL / BASE_DIR}/{download}. A run trained with "
            "peft.merge=false saves its base there when it was built from a config.") from None


def average_weights(checkpoints: list[Path], destination: Path) -> None:
    """Write the elementwise mean of the checkpoints' weights into `destination`, each tensor
    in the dtype the checkpoints hold it in. Integer tensors (buffers such as position ids) are
    not weights: the newest checkpoint's are kept."""
    first = checkpoints[0]
    for name in weight_files(first):
        total: dict[str, torch.Tensor] = {}
        dtypes: dict[str, torch.dtype] = {}
        metadata = None
        for checkpoint in checkpoints:
            with safe_open(checkpoint / name, framework="pt") as weights:
                metadata = metadata or weights.metadata()
                keys = set(weights.keys())
                if total and keys != total.keys():
                    extra = sorted(keys ^ total.keys())[0]
                    raise _mismatch(checkpoint, first, f"tensor {extra} of {name} is in one "
                                    "and not in the other")
                for key in sorted(keys):
                    tensor = weights.get_tensor(key)
                    if key not in total:
                        dtypes[key] = tensor.dtype
                    elif tensor.shape != total[key].shape:
                        raise _mismatch(checkpoint, first, f"tensor {key} of {name} has shape "
                                        f"{list(tensor.shape)} there, {list(total[key].shape)} "
                                        f"in {first.name}")
                    if not tensor.is_floating_point():
                        total[key] = tensor
                    elif key not in total:
                        total[key] = tensor.to(torch.float32, copy=True)
                    else:
                        total[key].add_(tensor.to(torch.float32))
        averaged = {key: value.div_(len(checkpoints)).to(dtypes[key])
                    if value.is_floating_point() else value for key, value in total.items()}
        save_file(averaged, str(destination / name), metadata=metadata)
        (destination / name).chmod(0o644)  # a model is meant to be shared, as final_model/ is
        del total, averaged


def _belongs_to_model(path: Path) -> bool:
    """A file of the newest checkpoint the averaged model keeps: its config, tokenizer and
    generation settings; not the weights (written averaged) nor the training state."""
    return (path.is_file() and path.suffix != ".safetensors"
            and path.suffix not in PICKLE_SUFFIXES and path.name != TRAINER_STATE)


def _is_causal(checkpoint: Path) -> bool:
    name, config = _architecture(checkpoint)
    if name == ADAPTER_CONFIG:
        return config.get("task_type") != "SEQ_2_SEQ_LM"
    return not config.get("is_encoder_decoder", False)


def write_averaged_model(checkpoints: list[Path], destination: Path) -> None:
    """A model directory predict loads, in `destination`: the mean of the checkpoints' weights
    with the newest one's config, tokenizer and generation settings, and a causal model's
    prompt (`prompt.json`)."""
    check_same_architecture(checkpoints)
    newest = checkpoints[-1]
    check_adapter_base(newest)
    destination.mkdir(parents=True, exist_ok=True)
    for path in newest.iterdir():
        if _belongs_to_model(path):
            shutil.copy2(path, destination / path.name)
    log.info("Averaging the weights of %s", ", ".join(str(path) for path in checkpoints))
    average_weights(checkpoints, destination)
    # An adapter checkpoint has no generation config; the run's final model has the run's.
    generation = newest.parent / FINAL_MODEL / "generation_config.json"
    if not (destination / generation.name).is_file() and generation.is_file():
        shutil.copy2(generation, destination / generation.name)
    if _is_causal(newest):
        write_prompt_config(read_prompt_config(newest), destination)
    else:
        rewrite_as_drop_in(destination)  # the tokenizer of a final_model/, not of a checkpoint


def averaged_report(scores: dict[str, float], run_dir: Path, checkpoints: list[Path],
                    chosen: Selection) -> dict[str, Any]:
    """The averaged model's dev ROUGE next to the run's final model's (its `metrics.json`), and
    which of the two has the higher `rouge_sum` (None when the run recorded none)."""
    averaged = {EVAL_PREFIX + name: scores[name] for name in ROUGE_METRICS}
    recorded_file = run_dir / METRICS_FILE
    final = None
    if recorded_file.is_file():
        recorded = json.loads(recorded_file.read_text(encoding="utf-8"))
        final = {key: recorded[key] for key in EVAL_ROUGE_METRICS if key in recorded} or None
    better = None
    if final is not None and OBJECTIVE in final:
        gain = averaged[OBJECTIVE] - final[OBJECTIVE]
        better = AVERAGED_MODEL if gain > 0 else FINAL_MODEL if gain < 0 else "tie"
    return {"checkpoints": [path.name for path in checkpoints], "selection": str(chosen),
            **averaged, FINAL_MODEL: final, "better": better}


def report_line(report: dict[str, Any]) -> str:
    """`final_model_averaged (last=2: checkpoint-8, checkpoint-16): dev ROUGE-1/2/L ...`."""
    def scores(metrics: dict) -> str:
        return ("ROUGE-1/2/L " + " / ".join(f"{metrics[key]:.2f}" for key in EVAL_ROUGE_METRICS[:3])
                + f", sum {metrics[OBJECTIVE]:.2f}")

    line = (f"{AVERAGED_MODEL} ({report['selection']}: {', '.join(report['checkpoints'])}): "
            f"dev {scores(report)}")
    final = report[FINAL_MODEL]
    if final is None or report["better"] is None:
        return line + f"; the run has no final dev ROUGE ({METRICS_FILE}) to compare with."
    gain = abs(report[OBJECTIVE] - final[OBJECTIVE])
    verdict = ("both score the same" if report["better"] == "tie"
               else f"{report['better']} is better by {gain:.2f} rouge_sum")
    return line + f"; {FINAL_MODEL} (the run's {METRICS_FILE}): {scores(final)}: {verdict}."
