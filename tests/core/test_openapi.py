"""/openapi.json describes every JSON answer, so a typed client can be generated from it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from microdrama.app import create_app
from microdrama.config import Settings

# Operations whose success answer is not a JSON document, each with the reason. Everything
# else that the document lists must describe its 2xx answer with a typed schema.
NOT_JSON: dict[tuple[str, str], str] = {
    ("POST", "/api/auth/logout"): "204: signs out, no body",
    ("DELETE", "/api/me/sessions/{session_id}"): "204: the session is gone, no body",
    ("POST", "/api/placements/{placement_id}/events"): "204: an impression or click, no body",
    ("DELETE", "/api/brand/placements/{placement_id}"): "204: removed, no body",
    ("DELETE", "/api/studio/placements/{placement_id}"): "204: removed, no body",
    ("DELETE", "/api/studio/episodes/{episode_id}/subtitles/{language}"): "204: no body",
    ("GET", "/api/episodes/{episode_id}/hls/master.m3u8"): "an HLS playlist (text)",
    ("GET", "/api/episodes/{episode_id}/hls/{rendition}/index.m3u8"): "an HLS playlist (text)",
    ("GET", "/api/keys/{episode_id}"): "a 16-byte AES-128 key (binary)",
    ("GET", "/api/admin/moderation/episodes/{episode_id}/video"): "a video file",
    ("GET", "/api/studio/ai-jobs/{job_id}/events"): "a Server-Sent Events stream of progress",
    ("GET", "/api/brand/funnels.csv"): "a CSV download",
    ("GET", "/api/brand/statements/{month}.csv"): "a CSV download",
    ("GET", "/api/studio/statements/{month}.csv"): "a CSV download",
    ("GET", "/api/studio/series/{series_id}/analytics.csv"): "a CSV download",
    # tus resumable uploads: the protocol answers in headers (Location, Upload-Offset, Tus-*).
    ("OPTIONS", "/api/studio/uploads"): "tus: capabilities in headers, no body",
    ("OPTIONS", "/api/studio/uploads/{upload_id}"): "tus: capabilities in headers, no body",
    ("POST", "/api/studio/uploads"): "tus: 201 with the upload's Location header, no body",
    ("HEAD", "/api/studio/uploads/{upload_id}"): "tus: the offset in headers, no body",
    ("PATCH", "/api/studio/uploads/{upload_id}"): "tus: 204 with the new offset header",
    ("DELETE", "/api/studio/uploads/{upload_id}"): "tus: 204, the upload is gone",
}


@pytest.fixture
def document(tmp_path: Path) -> Iterator[dict[str, Any]]:
    # Only the document is read: no database is touched, so one backend is enough.
    settings = Settings(environment="test", data_dir=tmp_path / "data", embedded_worker=False)
    with TestClient(create_app(settings)) as client:
        answer = client.get("/openapi.json")
        assert answer.status_code == 200
        yield answer.json()


def _untyped(schema: dict[str, Any], components: dict[str, Any]) -> str | None:
    """Why a client generated from this schema would see a bare object, or None if it would
    not: an empty schema, an object without properties, a list of those."""
    while "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[-1]]
    if not schema:
        return "no schema"
    for union in ("anyOf", "oneOf", "allOf"):
        for branch in schema.get(union, []):
            if branch.get("type") != "null" and (why := _untyped(branch, components)):
                return why
    if schema.get("type") == "array":
        return _untyped(schema.get("items", {}), components)
    if schema.get("type") == "object" and not schema.get("properties"):
        values = schema.get("additionalProperties")
        if not isinstance(values, dict) or not values:
            return "an object without properties"
        return _untyped(values, components)  # a typed map: dict[str, Model]
    return None


def _json_answers(document: dict[str, Any]) -> Iterator[tuple[str, str, str, Any]]:
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, answer in operation["responses"].items():
                if status.startswith("2"):
                    content = answer.get("content", {})
                    yield method.upper(), path, status, content.get("application/json")


def test_every_json_answer_is_described_by_a_typed_schema(document: dict[str, Any]) -> None:
    components = document.get("components", {}).get("schemas", {})

    undescribed = []
    for method, path, status, json_answer in _json_answers(document):
        if (method, path) in NOT_JSON:
            continue
        why = "no JSON answer" if json_answer is None else None
        why = why or _untyped(json_answer.get("schema", {}), components)
        if why:
            undescribed.append(f"{method} {path} {status}: {why}")

    assert undescribed == []


def test_the_list_of_answers_that_are_not_json_names_real_operations(
    document: dict[str, Any],
) -> None:
    operations = {(method, path) for method, path, _status, _json in _json_answers(document)}

    assert set(NOT_JSON) - operations == set()


def test_the_paywall_answer_lists_its_fields_for_a_generated_client(
    document: dict[str, Any],
) -> None:
    answer = document["paths"]["/api/episodes/{episode_id}/access"]["get"]["responses"]["200"]
    schema = answer["content"]["application/json"]["schema"]
    access = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]

    assert {"allowed", "price_coins", "balance_coins", "rest_of_series", "vip_plans"} <= set(
        access["properties"]
    )
