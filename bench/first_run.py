"""First run: seconds from `./dev.sh serve` on an empty data folder to an answer and to the demo.

    .venv/bin/python bench/first_run.py [--first-only]

Runs the very command a newcomer runs (`./dev.sh serve`, warm venv: its setup steps find
everything installed) with a fresh temporary data folder and a free port, output going to a
log file (so the seed prints its plain progress lines), and measures from the moment the
command starts:
  answers     the feed page answers 200 (it shows "Preparing the demo" meanwhile);
  playable    the first demo series of the catalog is in the feed and its first episode's
              master playlist answers 200 through the app (what the player fetches first);
  all ready   the seed reports it has ended (every demo series published); skipped with
              --first-only.
The CPU time the server and its ffmpeg children used until the first series played is printed
too: unlike wall time, it hardly depends on what else runs. Then it stops the server as Ctrl-C
does (SIGINT to its process group) and reports how long that took. The machine's load average
is printed beside the figures, since rendering and transcoding share the 2 cores with whatever
else runs.
Targets (issue 11): answers within 15 s, first demo series playable within 90 s.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from common import ROOT, emit_json, free_port

from microdrama.demo.catalog import DEMO_SERIES

ANSWER_TARGET_S = 15.0
PLAYABLE_TARGET_S = 90.0
POLL_S = 0.25


class Client:
    """A browser-like client: keeps the device cookie the playlist's entitlement check needs."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def get(self, path: str) -> tuple[int, bytes]:
        try:
            with self.opener.open(self.base_url + path, timeout=5) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()
        except OSError:
            return 0, b""

    def json(self, path: str) -> Any:
        status, body = self.get(path)
        return json.loads(body) if status == 200 else None


def cpu_seconds(pid: int) -> float:
    """CPU used by the server process and its finished children (renders, transcodes): what
    the work costs whatever else shares the machine (/proc/PID/stat utime..cstime)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(value) for value in fields[11:15])
    return ticks / os.sysconf("SC_CLK_TCK")


def first_series_playable(client: Client, title: str) -> bool:
    feed = client.json("/api/feed")
    cards = [card for card in (feed or {}).get("items", []) if card["title"] == title]
    if not cards:
        return False
    series = client.json(f"/api/series/{cards[0]['id']}")
    if not series or not series["episodes"]:
        return False
    playlist_url = series["episodes"][0]["playlist_url"]
    status, body = client.get(playlist_url.removeprefix(client.base_url))
    return status == 200 and b"#EXT-X-STREAM-INF" in body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--first-only", action="store_true", help="Stop once the first plays.")
    args = parser.parse_args()

    # A `timeout` or a kill of this script still stops the server below (finally blocks run).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    client = Client(base_url)
    first_title = DEMO_SERIES[0].title
    load_before = os.getloadavg()
    figures: dict[str, Any] = {"cores": os.cpu_count(), "load_before": load_before[0]}
    with tempfile.TemporaryDirectory(prefix="microdrama-first-run-") as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MICRODRAMA_")}
        env["MICRODRAMA_DATA_DIR"] = str(Path(tmp) / "data")
        log_path = Path(tmp) / "serve.log"
        with log_path.open("wb") as log:
            started = time.monotonic()
            server = subprocess.Popen(
                [str(ROOT / "dev.sh"), "serve", "--port", str(port)],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, stopped as a terminal would
            )
            try:
                answers_s = playable_s = all_ready_s = playable_cpu_s = None
                preparing_shown = False
                while server.poll() is None:
                    elapsed = time.monotonic() - started
                    if answers_s is None:
                        status, body = client.get("/")
                        if status == 200:
                            answers_s = elapsed
                            preparing_shown = b"Preparing the demo" in body
                            print(f"answers after {answers_s:.1f} s")
                    elif playable_s is None:
                        if first_series_playable(client, first_title):
                            playable_s = elapsed
                            playable_cpu_s = cpu_seconds(server.pid)
                            print(
                                f"{first_title} playable after {playable_s:.1f} s "
                                f"({playable_cpu_s:.0f} s of CPU)"
                            )
                            if args.first_only:
                                break
                    else:
                        progress = client.json("/api/demo/progress")
                        if progress is not None and not progress["preparing"]:
                            all_ready_s = elapsed
                            print(f"whole demo ready after {all_ready_s:.1f} s")
                            break
                    time.sleep(POLL_S)
                else:
                    raise SystemExit(f"dev.sh serve exited with {server.returncode}")
            finally:
                stop_started = time.monotonic()
                os.killpg(server.pid, signal.SIGINT)
                try:
                    server.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    os.killpg(server.pid, signal.SIGKILL)
                    server.wait()
                stopped_s = time.monotonic() - stop_started
        progress_lines = [
            line for line in log_path.read_text().splitlines() if line.startswith("seed:")
        ]
    load_after = os.getloadavg()
    figures.update(
        answers_s=answers_s,
        preparing_shown=preparing_shown,
        first_series_playable_s=playable_s,
        first_series_cpu_s=playable_cpu_s,
        all_ready_s=all_ready_s,
        stopped_s=stopped_s,
        load_after=load_after[0],
        progress_lines=len(progress_lines),
    )
    print(f"server stopped {stopped_s:.1f} s after SIGINT")
    print("seed's own lines:", *progress_lines[:3], "...", *progress_lines[-2:], sep="\n  ")
    print(
        f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after, "
        f"{os.cpu_count()} cores; targets: answers <= {ANSWER_TARGET_S:.0f} s, "
        f"first series playable <= {PLAYABLE_TARGET_S:.0f} s"
    )
    emit_json("first_run", **figures)


if __name__ == "__main__":
    main()
