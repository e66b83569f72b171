"""One upload, two server processes: the offset lives in the database, so a client whose next
chunk lands on another process (behind a load balancer, or after a restart) continues there."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import httpx
from sqlalchemy.orm import Session, sessionmaker

from microdrama.accounts.models import Role
from microdrama.catalog.models import Series
from microdrama.config import Settings
from microdrama.db import session_scope
from tests.support.accounts import signed_in
from tests.support.clips import cached_clip
from tests.support.servers import running_servers, server_env
from tests.support.studio import TUS, tus_metadata

CHUNK = {"Content-Type": "application/offset+octet-stream", **TUS}


def test_an_upload_started_on_one_process_finishes_on_another(
    database_url: str, tmp_path: Path, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    creator, creator_id = signed_in(db_factory, settings, role=Role.creator, name="Nova")
    with session_scope(db_factory) as db:
        series = Series(title="Two Doors", owner_id=creator_id)
        db.add(series)
        db.flush()
        series_id = series.id
    clip = cached_clip(seconds=2, label="E1")
    data = clip.read_bytes()
    third = len(data) // 3
    env = server_env(database_url=database_url, data_dir=tmp_path / "data")

    with ExitStack() as stack:
        logs = [tmp_path / f"server{n}.log" for n in (1, 2)]
        first, second = stack.enter_context(running_servers(env, logs))
        with httpx.Client(base_url=first, headers=creator, timeout=60) as a:
            created = a.post(
                "/api/studio/uploads",
                headers={
                    **TUS,
                    "Upload-Length": str(len(data)),
                    "Upload-Metadata": tus_metadata(series_id=series_id, filename=clip.name),
                },
            )
            url = created.headers["location"]
            sent = a.patch(url, content=data[:third], headers={**CHUNK, "Upload-Offset": "0"})
            assert sent.status_code == 204
        with httpx.Client(base_url=second, headers=creator, timeout=60) as b:
            head = b.head(url, headers=TUS)
            assert head.headers["upload-offset"] == str(third)
            rest = b.patch(
                url, content=data[third:], headers={**CHUNK, "Upload-Offset": str(third)}
            )
            assert rest.status_code == 204, rest.text
            upload = b.get(url).json()
            studio = b.get(f"/api/studio/series/{series_id}").json()

    assert (upload["state"], upload["received_bytes"]) == ("done", len(data))
    assert [(e["id"], e["number"]) for e in studio["episodes"]] == [(upload["episode_id"], 1)]
