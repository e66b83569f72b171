"""Media builders: the shape of the fixture that runs the next transcode job, as a worker would,
and a transcoder that replays what ffmpeg made once for fixtures that need media, not encoding."""

from __future__ import annotations

import copy
import hashlib
import itertools
import secrets
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from microdrama.config import Settings
from microdrama.media.probe import SourceInfo
from microdrama.media.transcode import AES_KEY_BYTES, TranscodeOutput, transcode

# run_job(**kwargs) -> whether a job was run (the media and studio folders each provide one).
RunJob = Callable[..., bool]


class TranscodeReplay:
    """`media.transcode.transcode` made once per test process for each source, then replayed.

    For fixtures whose tests are about what happens to transcoded media (who gets playlists and
    keys), not about the transcoding: the worker around it (probe, storage, the job's outcome)
    runs as ever, only ffmpeg's ladder is copied from the first run. A run is known by the
    source's bytes, the settings that shape the ladder and the AES key of its segments; so that
    the same key comes back, `aes_keys()` hands out one fixed series of keys per process, in
    order. Anything else (another file, setting or key) is transcoded for real.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._made: dict[tuple[object, ...], tuple[Path, TranscodeOutput]] = {}
        self._keys: list[bytes] = []
        self._lock = threading.Lock()

    def aes_keys(self) -> Callable[[], bytes]:
        """A stand-in for `new_aes_key`: this process's first key, then its second, ..."""
        turn: Iterator[int] = itertools.count()

        def next_key() -> bytes:
            index = next(turn)
            with self._lock:
                while len(self._keys) <= index:
                    self._keys.append(secrets.token_bytes(AES_KEY_BYTES))
                return self._keys[index]

        return next_key

    def transcode(
        self,
        *,
        settings: Settings,
        source_path: Path,
        source: SourceInfo,
        work_dir: Path,
        aes_key: bytes | None,
        on_progress: Callable[[float], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> TranscodeOutput:
        made_by = (
            hashlib.sha256(source_path.read_bytes()).hexdigest(),
            tuple(settings.ladder_heights),
            settings.segment_seconds,
            settings.x264_preset,
            settings.ffmpeg_bin,
            aes_key,
        )
        with self._lock:
            made = self._made.get(made_by)
        if made is None:
            output = transcode(
                settings=settings,
                source_path=source_path,
                source=source,
                work_dir=work_dir,
                aes_key=aes_key,
                on_progress=on_progress,
                cancel=cancel,
            )
            kept = self.folder / f"run-{len(self._made)}-{secrets.token_hex(4)}"
            shutil.copytree(work_dir, kept)
            with self._lock:
                self._made[made_by] = (kept, copy.deepcopy(output))
            return output
        kept, output = made
        shutil.copytree(kept, work_dir, dirs_exist_ok=True)
        return copy.deepcopy(output)
