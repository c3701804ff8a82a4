"""Every screen passes axe-core (the npm package, injected into the page) with no serious or
critical violation, in each of its states, on a real Daphne server with the demo center;
and a visitor can be checked in at the kiosk with the keyboard alone."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import Browser, Page, expect

from center.models import Center
from tests.e2e.conftest import DESKTOP, TIMEOUT_MS
from tests.e2e.daphne import DaphneServer, session_cookie
from tests.e2e.test_live import in_own_thread

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
PHONE = {"width": 390, "height": 844}
BOARD_SCREEN = {"width": 1920, "height": 1080}
BLOCKING_IMPACTS = ("serious", "critical")

pytestmark = pytest.mark.django_db(transaction=True)

RUN_AXE = """
async (impacts) => {
  const results = await axe.run(document, { resultTypes: ["violations"] });
  return results.violations
    .filter((violation) => impacts.includes(violation.impact))
    .map((violation) => ({
      id: violation.id,
      impact: violation.impact,
      help: violation.help,
      targets: violation.nodes.slice(0, 5).map((node) => node.target.join(" ")),
    }));
}
"""


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe-core from package-lock.json; ``npm ci`` installs it once when it is missing."""
    if not AXE.exists():
        npm = shutil.which("npm")
        if npm is None:
            message = "npm is not installed: cannot install axe-core (package-lock.json)"
            if os.environ.get("WALKIN_REQUIRE_SERVICES") == "1":
                pytest.fail(message)
            pytest.skip(message)
        subprocess.run(  # noqa: S603 - npm from PATH, fixed arguments
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=ROOT, check=True
        )
    return AXE.read_text()


@pytest.fixture
def open_page(
    browser: Browser, daphne_server: DaphneServer, axe_source: str
) -> Iterator[Callable[..., Page]]:
    """A page of a new browser context (one person's device) with axe-core loaded into
    every document, optionally signed in with a staff session."""
    contexts = []

    def open_one(
        path: str, *, session: str | None = None, viewport: dict[str, int] = DESKTOP
    ) -> Page:
        context = browser.new_context(base_url=daphne_server.url, viewport=viewport, locale="en-US")
        context.set_default_timeout(TIMEOUT_MS)
        context.add_init_script(script=axe_source)
        contexts.append(context)
        if session:
            context.add_cookies(
                [{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": daphne_server.url}]
            )
        page = context.new_page()
        page.goto(path)
        return page

    yield open_one
    for context in contexts:
        context.close()


class Audit:
    """Runs axe on each screen state and keeps what it found, to list them all at the end."""

    def __init__(self) -> None:
        self.checked: list[str] = []
        self.findings: list[str] = []

    def __call__(self, page: Page, screen: str) -> None:
        page.wait_for_load_state()
        self.checked.append(screen)
        for violation in page.evaluate(RUN_AXE, list(BLOCKING_IMPACTS)):
            self.findings.append(
                f"{screen}: [{violation['impact']}] {violation['id']}: {violation['help']}"
                f" at {', '.join(violation['targets'])}"
            )


def fill_check_in(kiosk: Page) -> None:
    kiosk.get_by_label("Security screening passed").check()
    kiosk.get_by_label("No recording or photos: rule explained and acknowledged").check()
    kiosk.get_by_label("Visitor's name").fill("Lin Xiaoyu")
    kiosk.get_by_label("Case type").select_option(label="Account suspended")
    expect(kiosk.get_by_label("Year the account was registered")).to_be_visible()
    kiosk.get_by_label("Year the account was registered").fill("2011")
    kiosk.get_by_label("Platform account ID (if known)").fill("lin.reporter")
    kiosk.get_by_label("The problem, in the visitor's words").fill("Suspended without a reason.")


@pytest.mark.slow
def test_every_screen_has_no_serious_accessibility_violation(  # noqa: PLR0915 - one walk through every screen
    demo_center: Center, open_page: Callable[..., Page]
) -> None:
    sessions = in_own_thread(
        lambda: {name: session_cookie(name) for name in ("reception", "rep1", "supervisor")}
    )
    audit = Audit()

    login = open_page("/accounts/login/")
    # The audit can fail: an image without a text alternative is a critical violation.
    login.evaluate("document.querySelector('main').append(document.createElement('img'))")
    audit(login, "login with an unlabelled image")
    assert audit.findings, "the audit found nothing wrong with an unlabelled image"
    assert "image-alt" in audit.findings[0], audit.findings
    audit.findings.clear()
    login.reload()
    audit(login, "login")
    audit(open_page("/t/not-a-ticket/", viewport=PHONE), "unknown ticket")
    board = open_page("/board/", viewport=BOARD_SCREEN)
    audit(board, "board")

    kiosk = open_page("/kiosk/", session=sessions["reception"])
    audit(kiosk, "kiosk")
    kiosk.get_by_role("button", name="Check in and print ticket").click()
    expect(kiosk.locator(".error").first).to_be_visible()
    audit(kiosk, "kiosk with errors")
    kiosk.goto("/kiosk/")
    fill_check_in(kiosk)
    audit(kiosk, "kiosk with the case type's questions")
    kiosk.get_by_role("button", name="Check in and print ticket").click()
    expect(kiosk.locator("#slip-number")).to_have_text(re.compile(r"^A\d{3}$"))
    audit(kiosk, "slip")
    code = kiosk.locator("#slip-number").inner_text()
    status_url = kiosk.locator(".url a").get_attribute("href")
    assert status_url

    audit(open_page("/reception/", session=sessions["reception"]), "reception")
    for path in ("/supervisor/", "/supervisor/day/", "/supervisor/staffing/"):
        audit(open_page(path, session=sessions["supervisor"]), path)

    phone = open_page(status_url, viewport=PHONE)
    audit(phone, "visitor waiting")

    desk = open_page("/desk/", session=sessions["rep1"])
    audit(desk, "desk, none taken")
    desk.get_by_role("button", name="Open desk 1", exact=True).click()
    expect(desk.get_by_role("heading", name="Desk 1")).to_contain_text("Open")
    audit(desk, "desk idle")
    for _passed_over in range(5):
        desk.get_by_role("button", name="Call next").click()
        expect(desk.locator("#visitor-title .code")).to_be_visible()
        if desk.locator("#visitor-title .code").inner_text() == code:
            break
        desk.get_by_role("button", name="No-show").click()
        expect(desk.get_by_text("Marked as no-show.")).to_be_visible()
    audit(desk, "desk called")
    phone.reload()
    expect(phone.get_by_text("Go to desk 1 now")).to_be_visible()
    audit(phone, "visitor called")
    audit(board, "board with a call")
    desk.get_by_role("button", name="Visitor is here: start").click()
    expect(desk.get_by_text("Service started.")).to_be_visible()
    audit(desk, "desk serving")
    desk.get_by_label("Outcome").select_option(label="Denied")
    desk.get_by_label("Explanation for the visitor").fill("We could not confirm the owner.")
    desk.get_by_role("button", name="Record decision").click()
    expect(desk.get_by_text("Decision recorded: Denied.")).to_be_visible()
    phone.reload()
    expect(phone.get_by_role("heading", name="Decision: Denied")).to_be_visible()
    audit(phone, "visitor outcome")

    assert len(audit.checked) >= 18
    assert not audit.findings, "axe-core found serious or critical violations:\n" + "\n".join(
        audit.findings
    )


FOCUSED_NAME = """() => {
  const element = document.activeElement;
  const label = element.labels && element.labels[0];
  return (label ? label.textContent : element.textContent || "").replace(/\\s+/g, " ").trim();
}"""
MAX_TABS = 80


def tab_to(page: Page, name: str) -> None:
    """Presses Tab until the focused control is called ``name``, as a keyboard user would."""
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        if page.evaluate(FOCUSED_NAME).startswith(name):
            return
    pytest.fail(f"Tab never reached {name!r}")


def test_keyboard_only_check_in_with_large_text(
    demo_center: Center, open_page: Callable[..., Page]
) -> None:
    session = in_own_thread(lambda: session_cookie("reception"))
    kiosk = open_page("/kiosk/", session=session)
    root = kiosk.locator("html")
    normal_size = kiosk.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)")

    tab_to(kiosk, "A+ Large text")
    kiosk.keyboard.press("Enter")
    expect(root).to_have_class(re.compile("large-text"))
    expect(kiosk.locator("[data-large-text]")).to_have_attribute("aria-pressed", "true")
    large_size = kiosk.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)")
    assert large_size >= normal_size * 1.3

    tab_to(kiosk, "Security screening passed")
    kiosk.keyboard.press("Space")
    tab_to(kiosk, "No recording or photos")
    kiosk.keyboard.press("Space")
    tab_to(kiosk, "Visitor's name")
    kiosk.keyboard.type("Li Laoye")
    tab_to(kiosk, "Case type")
    kiosk.keyboard.type("Account suspended")
    # htmx adds the case type's questions; the select keeps the focus.
    expect(kiosk.get_by_label("Year the account was registered")).to_be_visible()
    assert kiosk.evaluate("document.activeElement.name") == "case_type"
    tab_to(kiosk, "Year the account was registered")
    kiosk.keyboard.type("2009")
    tab_to(kiosk, "The problem, in the visitor's words")
    kiosk.keyboard.type("I cannot sign in to my account any more.")
    tab_to(kiosk, "Check in and print ticket")
    kiosk.keyboard.press("Enter")

    expect(kiosk.locator("#slip-number")).to_have_text(re.compile(r"^A\d{3}$"))
    # Remembered for this kiosk: the next page is in large text too.
    expect(root).to_have_class(re.compile("large-text"))
    for target in kiosk.locator("button:visible, a.button:visible").all():
        box = target.bounding_box()
        assert box is not None
        assert box["height"] >= 48, target.inner_text()
