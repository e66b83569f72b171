"""A real AI job through the real AI worker: started by the API, run in the worker's child
process with the packaged offline translator, followed to its end as a page follows it."""

from __future__ import annotations

import threading
import time

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from microdrama.ai.jobs import AIWorker
from microdrama.config import Settings
from tests.ai.test_translate import CUES, _episode_with_english


def test_a_translation_runs_in_the_ai_workers_child_process(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    creator, episode_id = _episode_with_english(client, db_factory, settings)
    base = f"/api/studio/episodes/{episode_id}/subtitles"
    started = client.post(
        f"{base}/en/translations", json={"target_language": "pt-BR"}, headers=creator
    )
    assert started.status_code == 202, started.text
    job_id = started.json()["id"]

    stop = threading.Event()
    worker = threading.Thread(
        target=AIWorker(sessions=db_factory, settings=settings).run,
        kwargs={"stop": stop, "poll_seconds": 0.1},
    )
    worker.start()
    try:
        deadline = time.monotonic() + 120
        while True:
            job = client.get(f"/api/studio/ai-jobs/{job_id}", headers=creator).json()
            if job["final"] or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    finally:
        stop.set()
        worker.join(30)

    assert job["state"] == "done", job
    assert job["result"]["cue_count"] == len(CUES)
    draft = client.get(f"{base}/pt-BR", headers=creator).json()
    assert draft["draft"] is True
    assert len(draft["cues"]) == len(CUES)
    assert all(cue["text"].strip() for cue in draft["cues"])
