"""Hostile input at every route: ids out of their column's range, control characters and deep
nesting are refused with a 4xx, never a 5xx (the OpenAPI document walked, pages included)."""

from __future__ import annotations

import copy
import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import settings as settings_for_hypothesis
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError
from sqlalchemy.orm import Session, sessionmaker

from microdrama.accounts.csrf import form_token
from microdrama.accounts.deps import DEVICE_COOKIE
from microdrama.accounts.models import Role
from microdrama.config import Settings
from microdrama.db import session_scope
from microdrama.shop.models import CartItem
from microdrama.types import Line, Text
from tests.support.accounts import signed_in
from tests.support.payments import admin_headers
from tests.support.shop import placed_campaign

# The edges of the id columns: PostgreSQL's integer and bigint, SQLite's integer, and below 1.
HOSTILE_IDS = [0, -1, 2**31, 2**63, 2**64]
# NUL (PostgreSQL refuses it in text), an escape sequence, a C1 control, a lone surrogate.
HOSTILE_TEXT = ["a\x00b", "a\x1b[2Jb", "a\x85b", "a\ud800b"]
# Routes for creators, brands and operators: walked as the operator only.
ROLE_ONLY = ("/api/admin", "/api/studio", "/api/brand/", "/admin", "/studio", "/brand/")
FOR_ALL = ("/api/studio/join", "/brand/apply")  # how a viewer becomes a creator or a brand
DEEP = 100_000
# Values for the patterns of the schemas (other patterns accept the generic "walker1").
PATTERN_EXAMPLES = {r"^[A-Z]{2}$": "US", r"^[A-Z]{3}$": "USD", r"^#[0-9a-fA-F]{6}$": "#222222"}
CSRF_PLACEHOLDER = "<csrf>"


@dataclass
class Case:
    """One request of the walk, and what it throws (for the failure report)."""

    method: str
    path: str
    what: str
    params: dict[str, Any] = field(default_factory=dict)
    json_body: Any = None
    content: bytes | None = None
    data: dict[str, Any] | None = None
    files: dict[str, Any] | None = None


def full_document(app: FastAPI) -> dict[str, Any]:
    """The app's OpenAPI document with the HTML pages that it leaves out put back in."""
    hidden = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute) and not context.include_in_schema:
            shown = copy.copy(route)  # the pages' routers have no prefix: their own path
            shown.include_in_schema = True
            hidden.append(shown)
    document = copy.deepcopy(app.openapi())
    pages = get_openapi(title=app.title, version=app.version, routes=hidden)
    document["paths"].update(pages["paths"])
    document["components"]["schemas"].update(pages.get("components", {}).get("schemas", {}))
    return document


class Walker:
    """Builds, for each operation, a plausible request and its hostile variants."""

    def __init__(self, document: dict[str, Any], known_ids: dict[str, int]) -> None:
        self.document = document
        self.known_ids = known_ids

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            schema = self.document["components"]["schemas"][name]
        return schema

    def kind(self, schema: dict[str, Any]) -> str:
        """integer, string, object, array, ... of a schema (the non-null branch of anyOf)."""
        schema = self.resolve(schema)
        for branch in schema.get("anyOf", schema.get("oneOf", [])):
            branch_kind = self.kind(branch)
            if branch_kind != "null":
                return branch_kind
        if "enum" in schema or "const" in schema:
            return "enum"
        return str(schema.get("type", "any"))

    def example(self, schema: dict[str, Any], name: str = "", depth: int = 0) -> Any:
        """A value the schema accepts (as far as a generic guess goes)."""
        schema = self.resolve(schema)
        for branch in schema.get("anyOf", schema.get("oneOf", [])):
            if self.kind(branch) != "null":
                return self.example(branch, name, depth)
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            return schema["enum"][0]
        if "default" in schema and schema["default"] is not None:
            return schema["default"]
        kind = schema.get("type")
        if kind == "integer":
            if name in self.known_ids:
                return self.known_ids[name]
            if name.startswith("end"):
                return 10_000  # after any start
            return max(int(schema.get("minimum", 1)), 1)
        if kind == "number":
            return float(schema.get("minimum", 1))
        if kind == "boolean":
            return True
        if kind == "array":
            if depth > 4:
                return []
            item = self.example(schema.get("items", {}), name, depth + 1)
            return [item] * max(int(schema.get("minItems", 1)), 1)
        if kind == "object" or "properties" in schema:
            if depth > 4:
                return {}
            return {
                key: self.example(sub, key, depth + 1)
                for key, sub in schema.get("properties", {}).items()
            }
        if kind == "string":
            return self.text_example(schema, name)
        return "x"

    def text_example(self, schema: dict[str, Any], name: str) -> str:
        fmt = schema.get("format", "")
        now = datetime.now(UTC)
        if fmt == "date-time":
            return (now + timedelta(days=1)).isoformat() if "end" in name else now.isoformat()
        if fmt == "date":
            return now.date().isoformat()
        if fmt == "email" or name == "email":
            return f"walker-{uuid.uuid4().hex[:6]}@example.com"
        if fmt == "uri" or name.endswith("url") or name.endswith("urls"):
            return "https://cdn.example.com/a.jpg"
        if name == "month":
            return now.strftime("%Y-%m")
        if name in ("language", "lang"):
            return "en"
        if name == "currency":
            return "USD"
        if "pattern" in schema:
            return PATTERN_EXAMPLES.get(schema["pattern"], "walker1")
        if name == "password":
            return "a long enough password"
        if name == "csrf_token":
            return CSRF_PLACEHOLDER  # replaced by the device's own token when sent
        return "walker text"

    def leaves(
        self, value: Any, schema: dict[str, Any], at: tuple[Any, ...] = ()
    ) -> Iterator[tuple[tuple[Any, ...], str]]:
        """(path into the body, kind) of every scalar field of an example body."""
        schema = self.resolve(schema)
        for branch in schema.get("anyOf", schema.get("oneOf", [])):
            if self.kind(branch) != "null":
                schema = self.resolve(branch)
                break
        if isinstance(value, dict):
            for key, sub in value.items():
                yield from self.leaves(sub, schema.get("properties", {}).get(key, {}), (*at, key))
        elif isinstance(value, list) and value:
            yield from self.leaves(value[0], schema.get("items", {}), (*at, 0))
        else:
            yield at, self.kind(schema)

    def cases(self, path: str, method: str, operation: dict[str, Any]) -> Iterator[Case]:
        params = operation.get("parameters", [])
        path_values: dict[str, Any] = {}
        query: dict[str, Any] = {}
        for param in params:
            value = self.example(param.get("schema", {}), param["name"])
            if param["in"] == "path":
                path_values[param["name"]] = self.path_example(param["name"], value)
            elif param["in"] == "query" and param.get("required"):
                query[param["name"]] = value

        def url(**override: Any) -> str:
            values = {**path_values, **override}
            return re.sub(r"{(\w+)}", lambda m: str(values[m.group(1)]), path)

        body_schema, content_type = self.body_of(operation)
        body = self.example(body_schema) if body_schema is not None else None

        def request(what: str, **kwargs: Any) -> Case:
            base: dict[str, Any] = {"params": dict(query)}
            if content_type == "application/json":
                base["json_body"] = body
            elif content_type == "multipart/form-data" and isinstance(body, dict):
                base["data"], base["files"] = self.multipart(body)
            elif content_type == "application/x-www-form-urlencoded":
                base["data"] = body
            return Case(method, kwargs.pop("url", url()), what, **{**base, **kwargs})

        for param in params:
            kind = self.kind(param.get("schema", {}))
            name, where = param["name"], param["in"]
            for hostile in self.hostile_values(kind):
                shown = f"{where} {name}={hostile!r}"
                if isinstance(hostile, str) and "\ud800" in hostile:
                    continue  # a URL carries UTF-8: a lone surrogate cannot be sent there
                if where == "path":
                    yield request(shown, url=url(**{name: quote(str(hostile), safe="")}))
                elif where == "query":
                    yield request(shown, params={**query, name: hostile})
        if body is not None and content_type == "application/json":
            for at, kind in self.leaves(body, body_schema or {}):
                for hostile in self.hostile_values(kind):
                    yield request(
                        f"body {'.'.join(map(str, at))}={hostile!r}",
                        json_body=put(body, at, hostile),
                    )
            if isinstance(body, dict) and body:
                first = next(iter(body))
                nested = json.dumps({**body, first: None}).replace("null", deep_array(), 1)
                yield request(
                    f"body {first}=<{DEEP} nested arrays>", json_body=None, content=nested.encode()
                )
        elif body is not None and content_type in (
            "multipart/form-data",
            "application/x-www-form-urlencoded",
        ):
            for key, value in body.items():
                if isinstance(value, str):
                    for hostile in HOSTILE_TEXT[:3]:  # a form carries UTF-8: no lone surrogate
                        changed = {**body, key: hostile}
                        if content_type == "multipart/form-data":
                            data, files = self.multipart(changed)
                            yield request(f"form {key}={hostile!r}", data=data, files=files)
                        else:
                            yield request(f"form {key}={hostile!r}", data=changed)
        if method in ("post", "put", "patch"):
            yield request(
                f"body=<{DEEP} nested arrays>",
                json_body=None,
                data=None,
                files=None,
                content=deep_array().encode(),
            )

    def body_of(self, operation: dict[str, Any]) -> tuple[dict[str, Any] | None, str]:
        content = operation.get("requestBody", {}).get("content", {})
        for content_type, media in content.items():
            return media.get("schema", {}), content_type
        return None, ""

    def multipart(self, body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        files = {
            k: ("walker.vtt", b"WEBVTT\n\n00:00.000 --> 00:01.000\nhi\n", "text/vtt")
            for k, v in body.items()
            if not isinstance(v, str) or k == "file"
        }
        data = {k: v for k, v in body.items() if k not in files}
        return data, files

    def path_example(self, name: str, value: Any) -> Any:
        return {"rendition": "640p", "provider": "sandbox", "code": "coins_500"}.get(name, value)

    def hostile_values(self, kind: str) -> list[Any]:
        if kind == "integer":
            return HOSTILE_IDS
        if kind in ("string", "enum"):
            return HOSTILE_TEXT
        return []


def put(body: Any, at: tuple[Any, ...], value: Any) -> Any:
    changed = copy.deepcopy(body)
    target = changed
    for step in at[:-1]:
        target = target[step]
    if at:
        target[at[-1]] = value
        return changed
    return value


def deep_array() -> str:
    return "[" * DEEP + "]" * DEEP


@pytest.fixture
def world(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> dict[str, int]:
    """A series with episodes, a brand's product placed in it: real ids the walk starts from."""
    placed = placed_campaign(client, db_factory, settings, brand_name="Luma")
    series = placed["series"]
    return {
        "series_id": series.id,
        "episode_id": series.episodes[0].id,
        "product_id": placed["product"]["id"],
        "variant_id": placed["product"]["variants"][0]["id"],
        "campaign_id": placed["campaign"]["id"],
        "placement_id": placed["placements"][0]["id"],
    }


def send(client: TestClient, case: Case, headers: dict[str, str]) -> Any:
    """Send a case the way the app's own pages and scripts do: JSON, or a form carrying the
    CSRF token minted for this browser's device cookie."""
    data = case.data
    if data and data.get("csrf_token") == CSRF_PLACEHOLDER:
        device = client.cookies.get(DEVICE_COOKIE) or ""
        secret = client.app.state.settings.secret_key  # type: ignore[attr-defined]
        data = {**data, "csrf_token": form_token(secret_key=secret, device_token=device)}
    return client.request(
        case.method.upper(),
        case.path,
        params=case.params or None,
        # json.dumps escapes a lone surrogate as JSON allows; httpx's encoder cannot send it.
        content=case.content if case.json_body is None else json.dumps(case.json_body).encode(),
        data=data,
        files=case.files,
        headers={
            **headers,
            "Idempotency-Key": uuid.uuid4().hex,
            **(
                {"Content-Type": "application/json"}
                if case.data is None and case.files is None
                else {}
            ),
        },
        follow_redirects=False,
    )


def test_no_hostile_input_gets_a_server_error_or_is_stored(
    app: FastAPI, world: dict[str, int], db_factory: sessionmaker[Session], settings: Settings
) -> None:
    """Every operation of the OpenAPI document (pages included), each parameter and body field
    in turn given an out-of-range id, a control character or 100,000 nested arrays, as a
    guest viewer (device cookie) and as an operator (bearer, admitted everywhere): no answer
    is a 5xx, and no text with a control character in a body is accepted (stored)."""
    document = full_document(app)
    walker = Walker(document, world)
    admin = admin_headers(db_factory, settings)
    failures: list[str] = []
    with (
        TestClient(app, raise_server_exceptions=False) as viewer,
        TestClient(app, raise_server_exceptions=False) as operator,
    ):
        for path, operations in document["paths"].items():
            for method, operation in operations.items():
                for case in walker.cases(path, method, operation):
                    for who, http, headers in (("viewer", viewer, {}), ("admin", operator, admin)):
                        if who == "admin" and "logout" in path:
                            continue  # the operator's token must last the whole walk
                        if who == "viewer" and path.startswith(ROLE_ONLY) and path not in FOR_ALL:
                            continue  # a viewer is turned away there before any input is read
                        answer = send(http, case, headers)
                        stored = case.what.startswith(("body", "form")) and any(
                            text in case.what for text in map(repr, HOSTILE_TEXT)
                        )
                        if answer.status_code >= 500 or (stored and answer.status_code < 300):
                            failures.append(
                                f"{case.method.upper()} {path} [{who}] {case.what}: "
                                f"{answer.status_code} {answer.text[:120]}"
                            )
    assert failures == [], "\n".join(failures)


# The probes of issue 11 that answered 500: each id past the end of SQLite's INTEGER (2^63)
# or of PostgreSQL's integer (2^31), at the route that crashed, and what it answers now.
HUGE_IDS = [2**31, 2**63 - 1, 2**63, 2**64]
PROBES: list[tuple[str, str, dict[str, Any] | None, int]] = [
    ("GET", "/api/series/{id}", None, 404),
    ("GET", "/api/episodes/{id}/access", None, 404),
    ("GET", "/api/episodes/{id}/hls/master.m3u8", None, 404),
    ("POST", "/api/episodes/{id}/unlock", {"method": "coins"}, 404),
    ("POST", "/api/placements/{id}/events", {"kind": "click", "event_id": "e1"}, 404),
    ("GET", "/api/studio/assets/{id}", None, 404),
    ("GET", "/api/orders/{id}", None, 404),
    ("PATCH", "/api/cart/items/{id}", {"quantity": 1}, 404),
    ("POST", "/api/cart/items", {"variant_id": "{id}"}, 422),
    ("POST", "/api/ads/sessions", {"episode_id": "{id}"}, 422),
]


@pytest.mark.parametrize("huge", HUGE_IDS)
@pytest.mark.parametrize(("method", "path", "body", "expected"), PROBES)
def test_an_id_past_its_column_is_not_found_or_refused_never_a_crash(
    client: TestClient,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    expected: int,
    huge: int,
) -> None:
    filled = {k: huge if v == "{id}" else v for k, v in body.items()} if body else None
    answer = client.request(
        method,
        path.format(id=huge),
        json=filled,
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )
    assert answer.status_code == expected, answer.text
    if expected == 404:
        assert answer.json()["error"] == "not_found"


@pytest.mark.parametrize(("before", "expected"), [(2**31, 200), (2**63, 422), (2**64, 422)])
def test_wallet_history_before_a_huge_id_is_empty_or_refused(
    client: TestClient, before: int, expected: int
) -> None:
    """Ledger transactions count in bigint: any id up to 2^63-1 is a place to page from."""
    answer = client.get(f"/api/wallet/history?before={before}")

    assert answer.status_code == expected, answer.text
    if expected == 200:
        assert answer.json()["items"] == []


def test_an_event_naming_a_huge_episode_is_rejected_alone(client: TestClient) -> None:
    now = datetime.now(UTC).isoformat()
    event = {"event_id": "e1", "kind": "start", "session_id": "s1", "occurred_at": now}
    batch = [{**event, "episode_id": 2**63}, {**event, "event_id": "e2", "episode_id": 2**31}]

    answer = client.post("/api/events", json={"events": batch})

    assert answer.status_code == 200, answer.text
    assert [r["index"] for r in answer.json()["rejected"]] == [0, 1]


def test_an_event_batch_nested_100000_deep_is_refused_with_a_clear_error(
    client: TestClient,
) -> None:
    body = '{"events": ' + deep_array() + "}"

    answer = client.post("/api/events", content=body, headers={"Content-Type": "application/json"})

    assert answer.status_code == 422, answer.text
    assert "nested too deeply" in answer.json()["message"]


def test_a_shipping_name_with_nul_is_refused_and_no_order_is_made(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    placed = placed_campaign(client, db_factory, settings, brand_name="Luma")
    variant_id = placed["product"]["variants"][0]["id"]
    added = client.post("/api/cart/items", json={"variant_id": variant_id})
    assert added.status_code == 201, added.text
    address = {
        "name": "Mia\u0000Chen",
        "line1": "12 Harbour Street",
        "city": "Portland",
        "postal_code": "97201",
        "country": "US",
    }

    answer = client.post(
        "/api/checkout",
        json={"shipping": address},
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )

    assert answer.status_code == 422, answer.text
    problem = answer.json()["problems"][0]
    assert problem["field"] == "shipping.name"
    assert "contains a control character (U+0000)" in problem["message"]
    assert client.get("/api/orders").json() == []


@pytest.mark.parametrize("title", ["Hoo\u0000die", "Hoo\u001b[2Jdie", "Hoo\u0085die"])
def test_a_product_title_with_a_control_character_is_refused(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings, title: str
) -> None:
    brand, _ = signed_in(db_factory, settings, role=Role.brand, name="Luma")
    body = {"title": title, "price_cents": 4_900, "sku": "HOODIE-1"}

    answer = client.post("/api/brand/products", json=body, headers=brand)

    assert answer.status_code == 422, answer.text
    assert "control character" in answer.json()["message"]
    assert client.get("/api/brand/products", headers=brand).json() == []


def test_a_synopsis_keeps_its_line_breaks_and_tabs(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    creator, _ = signed_in(db_factory, settings, role=Role.creator, name="Nova")
    synopsis = "She signs.\r\nHe lies.\n\tThen the wedding."

    created = client.post(
        "/api/studio/series",
        json={"title": "Contract Bride", "synopsis": synopsis},
        headers=creator,
    )

    assert created.status_code == 201, created.text
    assert created.json()["synopsis"] == synopsis


def test_a_cart_item_numbered_past_2_31_can_still_be_changed(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    """The tables that grow with traffic count in bigint: a cart item, order or ledger row
    past PostgreSQL's integer range is stored and found like any other."""
    placed = placed_campaign(client, db_factory, settings, brand_name="Luma")
    viewer_id = client.get("/api/me").json()["id"]
    item_id = 2**31 + 5
    with session_scope(db_factory) as db:
        db.add(
            CartItem(
                id=item_id,
                account_id=viewer_id,
                variant_id=placed["product"]["variants"][0]["id"],
                quantity=1,
            )
        )

    answer = client.patch(f"/api/cart/items/{item_id}", json={"quantity": 2})

    assert answer.status_code == 200, answer.text
    assert [(i["id"], i["quantity"]) for i in answer.json()["items"]] == [(item_id, 2)]


CONTROLS = st.characters(categories=["Cc"]).filter(lambda c: c not in "\t\n\r") | st.sampled_from(
    ["\ud800", "\udfff"]
)


@settings_for_hypothesis(max_examples=200, deadline=None)
@given(before=st.text(), control=CONTROLS, after=st.text())
def test_text_with_any_control_character_is_refused(before: str, control: str, after: str) -> None:
    for kind in (Line, Text):
        with pytest.raises(ValidationError, match="control character"):
            TypeAdapter(kind).validate_python(before + control + after)


@settings_for_hypothesis(max_examples=200, deadline=None)
@given(text=st.text(st.characters(exclude_categories=["Cc", "Cs"])))
def test_text_without_control_characters_is_kept_as_sent(text: str) -> None:
    assert TypeAdapter(Line).validate_python(text) == text
    assert TypeAdapter(Text).validate_python(text + "\n\tmore\r\n") == text + "\n\tmore\r\n"
