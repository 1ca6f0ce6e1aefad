"""MediaStorage on a real temp folder: durable saves never replace someone else's file."""

from __future__ import annotations

from pathlib import Path

import pytest

from domain.errors import Conflict, NotFound
from media_storage import MediaStorage


def test_save_then_resolve_and_delete(tmp_path: Path) -> None:
    storage = MediaStorage(tmp_path)
    path = storage.save("proctor-snapshots/2026/11/a_1.jpg", b"jpeg bytes")
    assert path.read_bytes() == b"jpeg bytes"
    assert storage.resolve("proctor-snapshots/2026/11/a_1.jpg") == path
    assert storage.delete("proctor-snapshots/2026/11/a_1.jpg")
    assert not path.exists()


def test_save_never_overwrites_an_existing_file(tmp_path: Path) -> None:
    storage = MediaStorage(tmp_path)
    storage.save("proctor-snapshots/2026/11/a_1.jpg", b"first")
    with pytest.raises(Conflict):
        storage.save("proctor-snapshots/2026/11/a_1.jpg", b"second")
    assert (tmp_path / "proctor-snapshots/2026/11/a_1.jpg").read_bytes() == b"first"


def test_a_write_that_fails_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    storage = MediaStorage(tmp_path)
    storage.save("proctor-snapshots/2026/11/a_0.jpg", b"earlier")

    def disk_full(_fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("media_storage.storage.os.fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        storage.write("proctor-snapshots/2026/11/a_1.jpg", b"jpeg bytes")
    assert [p.name for p in (tmp_path / "proctor-snapshots/2026/11").iterdir()] == ["a_0.jpg"]


def test_resolve_refuses_paths_outside_the_root(tmp_path: Path) -> None:
    (tmp_path / "outside.jpg").write_bytes(b"x")
    storage = MediaStorage(tmp_path / "media")
    with pytest.raises(NotFound):
        storage.resolve("../outside.jpg")
