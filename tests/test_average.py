"""Checkpoint averaging: the weights are the elementwise mean, the right checkpoints are chosen,
mistakes end with the fix, and the averaged model of a real run is scored and loads in predict."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf
from safetensors.torch import load_file, save_file

import summarizer
from summarizer.averaging import (
    AVERAGED_MODEL,
    average_weights,
    averaged_report,
    select_checkpoints,
    selection,
    write_averaged_model,
)
from summarizer.causal.saved import ADAPTER_CONFIG, ADAPTER_WEIGHTS, PROMPT_FILE
from summarizer.errors import SummarizerError
from tests.conftest import read_json

CONFIG = {"model_type": "bart", "is_encoder_decoder": True, "d_model": 4,
          "transformers_version": "5.0.0"}


def weights(seed: int, dtype: torch.dtype = torch.float32) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return {"encoder.weight": torch.randn(3, 4, generator=generator).to(dtype),
            "decoder.bias": torch.randn(4, generator=generator).to(dtype),
            "position_ids": torch.arange(4) + seed}


def checkpoint(run: Path, step: int, tensors: dict[str, torch.Tensor], score: float = 1.0,
               loss: float = 1.0, config: dict | None = None) -> Path:
    """A checkpoint as the trainer writes it, as far as averaging reads it."""
    path = run / f"checkpoint-{step}"
    path.mkdir(parents=True)
    save_file(tensors, str(path / "model.safetensors"), metadata={"format": "pt"})
    (path / "config.json").write_text(json.dumps(config or CONFIG), encoding="utf-8")
    (path / "tokenizer_config.json").write_text("{}", encoding="utf-8")
    (path / "optimizer.pt").write_bytes(b"not a model file")
    evaluation = {"eval_loss": loss, "eval_rouge_sum": score, "step": step}
    state = {"global_step": step, "log_history": [{"loss": 2.0, "step": step}, evaluation]}
    (path / "trainer_state.json").write_text(json.dumps(state), encoding="utf-8")
    return path


def test_two_identical_checkpoints_average_to_the_same_weights(tmp_path):
    same = {**weights(0), "half.weight": torch.randn(5, 2).to(torch.bfloat16)}
    first, second = checkpoint(tmp_path, 1, same), checkpoint(tmp_path, 2, same)
    out = tmp_path / "out"
    out.mkdir()
    average_weights([first, second], out)
    averaged = load_file(out / "model.safetensors")
    assert averaged.keys() == same.keys()
    for key, tensor in same.items():
        assert averaged[key].dtype == tensor.dtype, key
        assert torch.equal(averaged[key], tensor), key


def test_averaging_gives_the_elementwise_mean(tmp_path):
    runs = [weights(seed) for seed in (1, 2, 3)]
    paths = [checkpoint(tmp_path, step, tensors) for step, tensors in zip((1, 2, 3), runs,
                                                                          strict=True)]
    out = tmp_path / "out"
    out.mkdir()
    average_weights(paths, out)
    averaged = load_file(out / "model.safetensors")
    for key in ("encoder.weight", "decoder.bias"):
        mean = sum(tensors[key] for tensors in runs) / 3
        assert torch.allclose(averaged[key], mean, atol=1e-6), key
        assert not any(torch.equal(averaged[key], tensors[key]) for tensors in runs), key
    # An integer buffer is not a weight: the newest checkpoint's is kept.
    assert torch.equal(averaged["position_ids"], runs[-1]["position_ids"])


def test_bf16_weights_are_summed_in_float32(tmp_path):
    # In bf16, 256 + 1 rounds back to 256: a bf16 sum of 256, 1, 1 gives a mean of 85.5 (256/3
    # rounded), a float32 sum 86 (258/3), which bf16 holds exactly.
    paths = [checkpoint(tmp_path, step, {"weight": torch.tensor([value], dtype=torch.bfloat16)})
             for step, value in ((1, 256.0), (2, 1.0), (3, 1.0))]
    out = tmp_path / "out"
    out.mkdir()
    average_weights(paths, out)
    averaged = load_file(out / "model.safetensors")["weight"]
    assert averaged.dtype == torch.bfloat16
    assert averaged.item() == 86.0


def test_the_averaged_directory_is_a_model_without_training_state(tmp_path):
    paths = [checkpoint(tmp_path / "run", step, weights(step)) for step in (10, 20)]
    out = tmp_path / "out"
    write_averaged_model(paths, out)
    names = {path.name for path in out.iterdir()}
    assert {"config.json", "tokenizer_config.json", "model.safetensors"} <= names
    assert not names & {"optimizer.pt", "trainer_state.json", PROMPT_FILE}  # seq2seq: no prompt


def test_an_adapter_run_averages_the_adapter_and_keeps_its_prompt(tmp_path):
    run = tmp_path / "run"
    adapters = [{"lora_A.weight": torch.randn(2, 4), "lora_B.weight": torch.randn(4, 2)}
                for _ in range(2)]
    paths = []
    for step, tensors in zip((8, 16), adapters, strict=True):
        path = run / f"checkpoint-{step}"
        path.mkdir(parents=True)
        save_file(tensors, str(path / ADAPTER_WEIGHTS))
        (path / ADAPTER_CONFIG).write_text(json.dumps({"task_type": "CAUSAL_LM", "r": 2}),
                                           encoding="utf-8")
        paths.append(path)
    # The base model it goes on, built from a config and saved by the run (peft.merge=false).
    (run / "final_model" / "base").mkdir(parents=True)
    (run / "final_model" / "base" / "config.json").write_text("{}", encoding="utf-8")
    (run / "final_model" / PROMPT_FILE).write_text(
        json.dumps({"instruction": "요약하세요.", "user_template": "{instruction}\n{dialogue}"}),
        encoding="utf-8")
    out = tmp_path / "out"
    write_averaged_model(paths, out)
    averaged = load_file(out / ADAPTER_WEIGHTS)
    for key in adapters[0]:
        assert torch.allclose(averaged[key], (adapters[0][key] + adapters[1][key]) / 2), key
    assert not (out / "model.safetensors").exists()
    assert read_json(out / ADAPTER_CONFIG)["task_type"] == "CAUSAL_LM"
    assert read_json(out / PROMPT_FILE)["instruction"] == "요약하세요."


def test_an_adapter_without_a_base_model_stops_before_averaging(tmp_path):
    run = tmp_path / "run"
    paths = []
    for step in (8, 16):
        path = run / f"checkpoint-{step}"
        path.mkdir(parents=True)
        save_file({"lora_A.weight": torch.randn(2, 4)}, str(path / ADAPTER_WEIGHTS))
        (path / ADAPTER_CONFIG).write_text(json.dumps({"task_type": "CAUSAL_LM"}),
                                           encoding="utf-8")
        paths.append(path)
    with pytest.raises(SummarizerError, match=r"hold LoRA adapters, and their base model cannot "
                       r"be found: the adapters name none.*put the base model's files "
                       r"\(config.json, safetensors weights\) in .*final_model/base/"):
        write_averaged_model(paths, tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.fixture
def scored_run(tmp_path) -> Path:
    """Four checkpoints; by dev ROUGE the best are steps 20 and 30, by loss 10 and 40."""
    run = tmp_path / "run"
    for step, score, loss in ((10, 5.0, 0.5), (20, 9.0, 0.9), (30, 7.0, 0.8), (40, 1.0, 0.6)):
        checkpoint(run, step, weights(step), score=score, loss=loss)
    return run


def names(paths: list[Path]) -> list[str]:
    return [path.name for path in paths]


def test_last_takes_the_newest_checkpoints_by_step(scored_run):
    # checkpoint-100 sorts before checkpoint-20 as text; by step it is the newest.
    checkpoint(scored_run, 100, weights(100))
    assert names(select_checkpoints(scored_run, selection(last=2))) == [
        "checkpoint-40", "checkpoint-100"]


def test_best_takes_the_best_scored_checkpoints_by_the_runs_metric(scored_run):
    assert names(select_checkpoints(scored_run, selection(best=2))) == [
        "checkpoint-20", "checkpoint-30"]
    (scored_run / ".hydra").mkdir()
    OmegaConf.save(OmegaConf.create({"training": {"args": {
        "metric_for_best_model": "loss", "greater_is_better": False}}}),
        scored_run / ".hydra" / "config.yaml")
    assert names(select_checkpoints(scored_run, selection(best=2))) == [
        "checkpoint-10", "checkpoint-40"]


def test_a_checkpoint_cut_short_is_skipped(scored_run):
    weights_file = scored_run / "checkpoint-40" / "model.safetensors"
    weights_file.write_bytes(weights_file.read_bytes()[:-10])
    assert names(select_checkpoints(scored_run, selection(last=2))) == [
        "checkpoint-20", "checkpoint-30"]


def test_another_architecture_names_the_checkpoint(tmp_path):
    run = tmp_path / "run"
    first = checkpoint(run, 1, weights(1))
    wider = checkpoint(run, 2, weights(2), config={**CONFIG, "d_model": 8})
    with pytest.raises(SummarizerError, match=r"checkpoint-2 holds another architecture than "
                       r"checkpoint-1: config.json differs in d_model .*move checkpoint-2 out"):
        write_averaged_model([first, wider], tmp_path / "out")
    reshaped = checkpoint(run, 3, {**weights(3), "decoder.bias": torch.zeros(5)})
    with pytest.raises(SummarizerError, match=r"checkpoint-3 .*tensor decoder.bias of "
                       r"model.safetensors has shape \[5\] there, \[4\] in checkpoint-1"):
        write_averaged_model([first, reshaped], tmp_path / "out")


def test_the_report_says_which_model_is_better(scored_run):
    (scored_run / "metrics.json").write_text(json.dumps(
        {"eval_rouge1": 10.0, "eval_rouge2": 2.0, "eval_rougeL": 9.0, "eval_rouge_sum": 21.0}))
    scores = {"rouge1": 11.0, "rouge2": 2.5, "rougeL": 9.5, "rouge_sum": 23.0}
    chosen = selection(last=2)
    report = averaged_report(scores, scored_run, [scored_run / "checkpoint-30"], chosen)
    assert report["better"] == AVERAGED_MODEL and report["eval_rouge_sum"] == 23.0
    assert report["final_model"]["eval_rouge_sum"] == 21.0
    worse = averaged_report({**scores, "rouge_sum": 20.0}, scored_run, [], chosen)
    assert worse["better"] == "final_model"
    (scored_run / "metrics.json").unlink()
    assert averaged_report(scores, scored_run, [], chosen)["better"] is None


def run_average(run: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "summarizer.average", f"run={run}", *args,
         f"hydra.run.dir={cwd / 'average'}"],
        cwd=cwd, capture_output=True, text=True, timeout=300, env={**os.environ})


@pytest.mark.parametrize("args,message", [
    (["last=5"], "last=5 asks for 5 checkpoints, but {run} keeps 4 (checkpoint-10, "
                 "checkpoint-20, checkpoint-30, checkpoint-40). Ask for last=4 at most, or train "
                 "the run again with training.save_total_limit=5 or more"),
    (["last=2", "best=2"], "Got both last= and best=: give one of them"),
    ([], "Got neither last= nor best=: give one of them"),
    (["best=1"], "best=1 is invalid: it must be an integer >= 2"),
])
def test_bad_selections_exit_2_with_the_fix(scored_run, tmp_path, args, message):
    proc = run_average(scored_run, *args, cwd=tmp_path)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 2, output
    assert message.format(run=scored_run) in " ".join(output.split()), output
    assert "Traceback" not in output
    assert not (scored_run / AVERAGED_MODEL).exists()


def test_the_python_api_takes_the_commands_path(scored_run):
    with pytest.raises(SummarizerError, match="Ask for best=4 at most"):
        summarizer.average(scored_run, best=6)
    with pytest.raises(SummarizerError, match="Got both last= and best="):
        summarizer.average(scored_run, last=2, best=2)


def test_a_folder_inside_a_run_names_the_run(scored_run):
    with pytest.raises(SummarizerError, match=f"give the run directory itself, run={scored_run}"):
        select_checkpoints(scored_run / "checkpoint-40", selection(last=2))


def test_a_run_without_checkpoints_says_how_to_keep_them(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    with pytest.raises(SummarizerError, match=r"keeps no checkpoint-\* directory with "
                       r"safetensors weights. Train the run again with "
                       r"training.save_total_limit=3 or more"):
        select_checkpoints(run, selection(last=3))


@pytest.mark.slow
def test_averaging_a_trained_run_scores_it_and_predict_loads_it(trained_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(trained_run, run)  # the shared run stays as other tests expect it
    kept = sorted(run.glob("checkpoint-*"), key=lambda path: int(path.name.split("-")[1]))
    assert len(kept) == 2  # save_total_limit=2
    proc = run_average(run, "best=2", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    averaged = run / AVERAGED_MODEL
    assert not (run / f".{AVERAGED_MODEL}.partial").exists()
    report = read_json(averaged / "metrics.json")
    assert report["checkpoints"] == [path.name for path in kept]
    assert report["selection"] == "best=2"
    final = read_json(run / "metrics.json")
    assert report["final_model"]["eval_rouge_sum"] == final["eval_rouge_sum"]
    gain = report["eval_rouge_sum"] - final["eval_rouge_sum"]
    assert report["better"] == ("final_model_averaged" if gain > 0 else
                                "final_model" if gain < 0 else "tie")
    assert "dev ROUGE-1/2/L" in proc.stderr + proc.stdout
    # The weights are the mean of the two checkpoints'.
    tensors = [load_file(path / "model.safetensors") for path in kept]
    mean = load_file(averaged / "model.safetensors")
    assert mean.keys() == tensors[0].keys()
    for key, value in mean.items():
        if value.is_floating_point():
            assert torch.allclose(value, (tensors[0][key] + tensors[1][key]) / 2, atol=1e-6), key
    # A model directory like final_model/: predict loads it, with the run's data settings.
    assert {"config.json", "generation_config.json", "tokenizer_config.json"} <= {
        path.name for path in averaged.iterdir()}
    predicted = subprocess.run(
        [sys.executable, "-m", "summarizer.predict", f"run={averaged}", "split=dev",
         f"output={tmp_path / 'dev.csv'}", f"hydra.run.dir={tmp_path / 'predict'}"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, env={**os.environ})
    assert predicted.returncode == 0, predicted.stderr[-3000:]
    rescored = read_json(tmp_path / "dev_rouge.json")
    assert rescored["rouge_sum"] == pytest.approx(report["eval_rouge_sum"])
