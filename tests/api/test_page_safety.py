"""Class 4 (open redirect) and the page items of issue 12: the server decides where a login may
lead, pages answer errors as HTML in their own look, a favicon, nav links that exist."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from interfaces.page_paths import login_url, safe_next

from .conftest import Api

HTML = {"Accept": "text/html,application/xhtml+xml"}
OFF_SITE = [
    "/\t/example.invalid/pwn",
    "/\n/example.invalid/pwn",
    "/\r/example.invalid",
    "//example.invalid",
    "/\\example.invalid",
    "\\\\example.invalid",
    "https://example.invalid/",
    "javascript:alert(1)",
    " /exams",
    "/ /example.invalid",
    "example.invalid",
    "/login?next=//example.invalid",
    "/\x00/x",
]


@pytest.mark.parametrize("target", OFF_SITE)
def test_an_unsafe_next_is_dropped_by_the_server(api: Api, target: str) -> None:
    assert safe_next(target) is None
    r = api.client.get(f"/login?next={quote(target, safe='')}", headers=HTML, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"


def test_the_percent_encoded_examples_from_the_report(api: Api) -> None:
    for raw in ("/%09/example.invalid/pwn", "/%0a/example.invalid/pwn", "/%0d%0a//example.invalid"):
        r = api.client.get(f"/login?next={raw}", headers=HTML, follow_redirects=False)
        assert (r.status_code, r.headers["location"]) == (303, "/login")


def test_a_deep_link_goes_to_login_and_the_page_says_why(api: Api) -> None:
    api.client.cookies.clear()
    attempt = "0b5e0b5e-0000-4000-8000-000000000001"
    r = api.client.get(f"/exam/{attempt}?tab=2", headers=HTML, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == login_url(f"/exam/{attempt}", "tab=2")
    page = api.client.get(r.headers["location"], headers=HTML)
    assert page.status_code == 200
    assert f"Log in to open /exam/{attempt}?tab=2" in page.text
    assert safe_next(f"/exam/{attempt}?tab=2") == f"/exam/{attempt}?tab=2"


def test_pages_answer_errors_as_html(api: Api) -> None:
    c = api.client
    c.cookies.clear()
    missing = c.get("/no-such-page", headers={**HTML, **api.alice})
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html")
    assert "Page not found" in missing.text and 'href="/static/app.css"' in missing.text
    assert c.get("/api/no-such-route", headers=api.alice).json()["error"] == "NotFound"  # the API: JSON
    forbidden = c.get("/proctor-center", headers={**HTML, **api.alice})
    assert forbidden.status_code == 403 and "Not allowed" in forbidden.text
    malformed = c.get("/exam/not-a-uuid", headers={**HTML, **api.alice})
    assert malformed.status_code == 422 and malformed.headers["content-type"].startswith("text/html")
    assert "malformed" in malformed.text
    assert c.get("/api/attempts/not-a-uuid", headers=api.alice).json()["error"] == "InvalidInput"


def test_favicon_and_nav_links_that_exist(api: Api) -> None:
    c = api.client
    icon = c.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")
    page = c.get("/exams", headers={**HTML, **api.admin})
    hrefs = [part.split('"')[0] for part in page.text.split('<a href="')[1:]]
    assert hrefs
    for href in hrefs:
        assert c.get(href, headers={**HTML, **api.admin}).status_code == 200, href
