"""File storage of the offline Bot API server: what getFile and /file/bot<token>/<path> serve,
plus the PhotoSize lists Telegram builds for every photo."""

from __future__ import annotations

import itertools
import struct
import zlib
from dataclasses import dataclass

# Telegram keeps a few scaled copies of every photo; these are its usual box sizes.
_PHOTO_BOXES = (90, 320, 800, 1280)
_DEFAULT_PHOTO_SIZE = (1280, 960)


@dataclass(frozen=True)
class StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes

    def as_file(self) -> dict:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.data),
            "file_path": self.file_path,
        }


def image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height of a PNG, GIF or JPEG from its header, None for anything else."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return width, height
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return width, height
    if data[:2] == b"\xff\xd8":
        index = 2
        while index + 9 < len(data):
            if data[index] != 0xFF:
                return None
            marker = data[index + 1]
            segment_length = struct.unpack(">H", data[index + 2 : index + 4])[0]
            # SOF0..SOF15 carry the frame size, except DHT (C4), JPG (C8) and DAC (CC).
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                height, width = struct.unpack(">HH", data[index + 5 : index + 9])
                return width, height
            index += 2 + segment_length
    return None


def tiny_png(width: int = 4, height: int = 3, rgb: tuple[int, int, int] = (200, 120, 40)) -> bytes:
    """A valid, small PNG so customer photos are real images."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


class FileStore:
    """file_id -> bytes, and file_path -> bytes for downloads. Ids are deterministic per server."""

    def __init__(self) -> None:
        self._by_id: dict[str, StoredFile] = {}
        self._by_path: dict[str, StoredFile] = {}
        self._counter = itertools.count(1)

    def add(self, data: bytes, kind: str, extension: str) -> StoredFile:
        number = next(self._counter)
        stored = StoredFile(
            file_id=f"{kind[:2].upper()}AC{number:06d}x{kind}",
            file_unique_id=f"AQAD{number:06d}",
            file_path=f"{kind}s/file_{number}.{extension}",
            data=data,
        )
        self._by_id[stored.file_id] = stored
        self._by_path[stored.file_path] = stored
        return stored

    def get(self, file_id: str) -> StoredFile | None:
        return self._by_id.get(file_id)

    def by_path(self, file_path: str) -> StoredFile | None:
        return self._by_path.get(file_path)

    def photo_sizes(self, data: bytes, extension: str = "jpg") -> list[dict]:
        """Store a photo and return Telegram's PhotoSize list, smallest first, largest = original."""
        width, height = image_size(data) or _DEFAULT_PHOTO_SIZE
        sizes: list[dict] = []
        longest = max(width, height, 1)
        for box in _PHOTO_BOXES:
            if box >= longest:
                break
            scale = box / longest
            sizes.append(self._photo_size(data, extension, max(1, round(width * scale)), max(1, round(height * scale))))
        sizes.append(self._photo_size(data, extension, width, height))
        return sizes

    def _photo_size(self, data: bytes, extension: str, width: int, height: int) -> dict:
        # Every size serves the original bytes: tests need a downloadable photo, not resampling.
        stored = self.add(data, "photo", extension)
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(data),
            "width": width,
            "height": height,
        }
