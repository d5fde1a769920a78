"""Local services for the tests: a throw-away PostgreSQL server on 127.0.0.1.

Used by the store tests' fixture (``tests/store/conftest.py``) and by hand::

    python3 scripts/services.py postgres   # prints LOOM_TEST_POSTGRES_DSN=..., Ctrl-C stops it

When ``initdb``/``pg_ctl`` are missing, Debian's ``postgresql`` package is
installed with apt-get (this needs root, as on CI). The cluster lives in a
temporary folder, listens on a free loopback port, trusts local connections,
and runs as the ``postgres`` user when we are root (PostgreSQL refuses to
run as root). Only the standard library is used.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

USER = "loom"


def _pg_bin() -> Path | None:
    """The folder holding initdb and pg_ctl (PATH first, then Debian's versioned folders)."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).resolve().parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                      key=lambda p: int(Path(p).parent.parent.name) if Path(p).parent.parent.name
                      .isdigit() else 0)
    return Path(versions[-1]).parent if versions else None


def ensure_postgres_installed() -> Path:
    """The PostgreSQL server binaries, installing Debian's package when they are missing."""
    where = _pg_bin()
    if where is not None:
        return where
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise RuntimeError(
            "PostgreSQL server binaries (initdb, pg_ctl) are missing: install them "
            "(Debian: `apt-get install -y postgresql`), set LOOM_TEST_POSTGRES_DSN to a running "
            "server, or set LOOM_TEST_POSTGRES=0 to skip the PostgreSQL store tests")
    print("[services] installing PostgreSQL (apt-get install -y postgresql)", file=sys.stderr,
          flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", "postgresql"],
                   check=True, env=env, stdout=subprocess.DEVNULL)
    where = _pg_bin()
    if where is None:
        raise RuntimeError("apt-get installed postgresql but initdb is still not found")
    return where


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_server_user(cmd: list[str]) -> list[str]:
    """``cmd`` run as the ``postgres`` user when we are root."""
    if os.geteuid() != 0:
        return cmd
    if shutil.which("runuser"):
        return ["runuser", "-u", "postgres", "--", *cmd]
    return ["su", "postgres", "-s", "/bin/sh", "-c", " ".join(cmd)]


@dataclass
class PostgresServer:
    """A running throw-away cluster; :meth:`stop` ends it and removes its folder."""

    bin: Path
    folder: Path
    port: int

    @property
    def dsn(self) -> str:
        """A connection URL for the cluster's ``postgres`` database."""
        return f"postgresql://{USER}@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        """Stop the server (fast shutdown) and remove its files."""
        subprocess.run(_as_server_user([str(self.bin / "pg_ctl"), "-D", str(self.folder / "data"),
                                        "-m", "fast", "-w", "stop"]),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        shutil.rmtree(self.folder, ignore_errors=True)


def start_postgres() -> PostgresServer:
    """Install when needed, initdb into a temporary folder, start on a free port."""
    pg_bin = ensure_postgres_installed()
    # as root the server runs as ``postgres``, which must reach the folder: /tmp is world-searchable
    shared = "/tmp" if os.geteuid() == 0 and os.path.isdir("/tmp") else None
    folder = Path(tempfile.mkdtemp(prefix="loom-pg-", dir=shared))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    data, log = folder / "data", folder / "server.log"
    try:
        subprocess.run(_as_server_user([str(pg_bin / "initdb"), "-D", str(data), "-U", USER,
                                        "--auth=trust", "-E", "UTF8", "--no-locale"]),
                       check=True, capture_output=True, text=True)
        for attempt in range(5):
            port = free_port()
            options = (f"-p {port} -c listen_addresses=127.0.0.1 -k {folder} -c fsync=off "
                       "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
            done = subprocess.run(_as_server_user([str(pg_bin / "pg_ctl"), "-D", str(data), "-o",
                                                   options, "-l", str(log), "-w", "-t", "60",
                                                   "start"]),
                                  capture_output=True, text=True)
            if done.returncode == 0:
                return PostgresServer(pg_bin, folder, port)
            if attempt == 4:
                raise RuntimeError(f"PostgreSQL did not start: {done.stderr.strip()}\n"
                                   f"{log.read_text() if log.exists() else ''}")
            time.sleep(0.2)
    except subprocess.CalledProcessError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        raise RuntimeError(f"initdb failed: {exc.stderr or exc}") from exc
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    raise AssertionError("unreachable")


def main(argv: list[str]) -> int:
    """``services.py postgres``: run a server until interrupted."""
    if argv != ["postgres"]:
        print("usage: python3 scripts/services.py postgres", file=sys.stderr)
        return 2
    server = start_postgres()
    print(f"LOOM_TEST_POSTGRES_DSN={server.dsn}", flush=True)
    try:
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    raise SystemExit(main(sys.argv[1:]))
