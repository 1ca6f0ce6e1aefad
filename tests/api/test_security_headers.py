"""Class 6 of issue 12: security headers on every answer, no inline script in any page (so the
CSP can forbid it), no-store where a token or a webcam image is answered."""

from __future__ import annotations

import io
import os
import re

from PIL import Image

from .conftest import Api, jpeg

HTML = {"Accept": "text/html"}


def _assert_hardened(headers: dict[str, str] | object) -> None:
    h = headers  # httpx Headers
    csp = h["content-security-policy"]  # type: ignore[index]
    assert "script-src 'self';" in csp and "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert h["x-content-type-options"] == "nosniff"  # type: ignore[index]
    assert h["referrer-policy"] == "same-origin"  # type: ignore[index]
    assert h["x-frame-options"] == "DENY"  # type: ignore[index]


def test_every_page_and_api_answer_carries_the_headers(api: Api) -> None:
    attempt = api.start(api.exam(), api.alice)["attemptId"]
    for path, who in [
        ("/login", {}),
        ("/exams", api.alice),
        (f"/exam/{attempt}", api.alice),
        ("/proctor-center", api.proctor),
        (f"/proctor-center/session/{attempt}", api.proctor),
        ("/no-such-page", api.alice),
    ]:
        r = api.client.get(path, headers={**HTML, **who})
        _assert_hardened(r.headers)
        # the CSP allows no inline script: every <script> loads a file of this site
        scripts = re.findall(r"<script\b[^>]*>(.*?)</script>", r.text, flags=re.S)
        assert all(body.strip() == "" for body in scripts), path
        assert all('src="/static/' in tag for tag in re.findall(r"<script\b[^>]*>", r.text)), path
        assert not re.search(r"\son[a-z]+=", r.text), path  # no inline event handlers
    _assert_hardened(api.client.get("/api/exams", headers=api.alice).headers)
    _assert_hardened(api.client.get("/api/nothing-here").headers)


def test_tokens_and_webcam_images_are_never_cached(api: Api) -> None:
    r = api.client.post("/api/auth/login", json={"username": "alice", "password": "password-123"})
    assert r.headers["cache-control"] == "no-store"
    assert api.client.get("/api/auth/me", headers=api.alice).headers["cache-control"] == "no-store"
    attempt = api.start(api.exam(), api.alice)["attemptId"]
    shot = api.client.post(
        f"/api/Proctor/snapshot/{attempt}",
        content=jpeg(),
        headers={**api.alice, "Content-Type": "image/jpeg"},
    )
    assert shot.status_code == 201, shot.text
    image = api.client.get(shot.json()["url"], headers=api.proctor)
    assert image.status_code == 200
    assert image.headers["cache-control"] == "private, no-store"


def test_hsts_only_over_https(api: Api) -> None:
    assert "strict-transport-security" not in api.client.get("/login").headers
    secure = api.client.get("https://testserver/login")
    assert secure.headers["strict-transport-security"].startswith("max-age=")


def test_a_big_json_body_is_413_while_a_big_snapshot_is_not(api: Api) -> None:
    padded = b"{" + b" " * 70_000 + b"}"
    r = api.client.post("/api/auth/login", content=padded, headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["error"] == "PayloadTooLarge"
    attempt = api.start(api.exam(), api.alice)["attemptId"]
    buf = io.BytesIO()
    Image.frombytes("RGB", (640, 480), os.urandom(640 * 480 * 3)).save(buf, "JPEG", quality=90)
    big = buf.getvalue()
    assert len(big) > 64 * 1024
    shot = api.client.post(
        f"/api/Proctor/snapshot/{attempt}", content=big, headers={**api.alice, "Content-Type": "image/jpeg"}
    )
    assert shot.status_code == 201, shot.text
