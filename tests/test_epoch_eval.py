"""`training.epoch_eval`: each epoch's evaluation cheaper than the final one (fewer beams, part
of the dev rows, every few epochs), and the final evaluation of the best model still complete."""

from __future__ import annotations

import pandas as pd
import pytest
from transformers import TrainerControl, TrainerState

from summarizer import build_trainer, load_config, predict
from summarizer.epoch_eval import EvaluateEveryEpochs, epoch_rows
from tests.conftest import read_json, run_train

LIGHT = ["training.generation.num_beams=2", "training.epoch_eval.num_beams=1",
         "training.epoch_eval.max_length=8", "training.epoch_eval.dev_rows=5"]


def test_epoch_rows_are_a_fixed_seeded_choice_in_file_order():
    rows = epoch_rows(100, 10, seed=7)
    assert rows == sorted(rows) and len(set(rows)) == 10 and all(0 <= r < 100 for r in rows)
    assert epoch_rows(100, 10, seed=7) == rows
    assert epoch_rows(100, 10, seed=8) != rows
    assert epoch_rows(100, None, seed=7) is None
    assert epoch_rows(100, 100, seed=7) is None and epoch_rows(100, 500, seed=7) is None


@pytest.mark.parametrize(("every", "evaluated"), [(1, [1, 2, 3, 4, 5]), (2, [2, 4, 5]),
                                                  (3, [3, 5]), (9, [5])])
def test_every_epochs_evaluates_and_saves_every_nth_epoch_and_the_last(every, evaluated):
    callback, seen = EvaluateEveryEpochs(every), []
    state = TrainerState(max_steps=50)
    for epoch in range(1, 6):
        state.epoch, state.global_step = float(epoch), 10 * epoch
        control = TrainerControl(should_evaluate=True, should_save=True)  # eval_strategy=epoch
        control = callback.on_epoch_end(None, state, control)
        assert control.should_evaluate == control.should_save
        if control.should_evaluate:
            seen.append(epoch)
    assert seen == evaluated


def test_the_trainer_scores_each_epoch_lightly_and_the_best_model_fully(data_dir, tmp_path):
    cfg = load_config(overrides=["debug=fast", *LIGHT])
    trainer = build_trainer(cfg, output_dir=tmp_path)
    final = trainer.final_evaluation
    assert len(trainer.eval_dataset) == 5 and len(trainer.compute_metrics.references) == 5
    assert len(final.dataset) == 16 and len(final.metrics.references) == 16
    assert (trainer.args.generation_num_beams, trainer.args.generation_max_length) == (1, 8)
    assert final.generation == {"num_beams": 2, "max_length": 16}
    dev = pd.read_csv(data_dir / "sample" / "dev.csv", keep_default_na=False).head(16)
    chosen = set(trainer.compute_metrics.references)
    assert chosen <= set(dev["summary"]) and len(chosen) == 5
    # Without epoch_eval's keys both are one and the same.
    plain = build_trainer(load_config(overrides=["debug=fast"]), output_dir=tmp_path / "plain")
    assert plain.final_evaluation.dataset is plain.eval_dataset
    assert plain.final_evaluation.metrics is plain.compute_metrics


def test_a_run_with_light_epoch_evaluations_ends_with_the_full_one(data_dir, tmp_path):
    run = tmp_path / "run"
    # Each epoch's summaries are cut at 2 tokens (the decoder's start and one more); the final
    # evaluation's may run to training.generation's 16.
    run_train(["debug=fast", "logger=csv", "training.epochs=3",
               "training.epoch_eval.every_epochs=2", *LIGHT, "training.epoch_eval.max_length=2"],
              run)
    log = pd.read_csv(run / "log.csv").dropna(subset=["eval_rouge_sum"])
    assert log["epoch"].tolist() == [2.0, 3.0]
    assert (log["eval_gen_len"] <= 2).all()
    assert read_json(run / "metrics.json")["eval_gen_len"] > 2
    assert sorted(p.name for p in run.glob("checkpoint-*")) == ["checkpoint-16", "checkpoint-24"]
    written = pd.read_csv(run / "dev_predictions.csv", keep_default_na=False)
    assert len(written) == 16
    # The final evaluation generated as the saved model does (2 beams, 16 tokens), for all rows.
    dev = pd.read_csv(data_dir / "sample" / "dev.csv", keep_default_na=False).head(16)
    assert written["prediction"].tolist() == predict(run, dev["dialogue"].tolist())


def test_epoch_eval_values_are_checked(data_dir, tmp_path):
    proc = run_train(["debug=fast", "training.epoch_eval.every_epochs=0"], tmp_path / "bad",
                     check=False)
    assert proc.returncode == 2
    assert "training.epoch_eval.every_epochs=0 is invalid" in proc.stdout + proc.stderr
