"""Wheels for a GPU server without package access, and the offline install from them.

    python tools/wheelhouse.py build [--dest wheelhouse] [--python 3.11]
        [--platform manylinux_2_28_x86_64] [--extras dev] [--constraints constraints.txt]
        [--server-freeze FILE]                          (connected machine: make wheelhouse)
    python tools/wheelhouse.py install --wheelhouse DIR [--extras dev]
        [--keep transformers tokenizers ...]           (the server, offline: make install-offline)

`build` resolves the project's dependencies (pyproject.toml, the extras asked for, and the build
backend) for the target Python and platform with pip, pinned by `--constraints`, and downloads a
wheel of each, except torch and what only torch needs: its CUDA runtime wheels (nvidia-*,
cuda-*, triton) and helpers nothing else asks for (networkx). A GPU server brings those, built
for its CUDA; they are gigabytes. Everything else is in: not only pure-Python packages, also
compiled ones (numpy, pandas, pyarrow, tokenizers, ...), which is why a wheelhouse is for one
Python version and platform. Packages published only as source (rouge-score, kiwipiepy_model)
are built into wheels here; they are pure Python. transformers, tokenizers, accelerate,
safetensors and huggingface_hub are in too, for servers that lack them. With `--server-freeze`
(the server's `pip freeze`) the resolution takes the server's torch and KEEP versions instead of
the pins.

`install` installs this checkout (editable) with
`pip install --no-index --find-links <wheelhouse>`. torch is never in the wheelhouse, so pip
cannot replace it; the installed versions of torch and of the `--keep` packages are pinned, so
pip keeps them or stops with a conflict instead of swapping them for the wheelhouse's. Other
packages follow pip's rules: an installed one that satisfies the project stays.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10; pip carries its own copy
    from pip._vendor import tomli as tomllib
try:
    from packaging.requirements import Requirement
except ModuleNotFoundError:  # a server with torch alone; pip carries its own copy
    from pip._vendor.packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = "manifest.json"
KEEP = ("transformers", "tokenizers", "accelerate", "safetensors", "huggingface-hub")
DEFAULT_PLATFORM = "manylinux_2_28_x86_64"


class WheelhouseError(Exception):
    """A problem the user can fix; the message says which option or file and what to do."""


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement: str) -> str:
    return canonical(re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement.strip()).group(0))


def project_requirements(extras: list[str]) -> list[str]:
    """The project's dependencies, those of `extras`, and the build backend's (an editable
    install builds the project offline too)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    optional = project["project"].get("optional-dependencies", {})
    unknown = [extra for extra in extras if extra not in optional]
    if unknown:
        raise WheelhouseError(
            f"--extras {','.join(unknown)}: pyproject.toml has no such extra; it has "
            f"{', '.join(optional) or 'none'}. Set EXTRAS= to some of these or leave it empty.")
    return [*project["project"]["dependencies"],
            *(req for extra in extras for req in optional[extra]),
            *project["build-system"]["requires"]]


def platform_tags(platform: str) -> list[str]:
    """pip's `--platform` values for a target: `manylinux_2_28_x86_64` means any manylinux wheel
    a glibc 2.28 machine runs (2_28 down to 2_17, and manylinux2014, which pip widens to 2010
    and 1); other tags are taken as they are."""
    match = re.fullmatch(r"manylinux_2_(\d+)_(\w+)", platform)
    if not match or int(match[1]) < 17:
        return [platform]
    glibc, arch = int(match[1]), match[2]
    return [f"manylinux_2_{minor}_{arch}" for minor in range(glibc, 16, -1)] + [
        f"manylinux2014_{arch}"]


def torch_only(report: dict, roots: list[str]) -> set[str]:
    """Names in a pip install report that only torch needs: torch and every package no root
    other than torch reaches without passing through torch. Markers are ignored, so a package
    any marker or extra could ask for counts as needed."""
    packages = {canonical(item["metadata"]["name"]): item["metadata"]
                for item in report["install"]}
    requires = {name: {requirement_name(r) for r in meta.get("requires_dist") or []} & set(packages)
                for name, meta in packages.items()}
    needed, todo = set(), [root for root in roots if root != "torch" and root in packages]
    while todo:
        name = todo.pop()
        if name not in needed:
            needed.add(name)
            todo.extend(requires[name] - {"torch"})
    return set(packages) - needed


def pip(*args: str, quiet: bool = True, hint: str = "") -> None:
    command = [sys.executable, "-m", "pip", *args, *(["--quiet"] if quiet else [])]
    if subprocess.run(command).returncode != 0:
        raise WheelhouseError(f"pip failed (its message is above): {' '.join(command)}. {hint}")


def constraints_file(constraints: Path | None, server_freeze: Path | None, work: Path) -> list[str]:
    """pip's `-c` options: `constraints`, or, given the server's `pip freeze`, its versions of
    torch and the KEEP packages alone: the tested pins of the rest may need newer ones (datasets
    5.2 needs huggingface_hub >= 1.31), so the rest is resolved within the project's ranges."""
    if server_freeze is None:
        return ["-c", str(constraints)] if constraints else []
    if not server_freeze.is_file():
        raise WheelhouseError(f"--server-freeze {server_freeze} does not exist. Write it on the "
                              "server with `python -m pip freeze > server-freeze.txt`.")
    wanted = {"torch", *KEEP}
    pins = {}
    for line in server_freeze.read_text(encoding="utf-8").splitlines():
        match = re.fullmatch(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s+;#]+)(\+\S*)?\s*", line)
        if match and canonical(match[1]) in wanted:
            pins[canonical(match[1])] = match[2]  # a local label (+cu128) is not on an index
    if "torch" not in pins:
        raise WheelhouseError(f"--server-freeze {server_freeze} names no torch==<version>. "
                              "Write it on the server, where torch is installed, with "
                              "`python -m pip freeze > server-freeze.txt`.")
    pinned = work / "server-constraints.txt"
    pinned.write_text("".join(f"{name}=={version}\n" for name, version in pins.items()),
                      encoding="utf-8")
    return ["-c", str(pinned)]


def prepare_dest(dest: Path) -> None:
    """An empty folder, or an earlier wheelhouse, finished or not (its wheels are removed)."""
    if dest.exists():
        others = [p.name for p in dest.iterdir() if p.suffix != ".whl" and p.name != MANIFEST]
        if others:
            raise WheelhouseError(f"--dest {dest} holds more than wheels ({', '.join(others[:3])}"
                                  "): give an empty or new folder.")
        for wheel in dest.glob("*.whl"):
            wheel.unlink()
        (dest / MANIFEST).unlink(missing_ok=True)
    dest.mkdir(parents=True, exist_ok=True)


def build(args: argparse.Namespace) -> None:
    dest = Path(args.dest).resolve()
    extras = [e for e in re.split(r"[,\s]+", args.extras) if e]
    requirements = project_requirements(extras)
    prepare_dest(dest)
    platforms = [option for tag in platform_tags(args.platform) for option in ("--platform", tag)]
    target = ["--only-binary=:all:", "--python-version", args.python, *platforms]
    with tempfile.TemporaryDirectory(prefix="wheelhouse-") as tmp:
        work = Path(tmp)
        pins = constraints_file(Path(args.constraints) if args.constraints else None,
                                Path(args.server_freeze) if args.server_freeze else None, work)
        # Packages published only as source: their wheels are built here, so that the
        # binary-only resolution for the target finds them.
        pip("install", "--dry-run", "--ignore-installed", "--report", str(work / "here.json"),
            *pins, *requirements)
        sources = [item["metadata"] for item in json.loads((work / "here.json").read_text())[
            "install"] if not item["download_info"]["url"].endswith(".whl")]
        if sources:
            pip("wheel", "--no-deps", "--wheel-dir", str(dest),
                *(f"{m['name']}=={m['version']}" for m in sources))
        impure = [w.name for w in dest.glob("*.whl") if not w.name.endswith("-none-any.whl")]
        if impure:
            raise WheelhouseError(
                f"{', '.join(impure)}: published only as source and built into a wheel for this "
                "machine, not for any platform. Build the wheelhouse on a machine with the "
                "server's Python and platform.")
        pip("install", "--dry-run", "--ignore-installed", "--target", str(work / "target"),
            "--report", str(work / "target.json"), *target, "--find-links", str(dest), *pins,
            *requirements)
        report = json.loads((work / "target.json").read_text())
    excluded = torch_only(report, [requirement_name(r) for r in requirements])
    packages = {item["metadata"]["name"]: item["metadata"]["version"]
                for item in report["install"]
                if canonical(item["metadata"]["name"]) not in excluded}
    pip("download", "--no-deps", *target, "--find-links", str(dest), "--dest", str(dest),
        *(f"{name}=={version}" for name, version in packages.items()))
    (dest / MANIFEST).write_text(json.dumps({
        "python": args.python, "platforms": platform_tags(args.platform), "extras": extras,
        "packages": dict(sorted(packages.items(), key=lambda p: canonical(p[0]))),
        "left_out": sorted(excluded)}, indent=2) + "\n", encoding="utf-8")
    size = sum(w.stat().st_size for w in dest.glob("*.whl"))
    print(f"{dest}: {len(packages)} wheels, {size / 2**20:.0f} MiB, for Python {args.python} on "
          f"{args.platform}; left out (the server's torch brings them): "
          f"{', '.join(sorted(excluded))}")


def installed(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def install(args: argparse.Namespace) -> None:
    wheelhouse = Path(args.wheelhouse).resolve()
    manifest_path = wheelhouse / MANIFEST
    if not manifest_path.is_file():
        raise WheelhouseError(f"WHEELHOUSE={wheelhouse} has no {MANIFEST}: it is not a folder "
                              "`make wheelhouse` wrote. Build one on a connected machine and "
                              "copy the whole folder here.")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    here = f"{sys.version_info[0]}.{sys.version_info[1]}"
    if manifest["python"] != here:
        raise WheelhouseError(
            f"WHEELHOUSE={wheelhouse} was built for Python {manifest['python']}, but "
            f"{sys.executable} is Python {here}. Rebuild it with "
            f"`make wheelhouse WHEEL_PYTHON={here}`.")
    extras = [e for e in re.split(r"[,\s]+", args.extras) if e]
    missing = [e for e in extras if e not in manifest["extras"]]
    if missing:
        raise WheelhouseError(
            f"EXTRAS={','.join(extras)}: the wheelhouse was built with extras "
            f"{','.join(manifest['extras']) or 'none'}. Rebuild it with "
            f"`make wheelhouse EXTRAS={','.join(extras)}` or install fewer extras.")
    if installed("torch") is None:
        raise WheelhouseError(
            f"torch is not installed for {sys.executable}. This install never brings torch: "
            "install the server's CUDA build of torch first, then run it again.")
    ranges = {requirement_name(r): Requirement(r) for r in project_requirements(extras)}
    kept = {name: installed(name) for name in ("torch", *args.keep) if installed(name)}
    outside = [f"{name} {version} (the project needs {name}{ranges[name].specifier})"
               for name, version in kept.items()
               if name in ranges and not ranges[name].specifier.contains(version,
                                                                         prereleases=True)]
    if outside:
        raise WheelhouseError(
            f"Installed {', '.join(outside)}: outside the project's range, and the install keeps "
            "installed versions. Upgrade them deliberately (the wheelhouse holds a version in "
            "range: pip install --no-index --find-links <wheelhouse> <name>), or leave them out "
            "of KEEP to let pip replace them.")
    with tempfile.TemporaryDirectory(prefix="install-offline-") as tmp:
        pins = Path(tmp) / "installed.txt"
        pins.write_text("".join(f"{n}=={v}\n" for n, v in kept.items()), encoding="utf-8")
        target = f"{ROOT}[{','.join(extras)}]" if extras else str(ROOT)
        pip("install", "--no-index", "--find-links", str(wheelhouse), "-c", str(pins),
            "-e", target, quiet=False, hint=(
                "When it names a conflict with a kept package, build the wheelhouse for this "
                "server's versions: `python -m pip freeze > server-freeze.txt` here, then "
                "`make wheelhouse SERVER_FREEZE=server-freeze.txt` on the connected machine; "
                "or leave the package out of KEEP to let pip replace it."))
    changed = [f"{n} {v} -> {installed(n)}" for n, v in kept.items() if installed(n) != v]
    if changed:
        raise WheelhouseError(f"pip changed kept packages: {', '.join(changed)}.")
    print("Kept as installed: " + ", ".join(f"{n} {v}" for n, v in kept.items()))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    b = commands.add_parser("build", help="download and build the wheels (connected machine)")
    b.add_argument("--dest", default="wheelhouse",
                   help="folder for the wheels (default wheelhouse)")
    b.add_argument("--python", default=f"{sys.version_info[0]}.{sys.version_info[1]}",
                   help="target Python version (default: this interpreter's)")
    b.add_argument("--platform", default=DEFAULT_PLATFORM,
                   help=f"target wheel platform (default {DEFAULT_PLATFORM}: glibc 2.28 or newer)")
    b.add_argument("--extras", default="", help="the project's extras to include, e.g. dev")
    b.add_argument("--constraints", default=str(ROOT / "constraints.txt"),
                   help="pins for the resolution (default constraints.txt; '' for none)")
    b.add_argument("--server-freeze",
                   help="the server's `pip freeze`: resolve against its torch and KEEP versions")
    i = commands.add_parser("install", help="install the project offline (the server)")
    i.add_argument("--wheelhouse", required=True, help="a folder `build` wrote")
    i.add_argument("--extras", default="", help="the project's extras to install, e.g. dev")
    i.add_argument("--keep", nargs="*", default=list(KEEP), type=canonical,
                   help="installed packages never replaced, besides torch (default: "
                        f"{' '.join(KEEP)})")
    args = parser.parse_args(argv)
    try:
        build(args) if args.command == "build" else install(args)
    except WheelhouseError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
