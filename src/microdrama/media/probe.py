"""ffprobe a source file: what it holds, or a clear reason why it cannot be an episode."""

from __future__ import annotations

import json
import logging
import subprocess
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from microdrama.config import Settings
from microdrama.errors import InvalidMedia

PROBE_TIMEOUT_S = 60
# What a creator reads when ffprobe cannot make sense of a file. ffprobe's own words name
# server paths and demuxer internals, so they go to the log, never to the person.
NOT_A_VIDEO = "This file isn't a video we can read. Upload an MP4, MOV or WebM file."

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SourceInfo:
    """The facts about a source that the transcoder and the catalog need."""

    # Display size: already swapped when the file carries a 90/270 degree rotation.
    width: int
    height: int
    duration_ms: int
    fps: float
    has_audio: bool
    video_codec: str
    format_name: str

    @property
    def duration_s(self) -> float:
        return self.duration_ms / 1000


def _last_error_line(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    if not lines:
        return "unknown error"
    # ffprobe prefixes the final line with the input path; the path means nothing to a user.
    last = lines[-1]
    return last.split(": ", 1)[1] if ": " in last and last.startswith("/") else last


def _rate(value: str | None) -> float:
    try:
        rate = Fraction(value or "0")
    except (ValueError, ZeroDivisionError):
        return 0.0
    return float(rate) if rate > 0 else 0.0


def _rotation(stream: dict[str, Any]) -> int:
    for side_data in stream.get("side_data_list") or []:
        if "rotation" in side_data:
            return int(float(side_data["rotation"]))
    tag = (stream.get("tags") or {}).get("rotate")
    return int(float(tag)) if tag else 0


def _duration_s(stream: dict[str, Any], fmt: dict[str, Any]) -> float:
    for source in (fmt, stream):
        try:
            value = float(source.get("duration") or 0)
        except (TypeError, ValueError):
            value = 0.0
        if value > 0:
            return value
    return 0.0


def probe(path: Path, *, settings: Settings) -> SourceInfo:
    """Describe the source, or raise InvalidMedia saying what is wrong with it."""
    try:
        command = [settings.ffprobe_bin, "-v", "error", "-show_format", "-show_streams"]
        result = subprocess.run(
            [*command, "-of", "json", str(path)],
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT_S,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as exc:
        log.warning("ffprobe timed out after %s s on %s", PROBE_TIMEOUT_S, path)
        raise InvalidMedia(NOT_A_VIDEO) from exc
    if result.returncode != 0:
        log.warning("ffprobe refused %s: %s", path, _last_error_line(result.stderr))
        raise InvalidMedia(NOT_A_VIDEO)
    try:
        data = json.loads(result.stdout or "{}")
    except json.JSONDecodeError as exc:
        log.warning("ffprobe printed no JSON for %s: %.200s", path, result.stdout)
        raise InvalidMedia(NOT_A_VIDEO) from exc

    streams: list[dict[str, Any]] = data.get("streams") or []
    fmt: dict[str, Any] = data.get("format") or {}
    # Cover art in an audio file shows up as a one-frame "video" stream; it is not a video.
    videos = [
        s
        for s in streams
        if s.get("codec_type") == "video" and not (s.get("disposition") or {}).get("attached_pic")
    ]
    if not videos:
        kinds = sorted({str(s.get("codec_type")) for s in streams}) or ["nothing"]
        raise InvalidMedia(
            "This file has no picture in it. Upload an MP4, MOV or WebM video.", streams=kinds
        )
    video = videos[0]
    width, height = int(video.get("width") or 0), int(video.get("height") or 0)
    if width <= 0 or height <= 0:
        raise InvalidMedia("This video's picture can't be read; the file may be damaged.")
    if abs(_rotation(video)) % 180 == 90:
        width, height = height, width

    duration_s = _duration_s(video, fmt)
    if duration_s <= 0:
        raise InvalidMedia("This video's length can't be read; the file may be cut short.")
    if duration_s > settings.max_source_seconds:
        raise InvalidMedia(
            f"The video is {duration_s:.0f} s long; the limit is "
            f"{settings.max_source_seconds} s per episode.",
            duration_seconds=round(duration_s, 3),
            max_seconds=settings.max_source_seconds,
        )

    fps = _rate(video.get("avg_frame_rate")) or _rate(video.get("r_frame_rate"))
    return SourceInfo(
        width=width,
        height=height,
        duration_ms=round(duration_s * 1000),
        fps=fps,
        has_audio=any(s.get("codec_type") == "audio" for s in streams),
        video_codec=str(video.get("codec_name") or ""),
        format_name=str(fmt.get("format_name") or ""),
    )
