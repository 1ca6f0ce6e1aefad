from __future__ import annotations

import os
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

from domain.errors import Conflict, NotFound

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


class MediaStorage:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        (self.root / INCOMING).mkdir(parents=True, exist_ok=True)

    def save(self, relative: str, data: bytes) -> Path:
        """Durable before it is visible: `write`, then its folder fsynced."""
        final = self.write(relative, data)
        self.sync_folders([relative])
        return final

    def write(self, relative: str, data: bytes) -> Path:
        """The bytes go to a temp file that is fsynced, then linked into place (never over an
        existing file: that one belongs to someone). A crash leaves either no file or the whole
        file under its name; the name itself is durable once `sync_folders` has run, so several
        writes to one folder can share that fsync."""
        final = self.root / relative
        final.parent.mkdir(parents=True, exist_ok=True)
        temp = self.root / INCOMING / f"{uuid.uuid4().hex}.part"
        try:
            with open(temp, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.link(temp, final)
        except FileExistsError:
            raise Conflict(f"{relative} already exists; retry") from None
        finally:
            temp.unlink(missing_ok=True)
        return final

    def sync_folders(self, relatives: Iterable[str]) -> None:
        """Makes the names of written files durable: each of their folders fsynced once."""
        for folder in {(self.root / relative).parent for relative in relatives}:
            _fsync_dir(folder)

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
