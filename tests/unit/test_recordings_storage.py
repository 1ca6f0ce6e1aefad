"""The recording file layout on a real temp folder: names from server ids only, extensions by
mime, atomic publication, safe deletion, the listing the orphan sweep uses."""

from __future__ import annotations

from pathlib import Path
from uuid import uuid4

import pytest

from domain.errors import InvalidInput, NotFound, UnsupportedMediaType
from media_storage import MediaStorage
from media_storage.recordings import RecordingFiles, chunk_extension


@pytest.mark.parametrize(
    ("mime", "ext"),
    [
        ("video/x-matroska;codecs=avc1,opus", "mkv"),
        ("video/webm;codecs=h264,opus", "mkv"),
        ("video/webm; codecs=avc1", "mkv"),
        ("video/webm;codecs=vp8,opus", "webm"),
        ("video/webm", "webm"),
        ("video/mp4", "mp4"),
        ("VIDEO/WEBM;codecs=vp9", "webm"),
    ],
)
def test_extension_by_mime(mime: str, ext: str) -> None:
    assert chunk_extension(mime) == ext


@pytest.mark.parametrize("mime", ["image/jpeg", "video/ogg", "", "application/octet-stream"])
def test_other_types_are_refused(mime: str) -> None:
    with pytest.raises(UnsupportedMediaType):
        chunk_extension(mime)


def test_layout() -> None:
    attempt = uuid4()
    assert RecordingFiles.chunk_path(attempt, 2, 17, "video/webm;codecs=h264,opus") == (
        f"video-recordings/{attempt}/chunks/002-000017.mkv"
    )
    assert RecordingFiles.recording_path(attempt) == f"video-recordings/{attempt}/recording.mp4"
    with pytest.raises(InvalidInput):
        RecordingFiles.chunk_path(attempt, 1000, 0, "video/webm")
    with pytest.raises(ValueError):
        RecordingFiles.folder_path("../../etc")  # type: ignore[arg-type]  # ids only


def test_save_publish_list_and_delete(tmp_path: Path) -> None:
    files = RecordingFiles(MediaStorage(tmp_path))
    attempt, other = uuid4(), uuid4()
    files.save_chunk(attempt, 0, 0, "video/webm;codecs=vp8", b"a")
    files.save_chunk(attempt, 0, 1, "video/webm;codecs=vp8", b"bb")
    files.save_chunk(other, 0, 0, "video/webm;codecs=vp8", b"c")
    temp = files.work_dir(attempt, "worker/1") / "out.tmp"
    temp.write_bytes(b"mp4 bytes")
    final = files.absolute(files.recording_path(attempt))
    files.publish(temp, final)
    assert final.read_bytes() == b"mp4 bytes" and not temp.exists()
    files.remove_work(attempt)
    (tmp_path / "video-recordings" / "not-an-attempt").mkdir()
    assert files.attempt_ids_on_disk() == sorted([attempt, other])
    listed = [(f.relative.split("/", 2)[2], f.size_bytes) for f in files.files(attempt)]
    assert listed == [("chunks/000-000000.webm", 1), ("chunks/000-000001.webm", 2), ("recording.mp4", 9)]

    assert files.delete_chunks(attempt) == 2
    assert [f.relative.rsplit("/", 1)[1] for f in files.files(attempt)] == ["recording.mp4"]
    assert files.delete_recording(attempt) == 1
    assert files.files(attempt) == [] and files.delete_recording(attempt) == 0
    assert [f.size_bytes for f in files.files(other)] == [1]  # the other attempt is untouched


def test_deletion_never_follows_a_symlink_out(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious").write_bytes(b"keep")
    files = RecordingFiles(MediaStorage(tmp_path / "media"))
    attempt = uuid4()
    files.base.mkdir(parents=True)
    (files.base / str(attempt)).symlink_to(outside, target_is_directory=True)
    with pytest.raises(NotFound):
        files.delete_recording(attempt)
    assert (outside / "precious").read_bytes() == b"keep"
    assert files.attempt_ids_on_disk() == []
