"""Behind a reverse proxy, `microdrama serve` believes X-Forwarded-For only from the proxies
listed in `trusted_proxies`, so the sign-in limits count the real client's address."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.support.servers import free_port, server_env, wait_until_serving


def _fail_login(base_url: str, forwarded_for: str) -> int:
    request = urllib.request.Request(
        f"{base_url}/api/auth/login",
        data=json.dumps({"email": "ana@example.com", "password": "wrong password"}).encode(),
        headers={"Content-Type": "application/json", "X-Forwarded-For": forwarded_for},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as refused:
        return refused.code


@pytest.mark.parametrize(
    ("trusted_proxies", "second_client_status"),
    [("127.0.0.1", 401), ("192.0.2.1", 429)],
    ids=["behind-a-trusted-proxy", "header-from-an-untrusted-peer"],
)
def test_sign_in_limits_count_the_address_the_trusted_proxy_forwards(
    engine: Engine,
    database_url: str,
    tmp_path: Path,
    trusted_proxies: str,
    second_client_status: int,
) -> None:
    env = server_env(
        database_url=database_url,
        data_dir=tmp_path,
        MICRODRAMA_TRUSTED_PROXIES=trusted_proxies,
        MICRODRAMA_LOGIN_MAX_FAILURES_PER_PAIR="2",
    )
    port = free_port()
    with (tmp_path / "serve.log").open("wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "microdrama.cli", "serve", "--host", "127.0.0.1",
             "--port", str(port)],
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        base_url = f"http://127.0.0.1:{port}"
        try:
            wait_until_serving(base_url, server)
            # One client behind the proxy guesses until the (email, address) limit holds...
            assert [_fail_login(base_url, "203.0.113.7") for _ in range(3)] == [401, 401, 429]
            # ...and another client behind the same proxy is only held back when the server
            # cannot tell them apart (it does not trust the peer that sent the header).
            assert _fail_login(base_url, "198.51.100.2") == second_client_status
        finally:
            server.terminate()
            server.wait(timeout=10)
