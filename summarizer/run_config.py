"""What a run directory recorded about its run: the config it was trained with.

`python -m summarizer.predict run=<dir>` reads the data settings from here, so that a model is
applied to the files, columns and lengths it was trained with unless the user says otherwise.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from summarizer.errors import SummarizerError
from summarizer.options import DATA_RULES, check_options

SAVED_CONFIG = Path(".hydra") / "config.yaml"
SAVED_HYDRA = Path(".hydra") / "hydra.yaml"


def run_directory(path: str | Path) -> Path | None:
    """The run directory of `path`: itself, or the run that holds it (`<run>/final_model`,
    `<run>/checkpoint-N`); None for a model directory saved outside a run."""
    path = Path(path)
    return next((p for p in (path, path.parent) if (p / SAVED_CONFIG).is_file()), None)


def saved_config(path: str | Path) -> DictConfig | None:
    run = run_directory(path)
    return None if run is None else OmegaConf.load(run / SAVED_CONFIG)


def saved_data(path: str | Path) -> dict[str, Any] | None:
    """The run's `data` settings, resolved; a relative `dir` is taken from the directory the
    run was started in, where it pointed then."""
    run = run_directory(path)
    if run is None:
        return None
    config = OmegaConf.load(run / SAVED_CONFIG)
    if "data" not in config:
        return None
    try:
        data = OmegaConf.to_container(config.data, resolve=True)
    except Exception as err:  # noqa: BLE001 - any unresolvable value: say which file
        raise SummarizerError(f"{run / SAVED_CONFIG}: its data settings do not resolve ({err}). "
                              "Pass data=<preset> and data.dir=<folder> instead.") from None
    started = _started_in(run)
    if started and data.get("dir") and not Path(str(data["dir"])).is_absolute():
        data["dir"] = str(Path(started) / str(data["dir"]))
    return data


def _started_in(run: Path) -> str | None:
    hydra_file = run / SAVED_HYDRA
    if not hydra_file.is_file():
        return None
    cwd = OmegaConf.select(OmegaConf.load(hydra_file), "hydra.runtime.cwd", default=None,
                           throw_on_missing=False)
    return str(cwd) if cwd else None


def data_settings(run: str | Path, given: DictConfig) -> DictConfig:
    """The run's saved data settings with every key the user set (`given`, null = unset) on
    top; a `data=<preset>` sets them all."""
    chosen = {key: value for key, value in OmegaConf.to_container(given, resolve=True).items()
              if value is not None}
    saved = saved_data(run)
    if saved is None:
        if "_target_" not in chosen:
            raise SummarizerError(
                f"run={run} holds no record of the data it was trained on (.hydra/config.yaml "
                "of a training run), so predict cannot tell which files and columns to use. "
                "Pass the data preset and folder, e.g. data=dialogsum_ko data.dir=<folder>."
            )
        saved = {}
    return OmegaConf.create({**saved, **chosen})


def checked_data_settings(run: str | Path, given: DictConfig) -> DictConfig:
    """`data_settings`, checked as every option is: a saved `_target_` meets the whitelist
    here too."""
    data = data_settings(run, given)
    check_options(OmegaConf.create({"data": data}), DATA_RULES)
    return data
