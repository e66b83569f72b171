"""Small helpers for the accounts tests: a browser at an address, a signed-up account."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

PASSWORD = "correct horse battery"


def browser_at(app: FastAPI, ip: str) -> TestClient:
    """A separate browser (its own cookie jar) connecting from this address."""
    return TestClient(app, client=(ip, 40_000))


def sign_up(client: TestClient, email: str = "ana@example.com", password: str = PASSWORD) -> dict:
    response = client.post("/api/auth/signup", json={"email": email, "password": password})
    assert response.status_code == 201, response.text
    return response.json()


def log_in(client: TestClient, email: str = "ana@example.com", password: str = PASSWORD) -> int:
    return client.post("/api/auth/login", json={"email": email, "password": password}).status_code
