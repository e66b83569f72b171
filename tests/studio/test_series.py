"""A creator shapes a series in the studio: details, prices, poster, episode order."""

from __future__ import annotations

import io
from datetime import timedelta

from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy.orm import Session, sessionmaker

from microdrama import housekeeping
from microdrama.accounts import service as accounts
from microdrama.accounts.models import Role
from microdrama.config import Settings
from microdrama.db import session_scope, utcnow
from microdrama.studio.models import Upload
from tests.support.accounts import signed_in
from tests.support.factories import make_series
from tests.support.studio import TUS, new_series, open_studio, tus_metadata


def _own_series(factory: sessionmaker[Session], owner_id: int, **kwargs: object) -> int:
    """A draft series with ready episodes (no real video), owned by this account."""
    with session_scope(factory) as db:
        owner = accounts.get(db=db, account_id=owner_id)
        series = make_series(db, owner=owner, published=False, **kwargs)  # type: ignore[arg-type]
        return series.id


def test_a_creator_creates_a_series_and_edits_its_details(client: TestClient) -> None:
    open_studio(client)
    created = new_series(
        client,
        synopsis="A contract marriage at midnight.",
        genre="romance",
        tags=["ceo", "revenge"],
        language="es",
        content_warnings=["violence"],
        free_episodes=3,
        episode_price_coins=80,
    )
    assert created["status"] == "draft"
    assert created["episodes"] == []

    edited = client.patch(
        f"/api/studio/series/{created['id']}",
        json={"title": "Midnight Contract II", "tags": ["ceo"], "free_episodes": 2},
    )

    assert edited.status_code == 200, edited.text
    body = edited.json()
    assert (body["title"], body["tags"], body["free_episodes"]) == (
        "Midnight Contract II",
        ["ceo"],
        2,
    )
    assert (body["genre"], body["language"], body["content_warnings"]) == (
        "romance",
        "es",
        ["violence"],
    )
    listed = client.get("/api/studio/series").json()
    assert [s["title"] for s in listed] == ["Midnight Contract II"]


def test_viewers_get_403_and_guests_must_sign_in(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    viewer, _ = signed_in(db_factory, settings, role=Role.viewer, name="Vera")

    refused = client.post("/api/studio/series", json={"title": "Nope"}, headers=viewer)
    assert refused.status_code == 403
    assert refused.json()["error"] == "forbidden"
    assert client.get("/api/studio/series", headers=viewer).status_code == 403

    guest = TestClient(client.app)
    assert guest.post("/api/studio/series", json={"title": "Nope"}).status_code == 401
    assert guest.post("/api/studio/join").status_code == 401


def test_another_creators_series_is_not_found(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    open_studio(client)
    series_id = new_series(client)["id"]
    rival, _ = signed_in(db_factory, settings, role=Role.creator, name="Rival")

    for method, url, body in [
        ("GET", f"/api/studio/series/{series_id}", None),
        ("PATCH", f"/api/studio/series/{series_id}", {"title": "Mine now"}),
        ("POST", f"/api/studio/series/{series_id}/submit", None),
        ("PUT", f"/api/studio/series/{series_id}/episodes/order", {"episode_ids": [1]}),
    ]:
        answer = client.request(method, url, json=body, headers=rival)
        assert answer.status_code == 404, (method, url, answer.text)
    assert client.get(f"/api/studio/series/{series_id}").json()["title"] == "Midnight Contract"


def test_a_cap_price_above_the_paid_episodes_is_refused_with_the_ceiling(
    client: TestClient, db_factory: sessionmaker[Session]
) -> None:
    me = open_studio(client)
    series_id = _own_series(db_factory, me["id"], episodes=5, free_episodes=2)
    url = f"/api/studio/series/{series_id}"
    client.patch(url, json={"episode_price_coins": 60})

    too_much = client.patch(url, json={"series_cap_price_coins": 181})

    assert too_much.status_code == 422
    body = too_much.json()
    assert body["error"] == "invalid_prices"
    assert body["max_cap_price_coins"] == 180  # 3 paid episodes x 60 coins
    assert "180" in body["message"]
    fine = client.patch(url, json={"series_cap_price_coins": 150})
    assert fine.json()["series_cap_price_coins"] == 150
    # Making more episodes free lowers the ceiling below the cap: refused, nothing changes.
    assert client.patch(url, json={"free_episodes": 4}).status_code == 422
    assert client.get(url).json()["free_episodes"] == 2
    back_to_default = client.patch(url, json={"series_cap_price_coins": None})
    assert back_to_default.json()["series_cap_price_coins"] is None


def test_bad_fields_get_clear_errors(client: TestClient) -> None:
    open_studio(client)
    series_id = new_series(client)["id"]

    answer = client.patch(
        f"/api/studio/series/{series_id}", json={"episode_price_coins": -1, "mood": "x"}
    )
    assert answer.status_code == 422
    fields = {p["field"] for p in answer.json()["problems"]}
    assert {"episode_price_coins", "mood"} <= fields
    empty_title = client.patch(f"/api/studio/series/{series_id}", json={"title": None})
    assert empty_title.status_code == 422


def _image(width: int, height: int, fmt: str = "PNG") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 40, 90)).save(out, format=fmt)
    return out.getvalue()


def test_a_poster_is_resized_to_9_16_with_a_thumbnail(client: TestClient) -> None:
    open_studio(client)
    series_id = new_series(client)["id"]

    answer = client.post(
        f"/api/studio/series/{series_id}/poster",
        files={"file": ("poster.png", _image(1200, 1200), "image/png")},
    )

    assert answer.status_code == 200, answer.text
    body = answer.json()
    poster = client.get(body["poster_url"])
    thumb = client.get(body["poster_thumb_url"])
    assert poster.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(poster.content)).size == (720, 1280)
    assert Image.open(io.BytesIO(thumb.content)).size == (180, 320)


def test_a_file_that_is_not_an_image_is_refused_as_a_poster(client: TestClient) -> None:
    open_studio(client)
    series_id = new_series(client)["id"]

    for name, data in [("notes.png", b"these are my notes"), ("cut.png", _image(900, 1600)[:200])]:
        answer = client.post(
            f"/api/studio/series/{series_id}/poster", files={"file": (name, data, "image/png")}
        )
        assert answer.status_code == 422, answer.text
        assert answer.json()["error"] == "invalid_image"
    assert client.get(f"/api/studio/series/{series_id}").json()["poster_url"] is None


def test_reordering_keeps_episode_numbers_contiguous(
    client: TestClient, db_factory: sessionmaker[Session]
) -> None:
    me = open_studio(client)
    series_id = _own_series(db_factory, me["id"], episodes=4)
    url = f"/api/studio/series/{series_id}"
    ids = [e["id"] for e in client.get(url).json()["episodes"]]

    reordered = client.put(f"{url}/episodes/order", json={"episode_ids": ids[::-1]})

    assert reordered.status_code == 200, reordered.text
    episodes = reordered.json()["episodes"]
    assert [e["id"] for e in episodes] == ids[::-1]
    assert [e["number"] for e in episodes] == [1, 2, 3, 4]
    missing = client.put(f"{url}/episodes/order", json={"episode_ids": ids[:3]})
    twice = client.put(f"{url}/episodes/order", json={"episode_ids": [ids[0], *ids[:3]]})
    assert missing.status_code == twice.status_code == 409
    assert [e["id"] for e in client.get(url).json()["episodes"]] == ids[::-1]


def test_deleting_a_draft_episode_closes_the_gap(
    client: TestClient, db_factory: sessionmaker[Session]
) -> None:
    me = open_studio(client)
    series_id = _own_series(db_factory, me["id"], episodes=3)
    url = f"/api/studio/series/{series_id}"
    ids = [e["id"] for e in client.get(url).json()["episodes"]]

    answer = client.delete(f"{url}/episodes/{ids[1]}")

    assert answer.status_code == 200, answer.text
    episodes = answer.json()["episodes"]
    assert [(e["id"], e["number"]) for e in episodes] == [(ids[0], 1), (ids[2], 2)]
    assert client.delete(f"{url}/episodes/{ids[1]}").status_code == 404


def test_a_ready_episode_of_a_published_series_cannot_be_deleted(
    client: TestClient, db_factory: sessionmaker[Session]
) -> None:
    me = open_studio(client)
    with session_scope(db_factory) as db:
        owner = accounts.get(db=db, account_id=me["id"])
        series = make_series(db, owner=owner, episodes=2, published=True)
        series_id, first_id = series.id, series.episodes[0].id

    answer = client.delete(f"/api/studio/series/{series_id}/episodes/{first_id}")

    assert answer.status_code == 409
    assert answer.json()["error"] == "episode_not_deletable"
    assert len(client.get(f"/api/studio/series/{series_id}").json()["episodes"]) == 2


def test_the_studio_pages_guide_a_new_creator(client: TestClient) -> None:
    guest = client.get("/studio", follow_redirects=False)
    assert guest.status_code == 303
    assert guest.headers["location"] == "/signin?next=/studio"
    client.post("/api/auth/signup", json={"email": "v@example.com", "password": "long password"})
    assert "Become a creator" in client.get("/studio").text
    client.post("/api/studio/join")
    series_id = new_series(client, title="Page Turner")["id"]

    home = client.get("/studio").text
    assert "Page Turner" in home and "draft" in home
    page = client.get(f"/studio/series/{series_id}")
    assert page.status_code == 200
    assert f"/studio/series/{series_id}/analytics" in page.text
    assert client.get("/studio/series/999999").status_code == 404


def test_stale_unfinished_uploads_are_purged_by_housekeeping(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    open_studio(client)
    series_id = new_series(client)["id"]
    created = client.post(
        "/api/studio/uploads",
        headers={
            **TUS,
            "Upload-Length": "100",
            "Upload-Metadata": tus_metadata(series_id=series_id),
        },
    )
    upload_id = created.headers["location"].rsplit("/", 1)[1]
    with session_scope(db_factory) as db:
        upload = db.get(Upload, upload_id)
        assert upload is not None
        upload.updated_at = utcnow() - timedelta(days=4)

    chores = housekeeping.run_once(factory=db_factory, settings=settings)

    assert chores.stale_uploads_deleted == 1
    assert not (settings.data_dir / "uploads" / upload_id).exists()


def test_a_poster_request_without_a_file_is_a_clear_error(client: TestClient) -> None:
    open_studio(client)
    series_id = new_series(client)["id"]

    answer = client.post(f"/api/studio/series/{series_id}/poster", data={"title": "x"})

    assert answer.status_code == 422
    assert "`file`" in answer.json()["message"]


def test_a_series_without_its_own_poster_shows_its_first_episodes_frame_in_the_studio(
    client: TestClient, db_factory: sessionmaker[Session]
) -> None:
    me = open_studio(client)
    series_id = _own_series(db_factory, me["id"], episodes=2)

    shown = client.get(f"/api/studio/series/{series_id}").json()

    assert shown["poster_url"] is None  # no poster uploaded: the list shows the first frame
    assert shown["poster_thumb_url"] is not None
    assert shown["poster_thumb_url"].endswith("e1/poster.jpg")
