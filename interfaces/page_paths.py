"""Where a login may send the browser next: a path of this site, decided on the server.

The browser drops tab, CR and LF from a URL and reads a backslash as a slash before it
resolves it, so "/\\t/evil.example" would be "//evil.example" (another host). The check runs
on the decoded value, refuses every control character, whitespace and backslash, and then
asks the URL parser: no scheme, no host, one leading slash."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from interfaces.text import has_control_characters

MAX_NEXT = 2000


def safe_next(raw: str | None) -> str | None:
    """The same-site path to go to after login, or None if `raw` is not one."""
    if not raw or len(raw) > MAX_NEXT or has_control_characters(raw):
        return None
    if "\\" in raw or any(c.isspace() for c in raw):
        return None
    parts = urlsplit(raw)
    if parts.scheme or parts.netloc or not parts.path.startswith("/") or parts.path.startswith("//"):
        return None
    if parts.path == "/login" or parts.path.startswith("/login/"):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def login_url(path: str, query: str = "") -> str:
    """/login?next=<this page>, encoded so the login page reads back exactly this path."""
    target = path + (f"?{query}" if query else "")
    return f"/login?next={quote(target, safe='/')}" if safe_next(target) else "/login"
