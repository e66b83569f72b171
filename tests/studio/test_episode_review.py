"""Once a series is published its new episodes and new videos are reviewed one by one: viewers
see a new episode, and a replacement video, only after an operator approves it; a refused one
comes back to the creator with the reason (real uploads, real transcodes)."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from microdrama.accounts.models import Role
from microdrama.catalog.models import Episode
from microdrama.config import Settings
from tests.support.accounts import Headers, signed_in
from tests.support.clips import cached_clip
from tests.support.media import RunJob
from tests.support.studio import new_series, open_studio, tus_create, tus_patch, tus_upload


def _published(client: TestClient, run_job: RunJob, admin: Headers) -> tuple[int, int]:
    """A creator's series with one transcoded episode, through review: (series, episode)."""
    open_studio(client)
    series_id = int(new_series(client)["id"])
    tus_upload(client, series_id, cached_clip(seconds=2, label="E1"))
    assert run_job()
    assert client.post(f"/api/studio/series/{series_id}/submit").status_code == 200
    approve = client.post(f"/api/admin/moderation/{series_id}/approve", json={}, headers=admin)
    assert approve.status_code == 200, approve.text
    episode_id = int(client.get(f"/api/studio/series/{series_id}").json()["episodes"][0]["id"])
    return series_id, episode_id


def _viewer_episodes(client: TestClient, series_id: int) -> list[int]:
    client.app.state.public_cache.clear()  # type: ignore[attr-defined]
    answer = TestClient(client.app).get(f"/api/series/{series_id}")
    return [e["id"] for e in answer.json()["episodes"]]


def _studio_episode(client: TestClient, series_id: int, number: int) -> dict[str, object]:
    episodes = client.get(f"/api/studio/series/{series_id}").json()["episodes"]
    return dict(next(e for e in episodes if e["number"] == number))


def _asset_dir(settings: Settings, factory: sessionmaker[Session], episode_id: int) -> Path:
    with factory() as db:
        episode = db.get(Episode, episode_id)
        assert episode is not None
        return settings.media_dir / "assets" / str(episode.media_asset_id)


def test_new_episodes_of_a_published_series_wait_for_an_operator(
    client: TestClient, run_job: RunJob, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    admin, _ = signed_in(db_factory, settings, role=Role.admin, name="Ops")
    series_id, first = _published(client, run_job, admin)
    for label in ("E2", "E3"):
        tus_upload(client, series_id, cached_clip(seconds=2, label=label))
        assert run_job()

    second = _studio_episode(client, series_id, 2)
    assert (second["state"], second["awaiting_review"]) == ("in_review", True)
    assert _viewer_episodes(client, series_id) == [first]
    hidden = TestClient(client.app).get(f"/api/episodes/{second['id']}/hls/master.m3u8")
    assert hidden.status_code == 404
    queue = client.get("/api/admin/moderation/episodes", headers=admin).json()
    assert [(i["number"], i["kind"]) for i in queue] == [(2, "new_episode"), (3, "new_episode")]
    assert client.get("/api/admin/moderation/episodes").status_code == 403  # the creator
    video = client.get(queue[0]["video_url"], headers=admin)
    assert video.status_code == 200 and video.content[4:8] == b"ftyp"  # the uploaded MP4

    out_of_order = client.post(
        f"/api/admin/moderation/episodes/{queue[1]['episode_id']}/approve", headers=admin
    )
    assert (out_of_order.status_code, out_of_order.json()["error"]) == (
        409, "earlier_episode_not_live",
    )  # fmt: skip
    assert "Episode 2 is not live yet" in out_of_order.json()["message"]

    approved = client.post(f"/api/admin/moderation/episodes/{second['id']}/approve", headers=admin)
    refused = client.post(
        f"/api/admin/moderation/episodes/{queue[1]['episode_id']}/reject",
        json={"reason": "The last scene shows a real phone number."},
        headers=admin,
    )

    assert approved.status_code == 200, approved.text
    assert refused.status_code == 200, refused.text
    assert _viewer_episodes(client, series_id) == [first, second["id"]]
    third = _studio_episode(client, series_id, 3)
    assert (third["state"], third["awaiting_review"], third["deletable"]) == (
        "rejected", False, True,
    )  # fmt: skip
    assert third["review_note"] == "The last scene shows a real phone number."
    assert client.get("/api/admin/moderation/episodes", headers=admin).json() == []
    again = client.post(f"/api/admin/moderation/episodes/{second['id']}/approve", headers=admin)
    assert (again.status_code, again.json()["error"]) == (409, "wrong_review_state")


def test_a_new_video_for_a_live_episode_plays_only_once_approved(
    client: TestClient, run_job: RunJob, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    admin, _ = signed_in(db_factory, settings, role=Role.admin, name="Ops")
    series_id, episode_id = _published(client, run_job, admin)
    old_files = _asset_dir(settings, db_factory, episode_id)

    def replace(label: str) -> None:
        clip = cached_clip(seconds=3, label=label, color="purple")
        url = tus_create(client, series_id, clip, replaces_episode_id=episode_id)
        assert tus_patch(client, url, 0, clip.read_bytes()).status_code == 204
        assert run_job()

    replace("NEW")
    waiting = _studio_episode(client, series_id, 1)
    assert (waiting["state"], waiting["awaiting_review"], waiting["replacing"]) == (
        "ready", True, False,
    )  # fmt: skip
    assert _asset_dir(settings, db_factory, episode_id) == old_files  # the old video plays
    queue = client.get("/api/admin/moderation/episodes", headers=admin).json()
    assert [(i["episode_id"], i["kind"]) for i in queue] == [(episode_id, "new_video")]
    with db_factory() as db:
        refused_asset = db.get(Episode, episode_id).replacement_asset_id  # type: ignore[union-attr]

    refused = client.post(
        f"/api/admin/moderation/episodes/{episode_id}/reject",
        json={"reason": "Too dark to see anything."},
        headers=admin,
    )

    assert refused.status_code == 200, refused.text
    after = _studio_episode(client, series_id, 1)
    assert (after["awaiting_review"], after["review_note"]) == (False, "Too dark to see anything.")
    assert _asset_dir(settings, db_factory, episode_id) == old_files
    assert not (settings.media_dir / "assets" / str(refused_asset)).exists()

    replace("NEWER")
    approved = client.post(f"/api/admin/moderation/episodes/{episode_id}/approve", headers=admin)

    assert approved.status_code == 200, approved.text
    live = _studio_episode(client, series_id, 1)
    assert (live["state"], live["awaiting_review"], live["review_note"]) == ("ready", False, None)
    assert live["duration_ms"] == 3_000
    assert _asset_dir(settings, db_factory, episode_id) != old_files
    assert not old_files.exists()  # the replaced video's files are gone
    assert _viewer_episodes(client, series_id) == [episode_id]
