"""The generated Korean sample: byte-stable, in the competition layout, dev/test held out from
train."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from summarizer.data import sample
from summarizer.data.baselines import BASELINES, baseline_scores, main
from summarizer.data.sample.particles import with_particle

ROOT = Path(__file__).resolve().parents[1]
PII = ("#PhoneNumber#", "#Address#", "#DateOfBirth#")
TURN = re.compile(r"^#Person[1-4]#: \S")


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sample")
    sample.generate(out)
    return out


def read(directory: Path, split: str) -> pd.DataFrame:
    return pd.read_csv(directory / f"{split}.csv", keep_default_na=False)


def test_files_are_byte_stable(generated):
    for name, digest in sample.SHA256.items():
        assert sample.sha256(generated / name) == digest, name
    assert set(sample.SHA256) == {"train.csv", "dev.csv", "test.csv"}


def test_competition_layout(generated):
    sizes = {split: len(read(generated, split)) for split in ("train", "dev", "test")}
    assert sizes["train"] >= 1000 and sizes["dev"] >= 200 and sizes["test"] >= 200
    assert list(read(generated, "train").columns) == ["fname", "dialogue", "summary", "topic"]
    assert list(read(generated, "dev").columns) == ["fname", "dialogue", "summary", "topic"]
    assert list(read(generated, "test").columns) == ["fname", "dialogue", "topic"]
    assert read(generated, "dev")["fname"].iloc[0] == "dev_0"


@pytest.mark.parametrize("split", ["train", "dev", "test"])
def test_dialogues_look_like_competition_data(generated, split):
    frame = read(generated, split)
    turns = frame["dialogue"].str.split("\n")
    assert turns.str.len().between(4, 12).all()
    speakers = turns.apply(lambda lines: len({line.split(":")[0] for line in lines}))
    assert speakers.between(2, 4).all() and speakers.max() >= 3
    assert all(TURN.match(line) for lines in turns for line in lines)
    for mask in PII:
        assert frame["dialogue"].str.contains(mask, regex=False).any(), mask
    assert frame["topic"].nunique() >= 12
    if "summary" in frame:
        assert (frame["summary"].str.strip() != "").all()
        assert frame["summary"].str.contains("#Person", regex=False).all()
        # Summaries paraphrase: none is a turn of its dialogue.
        pairs = zip(frame["summary"], frame["dialogue"], strict=True)
        assert not any(summary in dialogue for summary, dialogue in pairs)


def test_dev_and_test_slot_values_never_occur_in_train():
    train = sample.build("train")
    train_values = {value for row in train for _, value in row.slots}
    train_text = "\n".join(row.dialogue for row in train)
    for split in ("dev", "test"):
        for row in sample.build(split):
            for kind, value in row.slots:
                assert value not in train_values, (split, row.fname, kind, value)
                if kind == "name":  # not even inside another word of a train dialogue
                    assert value not in train_text, (split, row.fname, value)


def test_ensure_generates_once_and_repairs_a_changed_file(tmp_path):
    out = sample.ensure(tmp_path / "s")
    stamp = (out / "train.csv").stat().st_mtime_ns
    sample.ensure(out)
    assert (out / "train.csv").stat().st_mtime_ns == stamp  # valid files are reused
    (out / "dev.csv").write_text("broken", encoding="utf-8")
    sample.ensure(out)
    assert sample.sha256(out / "dev.csv") == sample.SHA256["dev.csv"]


def test_command_line_writes_the_same_files(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "summarizer.data.sample", "--out", str(tmp_path)],
                          capture_output=True, text=True, check=True)
    assert "train.csv\t1200 rows" in proc.stdout
    for name, digest in sample.SHA256.items():
        assert sample.sha256(tmp_path / name) == digest, name
        assert (tmp_path / name).stat().st_mode & 0o044, "the files are readable by others"


def test_particles_follow_the_last_syllable():
    assert with_particle("#Person2#", "은") == "#Person2#는"  # 이: no final consonant
    assert with_particle("#Person1#", "은") == "#Person1#은"  # 일: final ㄹ
    assert with_particle("서울", "으로") == "서울로"  # ㄹ takes the vowel form
    assert with_particle("부산", "으로") == "부산으로"
    assert with_particle("3일", "이") == "3일이"
    with pytest.raises(ValueError, match="no particle rule"):
        with_particle("ABC", "은")


# The sample measures learning only if copying from train is worth far less than training: every
# baseline stays below this fraction of the default model's documented dev rouge_sum.
MARGIN = 0.6


@pytest.fixture(scope="module")
def scores(generated) -> dict[str, dict[str, float]]:
    return baseline_scores(generated)


def sample_doc() -> str:
    return (ROOT / "docs" / "sample_data.md").read_text(encoding="utf-8")


def test_baselines_match_the_documented_table(scores):
    doc = sample_doc()
    for name in BASELINES:
        row = re.search(rf"^\| {name} \|(.+)\|$", doc, flags=re.M)
        assert row, name
        documented = [float(cell) for cell in row.group(1).split("|")]
        computed = [scores[name][metric] for metric in ("rouge1", "rouge2", "rougeL", "rouge_sum")]
        assert documented == pytest.approx(computed, abs=0.01), name
    # Copying the first turn or one constant summary is worth little.
    assert scores["first_turn"]["rouge_sum"] < 40 and scores["most_frequent"]["rouge_sum"] < 40


def test_every_baseline_is_far_below_the_default_model(scores):
    model = re.search(r"reaches\s+a\s+dev\s+`rouge_sum`\s+of\s+([0-9.]+)", sample_doc())
    assert model, "docs/sample_data.md states the default run's dev rouge_sum"
    for name in BASELINES:
        assert scores[name]["rouge_sum"] <= MARGIN * float(model.group(1)), name


def test_baselines_score_in_the_data_option_s_rouge_mode(generated, scores, capsys):
    main(["--dir", str(generated), "--rouge-tokenizer", "char"])
    table = capsys.readouterr().out
    first_turn = baseline_scores(generated, "char")["first_turn"]
    assert f"| first_turn | {first_turn['rouge1']:.2f} |" in table
    # Characters match where whole words do not: the mode changes the numbers.
    assert first_turn["rouge1"] > scores["first_turn"]["rouge1"]

