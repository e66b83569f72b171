"""Synthetic vertical episodes: one ffmpeg run per clip, from lavfi sources only.

Each series has a *look*: a moving background, a palette and a score, so that the demo feed
shows distinct shows rather than one test pattern. Every clip carries the series title, the
episode number and title, a line of dialogue, a "To be continued…" card on its last seconds,
and an AAC audio track. Nothing is downloaded: the sources are ffmpeg's own generators.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from PIL import ImageFont

FONT_BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
FONT_REGULAR = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
FONT_SERIF_ITALIC = "/usr/share/fonts/truetype/dejavu/DejaVuSerif-Italic.ttf"
END_CARD_SECONDS = 3.0
AUDIO_RATE = 44100


@dataclass(frozen=True)
class SafeArea:
    """A rectangle of the 720x1280 design, in design pixels: captions stay inside it."""

    left: int
    top: int
    right: int
    bottom: int

    @property
    def width(self) -> int:
        return self.right - self.left


# Where the burned-in captions may go. A 9:16 frame cropped to fill a 390x844 phone loses 64 px
# at each side (the player letterboxes it there instead, see app.css, but other phones crop a
# little); on every screen the top bar and the unmute pill reach ~145 px down, the feed's title
# and buttons start ~880 px down (a three-line title), and the side buttons ~605 px across.
SAFE_AREA = SafeArea(left=130, top=160, right=590, bottom=840)


@dataclass(frozen=True)
class Look:
    """How a series looks and sounds.

    `background` is a filter chain that starts from source filters and ends in one video
    stream of lw x lh pixels (a quarter of the frame's width and height: the generators, blurs
    and colour work then cost a sixteenth, and the result is scaled up smoothly); `overlay`
    runs after the scaling at full size. `score` is the same for audio. All are format strings
    filled with w, h, lw, lh, r (frame rate), d (seconds), ar (audio rate) and a `seed` that
    varies the picture between episodes of one series.
    """

    name: str
    background: str
    score: str
    title_color: str
    accent_color: str
    caption_box: str
    overlay: str = ""


# Note for new looks: ffmpeg 5.1's blend corrupts its heap when its inputs negotiate RGBA (as
# gradients does), so every blend input is forced to planar RGB (format=gbrp) first.
LOOKS: dict[str, Look] = {
    # Romance: a slow drift of rose, peach and violet with soft glowing "bokeh" over it.
    "rose": Look(
        name="rose",
        background=(
            "gradients=s={lw}x{lh}:r={r}:d={d}:n=4:c0=0xff5d8f:c1=0x7b2cbf:c2=0xffb4a2:"
            "c3=0x3c096c:speed=0.015:seed={seed},format=gbrp[bg0];"
            "life=s={lw}x{lh}:r={r}:ratio=0.08:mold=40:life_color=0xffe5ec:death_color=0x000000:"
            "mold_color=0x40101c:seed={seed},boxblur=3:2,format=gbrp[glow];"
            "[bg0][glow]blend=all_mode=screen:all_opacity=0.55,vignette=PI/4.5"
        ),
        score=(
            # A gentle I-vi-IV-V pad in A major, one chord every four seconds, and a soft bell.
            "aevalsrc='0.09*(sin(2*PI*220*t)+sin(2*PI*277.18*t)+sin(2*PI*329.63*t))"
            "*lt(mod(t\\,16)\\,4)"
            "+0.09*(sin(2*PI*185*t)+sin(2*PI*220*t)+sin(2*PI*277.18*t))"
            "*gte(mod(t\\,16)\\,4)*lt(mod(t\\,16)\\,8)"
            "+0.09*(sin(2*PI*146.83*t)+sin(2*PI*220*t)+sin(2*PI*293.66*t))"
            "*gte(mod(t\\,16)\\,8)*lt(mod(t\\,16)\\,12)"
            "+0.09*(sin(2*PI*164.81*t)+sin(2*PI*246.94*t)+sin(2*PI*329.63*t))"
            "*gte(mod(t\\,16)\\,12)"
            "+0.05*sin(2*PI*880*t)*exp(-4*mod(t\\,2))"
            "|0.09*(sin(2*PI*220.7*t)+sin(2*PI*277.9*t)+sin(2*PI*330.2*t))"
            "*lt(mod(t\\,16)\\,4)"
            "+0.09*(sin(2*PI*185.5*t)+sin(2*PI*220.7*t)+sin(2*PI*277.9*t))"
            "*gte(mod(t\\,16)\\,4)*lt(mod(t\\,16)\\,8)"
            "+0.09*(sin(2*PI*147.2*t)+sin(2*PI*220.7*t)+sin(2*PI*294.1*t))"
            "*gte(mod(t\\,16)\\,8)*lt(mod(t\\,16)\\,12)"
            "+0.09*(sin(2*PI*165.2*t)+sin(2*PI*247.4*t)+sin(2*PI*330.2*t))"
            "*gte(mod(t\\,16)\\,12)"
            "+0.05*sin(2*PI*1318.5*t)*exp(-4*mod(t+1\\,2))':s={ar}:d={d}:c=stereo,"
            "lowpass=f=2400"
        ),
        title_color="0xfff0f3",
        accent_color="0xff8fab",
        caption_box="0x2b0a1a@0.55",
    ),
    # Revenge: a slowly zooming fractal in ember red and black, film grain, hard vignette.
    "ember": Look(
        name="ember",
        background=(
            "mandelbrot=s={lw}x{lh}:r={r}:start_scale=2.2:end_scale=0.4:end_pts={end_pts}:"
            # No morphing: it defeats the filter's reuse of the previous frame (20x slower).
            "start_x=-0.7436447860:start_y=0.1318252536:maxiter=100,"
            "format=yuv420p,hue=s=0,colorchannelmixer=rr=1.1:gg=0.35:bb=0.12,"
            "eq=contrast=1.25:brightness=-0.06,vignette=PI/3.2"
        ),
        score=(
            # A low D-minor drone under brown noise, with a dull hit every four seconds.
            "aevalsrc='0.16*sin(2*PI*73.42*t)+0.1*sin(2*PI*87.31*t)+0.08*sin(2*PI*110*t)"
            "+0.35*sin(2*PI*48*t)*exp(-5*mod(t\\,4))"
            "|0.16*sin(2*PI*73.6*t)+0.1*sin(2*PI*87.5*t)+0.08*sin(2*PI*110.3*t)"
            "+0.35*sin(2*PI*48*t)*exp(-5*mod(t\\,4))':s={ar}:d={d}:c=stereo[drone];"
            "anoisesrc=c=brown:a=0.08:r={ar}:d={d}:seed={seed},lowpass=f=500,"
            "aformat=channel_layouts=stereo[rumble];"
            "[drone][rumble]amix=inputs=2:normalize=0"
        ),
        title_color="0xfff3e0",
        accent_color="0xff4d2e",
        caption_box="0x1a0500@0.6",
    ),
    # Thriller: cold teal static of a cellular automaton, a scanning line, a heartbeat.
    "noir": Look(
        name="noir",
        background=(
            "cellauto=s={lw}x{lh}:r={r}:rule=110:random_fill_ratio=0.5:scroll=1:"
            "random_seed={seed},"
            "colorchannelmixer=rr=0.05:gg=0.35:bb=0.45,format=gbrp[cells];"
            "color=c=0x02121c:s={lw}x{lh}:r={r}:d={d},format=gbrp[base];"
            "[base][cells]blend=all_mode=lighten,vignette=PI/3.5"
        ),
        score=(
            # A heartbeat (lub-dub every 0.9 s) over a thin, wavering high tone.
            "aevalsrc='0.7*sin(2*PI*52*t)*exp(-18*mod(t\\,0.9))"
            "+0.5*sin(2*PI*46*t)*exp(-18*mod(t-0.22\\,0.9))*gte(t\\,0.22)"
            "+0.025*sin(2*PI*1318*t)*(0.5+0.5*sin(2*PI*0.3*t))"
            "|0.7*sin(2*PI*52*t)*exp(-18*mod(t\\,0.9))"
            "+0.5*sin(2*PI*46*t)*exp(-18*mod(t-0.22\\,0.9))*gte(t\\,0.22)"
            "+0.025*sin(2*PI*1321*t)*(0.5+0.5*sin(2*PI*0.3*t))':s={ar}:d={d}:c=stereo"
        ),
        overlay="drawbox=x=0:y='mod(t*{scan},{h})':w={w}:h={scan_h}:color=0x7df9ff@0.3:t=fill",
        title_color="0xe0fbfc",
        accent_color="0x5ce1e6",
        caption_box="0x00151f@0.6",
    ),
    # Fantasy: violet and gold gradients, drifting sparks, a plucked pentatonic arpeggio.
    "moon": Look(
        name="moon",
        background=(
            "gradients=s={lw}x{lh}:r={r}:d={d}:n=3:c0=0x10002b:c1=0x5a189a:c2=0x240046:"
            "speed=0.02:seed={seed},format=gbrp[sky];"
            "cellauto=s={lw}x{lh}:r={r}:rule=18:random_fill_ratio=0.02:scroll=1:"
            "random_seed={seed},boxblur=1:1,"
            "colorchannelmixer=rr=1.0:gg=0.82:bb=0.35,format=gbrp[sparks];"
            "[sky][sparks]blend=all_mode=screen:all_opacity=0.8,vignette=PI/4"
        ),
        score=(
            # Pentatonic notes picked by time, each plucked (decaying) so steps do not click.
            "aevalsrc='0.22*sin(2*PI*t*(392*eq(mod(floor(t*4)\\,5)\\,0)"
            "+440*eq(mod(floor(t*4)\\,5)\\,1)+523.25*eq(mod(floor(t*4)\\,5)\\,2)"
            "+587.33*eq(mod(floor(t*4)\\,5)\\,3)+659.25*eq(mod(floor(t*4)\\,5)\\,4)))"
            "*exp(-7*mod(t\\,0.25))+0.08*sin(2*PI*98*t)+0.06*sin(2*PI*146.83*t)"
            "|0.22*sin(2*PI*t*(392*eq(mod(floor(t*4+2)\\,5)\\,0)"
            "+440*eq(mod(floor(t*4+2)\\,5)\\,1)+523.25*eq(mod(floor(t*4+2)\\,5)\\,2)"
            "+587.33*eq(mod(floor(t*4+2)\\,5)\\,3)+659.25*eq(mod(floor(t*4+2)\\,5)\\,4)))"
            "*exp(-7*mod(t\\,0.25))*0.6+0.08*sin(2*PI*98.3*t)+0.06*sin(2*PI*147.1*t)'"
            ":s={ar}:d={d}:c=stereo,aecho=0.8:0.6:180:0.35"
        ),
        title_color="0xfff8e1",
        accent_color="0xffd166",
        caption_box="0x10002b@0.55",
    ),
    # Vampire: deep crimson and black drifting slowly, pale embers, a minor organ chord.
    "crimson": Look(
        name="crimson",
        background=(
            "gradients=s={lw}x{lh}:r={r}:d={d}:n=3:c0=0x3a0010:c1=0x9d0208:c2=0x0b0005:"
            "speed=0.012:seed={seed},format=gbrp[night];"
            "life=s={lw}x{lh}:r={r}:ratio=0.04:mold=30:life_color=0xffccd5:"
            "death_color=0x000000:mold_color=0x300008:seed={seed},boxblur=2:1,format=gbrp[embers];"
            "[night][embers]blend=all_mode=screen:all_opacity=0.45,vignette=PI/3.5"
        ),
        score=(
            # An A-minor organ chord swelling every eight seconds over a low pedal note.
            "aevalsrc='(0.07*(sin(2*PI*220*t)+sin(2*PI*261.63*t)+sin(2*PI*329.63*t))"
            "+0.1*sin(2*PI*55*t))*(0.6+0.4*sin(2*PI*t/8))"
            "|(0.07*(sin(2*PI*220.6*t)+sin(2*PI*262.1*t)+sin(2*PI*330.1*t))"
            "+0.1*sin(2*PI*55.2*t))*(0.6+0.4*sin(2*PI*t/8))':s={ar}:d={d}:c=stereo,"
            "aecho=0.8:0.7:240:0.3"
        ),
        title_color="0xffe5ec",
        accent_color="0xe5383b",
        caption_box="0x1a0008@0.6",
    ),
    # Werewolf: night-forest greens under drifting mist, a low drone and a rising howl.
    "forest": Look(
        name="forest",
        background=(
            "gradients=s={lw}x{lh}:r={r}:d={d}:n=3:c0=0x081c15:c1=0x1b4332:c2=0x2d6a4f:"
            "speed=0.015:seed={seed},format=gbrp[woods];"
            "cellauto=s={lw}x{lh}:r={r}:rule=30:random_fill_ratio=0.2:scroll=1:"
            "random_seed={seed},boxblur=4:2,"
            "colorchannelmixer=rr=0.55:gg=0.75:bb=0.7,format=gbrp[mist];"
            "[woods][mist]blend=all_mode=screen:all_opacity=0.3,vignette=PI/3.5"
        ),
        score=(
            # A low D drone, and a wavering howl swelling once every six seconds.
            "aevalsrc='0.14*sin(2*PI*73.42*t)+0.08*sin(2*PI*110*t)"
            "+0.1*sin(2*PI*392*t+3*sin(2*PI*5*t))*sin(PI*mod(t\\,6)/6)"
            "|0.14*sin(2*PI*73.6*t)+0.08*sin(2*PI*110.3*t)"
            "+0.1*sin(2*PI*392.5*t+3*sin(2*PI*5*t))*sin(PI*mod(t\\,6)/6)'"
            ":s={ar}:d={d}:c=stereo,lowpass=f=1800"
        ),
        title_color="0xd8f3dc",
        accent_color="0x95d5b2",
        caption_box="0x081c15@0.6",
    ),
    # Comedy and family: warm sunny gradients and a bouncy major arpeggio.
    "sunny": Look(
        name="sunny",
        background=(
            "gradients=s={lw}x{lh}:r={r}:d={d}:n=3:c0=0xffb703:c1=0xfb8500:c2=0xffe5a0:"
            "speed=0.02:seed={seed},format=gbrp,vignette=PI/5"
        ),
        score=(
            # C-major notes picked by time, plucked, over a soft root.
            "aevalsrc='0.2*sin(2*PI*t*(523.25*eq(mod(floor(t*6)\\,4)\\,0)"
            "+659.25*eq(mod(floor(t*6)\\,4)\\,1)+783.99*eq(mod(floor(t*6)\\,4)\\,2)"
            "+659.25*eq(mod(floor(t*6)\\,4)\\,3)))*exp(-9*mod(t\\,1/6))"
            "+0.07*sin(2*PI*130.81*t)"
            "|0.16*sin(2*PI*t*(523.25*eq(mod(floor(t*6+1)\\,4)\\,0)"
            "+659.25*eq(mod(floor(t*6+1)\\,4)\\,1)+783.99*eq(mod(floor(t*6+1)\\,4)\\,2)"
            "+659.25*eq(mod(floor(t*6+1)\\,4)\\,3)))*exp(-9*mod(t\\,1/6))"
            "+0.07*sin(2*PI*131.2*t)':s={ar}:d={d}:c=stereo"
        ),
        title_color="0xfffbea",
        accent_color="0xd62828",
        caption_box="0x5a2a00@0.55",
    ),
}


@dataclass(frozen=True)
class ClipSpec:
    """One episode to render."""

    series_title: str
    episode_number: int
    episode_title: str
    dialogue: str
    look: str
    seconds: float = 24.0
    width: int = 720
    height: int = 1280
    fps: int = 24
    scene: str = ""
    # The language of the words the clip adds itself (CARD_WORDS); English when not listed.
    language: str = "en"
    # Spoken dialogue (demo/speech.py): a WAV on the clip's timeline, mixed over the score, and
    # when the dialogue line is said (its caption shows from then).
    speech: str = ""
    dialogue_at: float | None = None


@dataclass(frozen=True)
class CardWords:
    """The words a clip adds around the script, in the series' language."""

    episode: str  # "EPISODE {number}"
    to_be_continued: str
    next_episode: str  # "Episode {number} is next"


CARD_WORDS: dict[str, CardWords] = {
    "en": CardWords("EPISODE {number}", "To be continued…", "Episode {number} is next"),
    "es": CardWords("EPISODIO {number}", "Continuará…", "Sigue el episodio {number}"),
    "pt": CardWords("EPISÓDIO {number}", "Continua…", "A seguir: episódio {number}"),
}


def _escape_path(path: Path) -> str:
    # Filter-graph option values: ':' separates options, '\' and "'" quote; escape all three.
    return str(path).replace("\\", "\\\\").replace(":", "\\:").replace("'", "\\'")


def _drawtext(
    textfile: Path, *, font: str, size: int, color: str, x: str, y: str, extra: str
) -> str:
    return (
        f"drawtext=fontfile={font}:textfile='{_escape_path(textfile)}':expansion=none:"
        f"fontsize={size}:fontcolor={color}:x={x}:y={y}{extra}"
    )


@cache
def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size)


def text_width(text: str, *, font: str, size: int) -> float:
    """The widest line of `text` in pixels, drawn with `font` at `size` (as drawtext draws it)."""
    face = _font(font, size)
    return max(face.getlength(line) for line in text.split("\n"))


def _wrap(text: str, *, font: str, size: int, max_px: float) -> str:
    """Break a caption into lines no wider than `max_px` (drawtext does not wrap)."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}".strip()
        if current and text_width(candidate, font=font, size=size) > max_px:
            lines.append(current)
            current = word
        else:
            current = candidate
    if current:
        lines.append(current)
    return "\n".join(lines)


def _fitting_size(text: str, *, font: str, size: int, max_px: float) -> int:
    """The largest font size up to `size` at which one line of `text` fits in `max_px`."""
    while size > 12 and text_width(text, font=font, size=size) > max_px:
        size -= 2
    return size


@dataclass(frozen=True)
class Caption:
    """One block of burned-in text, laid out on the 720x1280 design."""

    name: str
    text: str
    font: str
    size: int
    line_spacing: int = 0
    # The box drawn around the text (the dialogue's), in design pixels on each side.
    box_border: int = 0


# Sizes of the 720x1280 design.
TITLE_SIZE, EPISODE_SIZE, SCENE_SIZE, DIALOGUE_SIZE = 46, 26, 24, 36
TBC_SIZE, NEXT_SIZE = 58, 28
TITLE_SPACING, DIALOGUE_SPACING, DIALOGUE_BORDER = 12, 12, 22


def captions(spec: ClipSpec) -> dict[str, Caption]:
    """The clip's texts, wrapped and sized so that each fits the safe area's width."""
    safe = SAFE_AREA.width
    dialogue_px = safe - 2 * DIALOGUE_BORDER
    words = CARD_WORDS.get(spec.language, CARD_WORDS["en"])
    tbc = words.to_be_continued
    episode = words.episode.format(number=spec.episode_number)
    next_episode = words.next_episode.format(number=spec.episode_number + 1)
    items = [
        Caption(
            "title",
            _wrap(spec.series_title.upper(), font=FONT_BOLD, size=TITLE_SIZE, max_px=safe),
            FONT_BOLD,
            TITLE_SIZE,
            line_spacing=TITLE_SPACING,
        ),
        Caption(
            "episode",
            _wrap(
                f"{episode}  ·  {spec.episode_title}",
                font=FONT_REGULAR,
                size=EPISODE_SIZE,
                max_px=safe,
            ),
            FONT_REGULAR,
            EPISODE_SIZE,
            line_spacing=8,
        ),
        Caption(
            "scene",
            _wrap(spec.scene, font=FONT_REGULAR, size=SCENE_SIZE, max_px=safe),
            FONT_REGULAR,
            SCENE_SIZE,
            line_spacing=6,
        ),
        Caption(
            "dialogue",
            _wrap(
                f"“{spec.dialogue}”", font=FONT_SERIF_ITALIC, size=DIALOGUE_SIZE, max_px=dialogue_px
            ),
            FONT_SERIF_ITALIC,
            DIALOGUE_SIZE,
            line_spacing=DIALOGUE_SPACING,
            box_border=DIALOGUE_BORDER,
        ),
        Caption(
            "tbc", tbc, FONT_BOLD, _fitting_size(tbc, font=FONT_BOLD, size=TBC_SIZE, max_px=safe)
        ),
        Caption("next", next_episode, FONT_REGULAR, NEXT_SIZE),
    ]
    return {c.name: c for c in items}


def build_command(
    spec: ClipSpec, output: Path, text_dir: Path, ffmpeg_bin: str = "ffmpeg"
) -> list[str]:
    """The ffmpeg argument list that renders `spec` into `output` (an .mp4).

    Texts go through files in `text_dir` (drawtext's textfile) so quotes, colons and
    apostrophes in dialogue need no filter-graph escaping.
    """
    look = LOOKS[spec.look]
    w, h, d = spec.width, spec.height, spec.seconds
    # Everything is laid out on a 720x1280 design and scaled, so tiny test clips still work.
    k = h / 1280

    def px(value: float) -> int:
        return max(1, round(value * k))

    end = max(d - END_CARD_SECONDS, d * 0.6)
    seed = spec.episode_number * 7 + len(spec.series_title)
    texts = captions(spec)
    files: dict[str, Path] = {}
    for name, caption in texts.items():
        path = text_dir / f"{output.stem}.{name}.txt"
        path.write_text(caption.text, encoding="utf-8")
        files[name] = path

    def lines(name: str) -> int:
        return texts[name].text.count("\n") + 1

    def block_h(name: str) -> int:
        caption = texts[name]
        return lines(name) * caption.size + (lines(name) - 1) * caption.line_spacing

    # Everything sits inside the safe area: the header from its top, growing with the number of
    # title lines; the dialogue's box ends at its bottom.
    safe = SAFE_AREA
    title_y = safe.top + 8
    episode_y = title_y + block_h("title") + 20
    bar_y = episode_y + block_h("episode") + 20
    band_h = bar_y + 44
    scene_y = band_h + 30
    dialogue = texts["dialogue"]
    dialogue_y = safe.bottom - dialogue.box_border - block_h("dialogue")
    shadow = f":shadowcolor=black@0.6:shadowx={px(2)}:shadowy={px(2)}"
    # Fade the captions in and out rather than popping them (alpha accepts time expressions).
    dialogue_to = end - 0.4
    dialogue_from = min(2.0, d * 0.2)
    if spec.dialogue_at is not None:  # shown as it is said
        dialogue_from = max(0.0, min(spec.dialogue_at, dialogue_to - 0.5))
    fade_dialogue = (
        f":alpha='min(1,max(0,min((t-{dialogue_from:.2f})/0.5,({dialogue_to:.2f}-t)/0.4)))'"
    )
    fade_scene = f":alpha='min(1,max(0,min(t/0.8,({dialogue_from + 2.5:.2f}-t)/0.6)))'"
    fade_card = f":alpha='min(1,max(0,(t-{end:.2f})/0.6))'"

    def text(name: str, color: str, x: str, y: str, extra: str = "") -> str:
        caption = texts[name]
        spacing = f":line_spacing={px(caption.line_spacing)}" if caption.line_spacing else ""
        return _drawtext(
            files[name],
            font=caption.font,
            size=px(caption.size),
            color=color,
            x=x,
            y=y,
            extra=f"{spacing}{extra}",
        )

    overlays = [
        f"fade=t=in:st=0:d={min(0.6, d / 8):.2f}",
        # A dark band behind the title block keeps it legible on every background.
        f"drawbox=x=0:y=0:w={w}:h={px(band_h)}:color=black@0.35:t=fill",
        f"drawbox=x={px(safe.left)}:y={px(bar_y)}:w={px(120)}:h={px(6)}:"
        f"color={look.accent_color}:t=fill",
        text("title", look.title_color, f"{px(safe.left)}", f"{px(title_y)}", shadow),
        text("episode", look.title_color, f"{px(safe.left)}", f"{px(episode_y)}", shadow),
        # Centred on the frame, which is the safe area's centre too.
        text(
            "dialogue",
            "white",
            "(w-text_w)/2",
            f"{px(dialogue_y)}",
            f":box=1:boxcolor={look.caption_box}:boxborderw={px(dialogue.box_border)}"
            f"{fade_dialogue}",
        ),
    ]
    if spec.scene:
        overlays.append(
            text(
                "scene",
                look.title_color,
                f"{px(safe.left)}",
                f"{px(scene_y)}",
                f"{shadow}{fade_scene}",
            )
        )
    overlays += [
        f"drawbox=x=0:y=0:w={w}:h={h}:color=black@0.55:t=fill:enable='gte(t,{end:.2f})'",
        text("tbc", look.accent_color, "(w-text_w)/2", "(h-text_h)/2", f"{shadow}{fade_card}"),
        text(
            "next",
            look.title_color,
            "(w-text_w)/2",
            f"(h-text_h)/2+{px(80)}",
            f"{shadow}{fade_card}",
        ),
        f"fade=t=out:st={d - 0.3:.2f}:d=0.3",
    ]
    params = {
        "w": w,
        "h": h,
        "lw": max(16, w // 4 // 2 * 2),
        "lh": max(16, h // 4 // 2 * 2),
        "r": spec.fps,
        "d": f"{d:.3f}",
        "seed": seed,
        "end_pts": int(d * spec.fps * 1.2),
        "scan": px(220),
        "scan_h": px(5),
        "ar": AUDIO_RATE,
    }
    video = [
        look.background.format(**params),
        f"scale={w}:{h}:flags=bicubic",
        "format=yuv420p",
        f"trim=duration={d:.3f}",
        "setpts=PTS-STARTPTS",
    ]
    if look.overlay:
        video.append(look.overlay.format(**params))
    fades = f"afade=t=in:d=0.4,afade=t=out:st={max(0.0, d - 0.8):.2f}:d=0.8"
    score = f"{look.score.format(**params)},atrim=duration={d:.3f}"
    if spec.speech:
        # The score steps back under the voices (its level is for a clip without words).
        audio = (
            f"{score},volume=0.45,aformat=sample_rates={AUDIO_RATE}:channel_layouts=stereo[bed];"
            f"[0:a]aresample={AUDIO_RATE},aformat=sample_fmts=fltp:channel_layouts=stereo,"
            f"apad,atrim=duration={d:.3f}[voice];"
            f"[bed][voice]amix=inputs=2:normalize=0:duration=first,{fades},"
            f"aformat=sample_rates={AUDIO_RATE}[a]"
        )
        speech_input = ["-i", spec.speech]
    else:
        audio = f"{score},{fades},aformat=sample_rates={AUDIO_RATE}[a]"
        speech_input = []
    graph = f"{','.join(video + overlays)}[v];{audio}"
    return [
        ffmpeg_bin, "-hide_banner", "-loglevel", "error", "-y",
        *speech_input,
        "-filter_complex", graph,
        "-map", "[v]", "-map", "[a]",
        "-t", f"{d:.3f}",
        # A cheap, high-quality source: the pipeline re-encodes it into the HLS ladder anyway.
        "-c:v", "libx264", "-preset", "ultrafast", "-crf", "22", "-pix_fmt", "yuv420p",
        # One thread each: clips are rendered in parallel, one per core.
        "-threads", "1", "-filter_complex_threads", "1",
        "-c:a", "aac", "-b:a", "128k",
        "-movflags", "+faststart",
        str(output),
    ]  # fmt: skip


def render_clip(spec: ClipSpec, output: Path, *, ffmpeg_bin: str = "ffmpeg") -> Path:
    """Render one episode into `output` with a single ffmpeg run."""
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="md-text-") as text_dir:
        command = build_command(spec, output, Path(text_dir), ffmpeg_bin)
        result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(
            f"ffmpeg failed rendering {output.name}: {result.stderr.strip()[-2000:]}"
        )
    return output


def render_clips(
    jobs: Iterable[tuple[ClipSpec, Path]],
    *,
    parallel: int = 2,
    ffmpeg_bin: str = "ffmpeg",
    on_done: Callable[[ClipSpec, Path], None] | None = None,
) -> list[Path]:
    """Render many clips, `parallel` ffmpeg processes at a time (each is single-threaded)."""
    pending: Sequence[tuple[ClipSpec, Path]] = list(jobs)

    def one(job: tuple[ClipSpec, Path]) -> Path:
        spec, path = job
        render_clip(spec, path, ffmpeg_bin=ffmpeg_bin)
        if on_done is not None:
            on_done(spec, path)
        return path

    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        return list(pool.map(one, pending))
