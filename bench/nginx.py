"""Segments through deploy/nginx's configuration against nginx serving the same file bare.

    .venv/bin/python bench/nginx.py [--seconds 8] [--connections 50] [--rounds 3]

The configuration operators deploy (deploy/nginx/microdrama.conf.template: the media
location with its cache headers, the private-media rule, open_file_cache, the access log,
the app upstream) is run as a standalone nginx in front of one app process; the baseline is
the minimal nginx.conf of bench/segments.py (one `location /media/ { alias ...; }`, sendfile,
no log) over the same folder. Both have one worker process. They take turns, `--rounds`
times, on two encrypted-segment sizes (a 1920p and a 426p rung's 2-second segment, random
bytes: neither server looks inside), and the ratio is of the medians. The app's own /media
route (uvicorn, one process) is measured once for comparison.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import tempfile
from pathlib import Path

from common import (
    ROOT,
    WrkResult,
    app_env,
    emit_json,
    free_port,
    migrated_sqlite,
    require_tool,
    run_wrk,
    running,
    uvicorn_command,
    wrk_row,
)
from segments import NGINX_CONF

sys.path.insert(0, str(ROOT))
from deploy.nginx.render import running_nginx

# (label, storage key, bytes): a 2-second segment of the 1920p rung and of the 426p rung.
SEGMENTS = [
    ("1920p segment", "assets/1/hls/1920p/seg_00001.ts", 1_600_000),
    ("426p segment", "assets/1/hls/426p/seg_00001.ts", 110_000),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=8, help="wrk duration per measurement")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3, help="turns of bare and configured")
    args = parser.parse_args()
    require_tool("wrk", "sudo apt-get install wrk")
    nginx = require_tool("nginx", "sudo apt-get install nginx-light")

    with tempfile.TemporaryDirectory(prefix="microdrama-bench-nginx-") as tmp_name:
        tmp = Path(tmp_name)
        # nginx's workers run as an unprivileged user when the bare one is started as root.
        os.chmod(tmp, 0o755)
        data_dir = tmp / "data"
        url = migrated_sqlite(data_dir)
        media_dir = (data_dir / "media").resolve()
        for _label, key, size in SEGMENTS:
            path = media_dir / key
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(secrets.token_bytes(size))
        for directory in [tmp, data_dir, *media_dir.rglob("*")]:
            if directory.is_dir():
                os.chmod(directory, 0o755)

        app_port, bare_port = free_port(), free_port()
        bare_conf = tmp / "bare" / "nginx.conf"
        bare_conf.parent.mkdir()
        bare_conf.write_text(
            NGINX_CONF.format(tmp=bare_conf.parent, port=bare_port, media=media_dir)
        )
        app_root = f"http://127.0.0.1:{app_port}"
        bare_root = f"http://127.0.0.1:{bare_port}"
        with (
            running(
                uvicorn_command(app_port), ready_url=f"{app_root}/bench/bare",
                env=app_env(data_dir, url),
            ),
            running(
                [nginx, "-p", str(bare_conf.parent), "-e", str(bare_conf.parent / "error.log"),
                 "-c", str(bare_conf), "-g", "daemon off;"],
                ready_url=f"{bare_root}/media/{SEGMENTS[0][1]}",
            ),
            running_nginx(
                tmp / "configured", media_dir=media_dir, app_servers=[f"127.0.0.1:{app_port}"]
            ) as configured_root,
        ):  # fmt: skip
            servers = {"bare": bare_root, "configured": configured_root, "app": app_root}
            for root in servers.values():
                for _label, key, _size in SEGMENTS:
                    run_wrk(f"{root}/media/{key}", connections=10, seconds=1)  # warm-up
            rounds: dict[str, list[WrkResult]] = {}
            for label, key, _size in SEGMENTS:
                for _ in range(args.rounds):
                    for server in ("bare", "configured"):
                        rounds.setdefault(f"{label}|{server}", []).append(
                            run_wrk(
                                f"{servers[server]}/media/{key}",
                                connections=args.connections,
                                seconds=args.seconds,
                            )
                        )
                rounds[f"{label}|app"] = [
                    run_wrk(
                        f"{app_root}/media/{key}",
                        connections=args.connections,
                        seconds=args.seconds,
                    )
                ]

    print()
    print(f"wrk -t2 -c{args.connections} -d{args.seconds}s --latency, loopback, median round")
    figures: dict[str, object] = {}
    ratios = []
    for label, _key, size in SEGMENTS:
        medians = {
            server: _median_round(rounds[f"{label}|{server}"])
            for server in ("bare", "configured", "app")
        }
        bare = medians["bare"]
        print(wrk_row(f"{label} ({size / 1024:.0f} KiB) bare", bare))
        print(wrk_row("  deploy/nginx config", medians["configured"], bare))
        print(wrk_row("  app /media (uvicorn)", medians["app"], bare))
        ratio = medians["configured"].requests_per_s / bare.requests_per_s
        each = [
            c.requests_per_s / b.requests_per_s
            for b, c in zip(rounds[f"{label}|bare"], rounds[f"{label}|configured"], strict=True)
        ]
        print(f"  configured / bare per round: {', '.join(f'{r:.2f}' for r in each)}")
        ratios.append(ratio)
        key = label.split()[0]
        figures[f"{key}_configured_ratio"] = round(ratio, 3)
        figures[f"{key}_app_ratio"] = round(medians["app"].requests_per_s / bare.requests_per_s, 3)
        figures[f"{key}_rounds"] = [round(r, 3) for r in each]
        for server, result in medians.items():
            figures[f"{key}_{server}"] = result
    print(
        f"\nsegments through deploy/nginx: {min(ratios):.2f}-{max(ratios):.2f} x nginx bare "
        "(goal >= 0.9 x)"
    )
    emit_json(
        "nginx",
        connections=args.connections,
        seconds=args.seconds,
        rounds=args.rounds,
        load_average=os.getloadavg()[0],
        **figures,
    )


def _median_round(results: list[WrkResult]) -> WrkResult:
    middle = statistics.median_low([r.requests_per_s for r in results])
    return next(r for r in results if r.requests_per_s == middle)


if __name__ == "__main__":
    main()
