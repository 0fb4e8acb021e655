"""Peak memory and time of loading and tokenizing a large training CSV through the project's
data path.

    python benchmarks/tokenize_memory.py [--rows 10000,100000,1000000] [--source CSV]
        [--kobart-tokenizer DIR | tokenizer.json] [--work-dir DIR] [--max-rss-gib 14]
        [--report FILE]                       (or: make bench-tokenize ARGS="...")

For each row count N it writes a competition-layout `train.csv` of N rows into the work folder
(a temporary folder unless `--work-dir`; never the repository) by repeating the rows of
`--source` (default: the bundled sample's train.csv) with unique `fname`s, then runs in a fresh
process exactly what a training run does with it before building the model:
`SummarizationData.load("train")`, `build_tokenizer` (the default tiny tokenizer, trained from
the data, through the disk cache; with `--kobart-tokenizer` also the real KoBART tokenizer) and
`build_split` into the disk cache. A second fresh process repeats it with the cache filled (a
later run or sweep trial). Each process reports its own peak RSS (`ru_maxrss`) after each step;
the parent samples the child's RSS and stops it above `--max-rss-gib`, so that a path whose
memory grows with the rows cannot exhaust a shared machine. A digest of the token ids tells
whether two versions of the code produced the same ids.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from publish import publish

ROOT = Path(__file__).resolve().parents[1]
MIB = 1024 * 1024
KOBART_SPECIALS = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>",
                   "pad_token": "<pad>", "mask_token": "<mask>"}


def write_rows(source: Path, rows: int, path: Path) -> None:
    """`rows` rows: the source's rows over and over, `fname` suffixed with the pass number."""
    from summarizer.data.io import read_csv

    frame = read_csv(source)
    columns, records = list(frame.columns), frame.to_dict("records")
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for k in range(rows):
            record = records[k % len(records)]
            writer.writerow({**record, "fname": f"{record['fname']}-{k // len(records)}"})


def kobart_dir(path: Path, work_dir: Path) -> Path:
    """A directory `AutoTokenizer` loads: `path` itself, or a `tokenizers` JSON (KoBART's
    model.json) laid out with the config files the hub repository has."""
    if path.is_dir() and (path / "tokenizer.json").is_file():
        return path
    source = path / "model.json" if path.is_dir() else path
    directory = work_dir / "kobart-tokenizer"
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, directory / "tokenizer.json")
    (directory / "special_tokens_map.json").write_text(json.dumps(KOBART_SPECIALS))
    (directory / "tokenizer_config.json").write_text(
        json.dumps({"tokenizer_class": "PreTrainedTokenizerFast", **KOBART_SPECIALS}))
    return directory


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def ids_digest(dataset) -> str:
    """sha256 of every row's ids (lengths and values, as int64), whatever the storage layout."""
    import pyarrow.compute as pc

    digest = hashlib.sha256()
    for table in dataset.with_format("arrow").iter(batch_size=10_000):
        for name in sorted(table.column_names):
            column = table.column(name)
            digest.update(pc.list_value_length(column).to_numpy().astype("int64").tobytes())
            digest.update(pc.list_flatten(column).to_numpy().astype("int64").tobytes())
    return digest.hexdigest()


def measure(args: argparse.Namespace) -> dict:
    """The data path of a training run, in this (fresh) process; peak RSS after each step."""
    stats, start = {}, time.perf_counter()
    from hydra.utils import execution_whitelist, instantiate

    from summarizer import load_config
    from summarizer.data.splits import build_split
    from summarizer.modeling import build_tokenizer
    from summarizer.whitelist import EXECUTION_WHITELIST

    overrides = ["logger=none", "data=dialogsum_ko", f"data.dir={args.data_dir}",
                 f"paths.cache_dir={args.cache_dir}"]
    if args.tokenizer_dir:
        overrides += ["model=kobart", f"model.name_or_path={args.tokenizer_dir}"]
    cfg = load_config(overrides=overrides)
    stats["imports_s"], stats["imports_peak_mib"] = time.perf_counter() - start, peak_mib()

    def step(name: str, fn):
        begin = time.perf_counter()
        value = fn()
        stats[f"{name}_s"], stats[f"{name}_peak_mib"] = time.perf_counter() - begin, peak_mib()
        return value

    with execution_whitelist(EXECUTION_WHITELIST):
        data = instantiate(cfg.data)
        frame = step("load", lambda: data.load("train"))
        tokenizer = step("tokenizer", lambda: build_tokenizer(cfg.model, data, frame,
                                                              args.cache_dir))
    dataset = step("split", lambda: build_split(frame, "train", data, tokenizer, args.cache_dir))
    stats["rows"] = len(dataset)
    # After the measured steps: reading every id back touches all of the dataset's pages.
    if args.digest:
        stats["ids_sha256"] = ids_digest(dataset)
    return stats


def rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def child(args: argparse.Namespace, data_dir: Path, cache_dir: Path, tokenizer_dir: Path | None,
          digest: bool) -> dict:
    """`measure` in a fresh process, watched: stopped once its RSS passes `--max-rss-gib`."""
    cmd = [sys.executable, __file__, "--part", "measure", "--data-dir", str(data_dir),
           "--cache-dir", str(cache_dir)]
    if tokenizer_dir:
        cmd += ["--tokenizer-dir", str(tokenizer_dir)]
    if digest:
        cmd += ["--digest"]
    limit = args.max_rss_gib * 1024
    start, sampled = time.perf_counter(), 0.0
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=err,
                                env={**os.environ, "PYTHONPATH": str(ROOT)})
        while proc.poll() is None:
            sampled = max(sampled, rss_mib(proc.pid))
            if sampled > limit:
                proc.kill()
                proc.wait()
                return {"killed": True, "sampled_peak_mib": sampled,
                        "process_wall_s": time.perf_counter() - start}
            time.sleep(0.1)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode != 0:
        raise SystemExit(f"measuring {data_dir} failed:\n{stdout[-3000:]}\n{stderr[-5000:]}")
    stats = json.loads(stdout.strip().splitlines()[-1])
    return {**stats, "killed": False, "sampled_peak_mib": sampled,
            "process_wall_s": time.perf_counter() - start}


def size_mib(path: Path) -> float:
    files = [path] if path.is_file() else (p for p in path.rglob("*") if p.is_file())
    return sum(p.stat().st_size for p in files) / MIB


def machine() -> str:
    import datasets
    import pandas
    import pyarrow
    import tokenizers
    import transformers
    from device_info import cpu_name

    cpu = cpu_name()
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    return (f"{cpu}, {len(os.sched_getaffinity(0))} usable cores, {memory:.0f} GiB memory. "
            f"Python {platform.python_version()}, pandas {pandas.__version__}, pyarrow "
            f"{pyarrow.__version__}, datasets {datasets.__version__}, tokenizers "
            f"{tokenizers.__version__}, transformers {transformers.__version__}")


def row(name: str, rows: int, csv_mib: float, cold: dict, warm: dict | None,
        cache_mib: float | None) -> str:
    if cold["killed"]:
        return (f"| {name} | {rows:,} | {csv_mib:.0f} | stopped above "
                f"{cold['sampled_peak_mib']:,.0f} | after {cold['process_wall_s']:.0f} s | | | | |")
    steps = ("load", "tokenizer", "split")
    wall = sum(cold[f"{s}_s"] for s in steps)
    peaks = " / ".join(f"{cold[f'{s}_peak_mib']:,.0f}" for s in ("imports", *steps))
    times = " / ".join(f"{cold[f'{s}_s']:.1f}" for s in steps)
    reused = (f"{warm['split_peak_mib']:,.0f} | {sum(warm[f'{s}_s'] for s in steps):.1f}"
              if warm and not warm["killed"] else "|")
    return (f"| {name} | {rows:,} | {csv_mib:.0f} | {peaks} | {times} | {rows / wall:,.0f} | "
            f"{cache_mib:.0f} | {reused} | {cold.get('ids_sha256', '')[:12]} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", default="10000,100000,1000000",
                        help="comma-separated row counts (default: 10000,100000,1000000)")
    parser.add_argument("--source", help="CSV whose rows are repeated (default: the sample's "
                        "train.csv); needs an fname column")
    parser.add_argument("--kobart-tokenizer", help="also measure this KoBART tokenizer: a "
                        "directory with tokenizer.json, or a tokenizers JSON such as model.json")
    parser.add_argument("--work-dir", help="where the CSVs and caches go (default: a temporary "
                        "folder, deleted at the end)")
    parser.add_argument("--max-rss-gib", type=float, default=14.0,
                        help="stop a measuring process whose RSS passes this (default: 14)")
    parser.add_argument("--report", help="also write the markdown report to this file")
    parser.add_argument("--part", choices=["measure"], help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    parser.add_argument("--cache-dir", help=argparse.SUPPRESS)
    parser.add_argument("--tokenizer-dir", help=argparse.SUPPRESS)
    parser.add_argument("--digest", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.part:
        print(json.dumps(measure(args)))
        return

    work = Path(args.work_dir or tempfile.mkdtemp(prefix="tokenize_memory-")).resolve()
    if work == ROOT or ROOT in work.parents:
        raise SystemExit(f"--work-dir {work} is inside the repository; generated data stays out.")
    try:
        source = Path(args.source) if args.source else None
        if source is None:
            from summarizer.data import sample

            sample.ensure(work / "sample")
            source = work / "sample" / "train.csv"
        tokenizers = {"tiny (trained from the data)": None}
        if args.kobart_tokenizer:
            tokenizers["KoBART"] = kobart_dir(Path(args.kobart_tokenizer), work)
        lines, results = [], []
        for rows in (int(n) for n in args.rows.split(",")):
            data_dir = work / f"rows-{rows}"
            write_rows(source, rows, data_dir / "train.csv")
            csv_mib = size_mib(data_dir / "train.csv")
            for name, tokenizer_dir in tokenizers.items():
                cache = data_dir / "cache"
                cold = child(args, data_dir, cache, tokenizer_dir, digest=True)
                warm = None if cold["killed"] else child(args, data_dir, cache, tokenizer_dir,
                                                         digest=False)
                cache_mib = size_mib(cache) if cache.exists() else None
                shutil.rmtree(cache, ignore_errors=True)
                results.append({"tokenizer": name, "rows": rows, "csv_mib": csv_mib,
                                "cold": cold, "warm": warm, "cache_mib": cache_mib})
                lines.append(row(name, rows, csv_mib, cold, warm, cache_mib))
                print(lines[-1], flush=True)
            shutil.rmtree(data_dir)
    finally:
        if not args.work_dir:
            shutil.rmtree(work, ignore_errors=True)
    publish("\n".join([
        (f"Data: {args.source or 'the bundled sample train.csv'}, rows repeated. "
         f"Machine: {machine()}."),
        "",
        ("| tokenizer | rows | CSV, MiB | peak RSS, MiB: imports / +load / +tokenizer / +split "
         "| time, s: load / tokenizer / split | rows/s | cache, MiB | cache filled: peak RSS, "
         "MiB | cache filled: time, s | ids sha256 |"),
        "|---|---|---|---|---|---|---|---|---|---|",
        *lines,
    ]) + "\n", results, args.report)


if __name__ == "__main__":
    main()
