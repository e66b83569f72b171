"""An animatic: a 9:16 draft video of a table read, one card per script line, in one ffmpeg run.

Behind every line is the series' poster (darkened) or a colour card; over it the speaker's
name and the line, wrapped to the frame, shown for as long as the line lasts in the audio. A
thin bar along the bottom shows how far into the episode the line is, and the last line of
dialogue (where a micro-drama puts its cliffhanger) is marked as such.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from PIL import ImageFont

FONT_BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
FONT_REGULAR = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
FONT_ITALIC = "/usr/share/fonts/truetype/dejavu/DejaVuSerif-Italic.ttf"
# Cards do not move: a low frame rate costs little to encode and nothing to the viewer.
FPS = 12
# The colour card of each speaker (cycled) and of scene and action lines.
SPEAKER_COLOURS = ("0x5a189a", "0x9d0208", "0x1b4332", "0x0b3c5d", "0x7f5539", "0x3c096c")
SCENE_COLOUR = "0x101018"
ACTION_COLOUR = "0x22223a"


@dataclass(frozen=True)
class Card:
    """One line on screen, from `start_s` to `end_s` of the video."""

    kind: str  # "scene", "action" or "dialogue"
    speaker: str | None
    text: str
    start_s: float
    end_s: float
    colour: str = SCENE_COLOUR
    cliffhanger: bool = False


@dataclass(frozen=True)
class Frame:
    width: int = 540
    height: int = 960

    def px(self, design: float) -> int:
        """A size on the 720x1280 design, in this frame's pixels."""
        return max(1, round(design * self.height / 1280))


@cache
def _face(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size)


def wrap(text: str, *, font: str, size: int, max_px: float) -> str:
    """Break text into lines no wider than `max_px` at that font and size (drawtext does not
    wrap); a word wider than the line stays whole on its own line."""
    face = _face(font, size)
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}".strip()
        if current and face.getlength(candidate) > max_px:
            lines.append(current)
            current = word
        else:
            current = candidate
    if current:
        lines.append(current)
    return "\n".join(lines)


def _escape(path: Path) -> str:
    return str(path).replace("\\", "\\\\").replace(":", "\\:").replace("'", "\\'")


def _fit(text: str, *, font: str, size: int, max_px: float, max_lines: int) -> tuple[str, int]:
    """The wrapped text and the largest size up to `size` at which it takes <= max_lines."""
    while True:
        wrapped = wrap(text, font=font, size=size, max_px=max_px)
        if wrapped.count("\n") < max_lines or size <= 14:
            return wrapped, size
        size -= 2


def build_command(
    cards: Sequence[Card],
    *,
    audio: Path,
    output: Path,
    text_dir: Path,
    duration_s: float,
    frame: Frame,
    background: Path | None = None,
    heading: str = "",
    ffmpeg_bin: str = "ffmpeg",
) -> list[str]:
    """The ffmpeg arguments that render the cards over the background with `audio` into an
    H.264/AAC MP4 of `duration_s`. Texts go through files (drawtext's textfile), so quotes
    and colons in a script need no escaping."""
    w, h, px = frame.width, frame.height, frame.px
    margin = px(60)
    text_px = w - 2 * margin
    filters: list[str] = []
    if background is not None:
        # The poster fills the frame (cropped to 9:16), darkened so white text reads on it.
        filters.append(
            f"[0:v]scale={w}:{h}:force_original_aspect_ratio=increase,crop={w}:{h},"
            f"setsar=1,format=yuv420p,eq=brightness=-0.18:saturation=0.8,"
            f"trim=duration={duration_s:.3f},setpts=PTS-STARTPTS"
        )
    else:
        filters.append(f"[0:v]format=yuv420p,trim=duration={duration_s:.3f},setpts=PTS-STARTPTS")
    chain: list[str] = []
    files = 0

    def textfile(content: str) -> Path:
        nonlocal files
        files += 1
        path = text_dir / f"line{files:04d}.txt"
        path.write_text(content, encoding="utf-8")
        return path

    def drawtext(content: str, *, font: str, size: int, colour: str, y: str, extra: str) -> str:
        return (
            f"drawtext=fontfile={font}:textfile='{_escape(textfile(content))}':expansion=none:"
            f"fontsize={size}:fontcolor={colour}:x=(w-text_w)/2:y={y}:"
            f"shadowcolor=black@0.7:shadowx={px(2)}:shadowy={px(2)}{extra}"
        )

    if heading:
        chain.append(f"drawbox=x=0:y=0:w={w}:h={px(120)}:color=black@0.45:t=fill")
        chain.append(
            drawtext(
                wrap(heading, font=FONT_BOLD, size=px(30), max_px=text_px),
                font=FONT_BOLD,
                size=px(30),
                colour="0xffffff",
                y=f"{px(44)}",
                extra=f":line_spacing={px(6)}",
            )
        )
    for card in cards:
        when = f":enable='between(t,{card.start_s:.3f},{card.end_s - 0.001:.3f})'"
        # The speaker's colour washes over the background for as long as the line lasts.
        opacity = 0.55 if background is not None else 1.0
        chain.append(
            f"drawbox=x=0:y={px(120)}:w={w}:h={h - px(120)}:color={card.colour}@{opacity}:"
            f"t=fill{when}"
        )
        if card.kind == "dialogue":
            body, size = _fit(
                card.text, font=FONT_REGULAR, size=px(46), max_px=text_px, max_lines=7
            )
            font = FONT_REGULAR
        elif card.kind == "action":
            body, size = _fit(card.text, font=FONT_ITALIC, size=px(38), max_px=text_px, max_lines=8)
            font = FONT_ITALIC
        else:
            body, size = _fit(
                card.text.upper(), font=FONT_BOLD, size=px(44), max_px=text_px, max_lines=4
            )
            font = FONT_BOLD
        lines = body.count("\n") + 1
        spacing = px(14)
        block = lines * size + (lines - 1) * spacing
        top = (h - block) // 2 + px(40)
        label = card.speaker.upper() if card.kind == "dialogue" and card.speaker else ""
        if card.kind == "scene":
            label = "SCENE"
        elif card.kind == "action":
            label = "ACTION"
        if label:
            chain.append(
                drawtext(
                    label,
                    font=FONT_BOLD,
                    size=px(34),
                    colour="0xffd166",
                    y=f"{top - px(80)}",
                    extra=when,
                )
            )
        chain.append(
            drawtext(
                body,
                font=font,
                size=size,
                colour="0xffffff",
                y=f"{top}",
                extra=f":line_spacing={spacing}{when}",
            )
        )
        if card.cliffhanger:
            chain.append(
                drawtext(
                    "CLIFFHANGER",
                    font=FONT_BOLD,
                    size=px(28),
                    colour="0xff4d6d",
                    y=f"{h - px(200)}",
                    extra=when,
                )
            )
    # Where we are in the episode: a bar that slides in along the bottom edge.
    bar_h = px(10)
    graph = (
        f"{filters[0]}{',' if chain else ''}{','.join(chain)}[cards];"
        f"color=c=0xffd166:s={w}x{bar_h}:r={FPS}[bar];"
        f"[cards][bar]overlay=x='-{w}+{w}*t/{duration_s:.3f}':y={h - bar_h}:shortest=1[v]"
    )
    if background is not None:
        video_input = ["-loop", "1", "-framerate", str(FPS), "-i", str(background)]
    else:
        video_input = ["-f", "lavfi", "-i", f"color=c={SCENE_COLOUR}:s={w}x{h}:r={FPS}"]
    return [
        ffmpeg_bin, "-hide_banner", "-loglevel", "error", "-y",
        *video_input,
        "-i", str(audio),
        "-filter_complex", graph,
        "-map", "[v]", "-map", "1:a",
        "-t", f"{duration_s:.3f}",
        "-r", str(FPS),
        "-c:v", "libx264", "-preset", "ultrafast", "-crf", "24", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-b:a", "96k", "-ar", "44100", "-ac", "2",
        "-movflags", "+faststart",
        str(output),
    ]  # fmt: skip


def render_animatic(
    cards: Sequence[Card],
    *,
    audio: Path,
    output: Path,
    duration_s: float,
    frame: Frame | None = None,
    background: Path | None = None,
    heading: str = "",
    ffmpeg_bin: str = "ffmpeg",
) -> Path:
    """Render the cards with the audio into `output` (an .mp4)."""
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="md-animatic-") as text_dir:
        command = build_command(
            cards,
            audio=audio,
            output=output,
            text_dir=Path(text_dir),
            duration_s=duration_s,
            frame=frame or Frame(),
            background=background,
            heading=heading,
            ffmpeg_bin=ffmpeg_bin,
        )
        result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"ffmpeg failed rendering the animatic: {result.stderr.strip()[-2000:]}")
    return output
