"""GPU smoke test: a KoBART-base-sized model trained, evaluated and used for prediction through the
project's own code path, on whatever torch and transformers the machine has, offline.

    python benchmarks/gpu_smoke.py [--steps 100] [--untimed-steps 5] [--data-dir DIR]
        [--train-rows N] [--dev-rows 200] [--tokenizer PATH] [--layers 6] [--json FILE]
        [Hydra overrides ...]                          (or: make gpu-smoke ARGS="...")

The model has `gogamza/kobart-base-v2`'s architecture (BART: d_model 768, 6 + 6 layers, 16 heads,
FFN 3072, a 30,000-entry vocabulary; about 124M parameters), randomly initialised, so no weights
are needed. Its tokenizer is KoBART's when `--tokenizer` (default: $SUMMARIZER_KOBART_TOKENIZER)
names its `tokenizer.json`/`model.json` or a directory holding one; otherwise one trained on the
training split with KoBART's 30,000 entries as its target size. The embedding keeps at least
30,000 rows either way, so the model's size and the cost of its output layer are KoBART's.

Everything else is what `python -m summarizer.train model=kobart` builds: the composed config
(`training.precision=auto`, `training.pad_to_multiple_of=auto`, `training.tf32=auto`,
transformers' fused AdamW, length-grouped batches, KoBART's batch size and generation settings),
the datasets, `SummarizationTrainer`, evaluation over length-sorted dev rows, and prediction by
`summarizer.inference.summarize`. Training runs `--steps` optimizer steps with no evaluation or
checkpoint in between; the trained model then evaluates and predicts the dev rows. Arguments
without dashes are Hydra overrides of that config (`training.batch_size=32`,
`training.precision=fp16`, `training.torch_compile=true`, ...). Without `--data-dir` the bundled
sample is generated into a temporary folder; `--data-dir` takes `train.csv` and `dev.csv`
(`fname, dialogue, summary`).

Throughput counts the steps after the first `--untimed-steps` (start-up, kernel selection,
compilation). Model FLOPs are 6 x (encoder matmul weights x real source tokens + decoder and
output-layer matmul weights x real target tokens); MFU divides them by the time and by the GPU's
dense bf16/fp16 peak (`PEAK_TFLOPS` in benchmarks/device_info.py), "n/a" on a CPU, for fp32 and
for GPUs the table does not hold. The report ends with the same numbers as one JSON line.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import resource
import tempfile
import time
from pathlib import Path

from summarizer.errors import SummarizerError, user_errors_exit

# gogamza/kobart-base-v2's config.json: what makes the model KoBART-base-sized.
KOBART_BASE = {
    "vocab_size": 30000, "d_model": 768, "encoder_layers": 6, "decoder_layers": 6,
    "encoder_attention_heads": 16, "decoder_attention_heads": 16, "encoder_ffn_dim": 3072,
    "decoder_ffn_dim": 3072, "max_position_embeddings": 1026, "activation_function": "gelu",
    "dropout": 0.1, "attention_dropout": 0.0, "activation_dropout": 0.0,
    "scale_embedding": False, "tokenizer_class": "PreTrainedTokenizerFast",
}
TOKENIZER_ENV = "SUMMARIZER_KOBART_TOKENIZER"
KOBART_SPECIALS = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>",
                   "pad_token": "<pad>", "mask_token": "<mask>"}


def compose(args: argparse.Namespace, work_dir: Path):
    """`model=kobart`'s config for one training phase of `--steps` steps, then the overrides."""
    from epoch_eval import EVERY_EPOCH_FULL
    from omegaconf import OmegaConf

    from summarizer import load_config

    overrides = ["model=kobart", "logger=none", "paths.cache_dir=null", "training.epochs=1",
                 f"data.max_train_samples={args.train_rows or 'null'}",
                 f"data.max_dev_samples={args.dev_rows or 'null'}",
                 f"+training.args.max_steps={args.steps}", "training.args.eval_strategy=no",
                 "training.args.save_strategy=no", "training.args.load_best_model_at_end=false",
                 "training.callbacks.early_stopping=null", *EVERY_EPOCH_FULL]
    if args.data_dir:
        overrides += ["data=dialogsum_ko", f"data.dir={Path(args.data_dir).resolve()}"]
    else:
        overrides += [f"paths.data_dir={work_dir}"]
    cfg = load_config(overrides=overrides + args.overrides)
    return OmegaConf.masked_copy(cfg, [key for key in cfg if key != "hydra"])  # the job's part


def kobart_tokenizer(path: Path, special_tokens: list[str]):
    """KoBART's tokenizer from a `tokenizers` JSON file or a directory, fixed as the runner
    fixes every loaded tokenizer (`summarizer.tokenization.fix_tokenizer`)."""
    from transformers import PreTrainedTokenizerFast

    from summarizer.tokenization import fix_tokenizer, load_tokenizer

    if path.is_dir():
        if (path / "tokenizer_config.json").is_file():
            return load_tokenizer(str(path), special_tokens)
        files = [path / name for name in ("tokenizer.json", "model.json")
                 if (path / name).is_file()]
        path = files[0] if files else path
    if not path.is_file():
        raise SummarizerError(
            f"--tokenizer (or {TOKENIZER_ENV}) {path} is neither a tokenizer file nor a "
            "directory holding tokenizer_config.json, tokenizer.json or model.json. Point it at "
            "KoBART's tokenizer.json/model.json, or leave both unset to train a tokenizer on the "
            "training split.")
    tokenizer = PreTrainedTokenizerFast(tokenizer_file=str(path), **KOBART_SPECIALS)
    return fix_tokenizer(tokenizer, special_tokens)


def build_tokenizer(args: argparse.Namespace, data, train_frame):
    """(tokenizer, description): KoBART's when a path is given, else one trained on the data."""
    from summarizer.tokenization import train_tokenizer

    path = args.tokenizer if args.tokenizer is not None else os.environ.get(TOKENIZER_ENV)
    if path:
        return kobart_tokenizer(Path(path), list(data.special_tokens)), f"KoBART ({path})"
    texts = [*train_frame[data.text_column], *train_frame[data.summary_column]]
    tokenizer = train_tokenizer(texts, list(data.special_tokens),
                                vocab_size=KOBART_BASE["vocab_size"])
    return tokenizer, "trained on the training split"


def build_model(args: argparse.Namespace, tokenizer):
    """KoBART-base's architecture, randomly initialised, with `--layers` layers per stack."""
    from transformers import BartConfig

    from summarizer.modeling import from_config

    config = BartConfig(**{**KOBART_BASE, "encoder_layers": args.layers,
                           "decoder_layers": args.layers})
    model = from_config(config, tokenizer)
    if len(tokenizer) < KOBART_BASE["vocab_size"]:
        model.resize_token_embeddings(KOBART_BASE["vocab_size"], mean_resizing=False)
    return model


def synchronize() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


class StepMeter:
    """Samples and real (non-padding) source and target tokens of every optimizer step, and the
    time it ended, as a trainer callback.

    Batches are counted where they reach the model (`training_step`): the collator runs in the
    dataloader's worker processes, whose counts the main process would never see.
    """

    def __init__(self):
        self.pending = [0, 0, 0]
        self.steps: list[tuple[float, int, int, int]] = []

    def wrap(self, training_step):
        def counted(model, inputs, *args, **kwargs):
            self.pending[0] += int(inputs["input_ids"].shape[0])
            self.pending[1] += int(inputs["attention_mask"].sum())
            self.pending[2] += int((inputs["labels"] != -100).sum())
            return training_step(model, inputs, *args, **kwargs)
        return counted

    def callback(self):
        from transformers import TrainerCallback

        meter = self

        class StepEnd(TrainerCallback):
            def on_step_end(self, *_, **__):
                synchronize()  # the GPU has finished the step, not just queued it
                meter.steps.append((time.perf_counter(), *meter.pending))
                meter.pending = [0, 0, 0]

        return StepEnd()

    def after(self, untimed: int) -> dict:
        """Seconds, samples and tokens of the steps after the first `untimed`."""
        start, window = self.steps[untimed - 1][0], self.steps[untimed:]
        return {"seconds": window[-1][0] - start, "samples": sum(s[1] for s in window),
                "source_tokens": sum(s[2] for s in window),
                "target_tokens": sum(s[3] for s in window)}


def matmul_weights(model) -> tuple[int, int]:
    """Weights of the matrix multiplications each source token goes through (encoder) and each
    target token (decoder and output layer); embeddings are look-ups."""
    import torch

    def linear(module) -> int:
        return sum(m.weight.numel() for m in module.modules() if isinstance(m, torch.nn.Linear))

    return (linear(model.get_encoder()),
            linear(model.get_decoder()) + model.get_output_embeddings().weight.numel())


def tf32_matmuls() -> bool:
    """Whether CUDA matmuls run in TF32 now (torch >= 2.9 API first: mixing the two raises)."""
    import torch

    matmul = torch.backends.cuda.matmul
    try:
        return matmul.fp32_precision == "tf32"
    except AttributeError:
        return bool(matmul.allow_tf32)


def peak_memory_mib() -> tuple[float, str]:
    import torch

    if torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**20, "torch.cuda.max_memory_allocated"
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "peak RSS"


def timed(fn):
    start = time.perf_counter()
    value = fn()
    synchronize()
    return value, time.perf_counter() - start


def run(args: argparse.Namespace, work_dir: Path) -> dict:
    import torch
    import transformers
    from device_info import device_name, peak_tflops
    from hydra.utils import execution_whitelist, instantiate
    from transformers import set_seed

    from summarizer.inference import summarize
    from summarizer.metric_names import OBJECTIVE
    from summarizer.options import check_training_values
    from summarizer.trainer import assemble_trainer
    from summarizer.whitelist import EXECUTION_WHITELIST

    if not args.data_dir:
        from summarizer.data import sample

        sample.ensure(work_dir / "sample")
    elif not Path(args.data_dir).is_dir():
        raise SummarizerError(
            f"--data-dir {args.data_dir} is not a directory. Give a folder with train.csv and "
            "dev.csv (columns fname, dialogue, summary), or leave it out to use the bundled "
            "sample.")
    cfg = compose(args, work_dir)
    check_training_values(cfg)
    set_seed(cfg.seed)
    with execution_whitelist(EXECUTION_WHITELIST):
        data = instantiate(cfg.data)
        train_frame, dev_frame = data.load("train"), data.load("dev")
        tokenizer, tokenizer_source = build_tokenizer(args, data, train_frame)
        model = build_model(args, tokenizer)
        trainer = assemble_trainer(cfg, data, train_frame, dev_frame, work_dir / "run",
                                   instantiate(cfg.logger), model=model, tokenizer=tokenizer)

    meter = StepMeter()
    trainer.training_step = meter.wrap(trainer.training_step)
    trainer.add_callback(meter.callback())
    encoder_weights, decoder_weights = matmul_weights(model)
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    result = trainer.train()
    train_memory, _ = peak_memory_mib()
    window = meter.after(args.untimed_steps)
    evaluation, eval_s = timed(trainer.evaluate)
    dialogues = dev_frame[data.text_column].tolist()
    _, predict_s = timed(lambda: summarize(trainer.model, tokenizer, dialogues,
                                           data.max_source_length, cfg.training.eval_batch_size))
    memory, memory_kind = peak_memory_mib()

    training_args = trainer.args
    precision = "bf16" if training_args.bf16 else "fp16" if training_args.fp16 else "fp32"
    device = device_name()
    peak = (peak_tflops(device)
            if torch.cuda.is_available() and precision != "fp32" else None)
    seconds = window["seconds"]
    model_tflops = 6 * (encoder_weights * window["source_tokens"]
                        + decoder_weights * window["target_tokens"]) / seconds / 1e12
    optimizer = getattr(trainer.optimizer, "optimizer", trainer.optimizer)
    return {
        "device": device,
        "cuda": torch.version.cuda if torch.cuda.is_available() else None,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "python": platform.python_version(),
        "layers": args.layers,
        "parameters": model.num_parameters(),
        "vocab_size": model.config.vocab_size,
        "tokenizer": tokenizer_source,
        "tokenizer_size": len(tokenizer),
        "data": str(args.data_dir or "bundled sample"),
        "train_rows": len(train_frame),
        "dev_rows": len(dev_frame),
        "max_source_length": data.max_source_length,
        "max_target_length": data.max_target_length,
        "precision": precision,
        "training.precision": cfg.training.precision,
        "tf32": training_args.tf32,
        "training.tf32": cfg.training.tf32,
        "tf32_matmuls": tf32_matmuls() if torch.cuda.is_available() else None,
        "pad_to_multiple_of": trainer.data_collator.pad_to_multiple_of,
        "training.pad_to_multiple_of": cfg.training.pad_to_multiple_of,
        "optimizer": str(getattr(training_args.optim, "value", training_args.optim)),
        "fused_optimizer": bool(optimizer.defaults.get("fused")),
        "torch_compile": bool(training_args.torch_compile),
        "batch_size": training_args.per_device_train_batch_size,
        "gradient_accumulation_steps": training_args.gradient_accumulation_steps,
        "steps": trainer.state.global_step,
        "timed_steps": len(meter.steps) - args.untimed_steps,
        "train_seconds": seconds,
        "train_samples": window["samples"],
        "train_source_tokens": window["source_tokens"],
        "train_target_tokens": window["target_tokens"],
        "encoder_matmul_weights": encoder_weights,
        "decoder_matmul_weights": decoder_weights,
        "train_samples_per_s": window["samples"] / seconds,
        "train_tokens_per_s": (window["source_tokens"] + window["target_tokens"]) / seconds,
        "train_loss": result.metrics.get("train_loss"),
        "model_tflops_per_s": model_tflops,
        "peak_tflops": peak,
        "mfu": model_tflops / peak if peak else None,
        "num_beams": training_args.generation_num_beams,
        "generation_max_length": training_args.generation_max_length,
        "eval_s": eval_s,
        "eval_rows_per_s": len(dev_frame) / eval_s,
        "eval_loss": evaluation.get("eval_loss"),
        "eval_rouge_sum": evaluation.get(OBJECTIVE),
        "predict_s": predict_s,
        "predict_rows_per_s": len(dev_frame) / predict_s,
        "peak_memory_mib": memory,
        "train_peak_memory_mib": train_memory,
        "memory_measure": memory_kind,
    }


def report(r: dict) -> str:
    """The human-readable lines of a result."""
    def on(flag) -> str:
        return "n/a on CPU" if flag is None else "on" if flag else "off"

    if r["mfu"] is not None:
        mfu = (f"{r['mfu']:.1%} ({r['model_tflops_per_s']:.1f} model TFLOPS of a "
               f"{r['peak_tflops']:.0f} TFLOPS dense {r['precision']} peak)")
    else:
        why = ("CPU" if r["cuda"] is None else "fp32 has no peak in the table"
               if r["precision"] == "fp32" else f"no peak known for {r['device']}")
        mfu = f"n/a ({why}; {r['model_tflops_per_s']:.3f} model TFLOPS)"
    cuda = f"CUDA {r['cuda']}, " if r["cuda"] else ""
    memory = (f"{r['peak_memory_mib']:.0f} MiB ({r['memory_measure']}"
              + (f"; training {r['train_peak_memory_mib']:.0f} MiB)" if r["cuda"] else ")"))
    return "\n".join([
        f"GPU smoke test: KoBART-base architecture, random init, {r['parameters'] / 1e6:.1f}M "
        f"parameters, {r['layers']}+{r['layers']} layers, vocabulary {r['vocab_size']}",
        f"device       {r['device']} ({cuda}torch {r['torch']}, transformers "
        f"{r['transformers']}, Python {r['python']})",
        f"tokenizer    {r['tokenizer']}, {r['tokenizer_size']} entries",
        f"data         {r['data']}: {r['train_rows']} train / {r['dev_rows']} dev rows, "
        f"source/target up to {r['max_source_length']}/{r['max_target_length']} tokens",
        f"settings     precision {r['precision']} (training.precision={r['training.precision']}), "
        f"TF32 matmuls {on(r['tf32_matmuls'])} (training.tf32={r['training.tf32']}), "
        f"pad_to_multiple_of {r['pad_to_multiple_of'] or 'off'} "
        f"(training.pad_to_multiple_of={r['training.pad_to_multiple_of']}), optimizer "
        f"{r['optimizer']} (fused: {'yes' if r['fused_optimizer'] else 'no'}), torch.compile "
        f"{on(r['torch_compile'])}, batch size {r['batch_size']} x "
        f"{r['gradient_accumulation_steps']} accumulation",
        f"training     {r['steps']} steps, last {r['timed_steps']} timed: "
        f"{r['train_samples_per_s']:.1f} samples/s, {r['train_tokens_per_s']:.0f} tokens/s "
        f"(real source + target tokens), loss {r['train_loss']:.3f}",
        f"MFU          {mfu}",
        f"evaluation   {r['dev_rows']} rows in {r['eval_s']:.1f} s ({r['eval_rows_per_s']:.1f} "
        f"rows/s; {r['num_beams']} beam(s), max length {r['generation_max_length']}), loss "
        f"{r['eval_loss']:.3f}, ROUGE sum {r['eval_rouge_sum']:.2f}",
        f"prediction   {r['dev_rows']} rows in {r['predict_s']:.1f} s "
        f"({r['predict_rows_per_s']:.1f} rows/s)",
        f"peak memory  {memory}",
    ])


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=100, help="optimizer steps (default 100)")
    parser.add_argument("--untimed-steps", type=int, default=5,
                        help="first steps left out of the throughput (default 5)")
    parser.add_argument("--data-dir", help="train.csv and dev.csv (default: the bundled sample)")
    parser.add_argument("--train-rows", type=int, help="first N training rows (default: all)")
    parser.add_argument("--dev-rows", type=int, default=200,
                        help="first N dev rows to evaluate and predict (0: all; default 200)")
    parser.add_argument("--tokenizer", help=f"KoBART's tokenizer.json/model.json or a directory "
                        f"(default: ${TOKENIZER_ENV}; unset or '': train one on the data)")
    parser.add_argument("--layers", type=int, default=KOBART_BASE["encoder_layers"],
                        help="layers per stack (default 6, KoBART-base; fewer for CPU tests)")
    parser.add_argument("--json", help="also write the JSON result to this file")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. training.batch_size=32")
    args = parser.parse_args(argv)
    if args.layers < 1:
        parser.error(f"--layers {args.layers}: a model needs at least 1 layer per stack.")
    if not 1 <= args.untimed_steps < args.steps:
        parser.error(f"--untimed-steps {args.untimed_steps} with --steps {args.steps}: at least "
                     "1 untimed step (start-up) and at least 1 timed step after it are needed.")
    return args


def main() -> None:
    args = parse_args()
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s][%(name)s] %(message)s")
    with user_errors_exit(), tempfile.TemporaryDirectory(prefix="gpu_smoke-") as work_dir:
        result = run(args, Path(work_dir))
    print(report(result))
    line = json.dumps(result)
    if args.json:
        Path(args.json).write_text(line + "\n", encoding="utf-8")
    print(line)


if __name__ == "__main__":
    main()
