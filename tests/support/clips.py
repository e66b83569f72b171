"""Tiny real media files for tests, made with ffmpeg: good clips and the bad files users upload.

Builders write to the path they are given and return it. `cached_clip` and friends build each
distinct file once per test process (in a private temp folder), so a whole test session pays
for every clip only once; treat cached files as read-only (copy before mutating).

    from tests.support.clips import make_clip, cached_clip
    make_clip(tmp_path / "ep1.mp4", seconds=4, label="S1E1", color="teal")
    cached_clip(seconds=3, width=640, height=360)           # landscape, shared
"""

from __future__ import annotations

import functools
import hashlib
import shutil
import subprocess
import tempfile
from pathlib import Path

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")


def _ffmpeg(*args: str) -> None:
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y", *args],
        check=True,
        capture_output=True,
        timeout=120,
    )


def _escape_text(text: str) -> str:
    # drawtext's own escaping, inside a filtergraph: backslash, colon and quote are special.
    return text.replace("\\", "\\\\").replace(":", "\\:").replace("'", "\\'")


def make_clip(
    path: Path,
    *,
    seconds: float = 4.0,
    width: int = 360,
    height: int = 640,
    label: str = "S1E1",
    color: str = "teal",
    fps: int = 24,
    audio: bool = True,
    faststart: bool = True,
) -> Path:
    """An H.264/AAC MP4: a coloured card with `label`, a moving test pattern and a running clock.

    `audio=False` gives a video without an audio stream; `faststart=False` keeps the index
    (moov) at the end of the file, as phones write it, so cutting the file loses the index.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    band_height = max(2, (height // 3) // 2 * 2)
    font_size = max(12, min(width, height) // 6)
    video = (
        f"[0][1]overlay=0:{(height - band_height) // 2}:shortest=1"
        + (
            f",drawtext=fontfile={FONT}:text='{_escape_text(label)}':fontsize={font_size}"
            f":fontcolor=white:borderw=3:x=(w-tw)/2:y=h/8"
            f",drawtext=fontfile={FONT}:text='%{{pts\\:hms}}':fontsize={font_size // 2}"
            f":fontcolor=white:borderw=2:x=(w-tw)/2:y=h*3/4"
            if FONT.exists()
            else ""
        )
        + "[v]"
    )
    args = [
        "-f", "lavfi", "-i", f"color=c={color}:s={width}x{height}:r={fps}:d={seconds}",
        "-f", "lavfi", "-i", f"testsrc2=s={width}x{band_height}:r={fps}:d={seconds}",
    ]  # fmt: skip
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=f=440:beep_factor=4:d={seconds}"]
    args += ["-filter_complex", video, "-map", "[v]"]
    if audio:
        args += ["-map", "2:a", "-c:a", "aac", "-b:a", "64k"]
    args += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-t", str(seconds)]
    if faststart:
        args += ["-movflags", "+faststart"]
    _ffmpeg(*args, str(path))
    return path


def make_audio_only(path: Path, *, seconds: float = 3.0) -> Path:
    """An M4A-like MP4 with only an AAC sine tone: a real media file with no video stream."""
    path.parent.mkdir(parents=True, exist_ok=True)
    _ffmpeg("-f", "lavfi", "-i", f"sine=f=330:d={seconds}", "-c:a", "aac", "-f", "mp4", str(path))
    return path


def make_text_file(path: Path) -> Path:
    """A plain text file, typically renamed `.mp4` by someone uploading the wrong thing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("These are my notes for episode 3, not the video.\n" * 40)
    return path


def make_truncated(path: Path, *, seconds: float = 4.0) -> Path:
    """A phone-style MP4 (index at the end) cut in half, as an interrupted copy leaves it."""
    full = make_clip(path.with_name(path.name + ".full.mp4"), seconds=seconds, faststart=False)
    data = full.read_bytes()
    full.unlink()
    path.write_bytes(data[: len(data) // 2])
    return path


def make_garbled(path: Path, *, seconds: float = 4.0) -> Path:
    """An MP4 whose index is intact but whose media data is overwritten with garbage.

    ffprobe reads the container happily (streams, duration); only decoding finds out, so
    this file passes the upload check and must fail in the transcoder with a reason.
    """
    full = make_clip(path.with_name(path.name + ".full.mp4"), seconds=seconds, faststart=True)
    data = bytearray(full.read_bytes())
    full.unlink()
    mdat = data.find(b"mdat")
    if mdat < 0:
        raise RuntimeError("no mdat box in the generated clip")
    start = mdat + 4
    # Deterministic garbage (not zeros, which decoders may skip quietly).
    noise = hashlib.sha256(b"garbage").digest()
    for i in range(start, len(data)):
        data[i] = noise[i % len(noise)]
    path.write_bytes(bytes(data))
    return path


@functools.cache
def _cache_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="microdrama-clips-"))


def _cached(name: str, build: functools.partial[Path]) -> Path:
    target = _cache_dir() / name
    if not target.exists():
        part = target.with_name("part-" + name)
        build(part)
        part.replace(target)
    return target


def cached_clip(
    *,
    seconds: float = 4.0,
    width: int = 360,
    height: int = 640,
    label: str = "S1E1",
    color: str = "teal",
    fps: int = 24,
    audio: bool = True,
) -> Path:
    """`make_clip` built once per test process for each distinct set of arguments."""
    key = hashlib.sha1(repr((seconds, width, height, label, color, fps, audio)).encode())
    build = functools.partial(
        _build_clip,
        seconds=seconds,
        width=width,
        height=height,
        label=label,
        color=color,
        fps=fps,
        audio=audio,
    )
    return _cached(f"clip-{key.hexdigest()[:12]}.mp4", build)


def _build_clip(path: Path, **kwargs: object) -> Path:
    return make_clip(path, **kwargs)  # type: ignore[arg-type]


def cached_audio_only() -> Path:
    """`make_audio_only` built once per test process."""
    return _cached("audio-only.mp4", functools.partial(make_audio_only))


def cached_text_file() -> Path:
    """`make_text_file` built once per test process (named .mp4, like the real mistake)."""
    return _cached("notes.mp4", functools.partial(make_text_file))


def cached_truncated() -> Path:
    """`make_truncated` built once per test process."""
    return _cached("truncated.mp4", functools.partial(make_truncated))


def cached_garbled() -> Path:
    """`make_garbled` built once per test process."""
    return _cached("garbled.mp4", functools.partial(make_garbled))


def copy_to(source: Path, target: Path) -> Path:
    """A private copy of a cached clip, for tests that move or change the file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return target
