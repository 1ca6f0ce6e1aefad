from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO
from uuid import UUID

from domain.errors import NotFound, PayloadTooLarge

SNAPSHOTS = "proctor-snapshots"
INCOMING = ".incoming"


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # Windows cannot open directories; NTFS metadata is journaled anyway
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Upload:
    """A body being streamed to a temporary file under a byte cap. Nothing is visible under its
    final name until commit() has fsynced the file, renamed it atomically and fsynced the folder."""

    def __init__(self, root: Path, max_bytes: int) -> None:
        incoming = root / INCOMING
        incoming.mkdir(parents=True, exist_ok=True)
        self.root = root
        self.max_bytes = max_bytes
        self.temp = incoming / f"{uuid.uuid4().hex}.part"
        self.size = 0
        self._file: BinaryIO | None = open(self.temp, "wb")  # noqa: SIM115 - closed in commit/abort

    def write(self, data: bytes) -> None:
        assert self._file is not None
        self.size += len(data)
        if self.size > self.max_bytes:
            self.abort()
            raise PayloadTooLarge(f"body is larger than the {self.max_bytes} byte limit")
        self._file.write(data)

    def head(self, n: int) -> bytes:
        self._flush()
        with open(self.temp, "rb") as f:
            return f.read(n)

    def read_all(self) -> bytes:
        self._flush()
        return self.temp.read_bytes()

    def _flush(self) -> None:
        if self._file is not None:
            self._file.flush()

    def commit(self, relative: str) -> Path:
        assert self._file is not None
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        self._file = None
        final = self.root / relative
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.temp, final)
        _fsync_dir(final.parent)
        return final

    def abort(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self.temp.unlink(missing_ok=True)


class MediaStorage:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def open_upload(self, max_bytes: int) -> Upload:
        return Upload(self.root, max_bytes)

    @staticmethod
    def snapshot_path(attempt_id: UUID, taken_at: datetime) -> str:
        at = taken_at.astimezone(UTC)
        stamp = at.strftime("%Y%m%dT%H%M%S") + f"{at.microsecond // 1000:03d}Z"
        return f"{SNAPSHOTS}/{at:%Y}/{at:%m}/{attempt_id}_{stamp}.jpg"

    def resolve(self, relative: str) -> Path:
        """The absolute path of a stored file; refuses anything outside the root."""
        path = (self.root / relative).resolve()
        if not path.is_relative_to(self.root) or not path.is_file():
            raise NotFound("media file not found")
        return path

    def delete(self, relative: str) -> bool:
        try:
            path = self.resolve(relative)
        except NotFound:
            return False
        path.unlink()
        _fsync_dir(path.parent)
        return True

    def sweep_incoming(self, older_than_seconds: float = 3600) -> int:
        """Remove temp files left by a crash mid-upload."""
        cutoff = datetime.now(UTC).timestamp() - older_than_seconds
        removed = 0
        for part in (self.root / INCOMING).glob("*.part"):
            if part.stat().st_mtime < cutoff:
                part.unlink(missing_ok=True)
                removed += 1
        return removed
