"""Assets every page leans on come from the app itself: the API docs work with no network, the
favicon answers, and hls.js is preloaded only on the pages that play video."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.support.factories import make_series

HLS_PRELOAD = re.compile(
    r'<link rel="preload" href="/static/vendor/hls\.min\.js[^"]*" as="script">'
)


def _asset_urls(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]+)"', html) + re.findall(r"url: '([^']+)'", html)


def test_api_docs_load_only_local_assets_and_each_answers(client: TestClient) -> None:
    docs = client.get("/docs")

    assert docs.status_code == 200
    urls = _asset_urls(docs.text)
    assert any("swagger-ui-bundle.js" in url for url in urls)
    assert any("swagger-ui.css" in url for url in urls)
    for url in urls:
        assert url.startswith("/"), f"{url} needs the network"
        assert client.get(url).status_code == 200, url
    assert "http://" not in docs.text and "https://" not in docs.text


def test_the_favicon_answers_and_pages_point_at_it(client: TestClient, db: Session) -> None:
    make_series(db)
    db.commit()

    icon = client.get("/favicon.ico")

    assert icon.status_code == 200
    assert icon.headers["content-type"] == "image/x-icon"
    assert icon.content[:4] == b"\x00\x00\x01\x00"  # an ICO file's signature
    assert '<link rel="icon" href="/favicon.ico"' in client.get("/").text


def test_hls_is_preloaded_where_the_player_is_and_nowhere_else(
    client: TestClient, db: Session
) -> None:
    series = make_series(db)
    db.commit()

    assert HLS_PRELOAD.search(client.get("/").text)
    assert HLS_PRELOAD.search(client.get(f"/watch/{series.episodes[0].id}").text)
    for path in ["/wallet", "/signin", f"/series/{series.id}"]:
        page = client.get(path)
        assert page.status_code == 200, path
        assert not HLS_PRELOAD.search(page.text), path
