"""Segment delivery: the app's /media route against nginx serving the same files.

    .venv/bin/python bench/segments.py [--seconds 10] [--connections 50]

Uploads one 1080x1920 demo clip as the free first episode of a series through the real
pipeline (3-second segments on the 1920 rung, so an encrypted segment weighs 1-2 MiB), then
serves it twice on loopback: by the app (uvicorn, one process) and by nginx (one worker
process, sendfile, a temporary nginx.conf over the storage folder), and drives each URL with
`wrk --latency`. nginx is the baseline: the ratio is the share of its throughput the app gets.

  segment   the same .ts file: the app's static /media route against nginx; content type,
            length, bytes and range (206) answers are checked to be the same.
  playlist  what a player fetches per rendition: the app's gated route (entitlement check,
            viewer-bound key URL, a device cookie as a browser sends it) against nginx serving
            the stored playlist file (content type checked; the bodies differ by design), and
            against the app's bare async route in the same process (issue 15's target: the
            gated playlist at >= 0.5x the bare route).
  master    the episode's gated master playlist (who is asking, entitlement, the stored
            master read), against the bare route.
  key       the segment key a player fetches once per episode (the viewer-bound token
            checked, entitlement again, the key read), against the bare route.
"""

from __future__ import annotations

import argparse
import os
import re
import tempfile
import urllib.request
from pathlib import Path

from common import (
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

NGINX_CONF = """
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    include /etc/nginx/mime.types;
    types {{ application/vnd.apple.mpegurl m3u8; video/mp2t ts; }}
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000;
    client_body_temp_path {tmp}/nginx-body;
    proxy_temp_path {tmp}/nginx-proxy;
    fastcgi_temp_path {tmp}/nginx-fastcgi;
    uwsgi_temp_path {tmp}/nginx-uwsgi;
    scgi_temp_path {tmp}/nginx-scgi;
    server {{
        listen 127.0.0.1:{port};
        location /media/ {{ alias {media}/; }}
    }}
}}
"""


def _head(url: str, range_header: str | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url)
    if range_header:
        request.add_header("Range", range_header)
    with urllib.request.urlopen(request, timeout=10) as response:
        body = response.read()
        return response.status, {k.lower(): v for k, v in response.headers.items()}, body


def compare_answers(app_url: str, nginx_url: str) -> list[str]:
    """Differences between the two servers' answers for the same file."""
    problems = []
    for label, header in (("full", None), ("range", "bytes=100-1123")):
        a_status, a_headers, a_body = _head(app_url, header)
        n_status, n_headers, n_body = _head(nginx_url, header)
        if a_status != n_status:
            problems.append(f"{label}: status {a_status} (app) vs {n_status} (nginx)")
        for name in ("content-type", "content-length", "content-range", "accept-ranges"):
            a_value, n_value = a_headers.get(name), n_headers.get(name)
            if a_value != n_value and not (name == "accept-ranges" and header):
                problems.append(f"{label}: {name} {a_value!r} (app) vs {n_value!r} (nginx)")
        if a_body != n_body:
            problems.append(f"{label}: bodies differ ({len(a_body)} vs {len(n_body)} bytes)")
    return problems


def device_cookie(page_url: str) -> str:
    """The device cookie the app sets on a first visit to a page, as a browser keeps it."""
    with urllib.request.urlopen(page_url, timeout=10) as response:
        for header in response.headers.get_all("set-cookie") or []:
            name_value = header.split(";", 1)[0]
            if name_value.startswith("md_device="):
                return name_value
    raise RuntimeError("the app set no device cookie")


def compare_playlists(app_url: str, cookie: str, nginx_url: str) -> list[str]:
    request = urllib.request.Request(app_url, headers={"Cookie": cookie})
    with urllib.request.urlopen(request, timeout=10) as response:
        app_type, app_body = response.headers.get("content-type"), response.read().decode()
    _status, nginx_headers, _body = _head(nginx_url)
    problems = []
    if app_type != nginx_headers.get("content-type"):
        problems.append(f"playlist: content-type {app_type!r} vs {nginx_headers['content-type']!r}")
    if "#EXT-X-KEY" not in app_body or "/media/" not in app_body:
        problems.append("playlist: the app's playlist has no key line or no /media segment URLs")
    return problems


def key_url(app_root: str, playlist_url: str, cookie: str) -> str:
    """The viewer-bound key URL of the app's playlist (its #EXT-X-KEY line)."""
    request = urllib.request.Request(playlist_url, headers={"Cookie": cookie})
    with urllib.request.urlopen(request, timeout=10) as response:
        body = response.read().decode()
    found = re.search(r'#EXT-X-KEY:[^\n]*URI="([^"]+)"', body)
    if found is None:
        raise SystemExit(f"the app's playlist has no key line:\n{body}")
    uri = found.group(1)
    return uri if uri.startswith("http") else app_root + uri


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10, help="wrk duration per URL")
    parser.add_argument("--connections", type=int, default=50)
    args = parser.parse_args()
    require_tool("wrk", "sudo apt-get install wrk")
    nginx = require_tool("nginx", "sudo apt-get install nginx-light")

    from microdrama.config import Settings

    with tempfile.TemporaryDirectory(prefix="microdrama-bench-seg-") as tmp_name:
        tmp = Path(tmp_name)
        # nginx's worker runs as an unprivileged user when started as root: let it read.
        os.chmod(tmp, 0o755)
        data_dir = tmp / "data"
        url = migrated_sqlite(data_dir)
        settings = Settings(
            data_dir=data_dir,
            database_url=url,
            ladder_heights=[1920],
            segment_seconds=3,
            embedded_worker=False,
        )
        print("rendering and transcoding a 9 s 1080x1920 clip ...", flush=True)
        clip = render_source_clip(tmp / "source.mp4", width=1080, height=1920, seconds=9)
        run = run_pipeline(settings, clip, as_episode=True)
        media_dir = settings.media_dir.resolve()
        playlist_key = run.renditions[0]["playlist_key"]
        rendition = Path(playlist_key).parent.name
        segments = sorted((media_dir / playlist_key).parent.glob("*.ts"))
        # The largest full-length segment: the one a player fetches most often in the ladder.
        segment = max(segments, key=lambda p: p.stat().st_size)
        segment_key = segment.relative_to(media_dir).as_posix()
        segment_bytes = segment.stat().st_size
        size_mib = segment_bytes / 1024**2
        print(f"segment {segment_key}: {size_mib:.2f} MiB; playlist {playlist_key}")

        app_port, nginx_port = free_port(), free_port()
        conf = tmp / "nginx.conf"
        conf.write_text(NGINX_CONF.format(tmp=tmp, port=nginx_port, media=media_dir))
        app_root = f"http://127.0.0.1:{app_port}"
        nginx_base = f"http://127.0.0.1:{nginx_port}/media"
        app_playlist = f"{app_root}/api/episodes/{run.episode_id}/hls/{rendition}/index.m3u8"
        with (
            running(
                uvicorn_command(app_port),
                ready_url=f"{app_root}/bench/bare",
                env=app_env(data_dir, url),
            ),
            running(
                [nginx, "-p", str(tmp), "-e", str(tmp / "nginx-error.log"), "-c", str(conf),
                 "-g", "daemon off;"],
                ready_url=f"{nginx_base}/{playlist_key}",
            ),
        ):  # fmt: skip
            cookie = device_cookie(f"{app_root}/watch/{run.episode_id}")
            problems = compare_answers(
                f"{app_root}/media/{segment_key}", f"{nginx_base}/{segment_key}"
            )
            problems += compare_playlists(app_playlist, cookie, f"{nginx_base}/{playlist_key}")
            urls = {
                "segment_nginx": (f"{nginx_base}/{segment_key}", ""),
                "segment_app": (f"{app_root}/media/{segment_key}", ""),
                "playlist_nginx": (f"{nginx_base}/{playlist_key}", ""),
                "playlist_app": (app_playlist, f"Cookie: {cookie}"),
                "master_app": (
                    f"{app_root}/api/episodes/{run.episode_id}/hls/master.m3u8",
                    f"Cookie: {cookie}",
                ),
                "key_app": (key_url(app_root, app_playlist, cookie), f"Cookie: {cookie}"),
                "bare_app": (f"{app_root}/bench/bare", ""),
            }
            for target, header in urls.values():
                run_wrk(target, connections=10, seconds=1, header=header)  # warm-up
            results = {
                name: run_wrk(
                    target, connections=args.connections, seconds=args.seconds, header=header
                )
                for name, (target, header) in urls.items()
            }

    print()
    print(f"wrk -t2 -c{args.connections} -d{args.seconds}s --latency, loopback")
    print(wrk_row(f"segment ({size_mib:.2f} MiB) nginx", results["segment_nginx"]))
    print(wrk_row("segment app /media", results["segment_app"], results["segment_nginx"]))
    print(wrk_row("playlist nginx (static file)", results["playlist_nginx"]))
    print(wrk_row("playlist app (gated route)", results["playlist_app"], results["playlist_nginx"]))
    print(wrk_row("bare route app", results["bare_app"]))
    print(wrk_row("playlist app vs bare route", results["playlist_app"], results["bare_app"]))
    print(wrk_row("master playlist app vs bare", results["master_app"], results["bare_app"]))
    print(wrk_row("segment key app vs bare", results["key_app"], results["bare_app"]))
    segment_ratio = results["segment_app"].requests_per_s / results["segment_nginx"].requests_per_s
    playlist_ratio = (
        results["playlist_app"].requests_per_s / results["playlist_nginx"].requests_per_s
    )
    bare = results["bare_app"].requests_per_s
    bare_ratio = results["playlist_app"].requests_per_s / bare
    master_ratio = results["master_app"].requests_per_s / bare
    key_ratio = results["key_app"].requests_per_s / bare
    print(
        f"\nsegments: app delivers {segment_ratio:.2f} x nginx; playlists {playlist_ratio:.2f} x"
        f" nginx, {bare_ratio:.2f} x the app's bare route; master playlist {master_ratio:.2f} x,"
        f" segment key {key_ratio:.2f} x the bare route"
    )
    if problems:
        print("answers differ between app and nginx:")
        for problem in problems:
            print(f"  - {problem}")
    else:
        print(
            "segment: types, lengths, bytes and 206 range answers match nginx; playlist types too"
        )
    emit_json(
        "segments",
        connections=args.connections,
        seconds=args.seconds,
        segment_bytes=segment_bytes,
        segment_ratio=round(segment_ratio, 3),
        playlist_ratio=round(playlist_ratio, 3),
        playlist_vs_bare_ratio=round(bare_ratio, 3),
        master_vs_bare_ratio=round(master_ratio, 3),
        key_vs_bare_ratio=round(key_ratio, 3),
        answers_match=not problems,
        differences=problems,
        **results,
    )


if __name__ == "__main__":
    main()
