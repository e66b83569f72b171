"""Fill deploy/nginx/microdrama.conf.template, and run nginx with it in the foreground.

    python deploy/nginx/render.py --listen 80 --media-dir /srv/microdrama/data/media \
        --app 127.0.0.1:8001 --app 127.0.0.1:8002 > /etc/nginx/conf.d/microdrama.conf

With `--standalone DIR` it writes a complete nginx.conf into DIR (pid, logs and temporary
files there too, nginx in the foreground) and prints the command that runs it: a way to try
the configuration without touching the system's nginx. The tests and bench/nginx.py run it
the same way (`running_nginx`).
"""

from __future__ import annotations

import argparse
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

TEMPLATE = Path(__file__).resolve().with_name("microdrama.conf.template")
DEFAULT_ACCESS_LOG = "/var/log/nginx/microdrama.access.log"
# A value goes into the configuration as one token: nothing that could end or open a block.
_TOKEN = re.compile(r"[^\s;{}#'\"$\\]+")


def _token(name: str, value: str) -> str:
    if not _TOKEN.fullmatch(value):
        raise ValueError(f"{name}: {value!r} cannot be written into an nginx configuration")
    return value


def render_site(
    *,
    listen: str,
    media_dir: Path | None,
    app_servers: Sequence[str],
    media_url_prefix: str = "/media",
    access_log: str = DEFAULT_ACCESS_LOG,
) -> str:
    """The template with its placeholders filled (it goes inside nginx's `http` block). Without
    a media folder (media in object storage, MICRODRAMA_STORAGE_URL), /media goes to the app,
    which serves the bucket's objects there, or players fetch them from MEDIA_URL_PREFIX."""
    if not app_servers:
        raise ValueError("at least one web process (--app HOST:PORT) is needed")
    if media_dir is not None and not media_dir.is_absolute():
        raise ValueError(f"the media folder must be an absolute path: {media_dir}")
    prefix = "/" + media_url_prefix.strip("/")
    if prefix == "/" or not re.fullmatch(r"(/[A-Za-z0-9._-]+)+", prefix):
        raise ValueError(f"the media URL prefix must be a path like /media: {media_url_prefix!r}")
    servers = "".join(f"    server {_token('app', s)};\n" for s in app_servers).rstrip("\n")
    values = {
        "LISTEN": _token("listen", listen),
        "MEDIA_DIR": _token("media dir", str(media_dir).rstrip("/")) if media_dir else "",
        "MEDIA_URL_PREFIX": prefix,
        "APP_SERVERS": servers,
        "ACCESS_LOG": _token("access log", access_log),
    }
    text = TEMPLATE.read_text()
    if media_dir is None:
        text = re.sub(r"\n *# media-folder: begin.*?# media-folder: end\n", "\n", text, flags=re.S)
    for name, value in values.items():
        text = text.replace("${" + name + "}", value)
    left = re.findall(r"\$\{[A-Z_]+\}", text)
    if left:
        raise ValueError(f"placeholders left unfilled: {sorted(set(left))}")
    return text


def render_standalone(*, prefix: Path, site_conf: Path, worker_processes: int = 1) -> str:
    """A complete nginx.conf around the site file, every path under prefix, in the foreground."""
    prefix = prefix.resolve()
    # Started as root, nginx's workers drop to `nobody`, who may not read a private test
    # folder; a throwaway instance keeps the user that started it.
    user = f"user {pwd.getpwuid(os.geteuid()).pw_name};\n" if os.geteuid() == 0 else ""
    temp = "\n".join(
        f"    {kind}_temp_path {prefix / ('temp-' + kind)};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return (
        f"{user}daemon off;\n"
        f"worker_processes {worker_processes};\n"
        f"pid {prefix / 'nginx.pid'};\n"
        f"error_log {prefix / 'error.log'} warn;\n"
        "events { worker_connections 4096; }\n"
        "http {\n"
        f"{temp}\n"
        "    include /etc/nginx/mime.types;\n"
        f"    include {site_conf.resolve()};\n"
        "}\n"
    )


def nginx_binary() -> str:
    """nginx's path (Debian keeps it in /usr/sbin, which a user's PATH may lack)."""
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if found is None:
        raise FileNotFoundError("nginx is not installed (Debian: apt-get install nginx-light)")
    return found


def write_standalone(
    directory: Path,
    *,
    listen: str,
    media_dir: Path | None,
    app_servers: Sequence[str],
    worker_processes: int = 1,
    media_url_prefix: str = "/media",
) -> list[str]:
    """Write DIR/microdrama.conf and DIR/nginx.conf; returns the command that runs nginx."""
    directory = directory.resolve()
    directory.mkdir(parents=True, exist_ok=True)
    site = directory / "microdrama.conf"
    site.write_text(
        render_site(
            listen=listen,
            media_dir=media_dir,
            app_servers=app_servers,
            media_url_prefix=media_url_prefix,
            access_log=str(directory / "access.log"),
        )
    )
    main = directory / "nginx.conf"
    main.write_text(
        render_standalone(prefix=directory, site_conf=site, worker_processes=worker_processes)
    )
    error_log = str(directory / "error.log")
    return [nginx_binary(), "-p", str(directory), "-c", str(main), "-e", error_log]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_nginx(
    directory: Path,
    *,
    media_dir: Path,
    app_servers: Sequence[str],
    port: int | None = None,
    worker_processes: int = 1,
) -> Iterator[str]:
    """nginx with this configuration as a child process on a loopback port; yields its URL."""
    port = port or free_port()
    command = write_standalone(
        directory,
        listen=f"127.0.0.1:{port}",
        media_dir=media_dir,
        app_servers=app_servers,
        worker_processes=worker_processes,
    )
    checked = subprocess.run([*command, "-t", "-q"], capture_output=True, text=True)
    if checked.returncode != 0:
        raise RuntimeError(f"nginx refused the configuration:\n{checked.stderr}")
    with (directory / "nginx.out").open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_for_port(port, process)
        yield f"http://127.0.0.1:{port}"
    finally:
        # SIGQUIT: a graceful stop (the access log's buffer is written out).
        if process.poll() is None:
            process.send_signal(signal.SIGQUIT)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"nginx exited with code {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nginx did not listen on port {port} within 15 s")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--listen", default="80", help="nginx's listen: PORT or ADDRESS:PORT")
    media = parser.add_mutually_exclusive_group(required=True)
    media.add_argument("--media-dir", type=Path, help="MICRODRAMA_DATA_DIR/media")
    media.add_argument(
        "--no-media-dir", action="store_true", help="media in object storage: no media folder"
    )
    parser.add_argument(
        "--app", action="append", required=True, help="a web process, HOST:PORT (repeat)"
    )
    parser.add_argument("--media-url-prefix", default="/media")
    parser.add_argument("--access-log", default=DEFAULT_ACCESS_LOG)
    parser.add_argument(
        "--standalone", type=Path, metavar="DIR", help="write a complete nginx.conf into DIR"
    )
    args = parser.parse_args(argv)
    media_dir = None if args.no_media_dir else args.media_dir.resolve()
    if args.standalone:
        command = write_standalone(
            args.standalone,
            listen=args.listen,
            media_dir=media_dir,
            app_servers=args.app,
            media_url_prefix=args.media_url_prefix,
        )
        print(" ".join(command))
        return
    sys.stdout.write(
        render_site(
            listen=args.listen,
            media_dir=media_dir,
            app_servers=args.app,
            media_url_prefix=args.media_url_prefix,
            access_log=args.access_log,
        )
    )


if __name__ == "__main__":
    main()
