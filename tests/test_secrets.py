"""Masking secrets in plain config containers and command-line arguments."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from summarizer.secrets import (
    MASK,
    is_secret_name,
    mask_url_passwords,
    redact,
    redact_argument,
    secret_values,
)


@pytest.mark.parametrize("name", ["api_key", "hf_token", "WANDB_API_KEY", "db_password",
                                  "client_secret", "Token", "HubToken", "key"])
def test_secret_names(name):
    assert is_secret_name(name)


@pytest.mark.parametrize("name", ["tokenizer", "special_tokens", "keys", "tokenizer_from_data",
                                  "name", "pad_token_id", "secret_santa", 3])
def test_other_names(name):
    assert not is_secret_name(name)


def test_values_under_secret_keys_are_masked_at_any_depth():
    config = {
        "logger": {"api_key": "abc123", "project": "summarizer"},
        "hub": [{"HF_TOKEN": "hf_xyz", "repo": "me/model"}],
        "db": {"Password": 1234, "host": "localhost"},
        "credentials_secret": {"user": "me", "pass": "pw"},
        "model": {"tokenizer": {"vocab_size": 4000}, "special_tokens": ["#Person1#"]},
    }
    assert redact(config) == {
        "logger": {"api_key": MASK, "project": "summarizer"},
        "hub": [{"HF_TOKEN": MASK, "repo": "me/model"}],
        "db": {"Password": MASK, "host": "localhost"},
        "credentials_secret": MASK,
        "model": {"tokenizer": {"vocab_size": 4000}, "special_tokens": ["#Person1#"]},
    }
    # The input is left as it was: callers keep using the real values.
    assert config["logger"]["api_key"] == "abc123"


def test_an_unset_secret_stays_visible():
    assert redact({"api_key": None, "token": ""}) == {"api_key": None, "token": MASK}


def test_values_of_secret_environment_variables_are_masked_under_any_key(monkeypatch):
    monkeypatch.setenv("WANDB_API_KEY", "wandb-0123456789")
    monkeypatch.setenv("MY_SERVICE_TOKEN", "tok-42")
    monkeypatch.setenv("EMPTY_SECRET", "")
    monkeypatch.setenv("SUMMARIZER_DATA_DIR", "/data/public")
    config = {"logger": {"notes": "wandb-0123456789", "tags": ["tok-42", "smoke"]},
              "paths": {"data_dir": "/data/public"}, "blank": "", "pair": ("tok-42", 1)}
    assert redact(config) == {"logger": {"notes": MASK, "tags": [MASK, "smoke"]},
                              "paths": {"data_dir": "/data/public"}, "blank": "",
                              "pair": (MASK, 1)}


def test_a_value_interpolated_from_the_environment_is_masked(monkeypatch):
    monkeypatch.setenv("WANDB_API_KEY", "wandb-0123456789")
    cfg = OmegaConf.create({"logger": {"login": "${oc.env:WANDB_API_KEY}", "project": "p"}})
    container = OmegaConf.to_container(cfg, resolve=True)
    assert container["logger"]["login"] == "wandb-0123456789"
    assert redact(container) == {"logger": {"login": MASK, "project": "p"}}


def test_scalars_and_lists_pass_through(monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_abc")
    assert redact([1, 2.5, None, True, "hf_abc", "x"]) == [1, 2.5, None, True, MASK, "x"]
    assert redact("hf_abc") == MASK


def test_command_line_arguments(monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_abc")
    assert redact_argument("+logger.api_key=abc") == f"+logger.api_key={MASK}"
    assert redact_argument("hub_token=") == f"hub_token={MASK}"
    assert redact_argument("logger.notes=hf_abc") == f"logger.notes={MASK}"
    assert redact_argument("hf_abc") == MASK
    for kept in ("training.epochs=3", "model=kobart", "+note=${oc.env:HF_TOKEN}", "--cfg",
                 "model.tokenizer.vocab_size=4000", "hydra.run.dir=/tmp/run"):
        assert redact_argument(kept) == kept


def test_saved_files_are_rewritten_without_the_secret_values(tmp_path, monkeypatch):
    import yaml
    from omegaconf import OmegaConf

    from summarizer.secrets import redact_files, secret_values

    monkeypatch.setenv("SUMMARIZER_TEST_PASSWORD", "env-secret-value")
    cfg = OmegaConf.create({"hub_token": "literal-secret",
                            "note": "${oc.env:SUMMARIZER_TEST_PASSWORD}",
                            "nested": {"api_key": "${oc.env:SUMMARIZER_TEST_PASSWORD}"},
                            "short_key": "1", "broken": "${oc.env:NOT_SET_ANYWHERE}"})
    secrets = secret_values(cfg)
    assert {"literal-secret", "env-secret-value"} <= secrets and "1" not in secrets
    saved = tmp_path / "overrides.yaml"
    saved.write_text("- +hub_token=literal-secret\n- epochs=2\n- x=env-secret-value\n")
    untouched = tmp_path / "hydra.yaml"
    untouched.write_text("nothing: here\n")
    before = untouched.stat().st_mtime_ns
    redact_files([saved, untouched, tmp_path / "missing.yaml"], secrets)
    assert yaml.safe_load(saved.read_text()) == ["+hub_token=***", "epochs=2", "x=***"]
    config = tmp_path / "config.yaml"
    config.write_text("hub_token: literal-secret\nnote: 'see env-secret-value'\n")
    redact_files([config], secrets)
    assert yaml.safe_load(config.read_text()) == {"hub_token": "***", "note": "see ***"}
    assert untouched.stat().st_mtime_ns == before


def test_passwords_in_uris_are_masked_everywhere():
    uri = "http://me:pw-4e1c@tracker:5000/api"
    assert mask_url_passwords(f"at {uri}.") == "at http://me:***@tracker:5000/api."
    assert mask_url_passwords("sqlite:///outputs/mlflow.db") == "sqlite:///outputs/mlflow.db"
    assert redact({"logger": {"tracking_uri": uri}}) == {
        "logger": {"tracking_uri": "http://me:***@tracker:5000/api"}}
    assert redact_argument(f"logger.tracking_uri={uri}") == (
        "logger.tracking_uri=http://me:***@tracker:5000/api")
    # The saved `.hydra/` files are rewritten without it too.
    stored = OmegaConf.create({"hydra": {"sweeper": {
        "storage": ["postgresql+psycopg://optuna:db-pass-91@host/db"]}}})
    assert "db-pass-91" in secret_values(stored)
