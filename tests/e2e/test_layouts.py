"""Each screen at the size of the device it runs on: the kiosk's portrait touch screen, the
visitor's phone (in English and Chinese) and the waiting room's wall display. Nothing may
overflow sideways; the board fits its screen without scrolling. The screenshots are saved
to docs/screenshots/layout-*.png."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from playwright.sync_api import Browser, Page, expect

from center.models import CaseType, Center
from queueing.models import Desk
from queueing.services import (
    CheckIn,
    checkin_issue_ticket,
    desk_open,
    ticket_call_next,
    ticket_no_show,
    ticket_resolve,
    ticket_start_serving,
)
from tests.e2e.conftest import TIMEOUT_MS
from tests.e2e.daphne import DaphneServer, session_cookie
from tests.e2e.test_live import in_own_thread

KIOSK = {"width": 1080, "height": 1920}
PHONE = {"width": 390, "height": 844}
WALL = {"width": 1920, "height": 1080}

pytestmark = pytest.mark.django_db(transaction=True)

OVERFLOW = "document.documentElement.scrollWidth - document.documentElement.clientWidth"


@pytest.fixture
def device(browser: Browser, daphne_server: DaphneServer) -> Iterator[Callable[..., Page]]:
    """A page on a device of the given size; touch screens report touch."""
    contexts = []

    def open_device(
        path: str,
        viewport: dict[str, int],
        *,
        session: str | None = None,
        language: str | None = None,
        touch: bool = False,
    ) -> Page:
        context = browser.new_context(
            base_url=daphne_server.url, viewport=viewport, locale="en-US", has_touch=touch
        )
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        cookies = []
        if session:
            cookies.append({"name": settings.SESSION_COOKIE_NAME, "value": session})
        if language:
            cookies.append({"name": settings.LANGUAGE_COOKIE_NAME, "value": language})
        context.add_cookies([{**cookie, "url": daphne_server.url} for cookie in cookies])
        page = context.new_page()
        page.goto(path)
        return page

    yield open_device
    for context in contexts:
        context.close()


def fits_sideways(page: Page) -> None:
    assert page.evaluate(OVERFLOW) <= 0, f"{page.url} scrolls sideways"


class Visit:
    """Moves one visitor through the queue with the real services, off the test's thread."""

    def __init__(self, center: Center) -> None:
        self.center = center
        staff = {user.username: user for user in get_user_model().objects.all()}
        self.reception, self.rep = staff["reception"], staff["rep1"]
        issued = checkin_issue_ticket(
            center=center,
            checkin=CheckIn(
                full_name="Li Laoye",
                purpose="CASE",
                language="zh-hans",
                screening_passed=True,
                items_stored=False,
                recording_rule_acknowledged=True,
                case_type=CaseType.objects.get(code="ACCOUNT_SUSPENDED"),
                complaint={"registration_year": "2009"},
                complaint_text="I can no longer sign in; my son set the account up for me.",
                assistance_needs=("ELDERLY",),
                assisted_by_staff=True,
            ),
            by=self.reception,
        )
        self.ticket, self.status_path = issued.ticket, f"/t/{issued.token}/"
        self.desk = desk_open(desk=Desk.objects.get(center=center, number=1), by=self.rep)

    def call(self) -> None:
        while (called := ticket_call_next(desk=self.desk, by=self.rep)) != self.ticket:
            assert called is not None, "the visitor was never called"
            ticket_no_show(desk=self.desk, by=self.rep)

    def decide(self) -> None:
        ticket_start_serving(desk=self.desk, by=self.rep)
        ticket_resolve(
            desk=self.desk,
            outcome="DENIED",
            reason_code="",
            explanation=(
                "We could not confirm that the account is yours today. Please come back "
                "with your son, who registered it, and his identity card."
            ),
            by=self.rep,
        )


def phones(device: Callable[..., Page], path: str) -> dict[str, Page]:
    return {
        "": device(path, PHONE, language="en", touch=True),
        "-zh": device(path, PHONE, language="zh-hans", touch=True),
    }


def test_screens_fit_their_devices(
    demo_center: Center, device: Callable[..., Page], screenshot: Callable[..., None]
) -> None:
    reception = in_own_thread(lambda: session_cookie("reception"))
    kiosk = device("/kiosk/", KIOSK, session=reception, touch=True)
    kiosk.get_by_label("Case type").select_option(label="Account suspended")
    expect(kiosk.get_by_label("Year the account was registered")).to_be_visible()
    fits_sideways(kiosk)
    screenshot(kiosk, "layout-kiosk")
    kiosk.locator("[data-large-text]").click()
    expect(kiosk.locator("html")).to_have_class(re.compile("large-text"))
    fits_sideways(kiosk)
    screenshot(kiosk, "layout-kiosk-large-text")

    visit = in_own_thread(lambda: Visit(demo_center))
    for suffix, phone in phones(device, visit.status_path).items():
        expect(phone.locator("#ticket-title")).to_have_text(visit.ticket.code)
        fits_sideways(phone)
        screenshot(phone, f"layout-phone-waiting{suffix}")

    in_own_thread(visit.call)
    board = device("/board/", WALL)
    expect(board.locator("table.serving")).to_contain_text(visit.ticket.code)
    fits_sideways(board)
    assert board.evaluate("document.documentElement.scrollHeight") <= WALL["height"]
    screenshot(board, "layout-board", full_page=False)
    for suffix, phone in phones(device, visit.status_path).items():
        expect(phone.locator(".alert-call")).to_be_visible()
        fits_sideways(phone)
        screenshot(phone, f"layout-phone-called{suffix}")

    in_own_thread(visit.decide)
    for suffix, phone in phones(device, visit.status_path).items():
        expect(phone.locator("section.outcome")).to_be_visible()
        fits_sideways(phone)
        screenshot(phone, f"layout-phone-outcome{suffix}")
