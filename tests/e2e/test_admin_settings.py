"""The admin settings page in a real browser: reached from the nav (admins only), shows and
changes the retention days with a spoken result, refuses a bad value before sending it, and a
dry run of the retention sweep says what it would delete. Others get no link and no page."""

from __future__ import annotations

import re
from typing import Any

import pytest
from e2e_conftest import login, new_context

pytestmark = pytest.mark.browser


def test_an_admin_changes_the_retention_days(live_server: Any, browser: Any) -> None:
    from playwright.sync_api import expect

    context = new_context(browser)
    try:
        page = login(context, live_server, "admin")
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
        page.wait_for_url("**/admin/settings")
        days = page.get_by_label("Keep recordings for (days)")
        expect(days).to_have_value("30")
        result = page.get_by_test_id("settings-result")
        assert result.get_attribute("aria-live") == "polite"

        days.fill("0")
        page.get_by_role("button", name="Save").click()
        expect(result).to_have_text("Enter a whole number of days from 1 to 3650.")
        expect(days).to_have_attribute("aria-invalid", "true")

        days.fill("14")
        page.get_by_role("button", name="Save").click()
        expect(result).to_have_text("Saved: recordings are kept for 14 days after their attempt ended.")
        expect(days).not_to_have_attribute("aria-invalid", "true")
        status, body = live_server.api("GET", "/api/admin/settings", token=live_server.token("admin"))
        assert status == 200 and body["retentionDays"] == 14
        page.reload()
        expect(page.get_by_label("Keep recordings for (days)")).to_have_value("14")

        page.get_by_role("button", name="Run retention now (dry run)").click()
        expect(page.get_by_test_id("dry-run-result")).to_contain_text(
            re.compile(r"The retention run would (delete nothing now|delete \d+ recording)")
        )
    finally:
        live_server.api("PUT", "/api/admin/settings", {"retentionDays": 30}, token=live_server.token("admin"))
        context.close()


def test_others_get_no_link_and_no_page(live_server: Any, browser: Any) -> None:
    from playwright.sync_api import expect

    context = new_context(browser)
    try:
        page = login(context, live_server, "proctor")
        nav = page.get_by_role("navigation", name="Main")
        expect(nav.get_by_role("link", name="Proctor Center")).to_have_count(1)
        expect(nav.get_by_role("link", name="Settings")).to_have_count(0)
        page.goto(f"{live_server.url}/admin/settings")
        expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
        expect(page.get_by_label("Keep recordings for (days)")).to_have_count(0)
    finally:
        context.close()
