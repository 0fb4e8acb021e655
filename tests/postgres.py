"""A throwaway PostgreSQL server for tests: initdb and pg_ctl on a temporary directory.

Skips (with the reason) where the server binaries or a driver are missing, as on CI.
"""

from __future__ import annotations

import glob
import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

# SQLAlchemy's URL scheme for each driver, in order of preference.
DRIVERS = {"psycopg": "postgresql+psycopg", "psycopg2": "postgresql+psycopg2"}
# The server refuses to run as root; as root it runs as this account.
SERVER_ACCOUNT = "postgres"


def _binary(name: str) -> str | None:
    """Debian and Ubuntu keep the server programs off PATH, in /usr/lib/postgresql/<version>/bin."""
    found = glob.glob(f"/usr/lib/postgresql/*/bin/{name}")
    newest = max(found, key=lambda p: [int(n) for n in Path(p).parts[-3].split(".") if n.isdigit()],
                 default=None)
    return shutil.which(name) or newest


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def postgres_server() -> Iterator[str]:
    """The SQLAlchemy URL of a fresh server (trust auth on 127.0.0.1), stopped and removed after."""
    initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
    if initdb is None or pg_ctl is None:
        pytest.skip("PostgreSQL server programs (initdb, pg_ctl) are not installed")
    scheme = next((s for d, s in DRIVERS.items() if importlib.util.find_spec(d)), None)
    if scheme is None:
        pytest.skip("no PostgreSQL driver: pip install -e '.[postgres]' (psycopg)")
    as_user: list[str] = []
    if os.geteuid() == 0:
        try:
            account = pwd.getpwnam(SERVER_ACCOUNT)
        except KeyError:
            pytest.skip(f"running as root, and there is no '{SERVER_ACCOUNT}' account to run "
                        "the server as (initdb refuses root)")
        runuser = shutil.which("runuser")
        if runuser is None:
            pytest.skip("running as root without runuser to start the server as another account")
        as_user = [runuser, "-u", SERVER_ACCOUNT, "--"]
    root = Path(tempfile.mkdtemp(prefix="summarizer-pg-"))
    if as_user:
        os.chown(root, account.pw_uid, account.pw_gid)
    data, port = root / "data", _free_port()

    def run(*cmd: str) -> None:
        proc = subprocess.run([*as_user, *cmd], capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            log = root / "server.log"
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stdout}{proc.stderr}"
                               + (log.read_text() if log.is_file() else ""))

    try:
        run(initdb, "-D", str(data), "-U", "sweeps", "--auth=trust", "--encoding=UTF8",
            "--no-sync")
        run(pg_ctl, "-D", str(data), "-l", str(root / "server.log"), "-w", "-t", "60", "-o",
            f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off", "start")
        try:
            yield f"{scheme}://sweeps@127.0.0.1:{port}/postgres"
        finally:
            run(pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(root, ignore_errors=True)
