"""Real server processes for tests that need more than one process or a real browser."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(*, database_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    """Environment for a test server: the test's database and data dir, no embedded worker."""
    return {
        "MICRODRAMA_ENVIRONMENT": "test",
        "MICRODRAMA_DATABASE_URL": database_url,
        "MICRODRAMA_DATA_DIR": str(data_dir),
        "MICRODRAMA_EMBEDDED_WORKER": "false",
        # One rung: servers' tests play episodes, they do not switch renditions (the ladder is
        # tested in tests/media).
        "MICRODRAMA_LADDER_HEIGHTS": "[426]",
        "MICRODRAMA_X264_PRESET": "ultrafast",
        "MICRODRAMA_SANDBOX_AD_SECONDS": "2",  # the journeys watch it in real time
        "MICRODRAMA_EXPOSE_TEST_HOOKS": "true",  # the journeys read window.__player and its kin
        **extra,
    }


@contextmanager
def running_server(env: dict[str, str], log_path: Path) -> Iterator[str]:
    """uvicorn serving the app in its own process; yields its base URL."""
    with server_process(env, log_path) as server:
        yield server.base_url


@contextmanager
def running_servers(env: dict[str, str], log_paths: list[Path]) -> Iterator[list[str]]:
    """One uvicorn process per log path, all serving the same app, started at the same time
    (each spends seconds importing the app: one after the other, the waits added up); yields
    their base URLs."""
    servers = [running_server(env, log_path) for log_path in log_paths]
    with ExitStack() as stack:
        with ThreadPoolExecutor(len(servers)) as pool:
            starting = [pool.submit(server.__enter__) for server in servers]
        for server, started in zip(servers, starting, strict=True):
            if started.exception() is None:
                stack.push(server)
        yield [started.result() for started in starting]


@dataclass
class ServerProcess:
    base_url: str
    process: subprocess.Popen[bytes]


@contextmanager
def server_process(
    env: dict[str, str], log_path: Path, *, port: int | None = None
) -> Iterator[ServerProcess]:
    """uvicorn serving the app in its own process (on `port`, or a free one); yields it, for a
    test that kills it. Stopped at the end if still running."""
    port = port or free_port()
    with log_path.open("ab") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "microdrama.app:create_app", "--factory",
             "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        base_url = f"http://127.0.0.1:{port}"
        try:
            wait_until_serving(base_url, server)
            yield ServerProcess(base_url, server)
        finally:
            if server.poll() is None:
                server.terminate()
                try:
                    server.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    server.kill()
                    server.wait()


def wait_until_serving(base_url: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with code {server.returncode}")
        try:
            with urllib.request.urlopen(f"{base_url}/api/feed", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the server did not start within 30 s")
