"""`final_model/README.md`: a Hugging Face model card for the run's final model."""

from __future__ import annotations

from pathlib import Path

import transformers
import yaml

from summarizer.causal.saved import PROMPT_FILE
from summarizer.metric_names import EVAL_PREFIX, ROUGE_LABELS, ROUGE_METRICS
from summarizer.reports.facts import RunFacts
from summarizer.reports.rerun import shown_command
from summarizer.reports.summary import best_epoch_text, metric_rows

FILENAME = "README.md"
# model-index metric types for the final dev metrics.
METRIC_TYPES = {EVAL_PREFIX + name: name for name in (*ROUGE_METRICS, "loss")}
# What the tokens of each ROUGE mode are (docs/rouge.md), for readers of the card on the hub.
ROUGE_TOKENIZATION = {
    "whitespace": "whitespace tokens, Hangul kept",
    "char": "character tokens, Hangul kept",
    "morpheme": "Korean morphemes from kiwipiepy",
    "compat": "as the `rouge` package (pltrdy) computes it",
    "english": "rouge-score's default tokenizer: lower-cased [a-z0-9] words",
    "english_stem": "rouge-score's default tokenizer with Porter stemming",
}


# What `run_facts.summary_language` recognises.
LANGUAGE_NAMES = {"ko": "Korean", "en": "English"}


def is_causal(facts: RunFacts) -> bool:
    """A decoder-only model answers the prompt it was trained with, saved beside it."""
    return (facts.final_model / PROMPT_FILE).is_file()


def front_matter(facts: RunFacts) -> dict:
    card = {"language": [facts.language]} if facts.language else {}
    card.update({
        "library_name": "transformers",
        "pipeline_tag": "text-generation" if is_causal(facts) else "summarization",
        "tags": ["summarization", "dialogue-summarization",
                 *([LANGUAGE_NAMES[facts.language].lower()] if facts.language else []),
                 "causal-lm" if is_causal(facts) else "seq2seq"],
    })
    # The hub reads `base_model` as a repository id; a local directory is named in the text only.
    if facts.base_model and not Path(facts.base_model).exists():
        card["base_model"] = facts.base_model
    metrics = [{"type": kind, "name": ROUGE_LABELS.get(key, "eval loss"),
                "value": round(float(facts.metrics[key]), 4)}
               for key, kind in METRIC_TYPES.items() if key in facts.metrics]
    card["model-index"] = [{
        "name": facts.name,
        "results": [{
            "task": {"type": "summarization", "name": "Dialogue summarization"},
            "dataset": {"name": f"{facts.data_name} (dev split)", "type": facts.data_name,
                        "split": "dev"},
            "metrics": metrics,
        }],
    }]
    return card


def usage(facts: RunFacts) -> str:
    return causal_usage(facts) if is_causal(facts) else seq2seq_usage(facts)


def causal_usage(facts: RunFacts) -> str:
    # The prompt (instruction, chat template, the tokens that open the answer) must be the one
    # of training; the project renders it from prompt.json exactly as training did.
    return f'''```python
from summarizer import predict

path = "{facts.final_model}"
dialogue = "#Person1#: 내일 3시에 만나요. #Person2#: 좋아요, 회사 앞에서 봬요."
print(predict(path, dialogue))  # the prompt of prompt.json, the saved generation settings
```

The weights load with `AutoModelForCausalLM.from_pretrained(path)`; the model was trained to answer
the prompt described by `prompt.json` (a `summarizer.causal.prompt_config.PromptConfig`: the
instruction and the dialogue as the user turn of the tokenizer's chat template), and generates
the summary after it.'''


def seq2seq_usage(facts: RunFacts) -> str:
    return f'''```python
import torch
from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

path = "{facts.final_model}"
tokenizer = AutoTokenizer.from_pretrained(path)
model = AutoModelForSeq2SeqLM.from_pretrained(path).eval()

dialogue = "#Person1#: 내일 3시에 만나요. #Person2#: 좋아요, 회사 앞에서 봬요."
# The tokenizer adds `<s> ... </s>`, as training did.
inputs = tokenizer(dialogue, truncation=True, max_length={facts.max_source_length},
                   return_tensors="pt")
with torch.inference_mode():
    output = model.generate(**inputs)  # with the generation settings saved by the training run
print(tokenizer.decode(output[0], skip_special_tokens=True))
```

For further training, `tokenizer(text_target=summary)` gives `<s> summary </s>`, BART's label
format; this model was trained on `summary </s>` (and sources `<s> dialogue </s>`, which
`tokenizer(dialogue)` gives exactly).'''


def model_card_markdown(facts: RunFacts) -> str:
    origin = (f"fine-tuned from `{facts.base_model}`" if facts.base_model
              else "trained from scratch (random initialisation)")
    hyperparameters = "\n".join(f"| {name} | {value} |" for name, value in
                                [("best epoch", best_epoch_text(facts)),
                                 *facts.hyperparameters.items()])
    results = "\n".join(f"| {name} | {value} |" for name, value in metric_rows(facts.metrics))
    header = yaml.safe_dump(front_matter(facts), allow_unicode=True, sort_keys=False)
    rouge_tokens = ROUGE_TOKENIZATION[facts.rouge_tokenizer]
    subject = "dialogue summarization model" + (
        f" for {LANGUAGE_NAMES[facts.language]}" if facts.language else "")
    return f"""---
{header}---

# {facts.name}

A {subject}: `{facts.architecture}`, {facts.parameters / 1e6:.2f}M
parameters, {origin}.
Inputs are dialogues with `#Person1#:`-style speaker tags, truncated to {facts.max_source_length}
tokens; summaries keep the tags.

## Training data

Data option `{facts.data_name}` (`{facts.data_dir}`):
{facts.train_rows} training rows, {facts.dev_rows} dev rows.

## Training

| | |
|---|---|
{hyperparameters}

Produced by:

{shown_command(facts.command)}

## Results

Dev split, best checkpoint (ROUGE F1 on a 0-100 scale, {rouge_tokens};
`rouge_sum` = ROUGE-1 + ROUGE-2 + ROUGE-L):

| metric | value |
|---|---|
{results}

## How to use

{usage(facts)}

transformers 5 removed `pipeline("summarization")` (this model was saved with transformers
{transformers.__version__}), so the model and tokenizer are loaded directly as above.
With the `summarizer` project installed, `python -m summarizer.predict run=<this directory>
"text='<dialogue>'"` summarizes one dialogue, and `data=<data option> split=test` a whole split.
"""
