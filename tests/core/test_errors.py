"""Refused requests answer one documented shape whose messages people can read."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi.testclient import TestClient
from pydantic import AfterValidator, BaseModel, Field, ValidationError
from pydantic_core import PydanticCustomError
from sqlalchemy.orm import Session, sessionmaker

from microdrama.accounts.models import Role
from microdrama.config import Settings
from microdrama.validation_messages import describe
from tests.support.accounts import signed_in
from tests.support.studio import new_series, open_studio

PYDANTIC_WORDS = ("String should", "Input should", "List should", "Value error", "after validation")


def _problems(answer: Any) -> dict[str, dict[str, str]]:
    return {p["field"]: p for p in answer.json()["problems"]}


def test_a_bad_series_form_says_what_to_fix_beside_each_field(client: TestClient) -> None:
    open_studio(client)

    answer = client.post(
        "/api/studio/series",
        json={"title": "", "free_episodes": -1, "tags": ["x"] * 300, "episode_price_coins": "a"},
    )

    assert answer.status_code == 422
    body = answer.json()
    assert body["error"] == "invalid_request"
    by_field = _problems(answer)
    assert by_field["title"] == {
        "field": "title",
        "code": "required",
        "message": "Title can't be empty.",
    }
    assert by_field["free_episodes"]["message"] == "Free episodes can't be negative."
    assert by_field["free_episodes"]["code"] == "too_small"
    assert by_field["tags"]["message"] == "Choose at most 20 tags (you sent 300)."
    assert by_field["episode_price_coins"]["message"] == "Episode price must be a whole number."
    # The summary names every field's problem in the same words, and no pydantic jargon.
    assert body["message"].startswith("Please check 4 fields:")
    assert "Title can't be empty." in body["message"]
    assert not any(words in answer.text for words in PYDANTIC_WORDS)


def test_limits_are_said_with_the_field_and_its_unit(client: TestClient) -> None:
    open_studio(client)
    series_id = new_series(client)["id"]
    url = f"/api/studio/series/{series_id}"

    long_title = client.patch(url, json={"title": "x" * 201})
    pricey = client.patch(url, json={"episode_price_coins": 10_001})
    unknown = client.patch(url, json={"mood": "noir"})
    reminder = client.patch("/api/me/settings", json={"watch_reminder_minutes": 1})

    assert long_title.json()["message"] == "Title must be at most 200 characters."
    assert pricey.json()["message"] == "Episode price must be at most 10,000 coins."
    assert unknown.json()["problems"] == [
        {"field": "mood", "code": "unknown_field", "message": "Mood isn't a field this form takes."}
    ]
    assert reminder.status_code == 422, reminder.text
    assert reminder.json()["message"] == "Watch reminder must be at least 5 minutes."


def test_a_short_rejection_reason_is_explained_in_plain_words(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    open_studio(client)
    series_id = new_series(client)["id"]
    operator, _ = signed_in(db_factory, settings, role=Role.admin, name="Ops")

    answer = client.post(
        f"/api/admin/moderation/{series_id}/reject", json={"reason": "no"}, headers=operator
    )

    assert answer.status_code == 422, answer.text
    assert answer.json()["problems"] == [
        {"field": "reason", "code": "too_short", "message": "Reason must be at least 3 characters."}
    ]


def test_a_request_that_is_not_json_is_refused_as_a_whole(client: TestClient) -> None:
    open_studio(client)

    answer = client.post(
        "/api/studio/series", content=b"{not json", headers={"Content-Type": "application/json"}
    )

    assert answer.status_code == 422
    assert answer.json()["problems"] == [
        {"field": None, "code": "invalid_json", "message": "The request isn't valid JSON."}
    ]


def test_a_domain_error_about_one_field_lists_it_as_a_problem(client: TestClient) -> None:
    open_studio(client)
    series_id = new_series(client)["id"]
    url = f"/api/studio/series/{series_id}"

    answer = client.patch(url, json={"free_episodes": None})

    assert answer.status_code == 422
    body = answer.json()
    assert body["message"] == "Free episodes can't be empty."
    assert body["problems"] == [
        {"field": "free_episodes", "code": "invalid_prices", "message": body["message"]}
    ]


def test_the_openapi_document_describes_the_error_shape_on_every_operation(
    client: TestClient,
) -> None:
    document = client.get("/openapi.json").json()
    ref = "#/components/schemas/ErrorResponse"

    schemas = document["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    assert {"error", "message", "problems"} <= set(schemas["ErrorResponse"]["properties"])
    problem = schemas["ErrorProblem"]["properties"]
    assert {"field", "code", "message"} <= set(problem)
    operations = [
        (path, method, operation)
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    ]
    assert len(operations) > 50
    for path, method, operation in operations:
        for status in ("422", "4XX"):
            answer = operation["responses"][status]["content"]["application/json"]
            assert answer["schema"] == {"$ref": ref}, (method, path, status)
    assert "HTTPValidationError" not in str(document)


def _refuse_shouting(value: str) -> str:
    if value.isupper():
        raise PydanticCustomError("shouting", "is all capitals; write it as a sentence")
    return value


class _Beat(BaseModel):
    seconds: int = Field(ge=1)


class _Pitch(BaseModel):
    # A checked string type with bounds, as the shared request types are built.
    logline: Annotated[str, AfterValidator(_refuse_shouting)] = Field(min_length=3)
    tags: list[str] = Field(default_factory=list, max_length=2)
    beats: list[_Beat] = Field(default_factory=list)


def _messages(**fields: object) -> list[tuple[str | None, str, str]]:
    try:
        _Pitch.model_validate(fields)
    except ValidationError as refused:
        return [tuple(describe(e)) for e in refused.errors()]  # type: ignore[misc]
    return []


def test_our_own_error_types_keep_their_words_and_text_bounds_speak_of_characters() -> None:
    assert _messages(logline="HELP") == [
        ("logline", "shouting", "Logline is all capitals; write it as a sentence.")
    ]
    assert _messages(logline="ok") == [
        ("logline", "too_short", "Logline must be at least 3 characters.")
    ]
    assert _messages() == [("logline", "required", "Logline is required.")]


def test_a_problem_inside_a_list_says_which_item_counting_from_one() -> None:
    assert _messages(logline="A vow", beats=[{"seconds": 5}, {"seconds": 0}]) == [
        ("beats.1.seconds", "too_small", "Beat 2: Seconds must be at least 1.")
    ]
    assert _messages(logline="A vow", tags=["ceo", 7]) == [
        ("tags.1", "wrong_type", "Tag 2 must be text.")
    ]
    assert _messages(logline="A vow", tags=["a", "b", "c"]) == [
        ("tags", "too_long", "Choose at most 2 tags (you sent 3).")
    ]


def test_a_field_with_a_format_says_what_it_looks_like(client: TestClient) -> None:
    answer = client.post(
        "/api/checkout",
        json={"shipping": {"country": "usa"}, "items": [{"variant_id": 1, "quantity": 1}]},
        headers={"Idempotency-Key": "format-test"},
    )

    assert answer.status_code == 422, answer.text
    by_field = _problems(answer)
    assert by_field["shipping.country"]["message"] == "Country must be a two-letter code like US."
    assert by_field["shipping.name"]["message"] == "Name is required."
    # The address line is named as the checkout form labels it, not by its key "line1".
    assert by_field["shipping.line1"]["message"] == "Address is required."


def test_unknown_addresses_and_unreadable_bodies_answer_the_same_shape(client: TestClient) -> None:
    missing = client.get("/api/no-such-thing")
    wrong_method = client.delete("/api/feed")
    not_json = client.post(
        "/api/auth/login", content=b"[" * 100_000, headers={"Content-Type": "application/json"}
    )

    for answer, status, code in (
        (missing, 404, "not_found"),
        (wrong_method, 405, "method_not_allowed"),
        (not_json, 400, "bad_request"),
    ):
        assert answer.status_code == status, answer.text
        body = answer.json()
        assert body["error"] == code
        assert "detail" not in body
        assert not any(word in body["message"] for word in PYDANTIC_WORDS)


def test_a_browser_opening_an_unknown_page_gets_the_sites_page(client: TestClient) -> None:
    answer = client.get("/no-such-page", headers={"Accept": "text/html,*/*;q=0.8"})

    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("text/html")
    assert "Nothing here" in answer.text
    assert "Back to the feed" in answer.text


def test_a_browser_opening_a_page_with_a_bad_query_is_told_what_is_wrong(
    client: TestClient,
) -> None:
    answer = client.get("/search", params={"q": "vamp\x00ire"}, headers={"Accept": "text/html"})

    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("text/html")
    assert "This page can&#39;t be shown" in answer.text
    assert "The search contains a control character (U+0000); remove it." in answer.text
    assert "Back to the feed" in answer.text
    # An API client gets the same words in the JSON error.
    api = client.get("/api/search", params={"q": "vamp\x00ire"})
    assert api.json()["message"] == "The search contains a control character (U+0000); remove it."


def test_a_browser_opening_a_page_with_an_impossible_id_gets_the_sites_page(
    client: TestClient,
) -> None:
    for address in ("/series/abc", "/watch/99999999999999999999", "/series/9223372036854775808"):
        answer = client.get(address, headers={"Accept": "text/html"})

        assert answer.status_code == 404, address
        assert answer.headers["content-type"].startswith("text/html"), address
        assert "Nothing here" in answer.text

    api = client.get("/api/series/abc")
    assert api.status_code in (404, 422)
    assert api.json()["error"] in ("not_found", "invalid_request")
