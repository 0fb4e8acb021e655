"""docs/configuration.md lists exactly the options the shipped configs have, with their values.

Which keys count as options:
- every `*.yaml` file under `summarizer/conf/`, except the `hydra/` group (Hydra's own run
  directory and logging set-up, which no user option feeds); Hydra keys that a preset sets
  (`hydra.sweeper.*`, `hydra.launcher.*`, `hydra.run.dir` of `score.yaml`) are options too;
- a key is written as it is typed on the command line: the file's package (`# @package ...`;
  `_global_` and the commands' own files `train.yaml`, `predict.yaml`, `score.yaml`,
  `average.yaml` are the root;
  otherwise the group's folder) joined with the key's path in the file;
- every leaf counts: a scalar, a list, or an empty mapping; `defaults` lists and Hydra's
  instantiation keys (`_target_`, `_partial_`, ...) do not (the page names what a group builds
  in its "read by" column instead).

How the page is read: every table whose header has `key` first holds options. Its other header
cells that name a config file (`model=tiny` for `summarizer/conf/model/tiny.yaml`, `train.yaml`
for a command's file) are that file's values; a row's cell under such a header holds the value as
the file writes it (in backticks), or is empty when the file does not set the key. Each file with
options has exactly one such column, and it must list exactly the file's keys with their values.
Every path the page names (`summarizer/....py`, `summarizer/conf/....yaml`, `examples/...`) must
exist.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from tests.conftest import CONF, ROOT

PAGE = ROOT / "docs" / "configuration.md"
COMMAND_FILES = ("train.yaml", "predict.yaml", "score.yaml", "average.yaml")
INSTANTIATION_KEYS = {"_target_", "_args_", "_partial_", "_convert_", "_recursive_"}
PACKAGE_LINE = re.compile(r"^#\s*@package\s+(\S+)\s*$", re.M)
FILE_COLUMN = re.compile(r"^([\w/]+)=(\w+)$|^(\w+\.yaml)$")
PATH_IN_PAGE = re.compile(r"`((?:summarizer|examples|tests)/[\w./-]+\.(?:py|yaml))`")


def option_files() -> list[Path]:
    return sorted(path for path in CONF.rglob("*.yaml")
                  if path.relative_to(CONF).parts[0] != "hydra")


def package_of(path: Path) -> str:
    """The dotted prefix a file's keys are typed with."""
    declared = PACKAGE_LINE.search(path.read_text(encoding="utf-8"))
    if declared:
        return "" if declared.group(1) == "_global_" else declared.group(1)
    relative = path.relative_to(CONF)
    if relative.as_posix() in COMMAND_FILES:
        return ""
    return ".".join(relative.parent.parts)


def leaf_options(node: Any, prefix: str) -> dict[str, Any]:
    """{dotted key: value as written} of every leaf below `node`."""
    if isinstance(node, dict) and node:
        found: dict[str, Any] = {}
        for key, child in node.items():
            if key in INSTANTIATION_KEYS or (not prefix and key == "defaults"):
                continue
            found.update(leaf_options(child, f"{prefix}.{key}" if prefix else str(key)))
        return found
    return {prefix: node}


def file_options(path: Path) -> dict[str, Any]:
    written = OmegaConf.to_container(OmegaConf.load(path), resolve=False)
    if not isinstance(written, dict):
        return {}
    package = package_of(path)
    options = leaf_options(written, "")
    return {f"{package}.{key}" if package else key: value for key, value in options.items()}


def column_file(header: str) -> Path | None:
    """The config file a header cell names (`model=tiny`, `train.yaml`), else None."""
    match = FILE_COLUMN.match(header.strip().strip("`"))
    if match is None:
        return None
    if match.group(3):
        return CONF / match.group(3)
    return CONF / match.group(1) / f"{match.group(2)}.yaml"


def cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def documented_columns(text: str) -> dict[Path, dict[str, str]]:
    """{config file: {key: value cell}} of every option table of the page."""
    columns: dict[Path, dict[str, str]] = {}
    lines = text.splitlines()
    for number, line in enumerate(lines):
        if not line.startswith("| key |"):
            continue
        headers = cells(line)
        files = {index: column_file(header) for index, header in enumerate(headers)}
        for path in files.values():
            if path is not None:
                assert path not in columns, f"{path} has two columns in the page"
                columns[path] = {}
        for row in lines[number + 2:]:
            if not row.startswith("|"):
                break
            values = cells(row)
            key = values[0].strip("`")
            for index, path in files.items():
                if path is not None and values[index]:
                    columns[path][key] = values[index]
    return columns


def parsed(cell: str) -> Any:
    """A value cell (`20`, `${training.batch_size}`, `[a, b]`) read as YAML, like the file."""
    return OmegaConf.to_container(OmegaConf.create(f"value: {cell.strip('`')}"),
                                  resolve=False)["value"]


def test_the_page_lists_every_option_of_every_config_file_with_its_value():
    columns = documented_columns(PAGE.read_text(encoding="utf-8"))
    problems = []
    for path in option_files():
        options = file_options(path)
        name = path.relative_to(CONF).as_posix()
        if not options:
            continue
        if path not in columns:
            problems.append(f"{name}: no column in the page")
            continue
        documented = columns[path]
        problems += [f"{name}: {key} is missing" for key in options if key not in documented]
        problems += [f"{name}: {key} is listed but the file has no such option"
                     for key in documented if key not in options]
        problems += [f"{name}: {key} is {documented[key]} in the page, {options[key]!r} in the file"
                     for key in options if key in documented
                     and parsed(documented[key]) != options[key]]
    problems += [f"{path}: the page has a column for a file that does not exist or has no options"
                 for path in columns if not path.is_file() or not file_options(path)]
    assert not problems, "docs/configuration.md is out of date:\n" + "\n".join(problems)


def test_every_path_the_page_names_exists():
    named = set(PATH_IN_PAGE.findall(PAGE.read_text(encoding="utf-8")))
    assert named, "the page names the modules that read each option"
    missing = sorted(path for path in named if not (ROOT / path).exists())
    assert not missing, f"docs/configuration.md names paths that do not exist: {missing}"


def test_the_key_collector_sees_packages_and_skips_hydra_internals():
    # A delta file under its own package, a global preset, and a group file.
    assert "training.learning_rate" in file_options(CONF / "training" / "model" / "tiny.yaml")
    assert "data.max_train_samples" in file_options(CONF / "debug" / "fast.yaml")
    assert "hydra.sweeper.params.training.batch_size" in file_options(
        CONF / "hparams_search" / "space" / "tiny.yaml")
    tiny = file_options(CONF / "model" / "tiny.yaml")
    assert "model.model.config.d_model" in tiny and not any("_target_" in key for key in tiny)
    assert all(path.parent.name != "hydra" for path in option_files())
