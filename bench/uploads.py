"""Resumable (tus) episode uploads against the one-shot multipart upload of the same file.

    .venv/bin/python bench/uploads.py [--seconds 6] [--rounds 3] [--chunk-mib 8]

Renders a large lossless 1080x1920 H.264 source with ffmpeg (tens of MiB in a few seconds),
then uploads it to one uvicorn process as a new episode, alternately:

  one-shot  POST /api/studio/series/{id}/episodes, one streamed multipart body (the baseline)
  tus       POST /api/studio/uploads, then PATCH chunks of --chunk-mib MiB until done

Both end in the same ingest (ffprobe, copy into storage, episode row, transcode job), so the
ratio is what resumability costs: the chunk round trips and the per-chunk offset bookkeeping
in the database. The median of --rounds runs each; MiB/s counts the file's bytes.
"""

from __future__ import annotations

import argparse
import base64
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
from common import app_env, emit_json, free_port, migrated_sqlite, running, uvicorn_command

MIB = 1024 * 1024


def render_large_source(path: Path, seconds: float) -> Path:
    """A lossless (qp 0) test pattern: big files without waiting for a slow encode."""
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", f"testsrc2=size=1080x1920:rate=30:duration={seconds}",
         "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
         "-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", "-pix_fmt", "yuv420p",
         "-c:a", "aac", "-shortest", str(path)],
        check=True,
    )  # fmt: skip
    return path


def creator_with_series(database_url: str) -> tuple[str, int]:
    """A creator's bearer token and a draft series of theirs."""
    from microdrama.accounts import service as accounts
    from microdrama.accounts.models import Role, SessionKind
    from microdrama.catalog.models import Series
    from microdrama.config import Settings
    from microdrama.db import make_engine, make_sessionmaker, session_scope

    engine = make_engine(database_url)
    with session_scope(make_sessionmaker(engine)) as db:
        creator = accounts.create_account(db=db, display_name="Bench", role=Role.creator)
        token, _ = accounts.start_session(
            db=db, settings=Settings(), account=creator, kind=SessionKind.bearer
        )
        series = Series(title="Bench", owner_id=creator.id)
        db.add(series)
        db.flush()
        series_id = series.id
    engine.dispose()
    return token, series_id


def one_shot(client: httpx.Client, series_id: int, source: Path) -> float:
    start = time.perf_counter()
    with source.open("rb") as file:
        answer = client.post(
            f"/api/studio/series/{series_id}/episodes",
            files={"file": (source.name, file, "video/mp4")},
        )
    elapsed = time.perf_counter() - start
    answer.raise_for_status()
    return elapsed


def tus(client: httpx.Client, series_id: int, source: Path, chunk_bytes: int) -> float:
    size = source.stat().st_size
    meta = ",".join(
        f"{k} {base64.b64encode(v.encode()).decode()}"
        for k, v in {"series_id": str(series_id), "filename": source.name}.items()
    )
    start = time.perf_counter()
    created = client.post(
        "/api/studio/uploads",
        headers={"Tus-Resumable": "1.0.0", "Upload-Length": str(size), "Upload-Metadata": meta},
    )
    created.raise_for_status()
    url = created.headers["location"]
    offset = 0
    with source.open("rb") as file:
        while offset < size:
            file.seek(offset)
            answer = client.patch(
                url,
                content=file.read(chunk_bytes),
                headers={
                    "Tus-Resumable": "1.0.0",
                    "Upload-Offset": str(offset),
                    "Content-Type": "application/offset+octet-stream",
                },
            )
            answer.raise_for_status()
            offset = int(answer.headers["upload-offset"])
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--chunk-mib", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="microdrama-bench-uploads-") as tmp:
        data_dir = Path(tmp) / "data"
        database_url = migrated_sqlite(data_dir)
        source = render_large_source(Path(tmp) / "source.mp4", args.seconds)
        size_mib = source.stat().st_size / MIB
        token, series_id = creator_with_series(database_url)
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        env = app_env(data_dir, database_url, MICRODRAMA_MAX_UPLOAD_BYTES=str(4 * 1024**3))
        with (
            running(uvicorn_command(port), ready_url=f"{base_url}/api/feed", env=env),
            httpx.Client(
                base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=300
            ) as client,
        ):
            one_shot_s, tus_s = [], []
            for _ in range(args.rounds):
                one_shot_s.append(one_shot(client, series_id, source))
                tus_s.append(tus(client, series_id, source, args.chunk_mib * MIB))
    base, ours = statistics.median(one_shot_s), statistics.median(tus_s)
    print(f"source: {size_mib:.1f} MiB, {args.rounds} rounds each, tus chunks {args.chunk_mib} MiB")
    print(f"  one-shot multipart: {base:.2f} s ({size_mib / base:.0f} MiB/s)")
    print(f"  tus (resumable):    {ours:.2f} s ({size_mib / ours:.0f} MiB/s)")
    print(f"  ratio (tus throughput / one-shot): {base / ours:.2f}x")
    emit_json(
        "uploads",
        size_mib=round(size_mib, 1),
        chunk_mib=args.chunk_mib,
        one_shot_s=round(base, 3),
        tus_s=round(ours, 3),
        ratio=round(base / ours, 3),
    )


if __name__ == "__main__":
    main()
