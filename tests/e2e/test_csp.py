"""Every screen under the enforced Content Security Policy (settings.SECURE_CSP) in a real
browser: no violation, no console error, and htmx and the live sockets still work."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from playwright.sync_api import Page, expect

from center.models import CaseType, Center
from queueing.services import IssuedTicket
from tests.queueing.factories import issue

pytestmark = pytest.mark.django_db(transaction=True)

# Reports every violation to the console, where the test collects it.
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI}`);
});
"""

SUPERVISOR_PAGES = [
    "/",
    "/kiosk/",
    "/reception/",
    "/desk/",
    "/supervisor/",
    "/supervisor/day/",
    "/supervisor/staffing/",
    "/admin/",
    "/admin/center/auditevent/",
    "/admin/queueing/desk/add/",
    "/admin/center/casetype/add/",
]


class Console:
    """Console errors and uncaught exceptions of one page."""

    def __init__(self, page: Page) -> None:
        self.errors: list[str] = []
        page.add_init_script(REPORT_VIOLATIONS)
        page.on("console", self._message)
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))
        page.on("requestfailed", lambda request: self.errors.append(f"failed: {request.url}"))
        page.on("response", self._response)

    def _response(self, response) -> None:
        # A page's own status is checked by visit(); any asset or request that fails is not.
        if response.status >= 400 and response.request.resource_type != "document":
            self.errors.append(f"{response.status}: {response.url}")

    def _message(self, message) -> None:
        if message.type == "error":
            self.errors.append(message.text)

    def visit(self, page: Page, path: str, *, status: int = 200) -> None:
        response = page.goto(path)
        page.wait_for_load_state("networkidle")
        assert response is not None
        assert response.status == status, path
        assert "script-src 'self'" in (response.header_value("content-security-policy") or "")
        if status != 200:  # the browser reports the page's own status as a console error
            document = f"the server responded with a status of {status}"
            self.errors = [error for error in self.errors if document not in error]
        assert not self.errors, f"{path}: {self.errors}"


def _visitor_ticket(center: Center) -> IssuedTicket:
    try:
        reception = get_user_model().objects.get(username="reception")
        return issue(center, CaseType.objects.order_by("pk").first(), by=reception, name="Ada")
    finally:
        connection.close()


def test_every_screen_runs_under_the_policy_without_a_violation(
    demo_center, sign_in: Callable[..., Page], new_context
):
    with ThreadPoolExecutor(max_workers=1) as pool:
        ticket = pool.submit(_visitor_ticket, demo_center).result()

    anonymous = new_context().new_page()
    console = Console(anonymous)
    for path in ("/accounts/login/", f"/board/?center={demo_center.slug}", f"/t/{ticket.token}/"):
        console.visit(anonymous, path)
    console.visit(anonymous, "/t/not-a-ticket/", status=404)
    # The live sockets connected under connect-src 'self'.
    anonymous.goto(f"/t/{ticket.token}/")
    expect(anonymous.locator("#connection-lost")).to_be_hidden()

    page = sign_in("supervisor")
    console = Console(page)
    for path in SUPERVISOR_PAGES:
        console.visit(page, path)

    # htmx swaps work without eval: the kiosk loads the questions of a case type.
    page.goto("/kiosk/")
    page.get_by_label("Case type").select_option(label="Account suspended")
    expect(page.get_by_label("Year the account was registered")).to_be_visible()
    page.wait_for_load_state("networkidle")
    assert not console.errors, console.errors
