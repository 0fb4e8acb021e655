"""Predict with causal models: a merged `final_model/`, an adapter saved without merging on its
saved base, and a checkpoint holding an adapter, through the Python API and the command.

The models are random tiny decoders (Llama and Qwen2 layouts) with the tiny preset's tokenizer,
saved the way a causal run saves them; generation is greedy, so every way of batching and loading
must give the same summaries.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pandas as pd
import pytest
import torch
from omegaconf import OmegaConf
from transformers import AutoModelForCausalLM, AutoModelForSeq2SeqLM, LlamaConfig, MBartConfig

from summarizer import predict
from summarizer.causal.adapter_config import AdapterConfig
from summarizer.causal.adapters import ADAPTER_DIR, add_adapters, save_final
from summarizer.causal.prompt import prompt_format
from summarizer.causal.prompt_config import DEFAULT_INSTRUCTION, PromptConfig
from summarizer.causal.saved import BASE_DIR, PROMPT_FILE, read_prompt_config, write_prompt_config
from summarizer.causal.tiny import from_config
from summarizer.errors import SummarizerError
from summarizer.inference import causal_settings, load_model, model_dir
from summarizer.modeling import from_config as seq2seq_from_config
from summarizer.remote_code import TRUST_REMOTE_CODE_ENV
from summarizer.tokenization import decode
from tests.causal_like import LORA, tiny_decoder, tiny_tokenizer
from tests.conftest import read_json

# The summary length the saved models carry (as training stores `training.generation`).
SAVED_LENGTH = 12


@pytest.fixture(scope="module")
def dialogues(data_dir) -> list[str]:
    return pd.read_csv(data_dir / "sample" / "dev.csv")["dialogue"].head(7).tolist()


@pytest.fixture(scope="module")
def tokenizer(frame):
    return tiny_tokenizer(frame)


def llama_decoder(tokenizer):
    torch.manual_seed(1)
    config = LlamaConfig(hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2,
                         max_position_embeddings=1024, tie_word_embeddings=False)
    return from_config(config, tokenizer).eval()


def qwen2_decoder(tokenizer):
    # Untied: a tied random decoder mostly repeats the last prompt token.
    return tiny_decoder(tokenizer, tie=False)


def tiny_seq2seq(tokenizer):
    """A random one-layer seq2seq model (MBart layout) on `tokenizer`, seeded."""
    torch.manual_seed(0)
    return seq2seq_from_config(MBartConfig(
        d_model=32, encoder_layers=1, decoder_layers=1, encoder_attention_heads=2,
        decoder_attention_heads=2, encoder_ffn_dim=64, decoder_ffn_dim=64,
        max_position_embeddings=512), tokenizer)


def save_merged(model, tokenizer, directory, prompt=None):
    """A causal run's merged `final_model/`: model, tokenizer with its chat template, generation
    config and prompt.json."""
    model.generation_config.max_length = SAVED_LENGTH
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    write_prompt_config(prompt or PromptConfig(), directory)
    return directory


@pytest.fixture(scope="module", params=["llama", "qwen2"])
def merged_dir(request, tokenizer, tmp_path_factory):
    build = {"llama": llama_decoder, "qwen2": qwen2_decoder}[request.param]
    return save_merged(build(tokenizer), tokenizer,
                       tmp_path_factory.mktemp(request.param) / "final_model")


@pytest.fixture(scope="module")
def adapter_runs(tokenizer, tmp_path_factory):
    """The same trained adapter saved twice: merged (`peft.merge=true`) and as the adapter alone
    with the base model in `base/` (`peft.merge=false`, the base not loadable from where the
    adapter says it came from)."""
    root = tmp_path_factory.mktemp("adapter")
    source = root / "pretrained"
    base = qwen2_decoder(tokenizer)
    base.generation_config.max_length = SAVED_LENGTH
    base.save_pretrained(source)
    tokenizer.save_pretrained(source)
    model = add_adapters(AutoModelForCausalLM.from_pretrained(source), LORA)
    torch.manual_seed(2)
    for name, value in model.named_parameters():
        if ".lora_B." in name:  # LoRA starts as a no-op; make it change the model
            value.data.normal_(0, 0.5)
    model.eval()
    adapter_only = root / "adapter_only" / "final_model"
    save_final(model, tokenizer, adapter_only, AdapterConfig(method="lora", merge=False))
    tokenizer.save_pretrained(adapter_only)
    write_prompt_config(PromptConfig(), adapter_only)
    shutil.copytree(source, adapter_only / BASE_DIR)
    merged = root / "merged" / "final_model"
    save_final(model, tokenizer, merged, LORA)
    write_prompt_config(PromptConfig(), merged)
    shutil.rmtree(source)  # the adapter's recorded base is gone: only base/ can serve
    return {"merged": merged, "adapter_only": adapter_only}


def expected_summary(directory, dialogue: str, new_tokens: int = SAVED_LENGTH) -> str:
    """Generation from one prompt without padding, the prompt's columns cut off by hand."""
    model, tokenizer = load_model(directory)
    prompt = prompt_format(tokenizer, read_prompt_config(directory))
    ids = tokenizer(prompt.prompt(dialogue), add_special_tokens=False,
                    return_tensors="pt")["input_ids"]
    with torch.inference_mode():
        output = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids),
                                eos_token_id=list(prompt.stop_ids),
                                pad_token_id=tokenizer.pad_token_id, max_new_tokens=new_tokens)
    return decode(tokenizer, output[:, ids.shape[1]:])[0]


def test_batched_predictions_are_the_rows_own_without_the_prompt(merged_dir, dialogues):
    batched = predict(merged_dir, dialogues, batch_size=4)
    assert len(batched) == len(dialogues)
    assert batched == [predict(merged_dir, [dialogue], batch_size=1)[0]
                       for dialogue in dialogues]
    assert batched[:2] == [expected_summary(merged_dir, dialogue) for dialogue in dialogues[:2]]
    assert any(summary.strip() for summary in batched)
    for summary, dialogue in zip(batched, dialogues, strict=True):
        assert DEFAULT_INSTRUCTION not in summary and dialogue not in summary
        assert not any(token in summary for token in ("<usr>", "<sys>", "</s>", "<pad>"))
        assert "\u2581" not in summary  # decoded by the saved tokenizer, not a rebuilt one


def test_the_prompt_comes_from_prompt_json(merged_dir, dialogues, tmp_path):
    """A plain template in prompt.json is another prompt, so other summaries."""
    copy = shutil.copytree(merged_dir, tmp_path / "final_model")
    template = "{instruction}\n{dialogue}\n요약:"
    write_prompt_config(PromptConfig(template=template), copy)
    assert read_prompt_config(copy).template == template
    assert predict(copy, dialogues[:3]) != predict(merged_dir, dialogues[:3])
    assert predict(copy, dialogues[:2]) == [expected_summary(copy, dialogue)
                                            for dialogue in dialogues[:2]]


def test_max_length_is_the_summary_length(merged_dir, dialogues):
    model, _ = load_model(merged_dir)
    assert model.generation_config.max_length is None
    assert model.generation_config.max_new_tokens == SAVED_LENGTH
    assert causal_settings(model, {"max_length": 3, "num_beams": None}) == {"max_new_tokens": 3}
    assert causal_settings(model, {"max_length": 3, "max_new_tokens": 5}) == {"max_new_tokens": 5}
    assert causal_settings(model, {"num_beams": 2}) == {"num_beams": 2,
                                                        "max_new_tokens": SAVED_LENGTH}
    short = predict(merged_dir, dialogues, max_length=3)
    full = predict(merged_dir, dialogues)
    assert short[:2] == [expected_summary(merged_dir, dialogue, 3) for dialogue in dialogues[:2]]
    assert short != full
    for cut, whole in zip(short, full, strict=True):
        assert whole.startswith(cut)


def test_merged_and_adapter_on_its_base_predict_the_same(adapter_runs, dialogues):
    adapter_only = adapter_runs["adapter_only"]
    assert not (adapter_only / "model.safetensors").exists()
    assert model_dir(adapter_only.parent) == adapter_only
    merged = predict(adapter_runs["merged"], dialogues, batch_size=4)
    assert predict(adapter_only.parent, dialogues, batch_size=4) == merged
    # Not merely the base model's summaries: the adapter changes them.
    assert predict(adapter_only / BASE_DIR, dialogues) != merged


def test_a_seq2seq_adapter_on_its_base_predicts_as_merged(tokenizer, dialogues, tmp_path):
    base = tiny_seq2seq(tokenizer)
    base.generation_config.max_length = SAVED_LENGTH
    base.save_pretrained(tmp_path / "pretrained")
    model = add_adapters(AutoModelForSeq2SeqLM.from_pretrained(tmp_path / "pretrained"), LORA)
    for name, value in model.named_parameters():
        if ".lora_B." in name:
            value.data.normal_(0, 0.5)
    model.eval()
    adapter_only, merged = tmp_path / "adapter_only", tmp_path / "merged"
    save_final(model, tokenizer, adapter_only, AdapterConfig(method="lora", merge=False))
    tokenizer.save_pretrained(adapter_only)
    save_final(model, tokenizer, merged, LORA)
    (tmp_path / "pretrained").rename(adapter_only / BASE_DIR)
    expected = predict(merged, dialogues, max_source_length=256)
    assert predict(adapter_only, dialogues, max_source_length=256) == expected


def test_a_checkpoint_holding_an_adapter_predicts(adapter_runs, dialogues, tmp_path):
    """A checkpoint of an adapter run in progress: adapter and tokenizer only; the base and
    prompt come from the run (here its config, as no final_model/ exists yet)."""
    run = tmp_path / "run"
    checkpoint = run / "checkpoint-8"
    shutil.copytree(adapter_runs["adapter_only"] / ADAPTER_DIR, checkpoint)
    shutil.copytree(adapter_runs["adapter_only"] / BASE_DIR, checkpoint / BASE_DIR)
    instruction = "대화를 짧게 요약하세요."
    (run / ".hydra").mkdir()
    OmegaConf.save(OmegaConf.create({"prompt": {"instruction": instruction},
                                     "training": {"generation": {"max_length": 5,
                                                                 "num_beams": 1}}}),
                   run / ".hydra" / "config.yaml")
    assert read_prompt_config(checkpoint).instruction == instruction
    model, _ = load_model(checkpoint)
    assert model.generation_config.max_new_tokens == 5
    assert len(predict(checkpoint, dialogues)) == len(dialogues)


def test_an_adapter_without_its_base_names_the_fix(adapter_runs, tmp_path):
    final = shutil.copytree(adapter_runs["adapter_only"], tmp_path / "final_model",
                            ignore=shutil.ignore_patterns(BASE_DIR))
    with pytest.raises(SummarizerError) as error:
        model_dir(tmp_path)
    message = str(error.value)
    assert "peft.merge=false" in message and "base model is missing" in message
    assert f"{final / BASE_DIR}/" in message and "peft.merge=true" in message


def test_an_adapter_cut_short_is_named(adapter_runs, tmp_path):
    final = shutil.copytree(adapter_runs["adapter_only"], tmp_path / "final_model")
    weights = final / ADAPTER_DIR / "adapter_model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-50])
    with pytest.raises(SummarizerError, match="is cut short or damaged"):
        model_dir(final)


def test_a_prompt_json_that_is_not_json_is_named(merged_dir, tmp_path):
    copy = shutil.copytree(merged_dir, tmp_path / "final_model")
    (copy / PROMPT_FILE).write_text("{not json", encoding="utf-8")
    with pytest.raises(SummarizerError, match=f"{copy / PROMPT_FILE} cannot be read as JSON"):
        read_prompt_config(copy)


def run_predict(args, cwd):
    return subprocess.run([sys.executable, "-m", "summarizer.predict", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_the_command_writes_the_submission_and_scores_it(adapter_runs, data_dir, tmp_path):
    final = adapter_runs["adapter_only"]
    proc = run_predict([f"run={final.parent}", "data=sample", "split=dev",
                        "data.max_dev_samples=9", "batch_size=4",
                        f"output={tmp_path / 'dev.csv'}", f"hydra.run.dir={tmp_path / 'log'}"],
                       tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    dev = pd.read_csv(data_dir / "sample" / "dev.csv", keep_default_na=False).head(9)
    submission = pd.read_csv(tmp_path / "dev.csv", keep_default_na=False)
    assert list(submission.columns) == ["fname", "summary"]
    assert submission["fname"].tolist() == dev["fname"].tolist()
    assert submission["summary"].tolist() == predict(adapter_runs["merged"],
                                                     dev["dialogue"].tolist())
    assert set(read_json(tmp_path / "dev_rouge.json")) >= {"rouge1", "rouge2", "rougeL"}

    text = "#Person1#: 내일 3시에 회의실에서 만나요. #Person2#: 네 좋아요."
    proc = run_predict([f"run={adapter_runs['merged']}", f"text='{text}'",
                        f"hydra.run.dir={tmp_path / 'text'}"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.rstrip("\n").endswith(predict(adapter_runs["merged"], text))


@pytest.mark.slow
def test_the_command_without_the_base_exits_with_the_fix(adapter_runs, tmp_path):
    shutil.copytree(adapter_runs["adapter_only"], tmp_path / "run" / "final_model",
                    ignore=shutil.ignore_patterns(BASE_DIR))
    proc = run_predict([f"run={tmp_path / 'run'}", "data=sample",
                        f"hydra.run.dir={tmp_path / 'log'}"], tmp_path)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 2, output[-3000:]
    assert "base model is missing" in output and "Traceback" not in output


REMOTE_CONFIG = '''from transformers import Qwen2Config


class RemoteConfig(Qwen2Config):
    model_type = "remote_qwen2"
'''
REMOTE_MODEL = '''from transformers import Qwen2ForCausalLM

from .configuration_remote import RemoteConfig


class RemoteForCausalLM(Qwen2ForCausalLM):
    config_class = RemoteConfig
'''


@pytest.fixture(scope="module")
def shipped_code(tokenizer, tmp_path_factory):
    """A Qwen2 model saved as it is, and the same weights as a model whose architecture
    transformers lacks: config.json names classes in Python files shipped beside the weights
    (`auto_map`), as some hub releases do."""
    root = tmp_path_factory.mktemp("remote")
    plain = save_merged(qwen2_decoder(tokenizer), tokenizer, root / "plain" / "final_model")
    directory = root / "shipped" / "final_model"
    shutil.copytree(plain, directory)
    (directory / "configuration_remote.py").write_text(REMOTE_CONFIG)
    (directory / "modeling_remote.py").write_text(REMOTE_MODEL)
    config = read_json(directory / "config.json")
    config.update(model_type="remote_qwen2", architectures=["RemoteForCausalLM"], auto_map={
        "AutoConfig": "configuration_remote.RemoteConfig",
        "AutoModelForCausalLM": "modeling_remote.RemoteForCausalLM"})
    (directory / "config.json").write_text(json.dumps(config))
    return {"plain": plain, "shipped": directory}


def test_a_model_shipping_its_code_predicts_only_when_trusted(shipped_code, dialogues,
                                                              monkeypatch):
    plain, shipped = shipped_code["plain"], shipped_code["shipped"]
    monkeypatch.delenv(TRUST_REMOTE_CODE_ENV, raising=False)
    with pytest.raises(SummarizerError, match="needs the Python code shipped in its directory"):
        predict(shipped, dialogues[0])
    model, _ = load_model(shipped, trust_remote_code=True)
    assert type(model).__name__ == "RemoteForCausalLM"
    assert predict(shipped, dialogues[:2], trust_remote_code=True) == predict(plain,
                                                                              dialogues[:2])
    monkeypatch.setenv(TRUST_REMOTE_CODE_ENV, "1")
    assert predict(shipped, dialogues[0]) == predict(plain, dialogues[0])


@pytest.mark.slow
def test_the_command_runs_shipped_code_only_when_the_command_line_says_so(
        shipped_code, tmp_path, monkeypatch):
    monkeypatch.delenv(TRUST_REMOTE_CODE_ENV, raising=False)
    text = "#Person1#: 내일 3시에 회의실에서 만나요. #Person2#: 네 좋아요."
    args = [f"run={shipped_code['shipped']}", f"text='{text}'",
            f"hydra.run.dir={tmp_path / 'log'}"]
    refused = run_predict(args, tmp_path)
    output = refused.stdout + refused.stderr
    assert refused.returncode == 2, output[-3000:]
    assert "trust_remote_code=true on the command line" in output and "Traceback" not in output
    trusted = run_predict([*args, "trust_remote_code=true"], tmp_path)
    assert trusted.returncode == 0, trusted.stderr[-3000:]
    assert trusted.stdout.rstrip("\n").endswith(predict(shipped_code["plain"], text))
