"""The names of the metrics an evaluation reports, for every module that reads or shows them."""

# What `summarizer.rouge.rouge` returns: F1 (0-100) of each ROUGE type, and their sum.
ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")
ROUGE_SUM = "rouge_sum"
ROUGE_METRICS = (*ROUGE_TYPES, ROUGE_SUM)
GEN_LEN = "gen_len"

# transformers prefixes what `compute_metrics` returns during evaluation with `eval_`.
EVAL_PREFIX = "eval_"
# What an evaluation reports (`eval_` + these); the only sensible `metric_for_best_model`s.
EVAL_METRICS = ("loss", *ROUGE_METRICS, GEN_LEN)
EVAL_ROUGE_METRICS = tuple(EVAL_PREFIX + name for name in ROUGE_METRICS)
EVAL_ROUGE1, EVAL_ROUGE2, EVAL_ROUGEL, EVAL_ROUGE_SUM = EVAL_ROUGE_METRICS
# The value a training run returns and a sweep maximises: the final dev ROUGE sum.
OBJECTIVE = EVAL_ROUGE_SUM
# How reports and model cards label them.
ROUGE_LABELS = {EVAL_ROUGE1: "ROUGE-1", EVAL_ROUGE2: "ROUGE-2", EVAL_ROUGEL: "ROUGE-L",
                EVAL_ROUGE_SUM: ROUGE_SUM}
