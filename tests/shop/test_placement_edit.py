"""Editing and deleting placements: brands and creators move them on the timeline; nobody else."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from microdrama.accounts.models import Role
from microdrama.catalog.models import Series
from microdrama.config import Settings
from tests.support.accounts import Headers, signed_in
from tests.support.shop import creator_with_series, list_product, request_campaign


def _placed(
    client: TestClient, brand: Headers, creator: Headers, series: Series
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """A product placed from 5 s to 12 s of episode 1 of an accepted campaign."""
    product = list_product(client, brand)
    campaign = request_campaign(client, brand, series.id)
    client.post(f"/api/studio/campaigns/{campaign['id']}/accept", headers=creator)
    placed = client.post(
        f"/api/brand/campaigns/{campaign['id']}/placements",
        json={
            "episode_id": series.episodes[0].id,
            "product_id": product["id"],
            "start_ms": 5_000,
            "end_ms": 12_000,
        },
        headers=brand,
    )
    assert placed.status_code == 201, placed.text
    return product, campaign, placed.json()


def test_a_brand_moves_its_placement_and_the_player_shows_the_new_times(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    brand, _ = signed_in(db_factory, settings, role=Role.brand, name="Maison")
    creator, series = creator_with_series(db_factory, settings)
    _, _, placement = _placed(client, brand, creator, series)
    player_url = f"/api/episodes/{series.episodes[0].id}/placements"
    assert [p["start_ms"] for p in client.get(player_url).json()] == [5_000]  # now cached

    moved = client.patch(
        f"/api/brand/placements/{placement['id']}",
        json={"start_ms": 20_000, "end_ms": 27_500, "x_permille": 120, "y_permille": 880},
        headers=brand,
    )

    assert moved.status_code == 200, moved.text
    body = moved.json()
    assert (body["start_ms"], body["end_ms"], body["x_permille"], body["y_permille"]) == (
        20_000,
        27_500,
        120,
        880,
    )
    shown = client.get(player_url).json()  # at once, not after the cache's 2 s
    assert [(p["id"], p["start_ms"], p["end_ms"]) for p in shown] == [
        (placement["id"], 20_000, 27_500)
    ]


def test_a_creator_moves_a_placement_to_another_episode_of_their_series(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    brand, _ = signed_in(db_factory, settings, role=Role.brand, name="Maison")
    creator, series = creator_with_series(db_factory, settings)
    _, _, placement = _placed(client, brand, creator, series)

    moved = client.patch(
        f"/api/studio/placements/{placement['id']}",
        json={"episode_id": series.episodes[1].id},
        headers=creator,
    )

    assert moved.status_code == 200, moved.text
    assert (moved.json()["episode_id"], moved.json()["start_ms"]) == (series.episodes[1].id, 5_000)
    assert client.get(f"/api/episodes/{series.episodes[0].id}/placements").json() == []


def test_an_edit_is_checked_like_a_new_placement(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    brand, _ = signed_in(db_factory, settings, role=Role.brand, name="Maison")
    rival, _ = signed_in(db_factory, settings, role=Role.brand, name="Rival")
    creator, series = creator_with_series(db_factory, settings, duration_ms=60_000)
    _, _, placement = _placed(client, brand, creator, series)
    _, other_series = creator_with_series(db_factory, settings)
    rivals_product = list_product(client, rival)
    url = f"/api/brand/placements/{placement['id']}"

    def refused(body: dict[str, Any]) -> tuple[int, str, str | None]:
        answer = client.patch(url, json=body, headers=brand)
        data = answer.json()
        problem = data.get("field") or (data.get("problems") or [{}])[0].get("field")
        return answer.status_code, data["error"], problem

    assert refused({"end_ms": 61_000}) == (422, "invalid_placement", "end_ms")
    assert refused({"start_ms": 12_000}) == (422, "invalid_placement", "end_ms")
    assert refused({"start_ms": 9_000, "end_ms": 8_000}) == (422, "invalid_request", "end_ms")
    assert refused({"x_permille": 1001}) == (422, "invalid_request", "x_permille")
    assert refused({"episode_id": other_series.episodes[0].id}) == (
        422,
        "invalid_placement",
        "episode_id",
    )
    assert refused({"product_id": rivals_product["id"]}) == (
        422,
        "invalid_placement",
        "product_id",
    )
    assert refused({"campaign_id": 1}) == (422, "invalid_request", "campaign_id")
    unchanged = client.get(
        f"/api/brand/campaigns/{placement['campaign_id']}/placements", headers=brand
    ).json()
    assert [(p["start_ms"], p["end_ms"], p["x_permille"]) for p in unchanged] == [
        (5_000, 12_000, 500)
    ]


def test_an_end_before_the_start_is_refused_in_plain_words_never_swapped(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    brand, _ = signed_in(db_factory, settings, role=Role.brand, name="Maison")
    creator, series = creator_with_series(db_factory, settings, duration_ms=60_000)
    product, campaign, placement = _placed(client, brand, creator, series)
    backwards = {"start_ms": 20_000, "end_ms": 8_000}

    for answer in [
        client.patch(f"/api/studio/placements/{placement['id']}", json=backwards, headers=creator),
        client.post(
            f"/api/brand/campaigns/{campaign['id']}/placements",
            json={"episode_id": series.episodes[0].id, "product_id": product["id"], **backwards},
            headers=brand,
        ),
    ]:
        assert answer.status_code == 422
        assert answer.json()["message"] == "End must be after the start."

    stored = client.get(f"/api/brand/campaigns/{campaign['id']}/placements", headers=brand)
    assert [(p["start_ms"], p["end_ms"]) for p in stored.json()] == [(5_000, 12_000)]


def test_deleting_a_placement_hides_it_but_keeps_its_numbers_in_the_funnel(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    brand, _ = signed_in(db_factory, settings, role=Role.brand, name="Maison")
    creator, series = creator_with_series(db_factory, settings)
    _, campaign, placement = _placed(client, brand, creator, series)
    event = {"kind": "impression", "event_id": "e-1"}
    assert client.post(f"/api/placements/{placement['id']}/events", json=event).status_code == 204
    assert len(client.get(f"/api/episodes/{series.episodes[0].id}/placements").json()) == 1

    deleted = client.delete(f"/api/brand/placements/{placement['id']}", headers=brand)

    assert deleted.status_code == 204
    assert client.get(f"/api/episodes/{series.episodes[0].id}/placements").json() == []
    listed = client.get(f"/api/brand/campaigns/{campaign['id']}/placements", headers=brand)
    assert listed.json() == []
    funnel = client.get(f"/api/brand/placements/{placement['id']}/funnel", headers=brand).json()
    assert funnel["impressions"] == 1
    again = client.delete(f"/api/brand/placements/{placement['id']}", headers=brand)
    assert again.status_code == 404
    edit = client.patch(
        f"/api/brand/placements/{placement['id']}", json={"start_ms": 0}, headers=brand
    )
    assert edit.status_code == 404


def test_a_seen_placement_keeps_its_product_but_may_be_retimed(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    brand, _ = signed_in(db_factory, settings, role=Role.brand, name="Maison")
    creator, series = creator_with_series(db_factory, settings)
    _, _, placement = _placed(client, brand, creator, series)
    other = list_product(client, brand, sku="SCARF-1", variants=[])
    client.post(
        f"/api/placements/{placement['id']}/events", json={"kind": "click", "event_id": "c-1"}
    )
    url = f"/api/brand/placements/{placement['id']}"

    swap = client.patch(url, json={"product_id": other["id"]}, headers=brand)
    retime = client.patch(url, json={"end_ms": 15_000}, headers=brand)

    assert (swap.status_code, swap.json()["error"]) == (409, "placement_has_activity")
    assert (retime.status_code, retime.json()["end_ms"]) == (200, 15_000)


def test_only_the_campaigns_brand_and_the_series_creator_may_edit_or_delete(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    brand, _ = signed_in(db_factory, settings, role=Role.brand, name="Maison")
    rival, _ = signed_in(db_factory, settings, role=Role.brand, name="Rival")
    viewer, _ = signed_in(db_factory, settings, role=Role.viewer, name="Viewer")
    creator, series = creator_with_series(db_factory, settings)
    other_creator, _ = creator_with_series(db_factory, settings)
    _, _, placement = _placed(client, brand, creator, series)
    brand_url = f"/api/brand/placements/{placement['id']}"
    studio_url = f"/api/studio/placements/{placement['id']}"
    move = {"start_ms": 0}

    assert client.patch(brand_url, json=move, headers=rival).status_code == 404
    assert client.delete(brand_url, headers=rival).status_code == 404
    assert client.patch(studio_url, json=move, headers=other_creator).status_code == 404
    assert client.delete(studio_url, headers=other_creator).status_code == 404
    for url in (brand_url, studio_url):
        assert client.patch(url, json=move, headers=viewer).status_code == 403
        assert client.delete(url, headers=viewer).status_code == 403
        assert client.delete(url).status_code in (401, 403)
    assert client.patch(brand_url, json=move, headers=brand).status_code == 200
    assert client.delete(studio_url, headers=creator).status_code == 204
