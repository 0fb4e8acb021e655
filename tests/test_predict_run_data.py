"""`predict` applies a model to the data its run was trained with, and says what is wrong with a
run directory it cannot use."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf
from safetensors.torch import save_file

from summarizer.commands.predict import checked_data
from summarizer.errors import SummarizerError
from summarizer.inference import model_dir
from summarizer.resolvers import register_resolvers
from tests.conftest import CONF

register_resolvers()


def composed(name: str, overrides: list[str]):
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF)):
        cfg = compose(name, overrides=overrides)
    GlobalHydra.instance().clear()
    return cfg


def saved_run(directory: Path, train_overrides: list[str], started_in: str | None = None) -> Path:
    """A run directory as predict reads it: `.hydra/config.yaml` (and `hydra.yaml`)."""
    (directory / ".hydra").mkdir(parents=True)
    OmegaConf.save(composed("train", train_overrides), directory / ".hydra" / "config.yaml")
    if started_in:
        OmegaConf.save({"hydra": {"runtime": {"cwd": started_in}}},
                       directory / ".hydra" / "hydra.yaml")
    return directory


def data_for(run: Path, overrides: list[str] = ()):
    return checked_data(composed("predict", [f"run={run}", *overrides]))


TRAINED_ON = ["data=dialogsum_ko", "data.dir=/data/own", "data.test_file=hidden.csv",
              "data.text_column=text", "data.max_source_length=384"]


def test_the_runs_own_data_settings_are_the_default(tmp_path):
    data = data_for(saved_run(tmp_path / "run", TRAINED_ON))
    assert (data.dir, data.test_file, data.text_column, data.max_source_length) == (
        "/data/own", "hidden.csv", "text", 384)
    assert data._target_ == "summarizer.data.module.SummarizationData"


def test_a_key_given_to_predict_wins_over_the_saved_one(tmp_path):
    data = data_for(saved_run(tmp_path / "run", TRAINED_ON), ["data.test_file=final.csv"])
    assert (data.dir, data.test_file, data.text_column) == ("/data/own", "final.csv", "text")


def test_a_data_preset_replaces_the_saved_settings(tmp_path):
    data = data_for(saved_run(tmp_path / "run", TRAINED_ON), ["data=sample"])
    assert data.name == "sample" and data.text_column == "dialogue"
    assert data.dir.endswith("sample") and data.max_source_length == 256


def test_the_final_model_or_a_checkpoint_of_the_run_finds_the_run(tmp_path):
    run = saved_run(tmp_path / "run", TRAINED_ON)
    for inside in ("final_model", "checkpoint-8"):
        assert data_for(run / inside).test_file == "hidden.csv"


def test_a_relative_data_folder_is_where_the_run_was_started(tmp_path):
    run = saved_run(tmp_path / "run", ["data=dialogsum_ko", "data.dir=corpus/raw"],
                    started_in="/home/me/project")
    assert data_for(run).dir == "/home/me/project/corpus/raw"


def test_a_model_without_its_run_needs_the_data_named(tmp_path):
    (tmp_path / "model").mkdir()
    with pytest.raises(SummarizerError) as err:
        data_for(tmp_path / "model")
    assert "holds no record of the data it was trained on" in str(err.value)
    assert "data=dialogsum_ko data.dir=<folder>" in str(err.value)
    assert data_for(tmp_path / "model", ["data=dialogsum_ko", "data.dir=/x"]).dir == "/x"


def test_a_saved_data_target_outside_the_whitelist_is_refused(tmp_path):
    run = saved_run(tmp_path / "run", TRAINED_ON)
    config = OmegaConf.load(run / ".hydra" / "config.yaml")
    config.data._target_ = "os.system"
    OmegaConf.save(config, run / ".hydra" / "config.yaml")
    with pytest.raises(SummarizerError, match="data._target_=os.system, which the execution"):
        data_for(run)


def test_a_path_that_does_not_exist_says_so(tmp_path):
    with pytest.raises(SummarizerError) as err:
        model_dir(tmp_path / "nope")
    assert str(err.value).startswith(f"run={tmp_path / 'nope'} does not exist.")


def test_a_run_without_final_model_names_its_checkpoints(tmp_path):
    for step in (8, 16):
        (tmp_path / f"checkpoint-{step}").mkdir()
    with pytest.raises(SummarizerError) as err:
        model_dir(tmp_path)
    message = str(err.value)
    assert f"{tmp_path} holds no final_model/: the run did not finish" in message
    assert "It has checkpoint-8, checkpoint-16" in message
    assert f"run={tmp_path / 'checkpoint-16'}" in message
    assert f"hydra.run.dir={tmp_path} training.resume_from_checkpoint=auto" in message


def test_a_final_model_cut_short_is_named(tmp_path):
    final = tmp_path / "final_model"
    final.mkdir()
    (final / "config.json").write_text("{}")
    (final / "tokenizer_config.json").write_text("{}")
    weights = final / "model.safetensors"
    save_file({"weight": torch.zeros(64)}, weights)
    weights.write_bytes(weights.read_bytes()[:-100])
    with pytest.raises(SummarizerError) as err:
        model_dir(tmp_path)
    assert str(err.value).startswith(f"{weights} is cut short or damaged")
