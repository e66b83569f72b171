"""The demo's tests seed the same few tiny clips again and again (on each database, and once
more after an interrupted run): each distinct clip is rendered once per test process and
copied after. How a clip is rendered is tested in test_demo_clips.py, with render_clip itself."""

from __future__ import annotations

import functools
import hashlib
import shutil
import tempfile
import threading
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from microdrama.demo import seed
from microdrama.demo.clips import ClipSpec, render_clip

_rendered: dict[ClipSpec, Path] = {}
_lock = threading.Lock()


@functools.cache
def _render_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="microdrama-demo-renders-"))


def _render_once(spec: ClipSpec, output: Path, *, ffmpeg_bin: str = "ffmpeg") -> Path:
    """render_clip, or a copy of the same clip rendered earlier in this process. A spoken clip
    is the same when its speech is: the WAV is named by its bytes, not its (per-test) path."""
    key = spec
    if spec.speech:
        key = replace(spec, speech=hashlib.sha256(Path(spec.speech).read_bytes()).hexdigest())
    with _lock:
        kept = _rendered.get(key)
    if kept is None:
        kept = render_clip(spec, _render_dir() / f"{uuid.uuid4().hex}.mp4")
        with _lock:
            _rendered[key] = kept
    output.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(kept, output)
    return output


@pytest.fixture(autouse=True)
def _demo_clips_rendered_once(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(seed, "render_clip", _render_once)
    yield
