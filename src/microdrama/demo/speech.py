"""The demo's spoken dialogue: a voiced episode's lines said in its characters' voices (Piper,
Hibari: ai/voices.py), laid on the clip's timeline as one WAV, with when each line is said.

The clip mixes the WAV over its score and shows its written dialogue while that line is said;
Whisper hears the WAV for the episode's English captions (the voices alone, before the score
is mixed in). Every line is
synthesized once: kept in memory for the process (a test session seeds many times) and as a
WAV under data_dir/cache/demo-speech (a restarted seed does not voice it again).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from microdrama.ai import voices
from microdrama.ai.captions import transcribe, whisper_model
from microdrama.ai.cue_cutter import TimedCue, cut_cues
from microdrama.demo.catalog import DemoEpisode, DemoSeries, SpokenLine

# The first line is said this far into the clip (after the scene's caption has come up), the
# next ones after a breath; the last words end before the "To be continued" card.
FIRST_LINE_AT_S = 1.0
BETWEEN_LINES_S = 0.45
CACHE_VERSION = 1
# A shorter clip has no room for a line before its end card (tests' and short series' clips):
# it is not voiced.
MIN_VOICED_SECONDS = 8.0

_lock = threading.Lock()
_whisper_lock = threading.Lock()  # hearing one clip while another is voiced
_memory: dict[str, voices.Samples] = {}


@dataclass(frozen=True)
class SaidLine:
    """A line as said on the clip: who, what, and from when to when (ms from the start)."""

    speaker: str
    text: str
    start_ms: int
    end_ms: int


@dataclass(frozen=True)
class SpokenClip:
    """An episode's dialogue as a WAV on the clip's timeline."""

    wav: Path
    lines: tuple[SaidLine, ...]

    @property
    def dialogue_at_s(self) -> float:
        """When the episode's dialogue (its last line) starts being said."""
        return self.lines[-1].start_ms / 1000


def cache_dir(data_dir: Path) -> Path:
    return data_dir / "cache" / "demo-speech"


def _line_key(voice: voices.Voice, text: str) -> str:
    return hashlib.sha1(f"{CACHE_VERSION}|{voice.name}|{text}".encode()).hexdigest()[:20]


def said(voice: voices.Voice, text: str, *, cache: Path) -> voices.Samples:
    """The line in that voice: from memory, from the cache folder, or synthesized now."""
    key = _line_key(voice, text)
    with _lock:  # one synthesis at a time: the models run on every core already
        if key in _memory:
            return _memory[key]
        path = cache / f"{key}.wav"
        if path.is_file():
            samples = voices.read_wav(path)
        else:
            samples = voices.synthesize(text, voice)
            voices.write_wav(_part(path), samples).replace(path)
        _memory[key] = samples
        return samples


def _part(path: Path) -> Path:
    """A name to write `path` under before renaming it into place (unique to this thread)."""
    return path.with_name(f".{path.stem}.{os.getpid()}.{threading.get_ident()}.part.wav")


def voice_of(series: DemoSeries, speaker: str) -> voices.Voice:
    """The character's voice in this series (series.toml's `voices`), else the narrator's."""
    chosen = dict(series.voices).get(speaker)
    return voices.voice_named(chosen) if chosen else voices.NARRATOR


def speak_episode(
    series: DemoSeries, episode: DemoEpisode, *, seconds: float, data_dir: Path
) -> SpokenClip | None:
    """The episode's lines said on a clip of `seconds` (None: the episode is not voiced).

    The lines said before the dialogue are left out when they would not fit before the end
    card; the dialogue is always said (a very short clip cuts it)."""
    if not episode.spoken or seconds < MIN_VOICED_SECONDS:
        return None
    cache = cache_dir(data_dir)
    cache.mkdir(parents=True, exist_ok=True)
    lines: list[tuple[SpokenLine, voices.Samples]] = [
        (line, said(voice_of(series, line.speaker), line.text, cache=cache))
        for line in episode.spoken
    ]
    ends_by = max(seconds - 3.0, seconds * 0.6) - 0.3

    def length(chosen: list[tuple[SpokenLine, voices.Samples]]) -> float:
        speech = sum(samples.size for _line, samples in chosen) / voices.SAMPLE_RATE
        return speech + BETWEEN_LINES_S * (len(chosen) - 1)

    while len(lines) > 1 and FIRST_LINE_AT_S + length(lines) > ends_by:
        lines.pop(0)
    start = min(FIRST_LINE_AT_S, seconds * 0.2)
    parts: list[voices.Samples] = [voices.silence(start)]
    timed: list[SaidLine] = []
    at = parts[0].size
    for index, (line, samples) in enumerate(lines):
        if index:
            gap = voices.silence(BETWEEN_LINES_S)
            parts.append(gap)
            at += gap.size
        parts.append(samples)
        timed.append(
            SaidLine(
                speaker=line.speaker,
                text=line.text,
                start_ms=round(at * 1000 / voices.SAMPLE_RATE),
                end_ms=round((at + samples.size) * 1000 / voices.SAMPLE_RATE),
            )
        )
        at += samples.size
    track = np.concatenate(parts)[: round(seconds * voices.SAMPLE_RATE)]
    key = hashlib.sha1(
        repr((CACHE_VERSION, [(t.speaker, t.text) for t in timed], seconds)).encode()
    ).hexdigest()[:20]
    wav = cache / f"clip-{key}.wav"
    if not wav.is_file():
        voices.write_wav(_part(wav), track).replace(wav)
    return SpokenClip(wav=wav, lines=tuple(timed))


_heard: dict[str, tuple[TimedCue, ...]] = {}


def captions(spoken: SpokenClip, *, data_dir: Path) -> tuple[TimedCue, ...]:
    """The clip's English captions, transcribed from its voices by Whisper (ai/captions.py)
    and cut into readable cues (ai/cue_cutter.py); kept beside the WAV for the next run."""
    cached = spoken.wav.with_suffix(".cues.json")
    with _whisper_lock:
        if spoken.wav.name in _heard:
            return _heard[spoken.wav.name]
        if cached.is_file():
            cues = tuple(TimedCue(**cue) for cue in json.loads(cached.read_text()))
        else:
            model = whisper_model(data_dir=data_dir, threads=2)
            words = transcribe(model, spoken.wav, language="en").words
            cues = tuple(cut_cues(words))
            part = _part(cached)
            part.write_text(json.dumps([asdict(cue) for cue in cues]))
            part.replace(cached)
        _heard[spoken.wav.name] = cues
        return cues
