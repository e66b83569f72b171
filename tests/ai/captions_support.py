"""Speech for the captions and translation tests: a Piper-voiced clip of known words, the
Whisper model once per test process, and a word error rate."""

from __future__ import annotations

import functools
import hashlib
import re
import subprocess
import tempfile
import wave
from collections.abc import Callable
from pathlib import Path
from typing import Any

from piper import PiperVoice
from piper.config import SynthesisConfig

from microdrama.ai import captions
from microdrama.ai.packaged import piper_voices

# Three sentences, about ten seconds spoken: a question, a clause break, a name.
SCRIPT = (
    "I never agreed to marry you, and you know it. "
    "Then why did your father sign the contract last night? "
    "Because he owes money to the wrong people, and I am the payment."
)


@functools.cache
def _work_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="microdrama-speech-"))


@functools.cache
def spoken_clip() -> Path:
    """SCRIPT read by Piper's packaged voice over a still 9:16 card: an H.264/AAC MP4, built
    once per test process. Without noise, so every process hears the same reading: Piper's
    noise made a different one each time, and now and then (one full run in four) Whisper
    heard it without punctuation (cues then cannot end at the script's sentences)."""
    voice_file = piper_voices()[0]
    voice = PiperVoice.load(str(voice_file.onnx), config_path=str(voice_file.config))
    speech = _work_dir() / "speech.wav"
    with wave.open(str(speech), "wb") as out:
        voice.synthesize_wav(
            SCRIPT, out, syn_config=SynthesisConfig(noise_scale=0, noise_w_scale=0)
        )
    clip = _work_dir() / "spoken.mp4"
    command = [
        "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
        "-f", "lavfi", "-i", "color=c=navy:s=360x640:r=6",
        "-i", str(speech), "-shortest",
        "-c:v", "libx264", "-preset", "ultrafast", "-tune", "stillimage",
        "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k", str(clip),
    ]  # fmt: skip
    subprocess.run(command, check=True, capture_output=True, timeout=120)
    return clip


def whisper(data_dir: Path) -> Any:
    """The process's Whisper model (assembled under data_dir the first time)."""
    return captions.whisper_model(data_dir=data_dir, threads=2)


_transcribe = captions.transcribe  # the real one, kept before a test module patches it

# What Whisper heard in each distinct audio (by its samples' hash), with the progress it
# reported while hearing it: filled by `transcribe_once`, for the whole test process.
_heard: dict[tuple[str, str | None], tuple[captions.Transcript, list[float]]] = {}


def transcribe_once(
    model: Any,
    audio: Any,
    *,
    language: str | None = None,
    on_progress: Callable[[float], None] | None = None,
) -> captions.Transcript:
    """`captions.transcribe`, run for real on the first of identical audios in the process;
    the same audio again (the same clip in the next test, on the other database) gets what
    Whisper heard the first time, with the same progress reports. Each run is 3.6 s of
    Whisper (measured alone), and the tests that share it check what the app does with
    the words."""
    samples = captions.samples(audio) if isinstance(audio, Path) else audio
    key = (hashlib.sha256(samples.tobytes()).hexdigest(), language)
    if key not in _heard:
        reported: list[float] = []
        transcript = _transcribe(model, samples, language=language, on_progress=reported.append)
        _heard[key] = (transcript, reported)
    transcript, reported = _heard[key]
    for fraction in reported:
        if on_progress is not None:
            on_progress(fraction)
    return transcript


def normalised_words(text: str) -> list[str]:
    return re.sub(r"[^\w\s']", " ", text.lower()).split()


def word_error_rate(reference: str, heard: str) -> float:
    """(substitutions + deletions + insertions) / reference words, by edit distance."""
    ref, hyp = normalised_words(reference), normalised_words(heard)
    previous = list(range(len(hyp) + 1))
    for i, ref_word in enumerate(ref, start=1):
        current = [i] + [0] * len(hyp)
        for j, hyp_word in enumerate(hyp, start=1):
            current[j] = min(
                previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref_word != hyp_word)
            )
        previous = current
    return previous[-1] / max(1, len(ref))
