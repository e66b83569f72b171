"""The demo generator makes real vertical episodes: 9:16 H.264 and AAC, as long as asked."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from microdrama.demo.clips import DIALOGUE_BORDER, LOOKS, SAFE_AREA, ClipSpec, Look, render_clip

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


def _gray_frame(clip: Path, at_s: float) -> bytes:
    return subprocess.run(
        ["ffmpeg", "-v", "error", "-ss", str(at_s), "-i", str(clip), "-frames:v", "1",
         "-vf", "format=gray", "-f", "rawvideo", "-"],
        check=True,
        capture_output=True,
    ).stdout  # fmt: skip


def _lit_box(
    raw: bytes, width: int, rows: tuple[int, int], threshold: int = 60
) -> tuple[int, int, int, int]:
    """Left, top, right, bottom of the pixels brighter than `threshold` (text on black) within
    the frame's `rows`."""
    lit = [
        (i % width, i // width)
        for i in range(rows[0] * width, rows[1] * width)
        if raw[i] > threshold
    ]
    assert lit, "no text in the frame"
    xs, ys = [x for x, _ in lit], [y for _, y in lit]
    return min(xs), min(ys), max(xs) + 1, max(ys) + 1


def _assert_inside(box: tuple[int, int, int, int], margin: int = 0) -> None:
    # x264 may smear an edge by a pixel or two; 3 px is far less than any crop or overlay.
    tolerance = 3
    left, top, right, bottom = box
    safe = SAFE_AREA
    assert left - margin >= safe.left - tolerance, box
    assert top - margin >= safe.top - tolerance, box
    assert right + margin <= safe.right + tolerance, box
    assert bottom + margin <= safe.bottom + tolerance, box


def test_every_caption_stays_inside_the_safe_area(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The captions over black, so every lit pixel is text: where the clip puts its words.
    plain = Look(
        name="plain",
        background="color=c=black:s={lw}x{lh}:r={r}:d={d}",
        score="anullsrc=r={ar}:cl=stereo,atrim=duration={d}",
        title_color="white",
        accent_color="white",
        caption_box="black@0.5",
    )
    monkeypatch.setitem(LOOKS, "plain", plain)
    spec = ClipSpec(
        series_title="Contract Bride of the Midnight CEO",  # the demo's longest words
        episode_number=12,
        episode_title="What the Contract Didn't Say",
        dialogue="One year. One ring. Then you never see me again, Mr. Hale. Not once.",
        scene="Hale Tower, penthouse floor, 11:58 p.m.",
        look="plain",
        seconds=6.0,
    )
    clip = render_clip(spec, tmp_path / "captions.mp4")
    during, end_card = _gray_frame(clip, 2.8), _gray_frame(clip, 5.2)

    # Title, episode line, scene and dialogue, all on screen at 2.8 s.
    _assert_inside(_lit_box(during, spec.width, rows=(0, spec.height)))
    # The dialogue's box reaches further out than its letters by its border: inside too.
    _assert_inside(_lit_box(during, spec.width, rows=(640, spec.height)), margin=DIALOGUE_BORDER)
    # "To be continued…" and the next episode, mid-frame on the last seconds.
    _assert_inside(_lit_box(end_card, spec.width, rows=(500, 800)))


def test_the_safe_area_clears_the_crop_of_a_tall_phone() -> None:
    # 390x844 filled by a 9:16 frame shows 720 * (390/844) / (9/16) px of its width: the
    # captions must stay within that, centred.
    shown = 720 * (390 / 844) / (9 / 16)
    cropped_each_side = (720 - shown) / 2
    assert SAFE_AREA.left > cropped_each_side and SAFE_AREA.right < 720 - cropped_each_side
