"""The demo generator makes real vertical episodes: 9:16 H.264 and AAC, as long as asked."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from microdrama.demo.clips import LOOKS, ClipSpec, render_clip

pytestmark = pytest.mark.slow


def _probe(path: Path) -> dict[str, object]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", str(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    probed: dict[str, object] = json.loads(out)
    return probed


@pytest.mark.parametrize("look", sorted(LOOKS))
def test_each_series_look_renders_a_vertical_clip_with_sound_of_the_asked_length(
    tmp_path: Path, look: str
) -> None:
    spec = ClipSpec(
        series_title="Nine Floors Down: the 'Basement' Tapes",  # quotes and colons survive
        episode_number=2,
        episode_title="The Panel",
        dialogue="It's counting down. Nine... eight...",
        scene="Elevator car, 3:03 a.m.",
        look=look,
        seconds=3.0,
        width=144,
        height=256,
    )

    clip = render_clip(spec, tmp_path / f"{look}.mp4")

    info = _probe(clip)
    streams = info["streams"]
    assert isinstance(streams, list)
    video = next(s for s in streams if s["codec_type"] == "video")
    audio = next(s for s in streams if s["codec_type"] == "audio")
    assert (video["codec_name"], video["width"], video["height"]) == ("h264", 144, 256)
    assert video["width"] * 16 == video["height"] * 9
    assert audio["codec_name"] == "aac"
    format_info = info["format"]
    assert isinstance(format_info, dict)
    assert float(format_info["duration"]) == pytest.approx(3.0, abs=0.15)


def test_the_last_seconds_carry_the_to_be_continued_card(tmp_path: Path) -> None:
    spec = ClipSpec(
        series_title="Contract Bride",
        episode_number=1,
        episode_title="The Offer",
        dialogue="One year. One ring.",
        look="rose",
        seconds=6.0,
        width=180,
        height=320,
    )
    clip = render_clip(spec, tmp_path / "ep1.mp4")

    def mean_luma(at_s: float) -> float:
        # The end card darkens the whole picture behind its text: the frame gets darker.
        raw = subprocess.run(
            ["ffmpeg", "-v", "error", "-ss", str(at_s), "-i", str(clip), "-frames:v", "1",
             "-vf", "format=gray", "-f", "rawvideo", "-"],
            check=True,
            capture_output=True,
        ).stdout  # fmt: skip
        return sum(raw) / len(raw)

    assert mean_luma(5.0) < mean_luma(2.5) * 0.8
