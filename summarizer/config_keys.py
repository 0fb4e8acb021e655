"""Reading a composed config: keys found at any depth, the whole of it as plain data."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from omegaconf import DictConfig, OmegaConf


def to_container(cfg: DictConfig) -> dict:
    """The composed config as a plain dict (what loggers and JSON files get)."""
    return OmegaConf.to_container(cfg, resolve=True, throw_on_missing=False)


def find_keys(cfg: DictConfig, name: str) -> Iterator[tuple[str, Any]]:
    """(dotted key, resolved value) of every key called `name`, at any depth of `cfg`.

    A value that does not resolve (an interpolation Hydra fills only later) is given as written.
    """
    def walk(node: Any, path: tuple) -> Iterator[tuple]:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == name:
                    yield (*path, key)
                else:
                    yield from walk(value, (*path, key))
        elif isinstance(node, list):
            for index, value in enumerate(node):
                yield from walk(value, (*path, index))

    # Walked unresolved (a `???` elsewhere must not stop the check); only the hits are resolved.
    raw = OmegaConf.to_container(cfg, resolve=False)
    for path in walk(raw, ()):
        yield ".".join(map(str, path)), _value_at(cfg, raw, path)


def _value_at(cfg: DictConfig, raw: Any, path: tuple) -> Any:
    node, written = cfg, raw
    for part in path:
        written = written[part]
    try:
        for part in path:
            node = node[part]
    except Exception:  # noqa: BLE001 - any unresolvable value, e.g. `${hydra:...}` outside a job
        return written
    return node
