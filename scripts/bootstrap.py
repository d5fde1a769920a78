"""Shared set-up for the project scripts: a pinned uv and a synced workspace.

Only the Python standard library is used here, so the scripts work on a
fresh machine that has nothing but Python 3.11.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOOLS = ROOT / ".cache" / "tools"
UV_VERSION = "0.13.9"
# llama.cpp (contrib/provider-local) is built from source. A portable x86-64
# build (AVX2, no AVX-512/AMX): "native" builds can pick instructions that a
# virtual machine advertises but does not allow, and die with SIGILL.
PORTABLE_LLAMA_FLAGS = "-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"


def _bin(env: Path, name: str) -> Path:
    return env / ("Scripts" if os.name == "nt" else "bin") / name


def uv() -> str:
    """Path to a uv binary of the pinned version, installed on first use."""
    exe = _bin(TOOLS, "uv")
    if exe.exists():
        out = subprocess.run([str(exe), "--version"], capture_output=True, text=True)
        if UV_VERSION in out.stdout:
            return str(exe)
    print(f"[setup] installing uv {UV_VERSION} into {TOOLS.relative_to(ROOT)}", flush=True)
    venv.EnvBuilder(with_pip=True, clear=True).create(TOOLS)
    subprocess.run([str(_bin(TOOLS, "python")), "-m", "pip", "install", "--quiet",
                    f"uv=={UV_VERSION}"], check=True)
    return str(exe)


def sync(*extra: str) -> str:
    """Install the whole workspace (every member, dev tools) into .venv."""
    exe = uv()
    print("[setup] installing the workspace into .venv", flush=True)
    env = dict(os.environ)
    if platform.machine() in ("x86_64", "AMD64"):
        env.setdefault("CMAKE_ARGS", PORTABLE_LLAMA_FLAGS)
    subprocess.run([exe, "sync", "--all-packages", "--locked", "--python", sys.executable,
                    *extra], cwd=ROOT, check=True, env=env)
    return exe


def run(cmd: list[str], cwd: Path = ROOT, **env: str) -> int:
    """Run a command inside the workspace environment; returns its exit code."""
    exe = uv()
    full_env = {**os.environ, **env}
    return subprocess.run([exe, "run", "--no-sync", "--project", str(ROOT), *cmd], cwd=cwd,
                          env=full_env).returncode
