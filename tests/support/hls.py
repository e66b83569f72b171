"""HLS helpers for tests: tell plain MPEG-TS from encrypted bytes, and decrypt the real way.

Decryption goes through ffmpeg's own HLS demuxer reading a local playlist that points at the
key file, so a test that decrypts a segment also proves that a player would play it.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

TS_PACKET = 188
SYNC_BYTE = 0x47


def looks_like_mpegts(data: bytes) -> bool:
    """True when the bytes start with MPEG-TS packets: the sync byte at 188-byte strides."""
    packets = min(len(data) // TS_PACKET, 4)
    return packets > 0 and all(data[i * TS_PACKET] == SYNC_BYTE for i in range(packets))


def key_line(playlist: str) -> str:
    """The playlist's #EXT-X-KEY line (AssertionError when there is none)."""
    found = re.search(r"^#EXT-X-KEY:.*$", playlist, re.M)
    assert found, f"no #EXT-X-KEY in:\n{playlist}"
    return found.group(0)


def decrypt_with_ffmpeg(
    *, playlist: str, key: bytes, segments_dir: Path, work_dir: Path, segments: int = 1
) -> Path:
    """Remux the first `segments` segments of a media playlist with the given key into a .ts.

    `playlist` is a media playlist as served (or stored); its segment names are resolved in
    `segments_dir` by file name, and its key URI is replaced by a local key file.
    """
    work_dir.mkdir(parents=True, exist_ok=True)
    key_file = work_dir / "segment.key"
    key_file.write_bytes(key)
    lines: list[str] = []
    kept = 0
    for line in playlist.splitlines():
        if line.startswith("#EXT-X-KEY"):
            line = re.sub(r'URI="[^"]*"', f'URI="{key_file}"', line)
        elif line and not line.startswith("#"):
            if kept == segments:
                break
            line = str(segments_dir / Path(line.split("?")[0]).name)
            kept += 1
        lines.append(line)
    lines.append("#EXT-X-ENDLIST")
    local = work_dir / "local.m3u8"
    local.write_text("\n".join(lines) + "\n")
    out = work_dir / "decrypted.ts"
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
         "-allowed_extensions", "ALL", "-i", str(local), "-c", "copy", str(out)],
        check=True,
        capture_output=True,
        timeout=60,
    )  # fmt: skip
    return out


def decodes_cleanly(path: Path) -> bool:
    """Whether ffmpeg decodes every frame of the file without a single error."""
    result = subprocess.run(
        ["ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-i", str(path), "-f", "null", "-"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return result.returncode == 0 and not result.stderr.strip()
