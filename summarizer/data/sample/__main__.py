"""`python -m summarizer.data.sample --out DIR`: write the sample's CSV files into DIR."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from summarizer.data.sample.csv_files import generate
from summarizer.data.sample.splits import SIZES


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Generate the bundled Korean sample data.")
    parser.add_argument("--out", default="data/sample",
                        help="output directory (default: data/sample)")
    args = parser.parse_args(argv)
    for split, path in generate(args.out).items():
        print(f"{path}\t{SIZES[split]} rows")


if __name__ == "__main__":
    main()
