"""The OpenAI-compatible backend against a real server: llama-cpp-python's own, serving the
packaged SmolLM2, started by the test (MICRODRAMA_LLM_URL pointed at it)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import BaseModel, Field

from microdrama.ai.llm import OpenAICompatible, llm_from_settings
from microdrama.ai.packaged import smollm2_gguf
from microdrama.config import Settings
from tests.support.servers import free_port


class Character(BaseModel):
    name: str = Field(min_length=1, max_length=40)
    want: str = Field(min_length=1, max_length=160)


class Pitch(BaseModel):
    logline: str = Field(min_length=10, max_length=200)
    characters: list[Character] = Field(min_length=2, max_length=3)


@pytest.fixture(scope="module")
def llm_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`python -m llama_cpp.server` with the packaged model; yields its /v1 URL."""
    port = free_port()
    log_path = tmp_path_factory.mktemp("llm-server") / "server.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(smollm2_gguf()),
             "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048",
             "--n_threads", "2", "--verbose", "false"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        base_url = f"http://127.0.0.1:{port}/v1"
        try:
            _wait_for_models(base_url, server, log_path)
            yield base_url
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def _wait_for_models(base_url: str, server: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"llama_cpp.server exited:\n{log_path.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{base_url}/models", timeout=2) as answer:
                if json.load(answer)["data"]:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("llama_cpp.server did not answer /v1/models within 60 s")


def test_the_configured_server_fills_a_schema_with_valid_json(
    llm_server: str, tmp_path: Path
) -> None:
    settings = Settings(environment="test", data_dir=tmp_path, llm_url=llm_server)
    llm = llm_from_settings(settings)
    assert isinstance(llm, OpenAICompatible)  # MICRODRAMA_LLM_URL chooses the server

    pitch = llm.generate(
        Pitch,
        system="You write pitches for vertical micro-drama series. Answer in JSON.",
        prompt="A revenge story in a fashion house. Give a logline and two characters.",
        max_tokens=200,
        temperature=0.7,
        seed=3,
    )

    assert isinstance(pitch, Pitch)
    Pitch.model_validate(pitch.model_dump())  # valid against its own schema, bounds included
    assert 2 <= len(pitch.characters) <= 3
    assert all(c.name.strip() and c.want.strip() for c in pitch.characters)
    assert llm.usage.completion_tokens > 0
    assert llm.usage.prompt_tokens > 0
