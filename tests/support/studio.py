"""Builders for studio tests: a browser signed in as a creator, a series, tus requests."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient

from tests.support.accounts import PASSWORD

TUS = {"Tus-Resumable": "1.0.0"}


def open_studio(client: TestClient, email: str = "nova@example.com") -> dict[str, Any]:
    """Sign this browser up and open its studio (the account becomes a creator)."""
    signup = client.post("/api/auth/signup", json={"email": email, "password": PASSWORD})
    assert signup.status_code == 201, signup.text
    joined = client.post("/api/studio/join")
    assert joined.status_code == 200, joined.text
    assert joined.json()["role"] == "creator"
    body: dict[str, Any] = joined.json()
    return body


def new_series(client: TestClient, **fields: Any) -> dict[str, Any]:
    response = client.post("/api/studio/series", json={"title": "Midnight Contract", **fields})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def tus_metadata(**values: str | int) -> str:
    return ",".join(
        f"{key} {base64.b64encode(str(value).encode()).decode()}" for key, value in values.items()
    )


def tus_create(client: TestClient, series_id: int, source: Path, **meta: str | int) -> str:
    """Create a tus upload for the file; returns its URL."""
    response = client.post(
        "/api/studio/uploads",
        headers={
            **TUS,
            "Upload-Length": str(source.stat().st_size),
            "Upload-Metadata": tus_metadata(series_id=series_id, filename=source.name, **meta),
        },
    )
    assert response.status_code == 201, response.text
    return str(response.headers["location"])


def tus_patch(client: TestClient, url: str, offset: int, data: bytes) -> httpx.Response:
    return client.patch(
        url,
        content=data,
        headers={
            **TUS,
            "Upload-Offset": str(offset),
            "Content-Type": "application/offset+octet-stream",
        },
    )


def tus_upload(client: TestClient, series_id: int, source: Path, chunk: int = 64 * 1024) -> str:
    """Send a whole file in chunks, as tus-js-client does; returns the upload URL."""
    url = tus_create(client, series_id, source)
    data = source.read_bytes()
    offset = 0
    while offset < len(data):
        answer = tus_patch(client, url, offset, data[offset : offset + chunk])
        assert answer.status_code == 204, answer.text
        offset = int(answer.headers["upload-offset"])
    return url
