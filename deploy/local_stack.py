"""The production shape on one machine: N web processes, M transcode workers, nginx in front.

    python deploy/local_stack.py --web 2 --workers 1 --port 8080 \
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/microdrama --data-dir data

Every process is a child of this one (`microdrama serve --port N`, `microdrama worker`, nginx
with deploy/nginx/microdrama.conf.template in the foreground), on loopback ports, with the
environment's MICRODRAMA_* settings; Ctrl-C stops them all. The nginx test
(tests/browser/test_nginx_journeys.py) and the load test (bench/load/) run the same pieces.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from deploy.nginx.render import free_port, running_nginx


def microdrama_command(*args: str) -> list[str]:
    """The `microdrama` command run by this Python (the one the package is installed in)."""
    return [sys.executable, "-m", "microdrama.cli", *args]


@contextmanager
def running_process(
    command: Sequence[str], *, env: Mapping[str, str], log_path: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """A child process with its output in log_path; SIGTERM at the end (SIGKILL after 15 s)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            list(command), env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_until_answering(url: str, process: subprocess.Popen[bytes], timeout_s: float = 60) -> None:
    """Poll url until it answers (any HTTP status); fail if the process dies first."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout_s:.0f} s")


@contextmanager
def running_web(
    *, env: Mapping[str, str], count: int, log_dir: Path, ready_path: str = "/static/favicon.ico"
) -> Iterator[list[str]]:
    """`count` web processes (`microdrama serve`) on free loopback ports; yields their URLs.
    They are ready when a static file answers: nothing is read (or cached) from the catalog."""
    with ExitStack() as stack:
        started = []
        for n in range(count):
            port = free_port()
            command = microdrama_command("serve", "--host", "127.0.0.1", "--port", str(port))
            log_path = log_dir / f"web-{n + 1}.log"
            process = stack.enter_context(running_process(command, env=env, log_path=log_path))
            started.append((f"http://127.0.0.1:{port}", process))
        # Started together, waited for together: the imports take most of a start.
        for url, process in started:
            wait_until_answering(url + ready_path, process)
        yield [url for url, _ in started]


@contextmanager
def running_workers(
    *, env: Mapping[str, str], count: int, log_dir: Path
) -> Iterator[list[subprocess.Popen[bytes]]]:
    """`count` transcode workers (`microdrama worker`)."""
    with ExitStack() as stack:
        yield [
            stack.enter_context(
                running_process(
                    microdrama_command("worker"), env=env, log_path=log_dir / f"worker-{n + 1}.log"
                )
            )
            for n in range(count)
        ]


@dataclass
class Stack:
    base_url: str
    web_urls: list[str]
    nginx_dir: Path
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)


def stack_env(*, data_dir: Path, database_url: str, public_url: str) -> dict[str, str]:
    """What every process of the stack shares: one database, one media folder, one origin."""
    return {
        "MICRODRAMA_DATA_DIR": str(data_dir.resolve()),
        "MICRODRAMA_DATABASE_URL": database_url,
        # Transcoding and AI jobs are the workers' job, not the web processes'.
        "MICRODRAMA_EMBEDDED_WORKER": "false",
        "MICRODRAMA_EMBEDDED_AI_WORKER": "false",
        "MICRODRAMA_PUBLIC_BASE_URL": public_url,
        "MICRODRAMA_TRUSTED_PROXIES": "127.0.0.1",
    }


@contextmanager
def running_stack(
    *,
    data_dir: Path,
    database_url: str,
    web: int = 2,
    workers: int = 1,
    ai_workers: int = 0,
    port: int | None = None,
    extra_env: Mapping[str, str] | None = None,
    nginx_workers: int = 1,
) -> Iterator[Stack]:
    """Workers, web processes and nginx over one database and media folder (migrated first)."""
    port = port or free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {
        **stack_env(data_dir=data_dir, database_url=database_url, public_url=base_url),
        **(extra_env or {}),
    }
    logs = data_dir / "logs"
    subprocess.run(
        microdrama_command("migrate"),
        env={**os.environ, **env},
        check=True,
        stdout=subprocess.DEVNULL,
    )
    with ExitStack() as stack:
        worker_processes = stack.enter_context(
            running_workers(env=env, count=workers, log_dir=logs)
        )
        for n in range(ai_workers):
            command = microdrama_command("ai-worker", "--quiet")
            log_path = logs / f"ai-worker-{n + 1}.log"
            stack.enter_context(running_process(command, env=env, log_path=log_path))
        web_urls = stack.enter_context(running_web(env=env, count=web, log_dir=logs))
        nginx_dir = data_dir / "nginx"
        stack.enter_context(
            running_nginx(
                nginx_dir,
                media_dir=(data_dir / "media").resolve(),
                app_servers=[url.removeprefix("http://") for url in web_urls],
                port=port,
                worker_processes=nginx_workers,
            )
        )
        yield Stack(
            base_url=base_url, web_urls=web_urls, nginx_dir=nginx_dir, workers=worker_processes
        )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--web", type=int, default=2, help="web processes")
    parser.add_argument("--workers", type=int, default=1, help="transcode workers")
    parser.add_argument("--ai-workers", type=int, default=1, help="AI workers (writers' room...)")
    parser.add_argument("--port", type=int, default=8080, help="nginx's port on 127.0.0.1")
    parser.add_argument("--data-dir", type=Path, default=Path("data"))
    parser.add_argument(
        "--database-url",
        default=os.environ.get("MICRODRAMA_DATABASE_URL", ""),
        help="empty: SQLite in the data folder (fine for trying; PostgreSQL for real use)",
    )
    args = parser.parse_args(argv)
    args.data_dir.mkdir(parents=True, exist_ok=True)
    with running_stack(
        data_dir=args.data_dir,
        database_url=args.database_url,
        web=args.web,
        workers=args.workers,
        ai_workers=args.ai_workers,
        port=args.port,
    ) as stack:
        print(f"microdrama behind nginx at {stack.base_url}/  (web: {', '.join(stack.web_urls)})")
        print(f"logs in {args.data_dir / 'logs'} and {stack.nginx_dir}; Ctrl-C stops everything")
        try:
            while all(w.poll() is None for w in stack.workers):
                time.sleep(1)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
