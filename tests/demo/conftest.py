"""The demo's tests seed the same few tiny clips again and again (on each database, and once
more after an interrupted run): each distinct clip is rendered once per test process and
copied after. How a clip is rendered is tested in test_demo_clips.py, with render_clip itself."""

from __future__ import annotations

import hashlib
import shutil
import threading
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from microdrama.demo import seed
from microdrama.demo.clips import ClipSpec, render_clip

_rendered: dict[tuple[ClipSpec, str], Path] = {}
_lock = threading.Lock()


@pytest.fixture(scope="session")
def _render_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where this process keeps the clips it rendered (pytest's temporary folder: cleaned
    like the rest)."""
    return tmp_path_factory.mktemp("demo-renders")


def _render_once(render_dir: Path, spec: ClipSpec, output: Path, ffmpeg_bin: str) -> Path:
    """render_clip, or a copy of the same clip rendered earlier in this process. A spoken clip
    is the same when its speech is: the WAV is named by its bytes, not its (per-test) path."""
    key = spec
    if spec.speech:
        key = replace(spec, speech=hashlib.sha256(Path(spec.speech).read_bytes()).hexdigest())
    with _lock:
        kept = _rendered.get((key, ffmpeg_bin))
    if kept is None:
        kept = render_clip(spec, render_dir / f"{uuid.uuid4().hex}.mp4", ffmpeg_bin=ffmpeg_bin)
        with _lock:
            _rendered[(key, ffmpeg_bin)] = kept
    output.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(kept, output)
    return output


@pytest.fixture(autouse=True)
def _demo_clips_rendered_once(monkeypatch: pytest.MonkeyPatch, _render_dir: Path) -> Iterator[None]:
    def render(spec: ClipSpec, output: Path, *, ffmpeg_bin: str = "ffmpeg") -> Path:
        return _render_once(_render_dir, spec, output, ffmpeg_bin)

    monkeypatch.setattr(seed, "render_clip", render)
    yield
