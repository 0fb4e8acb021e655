"""`python -m summarizer.predict run=<dir>`: a submission (`fname,summary`) for a data split."""

from __future__ import annotations

import logging
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from summarizer.config import EXECUTION_WHITELIST
from summarizer.errors import SummarizerError, user_errors_exit
from summarizer.output_checks import log_only

log = logging.getLogger(__name__)


def run(cfg: DictConfig, out_dir: Path) -> Path | str:
    """The command: summarize `cfg.text`, or a split into a submission scored when it can be."""
    from summarizer.api import predict, write_submission
    from summarizer.inference import model_dir
    from summarizer.rouge import rouge
    from summarizer.run_files import write_json_atomic

    # Everything the user can get wrong is checked before the model is loaded.
    model_dir(cfg.run)
    if not isinstance(cfg.batch_size, int) or cfg.batch_size < 1:
        raise SummarizerError(f"batch_size={cfg.batch_size} is invalid: it must be an integer "
                              ">= 1.")
    generation = OmegaConf.to_container(cfg.generation, resolve=True)
    data = instantiate(cfg.data)
    settings = dict(max_source_length=data.max_source_length, **generation)
    if cfg.text is not None:
        if not str(cfg.text).strip():
            raise SummarizerError("text= is empty: give the dialogue to summarize, e.g. "
                                  "text='#Person1#: 안녕하세요. #Person2#: 네, 안녕하세요.'")
        summary = predict(cfg.run, str(cfg.text), batch_size=1, **settings)
        print(summary)
        return summary

    frame = data.load(cfg.split, for_prediction=True)
    summaries = predict(cfg.run, frame[data.text_column].tolist(), batch_size=cfg.batch_size,
                        split=cfg.split, **settings)
    output = write_submission(summaries, cfg.output or out_dir / "submission.csv",
                              fnames=frame[data.id_column].tolist())
    log.info("Wrote %d summaries to %s", len(summaries), output)
    if data.summary_column in frame.columns:
        scores = rouge(summaries, frame[data.summary_column].tolist())
        write_json_atomic(scores, output.with_name(output.stem + "_rouge.json"))
        log.info("ROUGE-1/2/L %.2f / %.2f / %.2f, sum %.2f against %s", scores["rouge1"],
                 scores["rouge2"], scores["rougeL"], scores["rouge_sum"], data.path(cfg.split))
    return output


@hydra.main(config_path="../conf", config_name="predict", execution_whitelist=EXECUTION_WHITELIST)
def main(cfg: DictConfig) -> None:
    with user_errors_exit(), log_only():
        run(cfg, Path(HydraConfig.get().runtime.output_dir))


if __name__ == "__main__":
    main()
