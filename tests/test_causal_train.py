"""Decoder-only models through the training run: `model=tiny_causal`, `model=causal_lm` on a
directory shaped like a Qwen2 release, the `peft` group (LoRA on causal and seq2seq models,
QLoRA's refusal without CUDA), and what `final_model/` holds for predict."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import pandas as pd
import pytest
import torch
from peft import PeftModel
from safetensors import safe_open
from transformers import AutoModelForCausalLM, AutoTokenizer

from summarizer import build_trainer, load_config
from summarizer.causal.adapters import load_adapter_model
from summarizer.causal.collator import CausalLMCollator
from summarizer.causal.generation import summarize
from summarizer.causal.prompt import prompt_format
from summarizer.causal.prompt_config import PromptConfig
from summarizer.errors import SummarizerError
from summarizer.loggers import NoLogger
from summarizer.options import check_training_values
from summarizer.trainer import build_model
from tests.causal_like import qwen_like_dir
from tests.conftest import compose_train, read_json, run_train

# A decoder small enough that a run takes seconds: debug=fast trains 64 rows for 2 epochs of 8
# steps and scores 16 dev rows, generating at most 16 tokens.
SMALL_DECODER = ["model.model.config.hidden_size=64", "model.model.config.intermediate_size=128",
                 "model.model.config.num_hidden_layers=2"]
# The tags as tokens whose rows train with the adapters: with its random embeddings frozen, the
# model would not write them after so few steps.
LORA_RUN_ARGS = ["model=tiny_causal", "peft=lora", "peft.tags_as_tokens=true", "debug=fast",
                 "logger=csv", "training.learning_rate=5e-3", "training.save_total_limit=null",
                 *SMALL_DECODER]
MAX_NEW_TOKENS = 16
TAG = re.compile(r"#\w+#")


def dev_rows(data_dir: Path, rows: int = 16) -> pd.DataFrame:
    return pd.read_csv(data_dir / "sample" / "dev.csv", keep_default_na=False).head(rows)


def saved_prompt(final_model: Path) -> PromptConfig:
    return PromptConfig(**json.loads((final_model / "prompt.json").read_text(encoding="utf-8")))


def regenerated(model, final_model: Path, dialogues: list[str]) -> list[str]:
    """The summaries `model` writes with the tokenizer and prompt saved in `final_model`."""
    tokenizer = AutoTokenizer.from_pretrained(final_model)
    prompt = prompt_format(tokenizer, saved_prompt(final_model))
    return summarize(model.eval(), tokenizer, prompt, dialogues, max_source_length=256,
                     batch_size=8, max_new_tokens=MAX_NEW_TOKENS)


@pytest.fixture(scope="module")
def lora_run(tmp_path_factory, data_dir) -> Path:
    run_dir = tmp_path_factory.mktemp("causal_lora") / "run"
    run_train(LORA_RUN_ARGS, run_dir)
    return run_dir


# --- configs -----------------------------------------------------------------------------------

@pytest.mark.parametrize("overrides", [
    ["model=tiny_causal"], ["model=causal_lm"], ["model=tiny_causal", "peft=lora"],
    ["model=causal_lm", "peft=qlora"], ["model=tiny", "peft=lora"], ["experiment=qwen_lora"],
    ["experiment=solar_qlora"],
], ids=" ".join)
def test_each_preset_composes_and_passes_the_option_checks(overrides):
    cfg = compose_train(overrides)
    check_training_values(cfg)
    method = next((o.split("=")[1] for o in overrides if o.startswith("peft=")), None)
    expected = {"experiment=qwen_lora": "lora", "experiment=solar_qlora": "qlora"}
    assert cfg.peft.method == (method or expected.get(overrides[0], "none"))
    assert ("prompt" in cfg.model) == (overrides != ["model=tiny", "peft=lora"])


def test_adapters_learn_at_their_own_rate_unless_the_model_is_trained_from_scratch():
    assert compose_train(["model=causal_lm"]).training.learning_rate == 1e-5
    assert compose_train(["model=causal_lm", "peft=lora"]).training.learning_rate == 2e-4
    assert compose_train(["model=causal_lm", "peft=qlora"]).training.learning_rate == 2e-4
    assert compose_train(["model=tiny_causal", "peft=lora"]).training.learning_rate == 2e-3


def test_a_sweep_searches_the_lora_rank_only_with_adapters():
    params = compose_train(["model=tiny_causal", "peft=lora", "hparams_search=optuna"]
                           ).hydra.sweeper.params
    assert params.peft.rank == "choice(8, 16, 32)"
    assert "learning_rate" in params.training
    params = compose_train(["model=tiny_causal", "hparams_search=optuna"]).hydra.sweeper.params
    assert "peft" not in params


@pytest.mark.slow
def test_cfg_job_prints_a_family_preset(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "summarizer.train", "experiment=solar_qlora",
                           "--cfg", "job"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "upstage/SOLAR-10.7B-Instruct-v1.0" in proc.stdout and "method: qlora" in proc.stdout


# --- the trainer, in process -------------------------------------------------------------------

def test_a_causal_trainer_generates_from_the_prompt_alone(data_dir, tmp_path):
    cfg = load_config(overrides=["model=tiny_causal", "debug=fast", *SMALL_DECODER])
    trainer = build_trainer(cfg, output_dir=tmp_path, eval_dataset=dev_rows(data_dir, 4),
                            logger=NoLogger())
    assert isinstance(trainer.data_collator, CausalLMCollator) and trainer.prompt is not None
    batch = next(iter(trainer.get_eval_dataloader()))
    assert batch["prompt_input_ids"].shape[1] < batch["input_ids"].shape[1]
    trainer.model.eval()
    loss, new_tokens, labels = trainer.prediction_step(
        trainer.model, dict(batch), prediction_loss_only=False,
        max_length=MAX_NEW_TOKENS, num_beams=1)
    assert torch.isfinite(loss) and torch.equal(labels, batch["labels"])
    # Only what the model wrote, at most max_length (the summary's length, not the prompt's).
    assert new_tokens.shape[0] == 4 and new_tokens.shape[1] <= MAX_NEW_TOKENS
    assert trainer.model.generation_config.max_new_tokens == MAX_NEW_TOKENS


def test_causal_generation_stays_in_step_across_sharded_processes(data_dir, tmp_path,
                                                                  monkeypatch):
    # Under ZeRO-3 (or FSDP) every process must run generate's forward passes to the same end.
    cfg = load_config(overrides=["model=tiny_causal", "debug=fast", *SMALL_DECODER])
    trainer = build_trainer(cfg, output_dir=tmp_path, eval_dataset=dev_rows(data_dir, 2),
                            logger=NoLogger())
    batch = next(iter(trainer.get_eval_dataloader()))
    seen = []

    def generate(input_ids, attention_mask, **settings):
        seen.append(settings)
        return torch.cat([input_ids, input_ids[:, -1:]], dim=1)

    monkeypatch.setattr(trainer.model, "generate", generate)
    trainer.prediction_step(trainer.model, dict(batch), prediction_loss_only=False)
    monkeypatch.setattr("summarizer.trainer.is_deepspeed_zero3_enabled", lambda: True)
    trainer.prediction_step(trainer.model, dict(batch), prediction_loss_only=False)
    assert [settings["synced_gpus"] for settings in seen] == [False, True]


def test_lora_on_a_seq2seq_model_trains_adapters_and_the_tags_rows(tmp_path):
    cfg = load_config(overrides=["model=tiny", "peft=lora", "debug=fast"])
    trainer = build_trainer(cfg, output_dir=tmp_path, logger=NoLogger())
    trainable = [name for name, value in trainer.model.named_parameters() if value.requires_grad]
    assert any(".lora_A." in name for name in trainable)
    # The tags are new tokens of a seq2seq tokenizer: their embedding rows train too.
    tokens = [name for name in trainable if "trainable_tokens" in name]
    assert tokens and all(".lora_" in name for name in trainable if name not in tokens)


def test_loading_arguments_of_qlora_reach_from_pretrained_and_need_pretrained_weights(
        tmp_path, data_dir):
    source = qwen_like_dir(tmp_path / "qwen_like",
                           pd.read_csv(data_dir / "sample" / "train.csv").head(200))
    cfg = compose_train(["model=causal_lm", f"model.name_or_path={source}"])
    tokenizer = AutoTokenizer.from_pretrained(source)
    # The compute dtype `quantization_kwargs` gives replaces model.dtype (4 bits need CUDA).
    model = build_model(cfg.model, tokenizer, {"dtype": torch.float16})
    assert model.dtype == torch.float16
    assert build_model(cfg.model, tokenizer, {}).dtype == torch.float32  # auto, on a CPU
    with pytest.raises(SummarizerError, match="built from a config|from a config"):
        build_model(compose_train(["model=tiny_causal"]).model, tokenizer,
                    {"dtype": torch.float16})


# --- end to end: tiny_causal with LoRA ----------------------------------------------------------

@pytest.mark.slow
def test_the_run_saves_a_merged_model_its_adapter_and_its_prompt(lora_run):
    final = lora_run / "final_model"
    for name in ("config.json", "model.safetensors", "generation_config.json",
                 "tokenizer_config.json", "prompt.json", "adapter/adapter_config.json",
                 "adapter/adapter_model.safetensors"):
        assert (final / name).is_file(), name
    assert asdict(saved_prompt(final)) == asdict(PromptConfig())
    generation = read_json(final / "generation_config.json")
    assert generation["max_new_tokens"] == MAX_NEW_TOKENS
    tokenizer = AutoTokenizer.from_pretrained(final)
    assert tokenizer.chat_template and generation["eos_token_id"] == [tokenizer.eos_token_id]
    log = (lora_run / "train.log").read_text(encoding="utf-8")
    assert re.search(r"LORA \(rank 16, alpha 32, all-linear\): [\d,]+ of [\d,]+ parameters train",
                     log)
    card = (final / "README.md").read_text(encoding="utf-8")
    assert "pipeline_tag: text-generation" in card and "AutoModelForSeq2SeqLM" not in card
    usage = card.split("```python\n", 1)[1].split("```", 1)[0]
    assert f'path = "{final}"' in usage
    exec(compile(usage, "model card", "exec"), {})  # the card's example runs as written


@pytest.mark.slow
def test_checkpoints_hold_only_the_adapter(lora_run):
    checkpoints = sorted(lora_run.glob("checkpoint-*"))
    assert [path.name for path in checkpoints] == ["checkpoint-16", "checkpoint-8"]
    for checkpoint in checkpoints:
        assert not (checkpoint / "model.safetensors").exists()
        with safe_open(checkpoint / "adapter_model.safetensors", "pt") as weights:
            names = list(weights.keys())
        tokens = [name for name in names if "trainable_tokens" in name]
        assert tokens and all(".lora_A." in name or ".lora_B." in name
                              for name in names if name not in tokens)


@pytest.mark.slow
def test_predictions_are_the_merged_models_summaries_tags_intact_without_prompt(lora_run,
                                                                                  data_dir):
    predictions = pd.read_csv(lora_run / "dev_predictions.csv", keep_default_na=False)
    dev = dev_rows(data_dir)
    assert predictions["reference"].tolist() == dev["summary"].tolist()
    texts = predictions["prediction"].tolist()
    instruction = PromptConfig().instruction
    assert not any(instruction in text or "<usr>" in text for text in texts)
    tags = set(compose_train([]).data.special_tokens)
    written = [tag for text in texts for tag in TAG.findall(text)]
    assert written and set(written) <= tags  # tags come out whole, as the data spells them
    # The saved model, tokenizer and prompt write exactly these summaries again.
    final = lora_run / "final_model"
    merged = AutoModelForCausalLM.from_pretrained(final)
    assert not hasattr(merged, "peft_config")
    assert regenerated(merged, final, dev["dialogue"].tolist()) == texts


@pytest.mark.slow
def test_an_adapter_checkpoint_resumes_to_the_uninterrupted_runs_result(lora_run, tmp_path,
                                                                        data_dir):
    run_dir = tmp_path / "resumed"
    checkpoint = lora_run / "checkpoint-8"
    run_train([*LORA_RUN_ARGS, f"training.resume_from_checkpoint={checkpoint}",
               "peft.merge=false"], run_dir)
    # It trained the second epoch only, from the adapter and optimizer state of the first.
    assert [path.name for path in run_dir.glob("checkpoint-*")] == ["checkpoint-16"]
    expected, resumed = read_json(lora_run / "metrics.json"), read_json(run_dir / "metrics.json")
    for key in ("eval_loss", "eval_rouge_sum"):
        assert resumed[key] == pytest.approx(expected[key], abs=1e-6), key
    predictions = pd.read_csv(run_dir / "dev_predictions.csv", keep_default_na=False)
    # peft.merge=false: the adapter, and the random base it was trained on (no hub id names it).
    final = run_dir / "final_model"
    assert not (final / "model.safetensors").exists()
    assert (final / "prompt.json").is_file() and (final / "tokenizer_config.json").is_file()
    base = AutoModelForCausalLM.from_pretrained(final / "base")
    model = PeftModel.from_pretrained(base, final / "adapter")
    assert (regenerated(model, final, dev_rows(data_dir)["dialogue"].tolist())
            == predictions["prediction"].tolist())


# --- end to end: a pretrained model from a local directory --------------------------------------

@pytest.mark.slow
def test_causal_lm_trains_a_local_qwen_like_model_and_merges_its_adapter(tmp_path, data_dir):
    source = qwen_like_dir(tmp_path / "qwen_like",
                           pd.read_csv(data_dir / "sample" / "train.csv").head(200))
    run_dir = tmp_path / "run"
    run_train(["model=causal_lm", f"model.name_or_path={source}", "peft=lora", "debug=fast",
               "logger=csv", "data.max_train_samples=16", "data.max_dev_samples=4"], run_dir)
    log = (run_dir / "train.log").read_text(encoding="utf-8")
    assert "Loaded Qwen2ForCausalLM" in log and "float32" in log
    final = run_dir / "final_model"
    # The tags stay ordinary text of the byte-level tokenizer (peft.tags_as_tokens=false).
    assert "#Person1#" not in AutoTokenizer.from_pretrained(final).get_added_vocab()
    merged = AutoModelForCausalLM.from_pretrained(final).eval()
    adapter = load_adapter_model(final / "adapter").eval()  # its base from `source`
    ids = torch.tensor([[5, 6, 7, 8, 9]])
    with torch.no_grad():
        assert torch.allclose(merged(input_ids=ids).logits, adapter(input_ids=ids).logits,
                              atol=1e-5)
    dialogues = dev_rows(data_dir, 4)["dialogue"].tolist()
    predictions = pd.read_csv(run_dir / "dev_predictions.csv", keep_default_na=False)
    assert regenerated(merged, final, dialogues) == regenerated(adapter, final, dialogues)
    assert regenerated(merged, final, dialogues) == predictions["prediction"].tolist()


@pytest.mark.slow
@pytest.mark.skipif(torch.cuda.is_available(), reason="the refusal is for machines without CUDA")
def test_qlora_without_cuda_stops_before_loading_anything(tmp_path, data_dir):
    proc = run_train(["model=causal_lm", "model.name_or_path=Qwen/Qwen2.5-0.5B-Instruct",
                      "peft=qlora", "debug=fast", "logger=csv"], tmp_path / "run", check=False)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 2, output[-3000:]
    assert "needs a CUDA GPU" in output and "peft=lora" in output
    assert "Traceback" not in output and "Loaded" not in output
