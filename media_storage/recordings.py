"""Where a recording's files live, built from server ids only:

    video-recordings/{attemptId}/chunks/{segment:03d}-{seq:06d}.{mkv|webm|mp4}
    video-recordings/{attemptId}/recording.mp4

plus the atomic publication of the finished MP4, safe deletion, and the listing the orphan
sweep compares with the events."""

from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

from domain.errors import InvalidInput, NotFound, UnsupportedMediaType
from domain.recordings import MAX_SEGMENT, MAX_SEQ
from media_storage.storage import MediaStorage, _fsync_dir, _make_folders_durably

RECORDINGS = "video-recordings"
CHUNKS = "chunks"
RECORDING_FILE = "recording.mp4"
WORK_PREFIX = ".work-"  # the transcoder's scratch space inside an attempt folder
# Chromium's `video/webm;codecs=h264,opus` is really Matroska (its webm muxer refuses H.264).
MATROSKA_CODECS = ("h264", "avc1")


def chunk_extension(mime: str) -> str:
    """The file extension for a recorder's mime type; anything else is refused (415)."""
    kind, _, params = mime.strip().lower().partition(";")
    codecs = params.replace(" ", "").removeprefix("codecs=").strip('"')
    if kind == "video/x-matroska":
        return "mkv"
    if kind == "video/webm":
        return "mkv" if any(c.startswith(MATROSKA_CODECS) for c in codecs.split(",")) else "webm"
    if kind == "video/mp4":
        return "mp4"
    raise UnsupportedMediaType(f"recordings accept video/webm, video/x-matroska or video/mp4, not {mime!r}")


ExcInfo = tuple[type[BaseException], BaseException, object]


def _gone_is_fine(function: object, path: str, exc_info: ExcInfo) -> None:
    if not isinstance(exc_info[1], FileNotFoundError):
        raise exc_info[1]


@dataclass(frozen=True)
class StoredFile:
    relative: str
    size_bytes: int
    modified: float  # POSIX time


class RecordingFiles:
    def __init__(self, storage: MediaStorage) -> None:
        self.storage = storage
        self.base = storage.root / RECORDINGS

    # -- layout (relative to the media root) -----------------------------------------------------
    @staticmethod
    def folder_path(attempt_id: UUID) -> str:
        return f"{RECORDINGS}/{UUID(str(attempt_id))}"

    @classmethod
    def chunk_path(cls, attempt_id: UUID, segment: int, seq: int, mime: str) -> str:
        if not (0 <= segment <= MAX_SEGMENT and 0 <= seq <= MAX_SEQ):
            raise InvalidInput(f"segment must be 0..{MAX_SEGMENT} and seq 0..{MAX_SEQ}")
        return f"{cls.folder_path(attempt_id)}/{CHUNKS}/{segment:03d}-{seq:06d}.{chunk_extension(mime)}"

    @classmethod
    def recording_path(cls, attempt_id: UUID) -> str:
        return f"{cls.folder_path(attempt_id)}/{RECORDING_FILE}"

    # -- absolute paths ---------------------------------------------------------------------------
    def absolute(self, relative: str) -> Path:
        """The absolute path of a file that may not exist yet; never outside the root."""
        path = (self.storage.root / relative).resolve()
        if not path.is_relative_to(self.storage.root):
            raise NotFound("media file not found")
        return path

    def folder(self, attempt_id: UUID) -> Path:
        return self.absolute(self.folder_path(attempt_id))

    def work_dir(self, attempt_id: UUID, worker: str) -> Path:
        """A fresh scratch folder for one finalization run (removed by `remove_work`)."""
        path = self._work_path(attempt_id, worker)
        shutil.rmtree(path, ignore_errors=True)  # a crashed run of the same worker
        _make_folders_durably(path)
        return path

    def remove_work(self, attempt_id: UUID, worker: str | None = None) -> None:
        """One worker's scratch folder, or (None) every one: another worker may still be
        running on its own after its lease ran out, so a finalizer removes only its own."""
        if worker is not None:
            shutil.rmtree(self._work_path(attempt_id, worker), ignore_errors=True)
            return
        for path in self.folder(attempt_id).glob(f"{WORK_PREFIX}*"):
            shutil.rmtree(path, ignore_errors=True)

    def _work_path(self, attempt_id: UUID, worker: str) -> Path:
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in worker)[:64]
        return self.folder(attempt_id) / f"{WORK_PREFIX}{safe}"

    # -- writing ----------------------------------------------------------------------------------
    def save_chunk(self, attempt_id: UUID, segment: int, seq: int, mime: str, data: bytes) -> str:
        """File and folder fsynced (the ingest pipeline streams instead; same layout)."""
        relative = self.chunk_path(attempt_id, segment, seq, mime)
        self.storage.save(relative, data)
        return relative

    @staticmethod
    def publish(temp: Path, final: Path) -> None:
        """Durable and atomic: the temp file fsynced, renamed over `final`, the folder fsynced.
        A reader sees the old file or the whole new one, never a half-written MP4."""
        with open(temp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(temp, final)
        _fsync_dir(final.parent)

    # -- deleting ---------------------------------------------------------------------------------
    def delete_chunks(self, attempt_id: UUID) -> int:
        """Removes the chunks (only after a verified MP4); returns how many files went."""
        return self._remove_tree(self.folder(attempt_id) / CHUNKS)

    def delete_recording(self, attempt_id: UUID) -> int:
        """Removes everything of the attempt: MP4, chunks, scratch files."""
        return self._remove_tree(self.folder(attempt_id))

    def _remove_tree(self, path: Path) -> int:
        if path.is_symlink() or not path.is_dir():
            return 0
        if not path.resolve().is_relative_to(self.base.resolve()):
            raise NotFound("media folder not found")
        count = sum(1 for p in path.rglob("*") if p.is_file())
        shutil.rmtree(path, onerror=_gone_is_fine)  # another sweeper may be removing it too
        _fsync_dir(path.parent)
        return count

    def remove_files(self, attempt_id: UUID, relatives: list[str]) -> int:
        """Removes these files of the attempt (relative to the media root), then the folders
        they leave empty inside the attempt folder. Returns how many it removed; one already
        gone (another sweeper) is not an error. Refuses any path outside the attempt folder."""
        folder = self.folder(attempt_id)
        removed, parents = 0, set()
        for relative in relatives:
            path = self.absolute(relative)
            if not path.is_relative_to(folder) or path == folder:
                raise NotFound("media file not found")
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed += 1
            parents.add(path.parent)
        for parent in sorted(parents, key=lambda p: len(p.parts), reverse=True):
            while parent != folder and parent.is_relative_to(folder):
                with contextlib.suppress(OSError):  # not empty, or already gone
                    parent.rmdir()
                parent = parent.parent
        if parents:
            _fsync_dir(folder)
        return removed

    # -- listing (for the orphan sweep) -----------------------------------------------------------
    def attempt_ids_on_disk(self) -> list[UUID]:
        """Attempt folders present, whatever events say. Foreign names are ignored, not deleted."""
        found = []
        if self.base.is_dir():
            for entry in self.base.iterdir():
                with contextlib.suppress(ValueError):
                    if entry.is_dir() and not entry.is_symlink() and str(UUID(entry.name)) == entry.name:
                        found.append(UUID(entry.name))
        return sorted(found)

    def files(self, attempt_id: UUID) -> list[StoredFile]:
        folder = self.folder(attempt_id)
        if not folder.is_dir():
            return []
        out = []
        for path in sorted(folder.rglob("*")):
            if path.is_file() and not path.is_symlink():
                try:
                    info = path.stat()
                except FileNotFoundError:  # removed meanwhile (a finalizer, another sweeper)
                    continue
                relative = path.relative_to(self.storage.root).as_posix()
                out.append(StoredFile(relative, info.st_size, info.st_mtime))
        return out
