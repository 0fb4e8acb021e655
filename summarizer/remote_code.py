"""Trust in the Python code a model repository ships: only the user can switch it on."""

from __future__ import annotations

import os
from collections.abc import Sequence

from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import OverrideParseException
from omegaconf import DictConfig, OmegaConf

from summarizer.config_keys import find_keys
from summarizer.errors import SummarizerError

# `1` or `true` lets models and tokenizers run the Python code their repository ships.
TRUST_REMOTE_CODE_ENV = "SUMMARIZER_TRUST_REMOTE_CODE"


def env_trusts_remote_code() -> bool:
    """SUMMARIZER_TRUST_REMOTE_CODE from the user's environment, not from `hydra.job.env_set`
    (which a config file can fill, and Hydra copies into the environment of the run)."""
    if HydraConfig.initialized() and TRUST_REMOTE_CODE_ENV in HydraConfig.get().job.env_set:
        return False
    return os.environ.get(TRUST_REMOTE_CODE_ENV, "").strip().lower() in ("1", "true")


def check_trust_remote_code(cfg: DictConfig, command_line: Sequence[str]) -> None:
    """Code shipped with a model runs only when the user switched it on in the command line or
    SUMMARIZER_TRUST_REMOTE_CODE, never because a (shared) config file set it."""
    switched_on = [key for key, value in find_keys(cfg, "trust_remote_code") if value]
    if not switched_on or env_trusts_remote_code():
        return
    parser = OverridesParser.create()
    for arg in command_line:
        try:
            override = parser.parse_override(arg)
        except OverrideParseException:  # the value of a flag such as `--config-dir`
            continue
        if (override.key_or_group.rpartition(".")[2] == "trust_remote_code"
                and not override.is_delete() and override.value() in (True, 1)):
            return
    raise SummarizerError(
        f"{switched_on[0]}=true is set by a config file, and a config file may not let a model "
        "run the Python code its repository ships. If you trust "
        f"{OmegaConf.select(cfg, 'model.name_or_path', default='the model')}, pass "
        f"model.trust_remote_code=true on the command line or set {TRUST_REMOTE_CODE_ENV}=1."
    )
