"""Turn one source file into a vertical HLS ladder, a poster and thumbnails with ONE ffmpeg run.

Segments are encrypted with HLS AES-128 under the asset's own key; the media playlists carry
KEY_URI_PLACEHOLDER as the key URI, which the playlist route replaces with a short-lived,
viewer-bound key URL. The key itself never lands in the work directory.

Everything here works in a local work directory; storing the results is the caller's job
(through the Storage interface), so this module never sees storage keys or URLs.
"""

from __future__ import annotations

import ctypes
import os
import re
import secrets
import signal
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from microdrama.config import Settings
from microdrama.media.probe import SourceInfo

THUMBNAIL_COUNT = 5
THUMBNAIL_HEIGHT = 320
AUDIO_BITRATE_BPS = 96_000
AUDIO_SAMPLE_RATE = 48_000
MAX_FPS = 60
DEFAULT_FPS = 30
# Video bits per pixel per second at 30 fps: about 4 Mb/s for 1080x1920, 1.8 for 720x1280.
BITS_PER_PIXEL = 2.0
MIN_VIDEO_BITRATE_BPS = 100_000
# A source whose output is this much shorter than its probed length was truncated.
TRUNCATION_TOLERANCE_S = 1.0

PR_SET_PDEATHSIG = 1

AES_KEY_BYTES = 16
# What the stored media playlists say where the key is; the playlist route rewrites it.
KEY_URI_PLACEHOLDER = "microdrama-key:asset"


def new_aes_key() -> bytes:
    """A fresh random AES-128 key for one asset's segments."""
    return secrets.token_bytes(AES_KEY_BYTES)


@contextmanager
def key_info_file(aes_key: bytes) -> Iterator[Path]:
    """ffmpeg's -hls_key_info_file (key URI, key path, IV) in a private folder outside work_dir.

    One random IV per asset, written into the playlists (ffmpeg 5.1 would otherwise use an
    all-zero IV for every segment).
    """
    if len(aes_key) != AES_KEY_BYTES:
        raise ValueError("an HLS AES-128 key is 16 bytes")
    with tempfile.TemporaryDirectory(prefix="microdrama-key-") as tmp:
        key_path = Path(tmp) / "segment.key"
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(aes_key)
        info = Path(tmp) / "key.info"
        info.write_text(f"{KEY_URI_PLACEHOLDER}\n{key_path}\n{secrets.token_hex(16)}\n")
        yield info


class TranscodeError(Exception):
    """ffmpeg could not turn the source into renditions; `str()` is the reason for people."""


class TranscodeCancelled(Exception):
    """The run was stopped on purpose (lease lost, worker shutting down)."""


@dataclass(frozen=True)
class Rung:
    width: int
    height: int
    video_bitrate_bps: int

    @property
    def name(self) -> str:
        return f"{self.height}p"

    @property
    def bandwidth(self) -> int:
        return self.video_bitrate_bps + AUDIO_BITRATE_BPS


@dataclass
class TranscodeOutput:
    """What a run left in the work directory, as paths relative to it."""

    master_playlist: str
    poster: str
    renditions: list[tuple[Rung, str]]  # (rung, its media playlist), tallest first
    thumbnails: list[tuple[int, str]]  # (time_ms, jpeg)
    duration_ms: int
    files: list[str] = field(default_factory=list)


def _even(value: float) -> int:
    return max(2, round(value / 2) * 2)


def vertical_width(height: int) -> int:
    """The 9:16 width for a height, rounded to even (x264 needs even sizes)."""
    return _even(height * 9 / 16)


def plan_ladder(*, source: SourceInfo, ladder_heights: list[int], fps: float) -> list[Rung]:
    """The rungs to encode, tallest first: never upscale, but always at least one rung.

    A rung "fits" when the source fills its 9:16 frame in at least one dimension without
    upscaling, so a landscape source is judged by its width (it is letterboxed), a portrait
    one by its height.
    """
    fill_height = max(source.height, source.width * 16 / 9)
    heights = sorted({_even(h) for h in ladder_heights if h <= fill_height}, reverse=True)
    if not heights:
        heights = [_even(min(fill_height, max(ladder_heights)))]
    return [
        Rung(
            width=vertical_width(h),
            height=h,
            video_bitrate_bps=max(
                MIN_VIDEO_BITRATE_BPS,
                round(vertical_width(h) * h * BITS_PER_PIXEL * min(fps, MAX_FPS) / 30),
            ),
        )
        for h in heights
    ]


def output_fps(source: SourceInfo) -> int:
    """A constant frame rate for the ladder (keyframe spacing is counted in frames)."""
    if source.fps <= 0:
        return DEFAULT_FPS
    return max(1, min(MAX_FPS, round(source.fps)))


def _fit(width: int, height: int) -> str:
    # Scale inside the 9:16 frame, then pad: portrait sources of other ratios get bars,
    # landscape sources are letterboxed; nothing is cropped away from the story.
    return (
        f"scale={width}:{height}:force_original_aspect_ratio=decrease:force_divisible_by=2,"
        f"pad={width}:{height}:(ow-iw)/2:(oh-ih)/2:color=black,setsar=1"
    )


def build_command(
    *,
    settings: Settings,
    source_path: Path,
    work_dir: Path,
    source: SourceInfo,
    key_info_path: Path | None = None,
) -> tuple[list[str], list[Rung]]:
    """The single ffmpeg invocation for the whole ladder, poster and thumbnails."""
    fps = output_fps(source)
    rungs = plan_ladder(source=source, ladder_heights=settings.ladder_heights, fps=fps)
    duration_s = source.duration_s
    keyint = fps * settings.segment_seconds
    poster_at_s = min(1.0, duration_s / 3)
    thumb_rate = f"{THUMBNAIL_COUNT}/{max(duration_s, 0.1):.3f}"
    n = len(rungs)

    video_branches = "".join(f"[s{i}]" for i in range(n))
    graph = [f"[0:v:0]fps={fps},format=yuv420p,split={n + 2}{video_branches}[sp][st]"]
    graph += [f"[s{i}]{_fit(r.width, r.height)}[v{i}]" for i, r in enumerate(rungs)]
    graph.append(
        f"[sp]select='gte(t\\,{poster_at_s:.3f})',{_fit(rungs[0].width, rungs[0].height)}[poster]"
    )
    thumb_w = vertical_width(THUMBNAIL_HEIGHT)
    graph.append(f"[st]fps={thumb_rate},{_fit(thumb_w, THUMBNAIL_HEIGHT)}[thumbs]")
    audio_branches = "".join(f"[a{i}]" for i in range(n))
    if source.has_audio:
        audio_in = f"[0:a:0]aresample={AUDIO_SAMPLE_RATE}"
    else:
        # Every rendition carries audio so players never switch between A/V and video-only.
        audio_in = f"anullsrc=r={AUDIO_SAMPLE_RATE}:cl=stereo,atrim=duration={duration_s:.3f}"
    graph.append(f"{audio_in},asplit={n}{audio_branches}")

    cmd = [
        settings.ffmpeg_bin, "-hide_banner", "-nostdin", "-y",
        "-loglevel", "error", "-nostats", "-progress", "pipe:1",
        "-i", str(source_path),
        "-filter_complex", ";".join(graph),
    ]  # fmt: skip
    for i in range(n):
        cmd += ["-map", f"[v{i}]"]
    for i in range(n):
        cmd += ["-map", f"[a{i}]"]
    cmd += [
        "-c:v", "libx264", "-preset", settings.x264_preset, "-pix_fmt", "yuv420p",
        # Closed, fixed GOPs of exactly one segment, at the same frames in every rendition,
        # so players can switch rungs at any segment boundary.
        "-g", str(keyint), "-keyint_min", str(keyint), "-sc_threshold", "0",
        "-flags", "+cgop",
        "-force_key_frames", f"expr:gte(t,n_forced*{settings.segment_seconds})",
        "-c:a", "aac", "-b:a", str(AUDIO_BITRATE_BPS), "-ac", "2",
    ]  # fmt: skip
    for i, rung in enumerate(rungs):
        cmd += [
            f"-b:v:{i}", str(rung.video_bitrate_bps),
            f"-maxrate:v:{i}", str(round(rung.video_bitrate_bps * 1.1)),
            f"-bufsize:v:{i}", str(rung.video_bitrate_bps * 2),
        ]  # fmt: skip
    stream_map = " ".join(f"v:{i},a:{i},name:{r.name}" for i, r in enumerate(rungs))
    cmd += [
        "-f", "hls",
        "-hls_time", str(settings.segment_seconds),
        "-hls_playlist_type", "vod",
        "-hls_flags", "independent_segments",
        "-hls_segment_type", "mpegts",
        *(["-hls_key_info_file", str(key_info_path)] if key_info_path is not None else []),
        "-hls_segment_filename", str(work_dir / "%v" / "seg_%05d.ts"),
        "-master_pl_name", "master.m3u8",
        "-var_stream_map", stream_map,
        str(work_dir / "%v" / "index.m3u8"),
        "-map", "[poster]", "-frames:v", "1", "-update", "1", "-q:v", "3",
        str(work_dir / "poster.jpg"),
        "-map", "[thumbs]", "-frames:v", str(THUMBNAIL_COUNT), "-q:v", "5",
        str(work_dir / "thumbs" / "thumb_%02d.jpg"),
    ]  # fmt: skip
    return cmd, rungs


def die_with_parent() -> None:
    # Runs in the child before exec: the kernel SIGKILLs ffmpeg when the thread that
    # started it dies, so a killed worker never leaves an orphan encoder behind.
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _ffmpeg_reason(log: str) -> str:
    """The most telling line of ffmpeg's error output, without addresses and stream numbers."""
    lines = []
    for raw in log.splitlines():
        line = re.sub(r"^\[[^\]]+ @ 0x[0-9a-f]+\]\s*", "", raw.strip())
        line = re.sub(r"^Error while decoding stream #\d+:\d+:\s*", "", line)
        line = re.sub(r"^/\S+:\s*", "", line)  # input path prefix
        if line and not line.startswith("Last message repeated"):
            lines.append(line)
    if not lines:
        return "ffmpeg: failed without a message"
    telling = ("Invalid data", "corrupt", "No such file", "Permission denied", "Cannot determine")
    for line in lines:
        if any(word.lower() in line.lower() for word in telling):
            return f"ffmpeg: {line}"
    return f"ffmpeg: {lines[-1]}"


def run_ffmpeg(
    cmd: list[str],
    *,
    duration_s: float,
    work_dir: Path,
    on_progress: Callable[[float], None] | None = None,
    cancel: threading.Event | None = None,
) -> None:
    """Run ffmpeg, reporting progress 0..1 from `-progress pipe:1`; raise with its reason."""
    log_path = work_dir / "ffmpeg.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=log,
            cwd=work_dir,
            text=True,
            preexec_fn=die_with_parent,
        )
        watcher_done = threading.Event()

        def kill_on_cancel() -> None:
            # Waits on `watcher_done`, not on `cancel`: the end of ffmpeg ends the watcher at
            # once, where a wait on `cancel` held every run's end up to a poll (0.2 s).
            while not (cancel is not None and cancel.is_set()):
                if watcher_done.wait(0.2):
                    return
            process.kill()

        watcher = threading.Thread(target=kill_on_cancel, daemon=True, name="ffmpeg-cancel")
        watcher.start()
        try:
            assert process.stdout is not None
            for line in process.stdout:
                key, _, value = line.strip().partition("=")
                if key == "out_time_us" and on_progress is not None and value.isdigit():
                    on_progress(min(1.0, int(value) / 1e6 / max(duration_s, 0.001)))
            returncode = process.wait()
        finally:
            watcher_done.set()
            if process.poll() is None:
                process.kill()
                process.wait()
            watcher.join()
    if cancel is not None and cancel.is_set():
        raise TranscodeCancelled("transcode cancelled")
    if returncode != 0:
        raise TranscodeError(_ffmpeg_reason(log_path.read_text(errors="replace")))


def playlist_duration_s(playlist: Path) -> float:
    """The sum of a media playlist's #EXTINF durations."""
    return sum(
        float(m.group(1))
        for m in re.finditer(r"^#EXTINF:([0-9.]+)", playlist.read_text(), flags=re.M)
    )


@contextmanager
def _maybe_key_info(aes_key: bytes | None) -> Iterator[Path | None]:
    if aes_key is None:
        yield None
        return
    with key_info_file(aes_key) as path:
        yield path


def transcode(
    *,
    settings: Settings,
    source_path: Path,
    source: SourceInfo,
    work_dir: Path,
    aes_key: bytes | None,
    on_progress: Callable[[float], None] | None = None,
    cancel: threading.Event | None = None,
) -> TranscodeOutput:
    """Encode the ladder into work_dir (segments encrypted under aes_key) and check it is whole."""
    (work_dir / "thumbs").mkdir(parents=True, exist_ok=True)
    with _maybe_key_info(aes_key) as key_info_path:
        cmd, rungs = build_command(
            settings=settings,
            source_path=source_path,
            work_dir=work_dir,
            source=source,
            key_info_path=key_info_path,
        )
        run_ffmpeg(
            cmd,
            duration_s=source.duration_s,
            work_dir=work_dir,
            on_progress=on_progress,
            cancel=cancel,
        )
    renditions = [(r, f"{r.name}/index.m3u8") for r in rungs]
    for _, playlist in renditions:
        if not (work_dir / playlist).is_file():
            raise TranscodeError("ffmpeg: no playlist was written; the source has no usable video")
    if not (work_dir / "master.m3u8").is_file() or not (work_dir / "poster.jpg").is_file():
        raise TranscodeError("ffmpeg: no picture could be decoded from the source")
    out_s = playlist_duration_s(work_dir / renditions[0][1])
    if out_s < source.duration_s - max(TRUNCATION_TOLERANCE_S, settings.segment_seconds):
        raise TranscodeError(
            f"the source is truncated or damaged: only {out_s:.1f} s of its "
            f"{source.duration_s:.1f} s could be decoded"
        )
    thumbs = sorted((work_dir / "thumbs").glob("thumb_*.jpg"))
    step_ms = source.duration_ms / THUMBNAIL_COUNT
    log = work_dir / "ffmpeg.log"
    if log.exists():
        log.unlink()  # not a deliverable
    files = sorted(p.relative_to(work_dir).as_posix() for p in work_dir.rglob("*") if p.is_file())
    return TranscodeOutput(
        master_playlist="master.m3u8",
        poster="poster.jpg",
        renditions=renditions,
        thumbnails=[
            (round(i * step_ms), p.relative_to(work_dir).as_posix()) for i, p in enumerate(thumbs)
        ],
        # The source's own length is exact; the output can only lose a few frames at the end.
        duration_ms=min(source.duration_ms, round(out_s * 1000)) or source.duration_ms,
        files=files,
    )
