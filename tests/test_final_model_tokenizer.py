"""`final_model/`'s tokenizer adds `<s> ... </s>` itself, for code written for BART-style
tokenizers, while the project's own code (training, predict, a run continuing from a final
model) keeps the ids it always had."""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from transformers import (
    AutoModelForSeq2SeqLM,
    AutoTokenizer,
    DataCollatorForSeq2Seq,
    Seq2SeqTrainer,
    Seq2SeqTrainingArguments,
)

from summarizer import predict
from summarizer.averaging import write_averaged_model
from summarizer.data.features import build_dataset
from summarizer.drop_in_tokenizer import drop_in_tokenizer, save_drop_in_tokenizer
from summarizer.inference import load_tokenizer as load_saved_tokenizer
from summarizer.tokenization import adds_bos_eos, adds_special_tokens, load_tokenizer
from tests.kobart_like import TAGS, build_kobart_like_dir, write_tokenizer_dir

pytestmark = pytest.mark.slow

REAL_TOKENIZER = os.environ.get("SUMMARIZER_KOBART_TOKENIZER")
needs_real = pytest.mark.skipif(not REAL_TOKENIZER, reason="SUMMARIZER_KOBART_TOKENIZER is not set")
# The sample preset's lengths (summarizer/conf/data/sample.yaml), and shorter ones that cut
# most rows.
SOURCE_LENGTH, TARGET_LENGTH = 256, 64
CUT_SOURCE, CUT_TARGET = 48, 12
UNCUT = 100_000


@pytest.fixture(scope="module")
def sample(data_dir) -> pd.DataFrame:
    """Every row of the bundled sample's training and dev splits."""
    return pd.concat([pd.read_csv(data_dir / "sample" / f"{split}.csv")
                      for split in ("train", "dev")], ignore_index=True)


def project_ids(tokenizer, frame: pd.DataFrame, source_length: int = UNCUT,
                target_length: int = UNCUT) -> tuple[list[list[int]], list[list[int]]]:
    """The input ids and labels the project's data code trains on."""
    dataset = build_dataset(frame, tokenizer, "dialogue", "summary", source_length,
                            target_length)
    return dataset["input_ids"], dataset["labels"]


def check_drop_in(saved, training, frame: pd.DataFrame) -> None:
    """`saved` (a final model's tokenizer) encodes every row as `training` (the tokenizer the
    run trained with) did in the project: sources exactly, targets with BART's leading `<s>`;
    the project's code gives the same ids with either."""
    dialogues, summaries = frame["dialogue"].tolist(), frame["summary"].tolist()
    inputs, labels = project_ids(training, frame)
    assert not adds_special_tokens(training) and adds_bos_eos(saved)
    assert project_ids(saved, frame) == (inputs, labels)
    assert saved(dialogues)["input_ids"] == inputs
    assert saved(text_target=summaries)["input_ids"] == [[saved.bos_token_id, *row]
                                                         for row in labels]
    assert all(row[-1] == saved.eos_token_id for row in labels)
    # Cut the same way: sources at `max_length`, targets at one more for their `<s>`.
    inputs, labels = project_ids(training, frame, CUT_SOURCE, CUT_TARGET)
    assert project_ids(saved, frame, CUT_SOURCE, CUT_TARGET) == (inputs, labels)
    assert any(len(row) == CUT_SOURCE for row in inputs)
    assert saved(dialogues, truncation=True, max_length=CUT_SOURCE)["input_ids"] == inputs
    cut = saved(text_target=summaries, truncation=True, max_length=CUT_TARGET + 1)
    assert cut["input_ids"] == [[saved.bos_token_id, *row] for row in labels]
    assert any(len(row) == CUT_TARGET for row in labels)


def saved_drop_in(tokenizer, directory: Path):
    """`tokenizer` saved as a final model saves it, and loaded back the standard way."""
    save_drop_in_tokenizer(tokenizer, directory)
    return AutoTokenizer.from_pretrained(str(directory))


def newest_checkpoint(run: Path) -> Path:
    return max(run.glob("checkpoint-*"), key=lambda path: int(path.name.split("-")[1]))


def test_the_tiny_final_model_tokenizer_gives_the_project_ids(trained_run, sample):
    # A checkpoint holds the tokenizer as the run trained with it.
    training = AutoTokenizer.from_pretrained(str(newest_checkpoint(trained_run)))
    saved = AutoTokenizer.from_pretrained(str(trained_run / "final_model"))
    check_drop_in(saved, training, sample)
    check_drop_in(load_saved_tokenizer(trained_run / "final_model"), training, sample)


def test_the_kobart_like_tokenizer_saved_as_a_final_model_gives_the_project_ids(
        tmp_path, sample):
    training = load_tokenizer(str(build_kobart_like_dir(tmp_path / "kobart")), TAGS)
    check_drop_in(saved_drop_in(training, tmp_path / "final"), training, sample)


@needs_real
def test_the_real_kobart_tokenizer_saved_as_a_final_model_gives_the_project_ids(
        tmp_path, sample):
    path = Path(REAL_TOKENIZER)
    if not (path.is_dir() and (path / "tokenizer.json").is_file()):
        source = path / "model.json" if path.is_dir() else path
        path = write_tokenizer_dir(source, tmp_path / "kobart")
    training = load_tokenizer(str(path), TAGS)
    check_drop_in(saved_drop_in(training, tmp_path / "final"), training, sample)


def test_a_run_continuing_from_a_final_model_adds_nothing_twice(trained_run, tmp_path):
    # What model.name_or_path=<final_model> loads, and saves again at the end of the run.
    loaded = load_tokenizer(str(trained_run / "final_model"), TAGS)
    assert drop_in_tokenizer(loaded) is loaded
    again = saved_drop_in(loaded, tmp_path / "final")
    plain = again("#Person1#: 네", add_special_tokens=False)["input_ids"]
    assert again("#Person1#: 네")["input_ids"] == [again.bos_token_id, *plain,
                                                  again.eos_token_id]


def test_the_trainers_tokenizer_is_left_as_it_was(trained_run):
    training = AutoTokenizer.from_pretrained(str(newest_checkpoint(trained_run)))
    copy = drop_in_tokenizer(training)
    assert copy is not training and adds_bos_eos(copy) and not adds_special_tokens(training)


def test_predict_gives_the_same_summaries_as_with_the_tokenizer_of_training(trained_run,
                                                                            tmp_path, sample):
    before = tmp_path / "before"
    shutil.copytree(trained_run / "final_model", before)
    checkpoint = newest_checkpoint(trained_run)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy2(checkpoint / name, before / name)
    assert not adds_special_tokens(AutoTokenizer.from_pretrained(str(before)))
    dialogues = sample["dialogue"].tolist()[-24:]
    expected = predict(before, dialogues, max_source_length=SOURCE_LENGTH)
    assert predict(trained_run / "final_model", dialogues,
                   max_source_length=SOURCE_LENGTH) == expected


def test_the_averaged_model_tokenizer_adds_bos_and_eos(trained_run, tmp_path):
    checkpoints = sorted(trained_run.glob("checkpoint-*"),
                         key=lambda path: int(path.name.split("-")[1]))
    write_averaged_model(checkpoints, tmp_path / "averaged")
    assert adds_bos_eos(AutoTokenizer.from_pretrained(str(tmp_path / "averaged")))


def test_the_model_card_example_runs_without_special_tokens_by_hand(trained_run):
    card = (trained_run / "final_model" / "README.md").read_text(encoding="utf-8")
    code = re.search(r"```python\n(.*?)```", card, re.DOTALL).group(1)
    assert "bos_token" not in code and "add_special_tokens" not in code
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, "model_card_example", "exec"), {})
    dialogue = re.search(r'dialogue = "(.*)"', code).group(1)
    assert printed.getvalue().strip() == predict(trained_run / "final_model", dialogue)


def test_a_plain_seq2seq_trainer_continuing_from_the_final_model(trained_run, tmp_path,
                                                                 sample):
    """A standard script: the tokenizer called with `text_target`, `DataCollatorForSeq2Seq`."""
    final = trained_run / "final_model"
    tokenizer = AutoTokenizer.from_pretrained(str(final))
    model = AutoModelForSeq2SeqLM.from_pretrained(str(final))
    rows = sample.head(8)
    features = tokenizer(rows["dialogue"].tolist(), truncation=True, max_length=SOURCE_LENGTH,
                         text_target=rows["summary"].tolist(), max_target_length=TARGET_LENGTH)
    dataset = [{key: features[key][index] for key in ("input_ids", "attention_mask", "labels")}
               for index in range(len(rows))]
    collator = DataCollatorForSeq2Seq(tokenizer, model=model)
    batches = []

    def collate(examples):
        batches.append(collator(examples))
        return batches[-1]

    args = Seq2SeqTrainingArguments(output_dir=str(tmp_path / "out"), max_steps=2,
                                    per_device_train_batch_size=4, report_to=[],
                                    save_strategy="no", use_cpu=True)
    Seq2SeqTrainer(model=model, args=args, train_dataset=dataset, data_collator=collate,
                   processing_class=tokenizer).train()
    assert len(batches) == 2
    inputs, labels = project_ids(tokenizer, rows, SOURCE_LENGTH, TARGET_LENGTH - 1)
    seen_inputs = {}
    for batch in batches:
        for ids, mask, target in zip(batch["input_ids"].tolist(),
                                     batch["attention_mask"].tolist(),
                                     batch["labels"].tolist(), strict=True):
            source = [token for token, keep in zip(ids, mask, strict=True) if keep]
            seen_inputs[tuple(source)] = [token for token in target if token != -100]
    assert set(seen_inputs) == {tuple(row) for row in inputs}
    for source, target in seen_inputs.items():
        project_label = labels[inputs.index(list(source))]
        assert source[0] == tokenizer.bos_token_id and target[-1] == tokenizer.eos_token_id
        # BART's label format: one `<s>` ahead of the project's labels.
        assert target == [tokenizer.bos_token_id, *project_label]
