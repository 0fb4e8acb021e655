"""k-fold splits (`data.folds`, `data.fold`): disjoint folds that cover every pooled train and
dev row once, the same on every run whatever the order of the files, and bad keys refused."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hydra.utils import execution_whitelist, instantiate

from summarizer.data.folds import fold_numbers
from summarizer.data.module import SummarizationData
from summarizer.errors import SummarizerError
from summarizer.options import check_training_values
from summarizer.whitelist import EXECUTION_WHITELIST
from tests.conftest import compose_train, run_train

FOLDS = 4


def rows(prefix: str, count: int) -> pd.DataFrame:
    return pd.DataFrame({"fname": [f"{prefix}_{n}" for n in range(count)],
                         "dialogue": [f"#Person1#: {prefix} 대화 {n}" for n in range(count)],
                         "summary": [f"{prefix} 요약 {n}" for n in range(count)]})


def write_files(folder: Path, train: pd.DataFrame, dev: pd.DataFrame) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    train.to_csv(folder / "train.csv", index=False)
    dev.to_csv(folder / "dev.csv", index=False)
    return folder


def data_for(folder: Path, **keys) -> SummarizationData:
    return SummarizationData(
        name="folds", dir=str(folder), train_file="train.csv", dev_file="dev.csv",
        test_file="test.csv", id_column="fname", text_column="dialogue",
        summary_column="summary", max_source_length=64, max_target_length=16, **keys)


@pytest.fixture
def files(tmp_path) -> Path:
    return write_files(tmp_path / "data", rows("train", 30), rows("dev", 11))


def test_folds_are_disjoint_and_cover_every_row_once(files):
    every = set(rows("train", 30).fname) | set(rows("dev", 11).fname)
    devs = []
    for fold in range(FOLDS):
        data = data_for(files, folds=FOLDS, fold=fold)
        train, dev = set(data.load("train").fname), set(data.load("dev").fname)
        assert train.isdisjoint(dev) and train | dev == every
        devs.append(dev)
    assert sorted(fname for dev in devs for fname in dev) == sorted(every)
    assert {len(dev) for dev in devs} <= {len(every) // FOLDS, len(every) // FOLDS + 1}


def test_fold_assignment_is_stable_and_ignores_the_order_of_the_rows(tmp_path, files):
    def assignment(folder: Path) -> dict[str, int]:
        return {fname: fold for fold in range(FOLDS)
                for fname in data_for(folder, folds=FOLDS, fold=fold).load("dev").fname}

    first = assignment(files)
    assert assignment(files) == first
    # The same rows, each file shuffled and some rows moved from train to dev.
    pooled = pd.concat([rows("train", 30), rows("dev", 11)]).sample(frac=1, random_state=3)
    moved = write_files(tmp_path / "moved", pooled.iloc[:20], pooled.iloc[20:])
    assert assignment(moved) == first
    # Another data.fold_seed deals other folds.
    other = {fname: fold for fold in range(FOLDS) for fname in
             data_for(files, folds=FOLDS, fold=fold, fold_seed=7).load("dev").fname}
    assert other != first


def test_fold_numbers_are_pinned():
    """The assignment is part of a run's record: a numpy or pandas upgrade must not move rows."""
    numbers = fold_numbers([f"id{n}" for n in range(10)], ["text"] * 10, folds=3, seed=42)
    assert numbers.tolist() == [2, 2, 2, 1, 0, 0, 1, 0, 0, 1]
    assert np.bincount(numbers).tolist() == [4, 3, 3]


def test_predict_on_a_fold_run_reads_its_dev(files):
    """`predict split=dev` of a fold run (data settings saved with it) summarizes its fold."""
    data = data_for(files, folds=FOLDS, fold=3)
    assert data.load("dev", for_prediction=True).fname.tolist() == data.load("dev").fname.tolist()


def test_sample_limits_cut_the_fold_split(files):
    data = data_for(files, folds=FOLDS, fold=1, max_dev_samples=3, max_train_samples=5)
    full = data_for(files, folds=FOLDS, fold=1)
    assert data.load("dev").fname.tolist() == full.load("dev").fname.tolist()[:3]
    assert data.load("train").fname.tolist() == full.load("train").fname.tolist()[:5]


def test_empty_rows_of_a_fold_are_dropped_without_moving_the_others(tmp_path):
    train = rows("train", 30)
    clean = write_files(tmp_path / "clean", train, rows("dev", 11))
    train.loc[4, "summary"] = ""
    blank = write_files(tmp_path / "blank", train, rows("dev", 11))
    for fold in range(FOLDS):
        kept = {split: set(data_for(blank, folds=FOLDS, fold=fold).load(split).fname)
                for split in ("train", "dev")}
        full = {split: set(data_for(clean, folds=FOLDS, fold=fold).load(split).fname)
                for split in ("train", "dev")}
        assert all(kept[split] == full[split] - {"train_4"} for split in kept)


@pytest.mark.parametrize("keys,message", [
    ({"folds": 3, "fold": 3}, "data.fold=3 is out of range: with data.folds=3 it must be 0 to 2"),
    ({"folds": 3}, "data.fold is not set: with data.folds=3"),
    ({"fold": 1}, "data.fold=1 needs data.folds=<K>"),
    ({"folds": 1, "fold": 0}, "data.folds=1 is invalid"),
    ({"folds": 50, "fold": 0}, "data.folds=50 is more than the 41 rows"),
])
def test_bad_fold_keys_name_the_key_and_the_fix(files, keys, message):
    with pytest.raises(SummarizerError, match=re.escape(message)):
        data_for(files, **keys).load("train")


def test_the_train_config_composes_a_fold_run(data_dir):
    cfg = compose_train(["data.folds=5", "data.fold=2"])
    check_training_values(cfg)
    with execution_whitelist(EXECUTION_WHITELIST):
        data, plain = instantiate(cfg.data), instantiate(compose_train([]).data)
    assert (data.folds, data.fold, data.fold_seed) == (5, 2, 42)
    dev, train = data.load("dev"), data.load("train")
    assert set(dev.fname).isdisjoint(train.fname)
    assert len(dev) + len(train) == len(plain.load("train")) + len(plain.load("dev"))
    assert compose_train([]).data.folds is None
    with pytest.raises(SummarizerError, match="data.folds=1 is invalid"):
        check_training_values(compose_train(["data.folds=1", "data.fold=0"]))


def test_a_fold_out_of_range_stops_train_with_exit_2(data_dir, tmp_path):
    proc = run_train(["debug=fast", "logger=none", "data.folds=5", "data.fold=5"],
                     tmp_path / "run", check=False)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 2, output
    assert "data.fold=5 is out of range: with data.folds=5 it must be 0 to 4" in output
    assert "Traceback" not in output
