"""The data options the time-to-ROUGE and epoch-evaluation benchmarks share: which rows every
run of theirs trains and scores on."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", help="competition-layout CSVs (default: the bundled sample)")
    parser.add_argument("--data-preset", default="dialogsum",
                        help="the data preset --data-dir is read with: dialogsum (English ROUGE, "
                             "default) or dialogsum_ko (Korean)")
    parser.add_argument("--train-rows", type=int, help="first N training rows (default: all)")
    parser.add_argument("--dev-rows", type=int, help="first N dev rows (default: all)")


def data_overrides(args: argparse.Namespace) -> list[str]:
    """The config overrides of those options; the bundled sample is read from `args.work_dir`."""
    overrides = [f"data.max_train_samples={args.train_rows or 'null'}",
                 f"data.max_dev_samples={args.dev_rows or 'null'}"]
    if args.data_dir:
        return overrides + [f"data={args.data_preset}",
                            f"data.dir={Path(args.data_dir).resolve()}"]
    return overrides + [f"paths.data_dir={args.work_dir}"]
