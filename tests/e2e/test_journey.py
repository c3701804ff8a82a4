"""One visitor from the security door to a written decision, only through the screens:
reception's kiosk, the visitor's phone, a representative's desk, the board, the floor and
the supervisor's view. Every screen is saved to docs/screenshots/."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_cases import record_passed_checks

PHONE = {"width": 390, "height": 844}
BOARD_SCREEN = {"width": 1920, "height": 1080}
STATUS_POLL_WAIT_MS = 12_000  # the status page polls every 5 s

COMPLAINT = (
    "My 15-year-old account was suspended without a reason. It is registered to my "
    "childhood phone number, which no longer exists."
)
COMPLAINT_ADDED = " I still remember the group Hiking Shenzhen and my contact Chen Bo."
EXPLANATION = (
    "You answered the account questions and passed the face-video check: the account is "
    "yours and it is restored. Please add your current phone number today."
)

pytestmark = pytest.mark.django_db(transaction=True)


def check_in_at_kiosk(kiosk: Page) -> None:
    """Reception fills the security check-in and the case for the journalist."""
    expect(kiosk.get_by_role("heading", name="Security check-in")).to_be_visible()
    kiosk.get_by_label("Security screening passed").check()
    kiosk.get_by_label("Bags and drinks stored").check()
    kiosk.get_by_label("Locker tag").fill("L17")
    kiosk.get_by_label("No recording or photos: rule explained and acknowledged").check()
    kiosk.get_by_label("Visitor's name").fill("Lin Xiaoyu")
    kiosk.get_by_label(re.compile(r"^Language:?$")).select_option(label="English")
    kiosk.get_by_label("Case type").select_option(label="Account suspended")
    # htmx swaps in the questions of the chosen case type.
    registration_year = kiosk.get_by_label("Year the account was registered")
    expect(registration_year).to_be_visible()
    expect(kiosk.get_by_text("cannot verify it by phone")).to_be_visible()
    bring = kiosk.locator(".bring")
    expect(bring.get_by_role("heading", name="What to bring")).to_be_visible()
    expect(bring).to_contain_text("National ID card")
    registration_year.fill("2011")
    kiosk.get_by_label("Last digits of the registration phone").fill("0921")
    kiosk.get_by_label("Is that phone number still yours?").select_option("No, deactivated")
    kiosk.get_by_label("Contacts or groups you remember").fill("Chen Bo, Aunt Mei")
    kiosk.get_by_label("Platform account ID (if known)").fill("lin.reporter")
    kiosk.get_by_label("The problem, in the visitor's words").fill(COMPLAINT)


def read_slip(slip: Page) -> tuple[str, str, str]:
    """The printed slip: (ticket code, case reference, status page URL of the QR code)."""
    code_on_slip = slip.locator("#slip-number")
    expect(code_on_slip).to_have_text(re.compile(r"^A\d{3}$"))
    expect(slip.get_by_text("Accounts and access")).to_be_visible()
    expect(slip.locator(".qr svg")).to_be_visible()
    expect(slip.get_by_role("heading", name="Have ready")).to_be_visible()
    reference = slip.get_by_text("Case reference").locator("strong").inner_text()
    assert reference
    status_link = slip.get_by_role("link", name=re.compile(r"^https?:.*\/t\/"))
    status_url = status_link.get_attribute("href") or ""
    assert status_url == status_link.inner_text()
    return code_on_slip.inner_text(), reference, status_url


def wait_and_complete_complaint(phone: Page, code: str, reference: str) -> None:
    """The status page shows the place in line and an estimate; the visitor adds to the
    complaint while waiting."""
    expect(phone.locator("#ticket-title")).to_have_text(code)
    expect(phone.get_by_text("2 people ahead of you")).to_be_visible()
    expect(phone.get_by_text(re.compile(r"Estimated wait: \d+\u2013\d+ minutes"))).to_be_visible()
    expect(phone.get_by_text(f"Case reference: {reference}")).to_be_visible()
    complaint = phone.get_by_label("Your problem, in your words")
    expect(complaint).to_have_value(COMPLAINT)
    expect(phone.get_by_label("Year the account was registered")).to_have_value("2011")


def call_until(desk: Page, code: str) -> int:
    """The representative calls visitors in queue order; those ahead of ``code`` do not
    come forward and are marked as no-shows. Returns how many were passed over."""
    for passed_over in range(5):
        desk.get_by_role("button", name="Call next").click()
        called = desk.locator("#visitor-title .code")
        expect(called).to_be_visible()
        if called.inner_text() == code:
            return passed_over
        desk.get_by_role("button", name="No-show").click()
        expect(desk.get_by_text("Marked as no-show.")).to_be_visible()
    pytest.fail(f"{code} was never called at the desk")


def start_serving(desk: Page) -> None:
    """The visitor is at the desk: the representative sees the complaint as corrected on
    the phone and the platform account's record."""
    desk.get_by_role("button", name="Visitor is here: start").click()
    expect(desk.get_by_text("Service started.")).to_be_visible()
    expect(desk.locator("#visitor-title")).to_contain_text("Being served")
    expect(desk.locator("blockquote")).to_contain_text(COMPLAINT_ADDED.strip())
    expect(desk.locator("dl.facts").first).to_contain_text("2011")
    account = desk.locator("aside", has=desk.get_by_role("heading", name="Platform account"))
    expect(account).to_contain_text("lin.reporter · Lin Xiaoyu")
    expect(account).to_contain_text("Suspended")
    expect(account).to_contain_text("Ownership could not be verified")
    expect(account).to_contain_text("138****0921")


def see_outcome(phone: Page, reference: str) -> None:
    """The decision, its written reason, the reference and, in plain words, why the
    account had been suspended."""
    outcome = phone.locator("section.outcome")
    expect(outcome.get_by_role("heading", name="Decision: Restored")).to_be_visible(
        timeout=STATUS_POLL_WAIT_MS
    )
    expect(outcome).to_contain_text(EXPLANATION)
    expect(outcome).to_contain_text(reference)
    expect(outcome).to_contain_text("Why the account was restricted")
    expect(outcome).to_contain_text(
        "The account was locked because its owner could no longer be confirmed"
    )
    expect(outcome).not_to_contain_text("UNVERIFIED_OWNERSHIP")


@pytest.mark.slow
def test_visitor_from_kiosk_to_restored_account(
    demo_center, sign_in, new_context, screenshot
) -> None:
    kiosk = sign_in("reception", next_path="/kiosk/", screenshot_as="login")
    check_in_at_kiosk(kiosk)
    screenshot(kiosk, "kiosk")
    kiosk.get_by_role("button", name="Check in and print ticket").click()
    code, reference, status_url = read_slip(kiosk)
    screenshot(kiosk, "slip")

    # Desk 1 handles accounts (and technical guidance).
    desk = sign_in("rep1", next_path="/desk/")
    expect(desk.get_by_role("heading", name="Take a desk")).to_be_visible()
    desk.get_by_role("button", name="Open desk 1", exact=True).click()
    expect(desk.get_by_role("heading", name="Desk 1")).to_contain_text("Open")
    expect(desk.get_by_text(code)).to_be_visible()

    phone = new_context(viewport=PHONE).new_page()
    phone.goto(status_url)
    wait_and_complete_complaint(phone, code, reference)
    screenshot(phone, "visitor-waiting")
    phone.get_by_label("Your problem, in your words").fill(COMPLAINT + COMPLAINT_ADDED)
    phone.get_by_role("button", name="Save").click()
    expect(phone.get_by_text("Thank you: your description was saved.")).to_be_visible()

    assert call_until(desk, code) == 2, "the two visitors who arrived earlier go first"
    expect(desk.locator("#visitor-title")).to_contain_text("Lin Xiaoyu")
    expect(desk.locator("#visitor-title")).to_contain_text("Called")
    screenshot(desk, "desk-called")

    board = new_context(viewport=BOARD_SCREEN).new_page()
    board.goto("/board/")
    expect(board.get_by_role("heading", name="Now serving")).to_be_visible()
    expect(board.locator("table.serving tbody tr").first).to_have_text(re.compile(f"{code}\\s*1"))
    screenshot(board, "board", full_page=False)
    kiosk.goto("/reception/")
    expect(kiosk.locator(".desk", has_text="Desk 1")).to_contain_text(code)
    expect(kiosk.locator(".stat", has_text="turned away today").locator("span")).to_have_text("0")
    screenshot(kiosk, "reception")

    expect(phone.get_by_text("Go to desk 1 now")).to_be_visible(timeout=STATUS_POLL_WAIT_MS)
    screenshot(phone, "visitor-called")

    start_serving(desk)
    # Restoring needs the case type's identity checks (their screens: test_identity.py).
    record_passed_checks(reference, "KNOWLEDGE", "FACE_VIDEO")
    screenshot(desk, "desk-serving")
    desk.get_by_label("Outcome").select_option(label="Restored")
    desk.get_by_label("Explanation for the visitor").fill(EXPLANATION)
    desk.get_by_role("button", name="Record decision").click()
    expect(desk.get_by_text("Decision recorded: Restored.")).to_be_visible()
    expect(desk.get_by_role("button", name="Call next")).to_be_visible()

    see_outcome(phone, reference)
    screenshot(phone, "visitor-outcome")

    supervisor = sign_in("supervisor", next_path="/supervisor/")
    expect(supervisor.get_by_role("heading", name=re.compile("^Today"))).to_be_visible()
    expect(supervisor.locator(".stat", has_text="served").locator("span")).to_have_text("1")
    expect(supervisor.locator(".stat", has_text="no-shows").locator("span")).to_have_text("2")
    screenshot(supervisor, "supervisor")


def test_passer_by_is_turned_away_and_counted(demo_center, sign_in) -> None:
    kiosk = sign_in("reception", next_path="/kiosk/")
    counter = kiosk.locator(".counter strong")
    expect(counter).to_have_text("0")
    turn_away = kiosk.locator("aside", has=kiosk.get_by_role("heading", name="Turned away"))
    turn_away.get_by_label("Reason").select_option(value="NOT_A_VISITOR")
    turn_away.get_by_label("Note (optional)").fill("Looking for the bathroom")
    turn_away.get_by_role("button", name="Log and turn away").click()
    expect(
        kiosk.get_by_text("Logged: turned away at the door. No case was opened.")
    ).to_be_visible()
    expect(counter).to_have_text("1")
    kiosk.goto("/reception/")
    expect(kiosk.locator(".stat", has_text="turned away today").locator("span")).to_have_text("1")


def test_reception_marks_a_visitor_who_left_as_gone(demo_center, sign_in) -> None:
    """One form per line: the pressed button says which visitor left, through htmx as
    without it."""
    floor = sign_in("reception", next_path="/reception/")
    waiting = floor.locator(".stat", has_text="waiting").locator("span")
    before = int(waiting.inner_text())
    first = floor.locator("#floor tbody tr").first
    code = first.locator("td.code").inner_text()
    first.get_by_role("button", name=f"{code}: Left the building").click()
    expect(waiting).to_have_text(str(before - 1))
    expect(floor.locator("#floor td.code", has_text=code)).to_have_count(0)
    expect(floor.locator("#floor tbody tr")).to_have_count(before - 1)
