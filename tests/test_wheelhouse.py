"""The wheelhouse for offline GPU servers (`make wheelhouse`, `make install-offline`): what is
left out, the target platforms, the server's pins, and the checks before pip runs."""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT


@pytest.fixture(scope="module")
def wheelhouse():
    spec = importlib.util.spec_from_file_location("wheelhouse", ROOT / "tools" / "wheelhouse.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def item(name: str, *requires: str) -> dict:
    return {"metadata": {"name": name, "version": "1.0", "requires_dist": list(requires)},
            "download_info": {"url": f"https://example.invalid/{name}-1.0-py3-none-any.whl"}}


def test_torch_and_what_only_torch_needs_are_left_out(wheelhouse):
    # A CUDA torch's tree as pip reports it, and packages the project needs besides torch.
    report = {"install": [
        item("torch", "filelock", "sympy>=1.13", 'nvidia-cublas==13.1; platform_system == "Linux"',
             "triton==3.7.1", "cuda-toolkit[cublas]==13.0.3"),
        item("nvidia-cublas"), item("triton"), item("cuda-toolkit", "cuda-pathfinder"),
        item("cuda-pathfinder"), item("sympy", "mpmath<1.4,>=1.1.0"), item("mpmath"),
        item("filelock"),
        item("accelerate", "torch>=2.0.0", "numpy>=1.17", "huggingface_hub>=0.21.0"),
        item("numpy"),
        item("huggingface_hub", "filelock>=3.10.0", "tomli; python_version < '3.11'"),
        item("tomli"),
        item("transformers", "huggingface-hub<3.0,>=1.31.0", 'mpmath; extra == "docs"'),
    ]}
    left_out = wheelhouse.torch_only(report, ["torch", "accelerate", "transformers"])
    assert left_out == {"torch", "nvidia-cublas", "triton", "cuda-toolkit", "cuda-pathfinder",
                        "sympy"}
    # mpmath stays: transformers may ask for it (markers and extras count as needed).


def test_manylinux_target_takes_every_older_glibc(wheelhouse):
    tags = wheelhouse.platform_tags("manylinux_2_28_x86_64")
    assert tags[0] == "manylinux_2_28_x86_64" and tags[-2:] == ["manylinux_2_17_x86_64",
                                                                "manylinux2014_x86_64"]
    assert len(tags) == 13
    assert wheelhouse.platform_tags("manylinux_2_31_aarch64")[-1] == "manylinux2014_aarch64"
    assert wheelhouse.platform_tags("win_amd64") == ["win_amd64"]


def test_server_freeze_pins_torch_and_the_kept_packages_alone(wheelhouse, tmp_path):
    constraints = tmp_path / "constraints.txt"
    constraints.write_text("# pins\ntorch==2.13.0\ntransformers==5.24.0\nhuggingface_hub==2.4.0\n"
                           "datasets==5.2.0\n")
    freeze = tmp_path / "freeze.txt"
    freeze.write_text("torch==2.11.0+cu128\ntransformers==5.17.0\nhuggingface-hub==1.20.1\n"
                      "nvidia-cublas-cu12==12.8.4.1\n-e git+https://example.invalid/x#egg=x\n")
    option, path = wheelhouse.constraints_file(constraints, freeze, tmp_path)
    assert option == "-c"
    assert sorted(Path(path).read_text().splitlines()) == [
        "huggingface-hub==1.20.1", "torch==2.11.0", "transformers==5.17.0"]
    assert wheelhouse.constraints_file(constraints, None, tmp_path) == ["-c", str(constraints)]
    freeze.write_text("transformers==5.17.0\n")
    with pytest.raises(wheelhouse.WheelhouseError, match="names no torch==<version>"):
        wheelhouse.constraints_file(constraints, freeze, tmp_path)


def write_manifest(directory, python="3.11", extras=("dev",)):
    directory.mkdir(exist_ok=True)
    (directory / "manifest.json").write_text(json.dumps(
        {"python": python, "platforms": [], "extras": list(extras), "packages": {},
         "left_out": ["torch"]}))
    return directory


def install(wheelhouse, directory, *options):
    wheelhouse.install(argparse.Namespace(wheelhouse=str(directory),
                                          extras=options[0] if options else "",
                                          keep=list(wheelhouse.KEEP)))


def test_install_checks_the_wheelhouse_and_the_server_before_pip(wheelhouse, tmp_path,
                                                                 monkeypatch):
    monkeypatch.setattr(wheelhouse, "pip", lambda *a, **k: pytest.fail("pip must not run"))
    with pytest.raises(wheelhouse.WheelhouseError, match="has no manifest.json"):
        install(wheelhouse, tmp_path)
    with pytest.raises(wheelhouse.WheelhouseError, match="was built for Python 2.7"):
        install(wheelhouse, write_manifest(tmp_path / "old", python="2.7"))
    here = "{}.{}".format(*sys.version_info[:2])
    current = write_manifest(tmp_path / "current", python=here, extras=())
    with pytest.raises(wheelhouse.WheelhouseError, match="make wheelhouse EXTRAS=dev"):
        install(wheelhouse, current, "dev")

    versions = {"torch": None}
    monkeypatch.setattr(wheelhouse, "installed", lambda name: versions.get(name, "1.0"))
    with pytest.raises(wheelhouse.WheelhouseError, match="never brings torch"):
        install(wheelhouse, current)
    versions = {"torch": "2.11.0+cu128", "transformers": "4.57.1", "tokenizers": "0.23.1",
                "accelerate": "1.12.0", "safetensors": "0.8.0", "huggingface-hub": "1.33.0"}
    with pytest.raises(wheelhouse.WheelhouseError,
                       match=r"transformers 4.57.1 \(the project needs transformers<6,>=5.17\)"):
        install(wheelhouse, current)


def test_a_new_build_replaces_only_an_earlier_wheelhouse(wheelhouse, tmp_path):
    earlier = tmp_path / "earlier"
    earlier.mkdir()
    (earlier / "old-1.0-py3-none-any.whl").write_text("")
    wheelhouse.prepare_dest(earlier)  # an interrupted build: wheels, no manifest yet
    assert list(earlier.iterdir()) == []
    (earlier / "notes.txt").write_text("")
    with pytest.raises(wheelhouse.WheelhouseError, match=r"holds more than wheels \(notes.txt"):
        wheelhouse.prepare_dest(earlier)
    assert (earlier / "notes.txt").is_file()


def test_unknown_extra_names_the_extras_there_are(wheelhouse):
    with pytest.raises(wheelhouse.WheelhouseError, match="no such extra; it has .*dev"):
        wheelhouse.project_requirements(["gpu"])
