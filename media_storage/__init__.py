"""MediaStorage conventions as code: path layout, durable atomic writes, safe deletion.
No HTTP, no events. Paths are built from server ids only, never from client names."""

from media_storage.storage import MediaStorage

__all__ = ["MediaStorage"]
