"""Subtitles: WebVTT or SRT per episode and language, cues edited as JSON, served to players."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from microdrama.accounts import service as accounts
from microdrama.accounts.models import Role
from microdrama.catalog.models import Series
from microdrama.config import Settings
from microdrama.db import session_scope
from tests.support.accounts import signed_in
from tests.support.factories import make_series

VTT = b"""WEBVTT

00:00:01.000 --> 00:00:03.500
I never agreed to this marriage.

00:00:04.000 --> 00:00:06.000
<i>Then why are you wearing the ring?</i>
"""

SRT = b"""1
00:00:00,500 --> 00:00:02,000
Who sent you?

2
00:00:02,500 --> 00:00:04,250
Your father.
Read the letter.
"""

Headers = dict[str, str]


def _creator_with_draft(
    factory: sessionmaker[Session], settings: Settings
) -> tuple[Headers, Series]:
    headers, creator_id = signed_in(factory, settings, role=Role.creator, name="Studio Nova")
    with session_scope(factory) as db:
        owner = accounts.get(db=db, account_id=creator_id)
        series = make_series(db, owner=owner, published=False, episodes=2)
        series.episodes  # noqa: B018
    return headers, series


def test_creator_uploads_webvtt_and_srt_and_the_player_lists_the_tracks(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    creator, series = _creator_with_draft(db_factory, settings)
    episode_id = series.episodes[0].id
    base = f"/api/studio/episodes/{episode_id}/subtitles"

    english = client.post(
        f"{base}/en", files={"file": ("ep1.vtt", VTT, "text/vtt")}, data={"label": "English"},
        headers=creator,
    )  # fmt: skip
    assert english.status_code == 201, english.text
    assert english.json()["cues"] == [
        {"start_ms": 1000, "end_ms": 3500, "text": "I never agreed to this marriage."},
        {"start_ms": 4000, "end_ms": 6000, "text": "<i>Then why are you wearing the ring?</i>"},
    ]
    spanish = client.post(
        f"{base}/es", files={"file": ("ep1.srt", SRT, "application/x-subrip")}, headers=creator
    )
    assert spanish.status_code == 201, spanish.text
    assert [c["text"] for c in spanish.json()["cues"]] == [
        "Who sent you?",
        "Your father.\nRead the letter.",
    ]

    # The stored file is WebVTT, served from media storage.
    converted = client.get(spanish.json()["url"])
    assert converted.status_code == 200
    assert converted.headers["content-type"].startswith("text/vtt")
    assert converted.text.startswith("WEBVTT")
    assert "00:00:02.500 --> 00:00:04.250\nYour father.\nRead the letter." in converted.text

    listed = client.get(f"/api/episodes/{episode_id}/subtitles", headers=creator).json()
    assert [(t["language"], t["label"], t["cue_count"]) for t in listed] == [
        ("en", "English", 2),
        ("es", "es", 2),
    ]
    # Unpublished: nobody else sees the episode or its tracks.
    assert client.get(f"/api/episodes/{episode_id}/subtitles").status_code == 404


def test_cues_are_edited_as_json_and_each_save_is_a_new_file(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    creator, series = _creator_with_draft(db_factory, settings)
    base = f"/api/studio/episodes/{series.episodes[1].id}/subtitles"
    created = client.put(
        f"{base}/pt-BR",
        json={"label": "Português", "cues": [
            {"start_ms": 2000, "end_ms": 3000, "text": "Segunda"},
            {"start_ms": 0, "end_ms": 1500, "text": "Primeira"},
        ]},
        headers=creator,
    )  # fmt: skip
    assert created.status_code == 200, created.text
    assert [c["text"] for c in created.json()["cues"]] == ["Primeira", "Segunda"]
    first_url = created.json()["url"]

    cues = client.get(f"{base}/pt-BR", headers=creator).json()["cues"]
    cues[0]["text"] = "Primeira fala"
    cues.append({"start_ms": 3500, "end_ms": 5000, "text": "Terceira"})
    del cues[1]
    saved = client.put(f"{base}/pt-BR", json={"cues": cues}, headers=creator)
    assert [c["text"] for c in saved.json()["cues"]] == ["Primeira fala", "Terceira"]
    assert saved.json()["label"] == "Português"
    assert saved.json()["url"] != first_url
    assert "Primeira fala" in client.get(saved.json()["url"]).text
    assert client.get(first_url).status_code == 200  # a player may still be reading it
    third = client.put(f"{base}/pt-BR", json={"cues": cues}, headers=creator).json()
    assert client.get(first_url).status_code == 404  # two saves back: deleted
    assert client.get(saved.json()["url"]).status_code == 200
    assert re.search(r"/pt-BR-r3-[0-9a-f]{16}\.vtt$", third["url"]), third["url"]

    for bad, problem in (
        ({"cues": [{"start_ms": 2000, "end_ms": 1000, "text": "x"}]}, "must end after it starts"),
        ({"cues": [{"start_ms": 0, "end_ms": 1000, "text": "a --> b"}]}, "-->"),
        ({"cues": [{"start_ms": 0, "end_ms": 1000, "text": ""}]}, "Cue 1: Text can't be empty."),
        ({"cues": [{"start_ms": -5, "end_ms": 1000, "text": "x"}]}, "Cue 1: Start can't be"),
    ):
        refused = client.put(f"{base}/pt-BR", json=bad, headers=creator)
        assert refused.status_code == 422, bad
        assert problem in refused.json()["message"], refused.json()
    assert (
        client.put(f"{base}/Not A Language", json={"cues": []}, headers=creator).status_code == 422
    )
    assert len(client.get(f"{base}/pt-BR", headers=creator).json()["cues"]) == 2

    assert client.delete(f"{base}/pt-BR", headers=creator).status_code == 204
    missing = client.get(f"{base}/pt-BR", headers=creator)
    assert (missing.status_code, missing.json()["error"]) == (404, "subtitle_track_not_found")


def test_invalid_files_are_refused_with_the_line_and_the_reason(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    creator, series = _creator_with_draft(db_factory, settings)
    url = f"/api/studio/episodes/{series.episodes[0].id}/subtitles/en"
    cases = [
        ("a.vtt", b"00:00:01.000 --> 00:00:02.000\nHi\n", 1, "starts with WEBVTT"),
        ("a.vtt", b"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nHi\n\n00:00:05 --> soon\nBye\n", 6,
         "not valid"),
        ("a.srt", b"1\n00:00:01,000 --> 00:00:02,000\nHi\n\nstray words\n", 5,
         "without cue timings"),
        ("a.srt", b"1\n00:00:03,000 --> 00:00:02,000\nHi\n", 2, "ends before it starts"),
    ]  # fmt: skip
    for name, data, line, reason in cases:
        answer = client.post(url, files={"file": (name, data)}, headers=creator)
        assert answer.status_code == 422, (name, data)
        body = answer.json()
        assert (body["error"], body["line"]) == ("invalid_subtitles", line), body
        assert reason in body["message"] and f"Line {line}" in body["message"]
    for data, reason in ((b"", "empty"), (b"\xff\xfe\x00bad", "UTF-8"), (b"WEBVTT\n", "no cues")):
        answer = client.post(url, files={"file": ("a.vtt", data)}, headers=creator)
        assert answer.status_code == 422 and reason in answer.json()["message"]
    too_big = b"WEBVTT\n\n" + b"00:00:01.000 --> 00:00:02.000\n" + b"x" * (1024 * 1024)
    assert client.post(url, files={"file": ("a.vtt", too_big)}, headers=creator).status_code == 413
    assert client.get(url, headers=creator).status_code == 404  # nothing was stored


def test_only_the_series_creator_edits_subtitles(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    creator, series = _creator_with_draft(db_factory, settings)
    episode_id = series.episodes[0].id
    base = f"/api/studio/episodes/{episode_id}/subtitles"
    client.post(f"{base}/en", files={"file": ("a.vtt", VTT)}, headers=creator)
    other, _ = signed_in(db_factory, settings, role=Role.creator, name="Other Studio")
    viewer, _ = signed_in(db_factory, settings, role=Role.viewer, name="Fan")
    for method, url in (
        ("GET", base),
        ("GET", f"{base}/en"),
        ("PUT", f"{base}/en"),
        ("DELETE", f"{base}/en"),
    ):
        body = {"cues": []} if method == "PUT" else None
        answer = client.request(method, url, json=body, headers=other)
        assert answer.status_code == 404, (method, url)
        assert client.request(method, url, json=body, headers=viewer).status_code == 403
    assert (
        client.post(f"{base}/en", files={"file": ("a.vtt", VTT)}, headers=other).status_code == 404
    )
    assert client.get(f"/studio/episodes/{episode_id}/subtitles", headers=other).status_code == 404
    page = client.get(f"/studio/episodes/{episode_id}/subtitles", headers=creator)
    assert page.status_code == 200 and 'data-testid="subtitle-editor"' in page.text
    assert len(client.get(f"{base}/en", headers=creator).json()["cues"]) == 2


def test_a_locked_episodes_subtitles_are_as_protected_as_its_video(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    creator, creator_id = signed_in(db_factory, settings, role=Role.creator, name="Studio Nova")
    with session_scope(db_factory) as db:
        owner = accounts.get(db=db, account_id=creator_id)
        series = make_series(db, owner=owner, episodes=2, free_episodes=1)
        free_id, locked_id = (e.id for e in series.episodes)
    for episode_id in (free_id, locked_id):
        client.post(
            f"/api/studio/episodes/{episode_id}/subtitles/en",
            files={"file": ("a.vtt", VTT)},
            headers=creator,
        )
    viewer, _ = signed_in(db_factory, settings, role=Role.viewer, name="Fan")
    assert len(client.get(f"/api/episodes/{free_id}/subtitles", headers=viewer).json()) == 1
    locked = client.get(f"/api/episodes/{locked_id}/subtitles", headers=viewer)
    assert (locked.status_code, locked.json()["error"]) == (403, "episode_locked")
    assert locked.json()["price_coins"] == series.episode_price_coins
    assert client.get(f"/api/episodes/{locked_id}/subtitles").status_code == 403
    assert len(client.get(f"/api/episodes/{locked_id}/subtitles", headers=creator).json()) == 1
