"""The key that signs session tokens: from the settings, else a file made once in the data dir."""

from __future__ import annotations

import secrets

from application.config import AppSettings


def secret_key(settings: AppSettings) -> str:
    if settings.secret_key:
        return settings.secret_key
    path = settings.data_dir / "secret_key"
    if not path.exists():
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()
