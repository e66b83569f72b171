"""Character voices: a line of dialogue spoken in a character's voice, as samples or a WAV file.

Two packaged models speak: Piper's Joe (a man's voice, en_US) and Hibari's Heart (a woman's,
en_US, the voice that ships inside the hibari package; its other voices download on first use
and are never asked for). Three more voices are those played lower or higher: resampled, which
moves the pitch and the formants together (a different-sounding person, a little slower or
faster). Each model is loaded once per process, on first use.

A cast gives each character one voice for good: the voice the writers' room chose for the
character if it names one, else the next voice in VOICES in the order the characters first
appear (the series bible's order when there is one), so a character keeps its voice from
one episode to the next.
"""

from __future__ import annotations

import threading
import wave
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from microdrama.ai.packaged import ModelMissing, piper_voices, require_runtime

SAMPLE_RATE = 24_000  # every voice's samples are brought to this rate (Hibari's own)
Samples = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Voice:
    """A voice a character can have: a model, played at `pitch` times its own pitch."""

    name: str
    engine: Literal["piper", "hibari"]
    pitch: float = 1.0
    label: str = ""


VOICES: tuple[Voice, ...] = (
    Voice("joe", "piper", label="Joe (man)"),
    Voice("heart", "hibari", label="Heart (woman)"),
    Voice("joe-deep", "piper", pitch=0.84, label="Joe, deeper"),
    Voice("heart-bright", "hibari", pitch=1.14, label="Heart, brighter"),
    Voice("heart-warm", "hibari", pitch=0.9, label="Heart, warmer"),
)
VOICES_BY_NAME = {voice.name: voice for voice in VOICES}
NARRATOR = Voice("narrator", "piper", pitch=0.92, label="Narrator")


def voice_named(name: str) -> Voice:
    """The voice called `name` (a ValueError naming the voices there are, for anything else)."""
    try:
        return VOICES_BY_NAME[name]
    except KeyError:
        raise ValueError(
            f"No voice {name!r}; the voices are {', '.join(VOICES_BY_NAME)}."
        ) from None


@dataclass
class Cast:
    """Which voice speaks for which character; stable once given."""

    chosen: dict[str, Voice] = field(default_factory=dict)

    @classmethod
    def of(
        cls, characters: Iterable[str], *, preferred: dict[str, str | None] | None = None
    ) -> Cast:
        """A cast for these characters in this order; `preferred` maps a character to a voice
        name (the bible's `voice`), and unknown or missing names get the next free voice."""
        cast = cls()
        preferred = preferred or {}
        for character in characters:
            wanted = preferred.get(character)
            if wanted in VOICES_BY_NAME and _key(character) not in cast.chosen:
                cast.chosen[_key(character)] = VOICES_BY_NAME[wanted]
        for character in characters:
            cast.voice_for(character)
        return cast

    def voice_for(self, character: str) -> Voice:
        """The character's voice, given now (the least used, first in VOICES) if it has none."""
        key = _key(character)
        if key not in self.chosen:
            used = [v.name for v in self.chosen.values()]
            self.chosen[key] = min(VOICES, key=lambda v: (used.count(v.name), VOICES.index(v)))
        return self.chosen[key]


def _key(character: str) -> str:
    return " ".join(character.split()).casefold()


# Models -------------------------------------------------------------------------------------

_load_lock = threading.Lock()


@cache
def _piper() -> Any:
    require_runtime("piper", "Piper text-to-speech (piper-tts)")
    from piper import PiperVoice

    voice_file = piper_voices()[0]
    return PiperVoice.load(str(voice_file.onnx), config_path=str(voice_file.config))


@cache
def _hibari() -> Any:
    require_runtime("hibari", "Hibari text-to-speech (hibari-tts)")
    from hibari import Hibari
    from hibari.voices import voice_path

    try:  # the bundled voice only: the others would be downloaded
        model = voice_path("heart", download_missing=False)
    except FileNotFoundError as exc:
        raise ModelMissing("Hibari's bundled voice (hibari-tts)") from exc
    return Hibari(voice="heart", model=model, threads=1)


def load(voice: Voice) -> None:
    """Load the voice's model now (once per process), e.g. before timing a synthesis."""
    with _load_lock:
        _piper() if voice.engine == "piper" else _hibari()


def _resample(samples: Samples, *, source_rate: float, target_rate: int) -> Samples:
    if abs(source_rate - target_rate) < 1e-6 or samples.size == 0:
        return samples.astype(np.float32, copy=False)
    from scipy.signal import resample_poly

    ratio = target_rate / source_rate
    up = round(ratio * 1000)
    resampled = resample_poly(samples.astype(np.float64), up, 1000)
    return np.asarray(resampled, dtype=np.float32)


def synthesize(text: str, voice: Voice, *, seed: int = 1) -> Samples:
    """The text spoken in `voice`: mono float32 samples at SAMPLE_RATE, peak-normalised."""
    load(voice)
    text = " ".join(text.split())
    if not text:
        return np.zeros(0, np.float32)
    if voice.engine == "piper":
        chunks = list(_piper().synthesize(text))
        if not chunks:
            return np.zeros(0, np.float32)
        raw = np.concatenate([c.audio_float_array for c in chunks]).astype(np.float32)
        rate: float = chunks[0].sample_rate
    else:
        raw = np.asarray(_hibari()(text, seed=seed), dtype=np.float32)
        rate = _hibari().sample_rate
    # Played `pitch` times faster: the pitch rises by that much (and the line gets shorter).
    samples = _resample(raw, source_rate=rate * voice.pitch, target_rate=SAMPLE_RATE)
    peak = float(np.max(np.abs(samples))) if samples.size else 0.0
    return samples * np.float32(0.9 / peak) if peak > 0 else samples


def silence(seconds: float) -> Samples:
    return np.zeros(max(0, round(seconds * SAMPLE_RATE)), np.float32)


def write_wav(path: Path, samples: Samples, *, sample_rate: int = SAMPLE_RATE) -> Path:
    """A 16-bit mono WAV of the samples."""
    pcm = (np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2")
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(pcm.tobytes())
    return path


def read_wav(path: Path) -> Samples:
    """The samples of a 16-bit mono WAV written by write_wav."""
    with wave.open(str(path), "rb") as source:
        frames = source.readframes(source.getnframes())
    return (np.frombuffer(frames, dtype="<i2").astype(np.float32) / 32767.0).astype(np.float32)


def speak_to_wav(text: str, voice: Voice, path: Path) -> float:
    """Write the line spoken in `voice` to `path` (a WAV); its length in seconds."""
    samples = synthesize(text, voice)
    write_wav(path, samples)
    return samples.size / SAMPLE_RATE
