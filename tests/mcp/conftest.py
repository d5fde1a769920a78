"""Real third-party MCP servers for the MCP bridge tests.

The npm servers pinned in ``package.json``/``package-lock.json`` next to this
file are installed into ``.cache/npm-mcp`` (git-ignored) the first time a test
needs them; that takes about a minute and needs node and npm. ``mcp-server-time``
comes from PyPI with the workspace's dev dependencies.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
NPM_DIR = ROOT / ".cache" / "npm-mcp"
MODULES = NPM_DIR / "node_modules" / "@modelcontextprotocol"


def _install() -> None:
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        raise RuntimeError("the MCP tests need node and npm on PATH to install their test servers "
                           "(@modelcontextprotocol/server-everything and server-filesystem)")
    NPM_DIR.mkdir(parents=True, exist_ok=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copyfile(HERE / name, NPM_DIR / name)
    done = subprocess.run([npm, "install", "--no-audit", "--no-fund", "--loglevel=error"],
                          cwd=NPM_DIR, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"npm install of the MCP test servers failed in {NPM_DIR}:\n"
                           f"{done.stdout}\n{done.stderr}")


def _installed() -> bool:
    lock = NPM_DIR / "package-lock.json"
    return (lock.is_file() and lock.read_bytes() == (HERE / "package-lock.json").read_bytes()
            and (MODULES / "server-everything" / "dist" / "index.js").is_file()
            and (MODULES / "server-filesystem" / "dist" / "index.js").is_file())


@pytest.fixture(scope="session")
def npm_servers() -> Path:
    """The ``@modelcontextprotocol`` folder of the installed npm servers."""
    if not _installed():
        _install()
    return MODULES


@pytest.fixture(scope="session")
def everything_js(npm_servers: Path) -> str:
    """Path of server-everything's entry script (stdio by default)."""
    return str(npm_servers / "server-everything" / "dist" / "index.js")


@pytest.fixture(scope="session")
def filesystem_js(npm_servers: Path) -> str:
    """Path of server-filesystem's entry script (takes the allowed folders as arguments)."""
    return str(npm_servers / "server-filesystem" / "dist" / "index.js")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes] | None = None,
                  timeout: float = 30.0) -> None:
    """Wait until something accepts connections on 127.0.0.1:port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before listening on {port}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


@pytest.fixture
def everything_http(everything_js: str) -> Iterator[str]:
    """server-everything serving streamable HTTP; yields its URL."""
    port = free_port()
    process = subprocess.Popen(["node", everything_js, "streamableHttp"],
                               env={**os.environ, "PORT": str(port)},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, process)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.kill()
        process.wait(10)


def children() -> set[int]:
    """Process ids of every live descendant of this test process."""
    alive = set()
    for child in psutil.Process().children(recursive=True):
        try:
            if child.status() != psutil.STATUS_ZOMBIE:
                alive.add(child.pid)
        except psutil.NoSuchProcess:
            pass
    return alive


@pytest.fixture
def no_leaked_processes() -> Iterator[None]:
    """Fail the test if it leaves a child process behind."""
    before = children()
    yield
    deadline = time.monotonic() + 5
    leaked = children() - before
    while leaked and time.monotonic() < deadline:
        time.sleep(0.1)
        leaked = children() - before
    described = []
    for pid in leaked:
        try:
            described.append(f"{pid} {' '.join(psutil.Process(pid).cmdline())[:200]}")
        except psutil.NoSuchProcess:
            pass
    assert not described, "leaked child processes:\n" + "\n".join(described)


@pytest.fixture
def time_server() -> dict[str, object]:
    """Settings of a stdio mcp-server-time (PyPI) with UTC as its local zone."""
    return {"command": sys.executable, "args": ["-m", "mcp_server_time", "--local-timezone", "UTC"]}


@pytest.fixture
def port() -> int:
    """A free TCP port on 127.0.0.1."""
    return free_port()


@pytest.fixture
def child_pids() -> object:
    """A function returning the pids of this process's live descendants."""
    return children
