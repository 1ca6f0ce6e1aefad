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
    assert list((tmp_path / ".incoming").iterdir()) == []  # no temp file left behind


def test_save_never_overwrites_an_existing_file(tmp_path: Path) -> None:
    storage = MediaStorage(tmp_path)
    storage.save("proctor-snapshots/2026/11/a_1.jpg", b"first")
    with pytest.raises(Conflict):
        storage.save("proctor-snapshots/2026/11/a_1.jpg", b"second")
    assert (tmp_path / "proctor-snapshots/2026/11/a_1.jpg").read_bytes() == b"first"
    assert list((tmp_path / ".incoming").iterdir()) == []


def test_resolve_refuses_paths_outside_the_root(tmp_path: Path) -> None:
    (tmp_path / "outside.jpg").write_bytes(b"x")
    storage = MediaStorage(tmp_path / "media")
    with pytest.raises(NotFound):
        storage.resolve("../outside.jpg")
