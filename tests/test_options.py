"""Every option of every command, given a bad value, stops with the project's message naming it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig, OmegaConf, open_dict

from summarizer.commands.predict import checked_data
from summarizer.errors import SummarizerError
from summarizer.options import (
    AVERAGE_RULES,
    HYDRA_KEYS,
    PASSED_AS_IS,
    PREDICT_RULES,
    SCORE_RULES,
    TRAIN_RULES,
    TUNE_RULES,
    check_options,
    check_training_values,
)
from summarizer.resolvers import register_resolvers
from tests.conftest import CONF

register_resolvers()

CALLS = {
    "train": check_training_values,
    "predict": lambda cfg: (check_options(cfg, PREDICT_RULES), checked_data(cfg)),
    "score": lambda cfg: check_options(cfg, SCORE_RULES),
    "average": lambda cfg: (check_options(cfg, AVERAGE_RULES), checked_data(cfg)),
    # As summarizer.tuning checks them: its own keys, then the run's data settings.
    "tune": lambda cfg: (check_options(cfg, TUNE_RULES), checked_data(cfg)),
}
VARIANTS = [
    ("train", []),
    ("train", ["model=kobart", "logger=csv"]),
    ("train", ["logger=tensorboard", "debug=fast"]),
    ("train", ["model=tiny_causal", "peft=lora"]),
    ("train", ["model=causal_lm", "peft=qlora"]),
    ("predict", ["run=set_by_the_test"]),
    ("score", ["predictions=p.csv", "references=r.csv"]),
    ("average", ["run=set_by_the_test", "last=2"]),
    ("tune", ["run=set_by_the_test"]),
]


def job_config(command: str, overrides: list[str]) -> DictConfig:
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF)):
        cfg = compose(command, overrides=overrides)
    GlobalHydra.instance().clear()
    return cfg


def leaves(node: Any, path: str = "") -> list[tuple[str, Any]]:
    """(dotted key, value as written) of every leaf; Hydra's own keys left out."""
    if isinstance(node, dict):
        return [leaf for key, child in node.items() if key not in HYDRA_KEYS
                for leaf in leaves(child, f"{path}.{key}" if path else key)]
    return [(path, node)]


def bad_values(key: str, command: str, cfg: DictConfig) -> list:
    rules = {"train": TRAIN_RULES, "predict": PREDICT_RULES, "score": SCORE_RULES,
             "average": AVERAGE_RULES, "tune": TUNE_RULES}[command]
    if key in rules:
        return list(rules[key].bad)
    default = OmegaConf.select(cfg, key)
    if isinstance(default, bool):
        return ["maybe"]
    if isinstance(default, (int, float)):
        return ["lots"]
    return [{"not": "this"}]


def all_options():
    rules = {"train": TRAIN_RULES, "predict": PREDICT_RULES, "score": SCORE_RULES,
             "average": AVERAGE_RULES, "tune": TUNE_RULES}
    for command, overrides in VARIANTS:
        cfg = job_config(command, overrides)
        for key, written in leaves(OmegaConf.to_container(cfg, resolve=False)):
            copied = isinstance(written, str) and written.startswith("${") and ":" not in written
            if copied and key not in rules[command]:
                continue  # a copy of another key, which gets the bad value itself
            if key.startswith(PASSED_AS_IS):
                continue
            yield command, key, tuple(overrides)


# Each (command, key) once, with the first variant that has it.
OPTIONS = list({(command, key): overrides for command, key, overrides in all_options()}.items())


def test_every_option_is_covered():
    """Sanity of the enumeration itself: the commands' options are all there."""
    keys = {key for (_, key), _ in OPTIONS}
    assert {"training.precision", "training.tf32", "training.pad_to_multiple_of",
            "training.group_by_length", "logger.mode", "split", "tokenizer", "batch_size",
            "data.empty_rows", "model.tokenizer.vocab_size"} <= keys
    assert len(OPTIONS) >= 100


@pytest.fixture(scope="module")
def saved_run(tmp_path_factory) -> Path:
    """A run directory as far as predict reads it: the config the run was trained with."""
    run = tmp_path_factory.mktemp("run")
    (run / ".hydra").mkdir()
    OmegaConf.save(job_config("train", []), run / ".hydra" / "config.yaml")
    return run


@pytest.mark.parametrize("option,overrides", OPTIONS, ids=[" ".join(o) for o, _ in OPTIONS])
def test_a_bad_value_names_its_key(option, overrides, saved_run):
    command, key = option
    cfg = job_config(command, list(overrides))
    if command in ("predict", "average", "tune"):
        cfg.run = str(saved_run)
    for bad in bad_values(key, command, cfg):
        broken = cfg.copy()
        with open_dict(broken):
            OmegaConf.update(broken, key, bad, force_add=True)
        with pytest.raises(SummarizerError) as err:
            CALLS[command](broken)
        assert f"{key}=" in str(err.value) or f"from {key})" in str(err.value), str(err.value)


@pytest.mark.parametrize("override", ["training.args.fsdp=true",
                                      "training.args.fsdp='full_shard auto_wrap'",
                                      "training.args.deepspeed={zero_optimization:{stage:2}}"])
def test_values_transformers_takes_beyond_their_annotation_pass(override):
    check_training_values(job_config("train", [override]))
