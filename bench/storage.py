"""Object storage: a segment served from an S3 bucket through the app against the same segment
from the local folder, and what a worker's upload of the ladder costs.

    .venv/bin/python bench/storage.py [--seconds 5] [--connections 20]

Transcodes one 720x1280 demo clip twice through the real pipeline (ingest + worker) into the
same SQLite database: once into the local folder (the baseline), once into a bucket of moto's
S3 API server (`python -m moto.server`, its own process on loopback). Then two app processes
(uvicorn, one process each) serve /media from each store, and wrk drives:

  local     the app's /media from the folder (the baseline)
  s3 app    the app's /media streaming the object from the bucket (MICRODRAMA_STORAGE_URL)
  s3 direct the bucket's own URL (what MICRODRAMA_MEDIA_URL_PREFIX, or a CDN, sends players to)
  presigned the same object through a presigned URL: what a redirect would land on; a redirect
            costs this plus one more round trip to the app (the bare route's latency)

moto is a Python server (werkzeug): AWS S3, R2 or MinIO answer faster, so "s3 app" and
"s3 direct" here are a floor, not a forecast. Every figure is from the same run.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import urllib.request
import uuid
from pathlib import Path

from common import (
    PYTHON,
    app_env,
    emit_json,
    free_port,
    migrated_sqlite,
    render_source_clip,
    require_tool,
    run_pipeline,
    run_wrk,
    running,
    uvicorn_command,
    wrk_row,
)

KEY_ID, SECRET = "bench-key", "bench-secret"


def _fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:
        body: bytes = response.read()
        return body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=5, help="wrk duration per URL")
    parser.add_argument("--connections", type=int, default=20)
    args = parser.parse_args()
    require_tool("wrk", "sudo apt-get install wrk")

    import boto3

    from microdrama.config import Settings

    with tempfile.TemporaryDirectory(prefix="microdrama-bench-s3-") as tmp_name:
        tmp = Path(tmp_name)
        data_dir = tmp / "data"
        url = migrated_sqlite(data_dir)
        s3_port, local_port, app_s3_port = free_port(), free_port(), free_port()
        endpoint = f"http://127.0.0.1:{s3_port}"
        bucket = f"bench-{uuid.uuid4().hex[:8]}"
        storage = {
            "storage_url": f"s3://{bucket}/media",
            "storage_endpoint_url": endpoint,
            "storage_region": "us-east-1",
            "storage_access_key_id": KEY_ID,
            "storage_secret_access_key": SECRET,
        }
        common = {"data_dir": data_dir, "database_url": url, "embedded_worker": False}
        common |= {"ladder_heights": [1280]}
        local_settings = Settings(**common)
        s3_settings = Settings(**common, **storage)
        # Its log of every request goes to a file (a pipe left unread would stop it).
        moto_log = tmp / "moto.log"
        serve = f"exec {PYTHON} -m moto.server -H 127.0.0.1 -p {s3_port} 2>{moto_log}"
        moto = ["sh", "-c", serve]
        with running(moto, ready_url=endpoint):
            client = boto3.session.Session().client(
                "s3",
                endpoint_url=endpoint,
                region_name="us-east-1",
                aws_access_key_id=KEY_ID,
                aws_secret_access_key=SECRET,
            )
            client.create_bucket(Bucket=bucket)
            policy = {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": "*",
                        "Action": "s3:GetObject",
                        "Resource": f"arn:aws:s3:::{bucket}/media/assets/*/hls/*",
                    }
                ],
            }
            client.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))

            print("rendering a 6 s 720x1280 clip, transcoding it into each store ...", flush=True)
            clip = render_source_clip(tmp / "source.mp4", width=720, height=1280, seconds=6)
            local_run = run_pipeline(local_settings, clip, as_episode=True)
            s3_run = run_pipeline(s3_settings, clip, as_episode=True)
            local_key = f"{Path(local_run.renditions[0]['playlist_key']).parent}/seg_00001.ts"
            s3_key = f"{Path(s3_run.renditions[0]['playlist_key']).parent}/seg_00001.ts"
            presigned = client.generate_presigned_url(
                "get_object", Params={"Bucket": bucket, "Key": f"media/{s3_key}"}, ExpiresIn=3600
            )

            local_root = f"http://127.0.0.1:{local_port}"
            s3_root = f"http://127.0.0.1:{app_s3_port}"
            s3_env = {f"MICRODRAMA_{k.upper()}": v for k, v in storage.items()}
            with (
                running(
                    uvicorn_command(local_port),
                    ready_url=f"{local_root}/bench/bare",
                    env=app_env(data_dir, url),
                ),
                running(
                    uvicorn_command(app_s3_port),
                    ready_url=f"{s3_root}/bench/bare",
                    env=app_env(data_dir, url, **s3_env),
                ),
            ):
                urls = {
                    "local": f"{local_root}/media/{local_key}",
                    "s3_app": f"{s3_root}/media/{s3_key}",
                    "s3_direct": f"{endpoint}/{bucket}/media/{s3_key}",
                    "presigned": presigned,
                    "bare": f"{s3_root}/bench/bare",
                }
                same = _fetch(urls["s3_app"]) == _fetch(urls["s3_direct"]) == _fetch(presigned)
                if not same:
                    raise SystemExit("the app and the bucket answered different bytes")
                size_kib = len(_fetch(urls["local"])) / 1024
                for target in urls.values():
                    run_wrk(target, connections=5, seconds=1)  # warm-up
                results = {
                    name: run_wrk(target, connections=args.connections, seconds=args.seconds)
                    for name, target in urls.items()
                }

    local = results["local"]
    print()
    print(f"wrk -t2 -c{args.connections} -d{args.seconds}s --latency, loopback")
    print(wrk_row(f"local folder /media ({size_kib:.0f} KiB)", local))
    print(wrk_row("s3 through the app /media", results["s3_app"], local))
    print(wrk_row("s3 direct (bucket URL)", results["s3_direct"], local))
    print(wrk_row("s3 presigned URL", results["presigned"], local))
    print(wrk_row("app bare route", results["bare"], local))
    redirect_p50 = results["bare"].p50_ms + results["presigned"].p50_ms
    ratio = results["s3_app"].requests_per_s / local.requests_per_s
    job_ratio = s3_run.job_s / local_run.job_s
    print(
        f"\nsegment from the bucket through the app: {ratio:.2f} x the local folder's req/s "
        f"(p50 {results['s3_app'].p50_ms:.1f} vs {local.p50_ms:.1f} ms); a redirect to a "
        f"presigned URL would take about {redirect_p50:.1f} ms p50 (two round trips)"
    )
    print(
        f"worker: transcode + upload into the bucket {s3_run.job_s:.2f} s vs "
        f"{local_run.job_s:.2f} s into the folder ({job_ratio:.2f} x); ingest "
        f"{s3_run.ingest_s:.2f} s vs {local_run.ingest_s:.2f} s"
    )
    emit_json(
        "storage",
        segment_kib=round(size_kib),
        connections=args.connections,
        **{f"{name}_rps": round(r.requests_per_s) for name, r in results.items()},
        **{f"{name}_p50_ms": r.p50_ms for name, r in results.items()},
        s3_app_vs_local=round(ratio, 3),
        presigned_redirect_p50_ms_estimate=round(redirect_p50, 2),
        job_s3_s=round(s3_run.job_s, 2),
        job_local_s=round(local_run.job_s, 2),
        job_ratio=round(job_ratio, 3),
    )


if __name__ == "__main__":
    main()
