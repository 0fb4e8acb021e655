"""Masking secrets (API keys, tokens, passwords) before a config is printed, saved or logged."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml
from omegaconf import OmegaConf

from summarizer.atomic_files import write_text_atomic

MASK = "***"
SECRET_SUFFIXES = ("token", "key", "password", "secret")
# The password of `scheme://user:password@host...` (tracking-server and database URIs).
_URL_PASSWORD = re.compile(r"(?P<head>\b[a-zA-Z][\w+.-]*://[^\s:/@]*:)(?P<password>[^\s@/]+)@")


def is_secret_name(name: object) -> bool:
    """`api_key`, `hf_token`, `WANDB_API_KEY`, `db_password`: names that end in a secret suffix."""
    return str(name).lower().endswith(SECRET_SUFFIXES)


def mask_url_passwords(text: str) -> str:
    """`text` with the password of every `scheme://user:password@host` URI in it masked."""
    return _URL_PASSWORD.sub(lambda match: f"{match['head']}{MASK}@", text)


def secret_env_values() -> set[str]:
    """Current values of environment variables with secret names (`WANDB_API_KEY`, `HF_TOKEN`).

    A config can carry such a value under any key, through `${oc.env:WANDB_API_KEY}`.
    """
    return {value for name, value in os.environ.items() if value and is_secret_name(name)}


def redact(container: Any) -> Any:
    """A copy of a plain dict/list container with its secrets replaced by `***`.

    Masked: every value under a key with a secret name (the whole subtree when it is a dict or a
    list), every string equal to the value of a secret environment variable, and the password of
    any URI (`http://user:password@host`). A `None` under a secret name stays `None`: it says that
    nothing is set and reveals nothing.
    """
    return _redact(container, secret_env_values())


def _redact(value: Any, env_secrets: set[str]) -> Any:
    if isinstance(value, dict):
        return {key: MASK if is_secret_name(key) and item is not None
                else _redact(item, env_secrets) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_redact(item, env_secrets) for item in value)
    if isinstance(value, str):
        return MASK if value in env_secrets else mask_url_passwords(value)
    return value


_OVERRIDE = re.compile(r"^(?P<key>[~+]{0,2}[\w.@/-]+)=(?P<value>.*)$", re.DOTALL)


def redact_argument(argument: str) -> str:
    """A command-line argument with its value masked when it is a secret.

    `+logger.api_key=abc` becomes `+logger.api_key=***` (the key has a secret name);
    so does any `key=value` or bare argument whose value is a secret environment variable's value.
    A URI's password is masked wherever it appears.
    """
    env_secrets = secret_env_values()
    match = _OVERRIDE.match(argument)
    if match is None:
        return MASK if argument in env_secrets else argument
    key, value = match["key"], match["value"]
    if is_secret_name(key) or value in env_secrets:
        return f"{key}={MASK}"
    return mask_url_passwords(argument)


def secret_values(cfg: Any) -> set[str]:
    """The values a config (a DictConfig) holds under secret names, resolved one by one (so a
    broken interpolation elsewhere does not stop it), the passwords of the URIs it holds, plus the
    values of secret environment variables."""
    found = set(secret_env_values())

    def walk(value: Any, path: tuple[str, ...]) -> None:
        if isinstance(value, str):
            found.update(match["password"] for match in _URL_PASSWORD.finditer(value))
        if isinstance(value, list):
            for item in value:
                walk(item, path)
        if isinstance(value, dict):
            for key, item in value.items():
                if is_secret_name(key):
                    try:
                        resolved = OmegaConf.select(cfg, ".".join((*path, str(key))))
                    except Exception:  # noqa: BLE001 - unresolvable: nothing to mask
                        resolved = None
                    if isinstance(resolved, (str, int, float)):
                        found.add(str(resolved))
                walk(item, (*path, str(key)))

    walk(OmegaConf.to_container(cfg, resolve=False), ())
    # Short values ("1", "true") would mask unrelated text and are no secret worth hiding.
    return {value for value in found if len(value) >= 6}


def redact_files(paths: list[Path], secrets: set[str]) -> None:
    """Rewrite YAML files that Hydra saved before any project code ran (`.hydra/*.yaml`,
    `multirun.yaml`) with every secret value masked wherever it occurs in a string; the result
    stays valid YAML (`***` is quoted where YAML needs it)."""
    ordered = sorted(secrets, key=len, reverse=True)

    def mask(value: Any) -> Any:
        if isinstance(value, dict):
            return {mask(k): mask(v) for k, v in value.items()}
        if isinstance(value, list):
            return [mask(v) for v in value]
        if isinstance(value, str):
            for secret in ordered:
                value = value.replace(secret, MASK)
        return value

    for path in paths:
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8")
        if not any(secret in text for secret in ordered):
            continue
        masked = mask(yaml.safe_load(text))
        write_text_atomic(yaml.safe_dump(masked, sort_keys=False, allow_unicode=True), path)
