"""The composed config as a tree: printed when a run starts and kept as `config_tree.txt`."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from omegaconf import DictConfig
from rich.console import Console
from rich.text import Text
from rich.tree import Tree

from summarizer.atomic_files import write_text_atomic
from summarizer.config_keys import to_container
from summarizer.secrets import redact

FILENAME = "config_tree.txt"


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return value if value else '""'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_scalar(item) for item in value) + "]"
    return str(value)


def _is_branch(value: Any) -> bool:
    """Non-empty mappings, and lists that hold mappings or lists, get their own branch."""
    if isinstance(value, dict):
        return bool(value)
    return isinstance(value, (list, tuple)) and any(isinstance(v, (dict, list, tuple))
                                                    for v in value)


def _add(node: Tree, value: dict | list | tuple) -> None:
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, item in items:
        # Text, not markup: values such as `[smoke]` or `${...}` must print as they are.
        if _is_branch(item):
            _add(node.add(Text(str(key), style="bold")), item)
        else:
            node.add(Text.assemble((str(key), "bold"), ": ", _scalar(item)))


def config_tree(config: dict, label: str = "config") -> Tree:
    tree = Tree(Text(label, style="bold"))
    _add(tree, config)
    return tree


def render_plain(tree: Tree) -> str:
    """The tree as plain text, lines never wrapped (long paths stay on one line)."""
    buffer = io.StringIO()
    Console(file=buffer, width=10_000, color_system=None, force_terminal=False).print(tree)
    return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines()) + "\n"


def write_config_tree(cfg: DictConfig, run_dir: Path) -> Path:
    """Print the resolved config, secrets masked, and save the same tree into the run directory."""
    tree = config_tree(redact(to_container(cfg)))
    Console().print(tree)
    path = run_dir / FILENAME
    write_text_atomic(render_plain(tree), path)
    return path
