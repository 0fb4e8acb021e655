"""Every config group option composes, its `_target_`s instantiate, and overrides reach the
trainer."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from hydra.utils import execution_whitelist, instantiate
from hydra_plugins.hydra_optuna_sweeper._impl import create_params_from_overrides
from omegaconf import OmegaConf
from optuna.distributions import CategoricalDistribution, FloatDistribution
from transformers import EarlyStoppingCallback, Seq2SeqTrainingArguments

from summarizer.data.module import SampleData, SummarizationData
from summarizer.loggers import CSVLogger, MLflowLogger, NoLogger, TensorBoardLogger, WandbLogger
from summarizer.resolvers import register_resolvers
from summarizer.sweeps.sweeper import _flatten
from summarizer.whitelist import EXECUTION_WHITELIST
from tests.conftest import CONF, compose_train

register_resolvers()

GROUP_OPTIONS = {
    group: sorted(p.stem for p in (CONF / group).glob("*.yaml"))
    for group in ("model", "peft", "data", "logger", "training", "experiment", "debug", "launcher")
}


def build_args(cfg, tmp_path) -> Seq2SeqTrainingArguments:
    with execution_whitelist(EXECUTION_WHITELIST):
        return instantiate(cfg.training.args, output_dir=str(tmp_path), report_to=[],
                           _convert_="all")


def test_every_group_has_the_documented_options():
    assert GROUP_OPTIONS["model"] == ["causal_lm", "kobart", "tiny", "tiny_causal"]
    assert GROUP_OPTIONS["peft"] == ["lora", "none", "qlora"]
    assert GROUP_OPTIONS["data"] == ["dialogsum", "dialogsum_ko", "from_run", "sample"]
    assert GROUP_OPTIONS["logger"] == ["csv", "mlflow", "none", "tensorboard", "wandb"]
    assert GROUP_OPTIONS["experiment"] == ["baseline_kobart", "qwen_lora", "solar_qlora"]
    assert GROUP_OPTIONS["debug"] == ["fast", "short"]
    assert GROUP_OPTIONS["launcher"] == ["joblib", "submitit_local", "submitit_slurm"]


@pytest.mark.parametrize("group,option,expected", [
    ("data", "sample", SampleData),
    ("data", "dialogsum_ko", SummarizationData),
    ("data", "dialogsum", SummarizationData),
    ("logger", "wandb", WandbLogger),
    ("logger", "mlflow", MLflowLogger),
    ("logger", "tensorboard", TensorBoardLogger),
    ("logger", "csv", CSVLogger),
    ("logger", "none", NoLogger),
])
def test_group_option_instantiates(group, option, expected):
    cfg = compose_train([f"{group}={option}"])
    with execution_whitelist(EXECUTION_WHITELIST):
        built = instantiate(cfg[group])
    assert type(built) is expected


def test_data_options_expose_the_same_keys():
    keys = {option: set(compose_train([f"data={option}"]).data) for option in GROUP_OPTIONS["data"]}
    assert keys["sample"] == keys["dialogsum_ko"] == keys["dialogsum"]
    assert {"dir", "train_file", "dev_file", "test_file", "id_column", "text_column",
            "summary_column", "max_source_length", "max_target_length", "max_train_samples",
            "max_dev_samples", "max_test_samples", "special_tokens",
            "rouge_tokenizer"} <= keys["sample"]


def test_kobart_gets_the_seed_training_values(tmp_path):
    cfg = compose_train(["model=kobart"])
    args = build_args(cfg, tmp_path)
    assert (args.num_train_epochs, args.per_device_train_batch_size, args.learning_rate) == (
        20, 50, 1e-5)
    assert (args.weight_decay, args.warmup_steps, args.save_total_limit, args.logging_steps) == (
        0.01, 500, 3, 100)
    assert args.eval_strategy == "epoch" and args.save_strategy == "epoch"
    assert args.load_best_model_at_end and args.greater_is_better
    assert args.metric_for_best_model == "eval_rouge_sum"
    assert args.predict_with_generate
    # Each epoch's evaluation is greedy over 250 dev rows; the final one the seed's 4 beams.
    assert (args.generation_max_length, args.generation_num_beams) == (100, 1)
    assert cfg.training.epoch_eval.dev_rows == 250
    assert (cfg.training.generation.max_length, cfg.training.generation.num_beams) == (100, 4)
    assert args.dataloader_num_workers == 4
    assert not args.fp16 and not args.bf16  # no GPU here: automatic precision stays fp32
    assert cfg.training.early_stopping_patience == 3


def test_experiment_preset_is_the_seed_baseline(tmp_path):
    cfg = compose_train(["experiment=baseline_kobart"])
    assert cfg.name == "baseline_kobart"
    assert cfg.model.name_or_path == "gogamza/kobart-base-v2"
    assert cfg.data.dir.endswith("raw") and cfg.data.name == "dialogsum_ko"
    assert list(cfg.logger.tags) == ["baseline", "kobart"]
    assert build_args(cfg, tmp_path).learning_rate == 1e-5


def test_overrides_reach_the_training_arguments(tmp_path):
    cfg = compose_train(["model=kobart", "training.epochs=2", "training.batch_size=8",
                         "training.learning_rate=3e-5", "training.gradient_accumulation_steps=4",
                         "seed=7"])
    args = build_args(cfg, tmp_path)
    assert (args.num_train_epochs, args.per_device_train_batch_size, args.learning_rate) == (
        2, 8, 3e-5)
    assert args.per_device_eval_batch_size == 8
    assert args.gradient_accumulation_steps == 4 and args.seed == 7


def test_tiny_model_carries_its_own_training_preset(tmp_path):
    tiny = build_args(compose_train([]), tmp_path)
    assert tiny.learning_rate == 1e-3 and tiny.per_device_train_batch_size == 32
    user = build_args(compose_train(["training.learning_rate=5e-4"]), tmp_path)
    assert user.learning_rate == 5e-4


def test_callbacks_and_collator_instantiate():
    cfg = compose_train(["training.early_stopping_patience=2"])
    with execution_whitelist(EXECUTION_WHITELIST):
        callback = instantiate(cfg.training.callbacks.early_stopping)
    assert isinstance(callback, EarlyStoppingCallback)
    assert callback.early_stopping_patience == 2


def test_debug_preset_shrinks_any_configuration():
    for base in ([], ["experiment=baseline_kobart"]):
        cfg = compose_train([*base, "debug=fast"])
        assert cfg.training.epochs == 2 and cfg.data.max_train_samples == 64
        assert cfg.logger._target_.endswith("NoLogger")
        short = compose_train([*base, "debug=short"])
        assert short.training.epochs == 8 and short.data.max_dev_samples == 50
        assert short.training.warmup_steps == 0 and short.logger._target_.endswith("NoLogger")


def search_space(overrides: list[str]) -> dict:
    """The Optuna distributions the sweeper builds from `hparams_search=optuna <overrides>`."""
    params = compose_train(["hparams_search=optuna", *overrides]).hydra.sweeper.params
    flat = _flatten(OmegaConf.to_container(params, resolve=True))
    distributions, _, _ = create_params_from_overrides(
        [f"{key}={value}" for key, value in flat.items() if value is not None])
    return distributions


def test_every_model_preset_has_a_search_space():
    spaces = sorted(p.stem for p in (CONF / "hparams_search" / "space").glob("*.yaml"))
    assert spaces == GROUP_OPTIONS["model"]


def test_each_model_searches_learning_rates_around_its_own():
    spaces = {model: search_space([f"model={model}"]) for model in ("tiny", "kobart")}
    for model, space in spaces.items():
        own = compose_train([f"model={model}"]).training
        rate = space["training.learning_rate"]
        assert rate.log and rate.low < own.learning_rate < rate.high, (model, rate)
        assert own.batch_size in space["training.batch_size"].choices, model
    # Fine-tuning never tries a from-scratch rate, nor the tiny model a fine-tuning one.
    assert spaces["kobart"]["training.learning_rate"].high < \
        spaces["tiny"]["training.learning_rate"].low
    assert spaces["tiny"]["training.batch_size"] != spaces["kobart"]["training.batch_size"]
    # An experiment that selects KoBART searches KoBART's space.
    assert search_space(["experiment=baseline_kobart"]) == spaces["kobart"]


def test_search_space_overrides_on_the_command_line_win():
    tiny = search_space([('hydra.sweeper.params.training.learning_rate='
                          '"tag(log,interval(1e-4,1e-3))"'),
                         '+hydra.sweeper.params.training.weight_decay="choice(0.0,0.1)"'])
    assert tiny == {
        "training.learning_rate": FloatDistribution(1e-4, 1e-3, log=True),
        "training.batch_size": CategoricalDistribution([16, 32, 64]),  # the tiny model's own
        "training.weight_decay": CategoricalDistribution([0.0, 0.1]),
    }
    kobart = search_space(["model=kobart", "hydra.sweeper.params.training.batch_size=null"])
    assert list(kobart) == ["training.learning_rate"]


def test_cfg_job_prints_the_composed_config():
    proc = subprocess.run(
        [sys.executable, "-m", "summarizer.train", "model=kobart", "training.epochs=20",
         "--cfg", "job"], capture_output=True, text=True, timeout=120, check=True)
    assert "name_or_path: gogamza/kobart-base-v2" in proc.stdout
    assert "epochs: 20" in proc.stdout


def test_precision_rejects_unknown_values(tmp_path):
    from omegaconf.errors import InterpolationResolutionError

    cfg = compose_train(["training.precision=fp8"])
    with pytest.raises(InterpolationResolutionError, match="training.precision"):
        build_args(cfg, tmp_path)


def test_tiny_model_and_its_tokenizer_instantiate(data_dir):
    from summarizer.modeling import build_tokenizer

    cfg = compose_train([])
    with execution_whitelist(EXECUTION_WHITELIST):
        data = instantiate(cfg.data)
        tokenizer = build_tokenizer(cfg.model, data, data.load("train"))
        model = instantiate(cfg.model.model, tokenizer=tokenizer)
    assert model.config.vocab_size == len(tokenizer) and model.config.d_model == 128
    assert model.config.pad_token_id == tokenizer.pad_token_id == 3
    for tag in cfg.data.special_tokens:
        assert tokenizer.tokenize(f"{tag}는") == [tag, "는"]


def test_kobart_loads_from_a_local_directory(tmp_path):
    from tests.kobart_like import build_kobart_like_dir

    local = build_kobart_like_dir(tmp_path / "kobart-base-v2")
    cfg = compose_train(["model=kobart", f"model.name_or_path={local}"])
    with execution_whitelist(EXECUTION_WHITELIST):
        tokenizer = instantiate(cfg.model.tokenizer, special_tokens=list(cfg.data.special_tokens))
        model = instantiate(cfg.model.model, tokenizer=tokenizer)
    assert (tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.pad_token_id) == (0, 1, 3)
    # The data's tags were new to the tokenizer: the embeddings grew to hold them.
    assert model.get_input_embeddings().num_embeddings == len(tokenizer)
    assert "#PhoneNumber#" in tokenizer.get_vocab()


def test_data_options_name_the_layout_and_its_rouge_mode():
    english, korean = compose_train(["data=dialogsum"]), compose_train(["data=dialogsum_ko"])
    layout = ("train_file", "dev_file", "test_file", "id_column", "text_column",
              "summary_column", "special_tokens")
    assert [english.data[key] for key in layout] == [korean.data[key] for key in layout]
    assert english.data.name == "dialogsum" and english.data.dir.endswith("dialogsum")
    assert english.data.rouge_tokenizer == "english_stem"
    # The Korean presets keep what they had, with the Korean-safe ROUGE.
    assert korean.data.name == "dialogsum_ko" and korean.data.dir.endswith("raw")
    assert korean.data.rouge_tokenizer == "whitespace"
    assert compose_train([]).data.rouge_tokenizer == "whitespace"
    assert compose_train(["experiment=baseline_kobart"]).data.rouge_tokenizer == "whitespace"


def test_data_rouge_tokenizer_scores_the_evaluations(tmp_path):
    """`data.rouge_tokenizer` reaches the trainer's `compute_metrics`, which then reports
    `eval_rouge*` in that mode (the final evaluation uses the same object)."""
    from omegaconf import open_dict
    from transformers import EvalPrediction

    from summarizer import build_trainer
    from summarizer.rouge import rouge
    from tests.rouge_reference import default_tokenizer_expected

    rows = [{"fname": f"t{i}", "dialogue": f"#Person1#: Are you running to the station {i}? "
             f"#Person2#: Yes, I'm running late.", "summary": f"#Person2# runs late, train {i}."}
            for i in range(12)]
    for split in ("train", "dev"):
        pd.DataFrame(rows).to_csv(tmp_path / f"{split}.csv", index=False)
    cfg = compose_train(["data=dialogsum", f"data.dir={tmp_path}", "debug=fast",
                         f"paths.cache_dir={tmp_path / 'cache'}"])
    with open_dict(cfg):
        del cfg["hydra"]
    trainer = build_trainer(cfg, output_dir=tmp_path / "run")
    built = {"metrics": trainer.compute_metrics, "tokenizer": trainer.processing_class}
    metrics = built["metrics"]
    assert metrics.rouge_tokenizer == "english_stem"
    predictions = [f"#Person2# is running late for the train {i}" for i in range(12)]
    ids = built["tokenizer"](predictions, padding=True)["input_ids"]
    scores = metrics(EvalPrediction(predictions=np.array(ids), label_ids=None))
    references = [row["summary"] for row in rows]
    decoded = metrics.last_predictions
    assert scores["rouge1"] == pytest.approx(rouge(decoded, references,
                                                    tokenizer="english_stem")["rouge1"])
    assert scores["rouge1"] == pytest.approx(
        default_tokenizer_expected(decoded[0], references[0], stem=True)["rouge1"])
    assert scores["rouge1"] > rouge(decoded, references)["rouge1"]  # "late," vs "late"
