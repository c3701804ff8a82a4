"""Every case of the product brief, from the security door to the outcome page, through
the screens on a real Daphne server: reception's kiosk, the visitor's phone, the desks,
the specialist's callbacks and the supervisor. Each outcome page is saved as
docs/screenshots/case-*.png.

The identity checks are recorded in the test's setup (PASS rows of IdentityCheck, as the
identity services write them): their own browser flows (knowledge questions, face video
with a fake camera, documents) are tested with the identity screens. What is tested here
is that a decision needs them and what the visitor then reads.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from playwright.sync_api import Page, expect

from center import clock
from center.intake import FIELD_PREFIX
from center.models import Callback, Case, IdentityCheck
from tests.e2e.daphne import session_cookie
from tests.e2e.test_live import in_own_thread

PHONE = {"width": 390, "height": 844}

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def staff(new_context, daphne_server) -> Callable[..., Page]:
    """A page of a staff member's own browser, signed in with a session made directly:
    the sign-in form (with the real, slow password hasher) is tested elsewhere."""

    def open_as(username: str, path: str) -> Page:
        session = in_own_thread(lambda: session_cookie(username))
        context = new_context()
        context.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": daphne_server.url}]
        )
        page = context.new_page()
        page.goto(path)
        return page

    return open_as


def record_passed_checks(reference: str, *methods: str, by: str = "rep1") -> None:
    """The identity checks of a case, as the identity services record them."""
    case = Case.objects.get(reference=reference)
    user = get_user_model().objects.get(username=by)
    for method in methods:
        IdentityCheck.objects.create(
            case=case, method=method, result="PASS", performed_by=user, performed_at=clock.now()
        )


def check_in(
    kiosk: Page,
    *,
    name: str,
    case_type: str,
    complaint: str,
    handle: str = "",
    phone: str = "",
    language: str = "English",
    fields: dict[str, str] | None = None,
    needs: tuple[str, ...] = (),
    assisted: bool = False,
) -> tuple[str, str, str]:
    """Reception checks the visitor in; returns (ticket code, case reference, status URL)."""
    kiosk.goto("/kiosk/")
    kiosk.get_by_label("Security screening passed").check()
    kiosk.get_by_label("No recording or photos: rule explained and acknowledged").check()
    kiosk.get_by_label("Visitor's name").fill(name)
    if phone:
        kiosk.get_by_label("Phone (optional)").fill(phone)
    kiosk.get_by_label(re.compile(r"^Language:?$")).select_option(label=language)
    for need in needs:
        kiosk.get_by_label(need).check()
    if assisted:
        kiosk.get_by_label("Staff filled this in for the visitor").check()
    kiosk.get_by_label("Case type").select_option(label=case_type)
    for field_name, value in (fields or {}).items():
        field = kiosk.locator(f'[name="{FIELD_PREFIX}{field_name}"]')
        expect(field).to_be_visible()
        if field.evaluate("element => element.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)
    if handle:
        kiosk.get_by_label("Platform account ID (if known)").fill(handle)
    kiosk.get_by_label("The problem, in the visitor's words").fill(complaint)
    kiosk.get_by_role("button", name="Check in and print ticket").click()
    code = kiosk.locator("#slip-number").inner_text()
    reference = kiosk.get_by_text("Case reference").locator("strong").inner_text()
    url = kiosk.get_by_role("link", name=re.compile(r"^https?:.*\/t\/")).get_attribute("href") or ""
    return code, reference, url


def open_desk(desk: Page, number: int) -> None:
    desk.get_by_role("button", name=f"Open desk {number}", exact=True).click()
    expect(desk.get_by_role("heading", name=f"Desk {number}")).to_contain_text("Open")


def serve(desk: Page, code: str) -> None:
    """Calls until ``code`` comes (others are passed over as no-shows) and starts."""
    for _ in range(6):
        desk.get_by_role("button", name="Call next").click()
        called = desk.locator("#visitor-title .code")
        expect(called).to_be_visible()
        if called.inner_text() == code:
            desk.get_by_role("button", name="Visitor is here: start").click()
            expect(desk.get_by_text("Service started.")).to_be_visible()
            return
        desk.get_by_role("button", name="No-show").click()
        expect(desk.get_by_text("Marked as no-show.")).to_be_visible()
    pytest.fail(f"{code} was never called")


def decide(desk: Page, outcome: str, explanation: str) -> None:
    desk.get_by_label("Outcome").select_option(label=outcome)
    desk.get_by_label("Explanation for the visitor").fill(explanation)
    desk.get_by_role("button", name="Record decision").click()
    expect(desk.get_by_text(f"Decision recorded: {outcome}.")).to_be_visible()
    expect(desk.locator("section.decided")).to_contain_text(explanation)


def outcome_page(new_context, url: str) -> Page:
    phone = new_context(viewport=PHONE).new_page()
    phone.goto(url)
    return phone


@pytest.mark.slow
def test_journalist_elderly_visitor_conflicting_software_and_passer_by(
    demo_center, staff, new_context, screenshot
) -> None:
    kiosk = staff("reception", "/kiosk/")
    desk = staff("rep1", "/desk/")
    open_desk(desk, 1)
    journalist(kiosk, desk, new_context, screenshot)
    elderly_visitor_and_conflicting_software(kiosk, desk, new_context, screenshot)
    passer_by(kiosk, screenshot)


@pytest.mark.slow
def test_frozen_wallet_merchant_appeal_and_minors_spending(
    demo_center, staff, new_context, screenshot
) -> None:
    kiosk = staff("reception", "/kiosk/")
    frozen_wallet(kiosk, staff, new_context, screenshot)
    merchant_appeal(kiosk, staff, new_context, screenshot)
    minors_spending(kiosk, staff, new_context, screenshot)


def journalist(kiosk: Page, desk: Page, new_context, screenshot) -> None:
    # The journalist: 15-year-old account, childhood phone long deactivated.
    code, reference, url = check_in(
        kiosk,
        name="Lin Xiaoyu",
        case_type="Account suspended",
        handle="lin.reporter",
        fields={"registration_year": "2011", "phone_deactivated": "No, deactivated"},
        complaint="Suspended without a reason; registered to my childhood phone number.",
    )
    serve(desk, code)
    expect(desk.locator(".missing-checks")).to_contain_text("Account knowledge questions")
    desk.get_by_label("Outcome").select_option(label="Restored")
    desk.get_by_label("Explanation for the visitor").fill("Restored.")
    desk.get_by_role("button", name="Record decision").click()
    expect(desk.get_by_role("alert")).to_contain_text("Restoring needs these identity checks")
    record_passed_checks(reference, "KNOWLEDGE", "FACE_VIDEO")
    desk.reload()
    expect(desk.locator(".checks-passed")).to_be_visible()
    decide(
        desk,
        "Restored",
        "You answered the account questions and passed the face-video check: the account "
        "is yours and it is restored.",
    )
    phone = outcome_page(new_context, url)
    statement = phone.locator("#statement")
    expect(statement).to_contain_text("Decision: Restored")
    expect(statement).to_contain_text("status changed from Suspended to Active")
    expect(statement).to_contain_text("owner could no longer be confirmed")  # why suspended
    expect(statement).to_contain_text("Terms of Service §4.2")
    expect(statement).to_contain_text("Automated: taken by the platform")
    expect(statement).to_contain_text("How to contest this decision")
    screenshot(phone, "case-journalist")
    phone.get_by_role("link", name="Statement of reasons to print").click()
    expect(phone.get_by_role("heading", name="Statement of reasons")).to_be_visible()
    phone.emulate_media(media="print")
    screenshot(phone, "case-journalist-statement-print")


def elderly_visitor_and_conflicting_software(
    kiosk: Page, desk: Page, new_context, screenshot
) -> None:
    # Conflicting software: a standard visitor, checked in first.
    software_code, _reference, software_url = check_in(
        kiosk,
        name="Wang Fang",
        case_type="Blocked by other software",
        handle="wang.pc",
        fields={"other_software": "RivalGuard Antivirus", "operating_system": "Windows"},
        complaint="The desktop program closes itself since I installed an antivirus.",
    )
    # The elderly man with a strong accent: staff fill the check-in in his language.
    code, reference, url = check_in(
        kiosk,
        name="Li Guoqiang",
        case_type="Account suspended",
        handle="li.laoye",
        language="Simplified Chinese",
        needs=("Elderly visitor", "Language help"),
        assisted=True,
        fields={"registration_year": "2014"},
        complaint="Staff note: speaks a regional dialect; cannot log in since last week.",
    )
    expect(kiosk.get_by_text("Priority")).to_be_visible()
    # He arrived after Wang Fang, and is called first: the priority head start.
    desk.get_by_role("button", name="Call next").click()
    expect(desk.locator("#visitor-title .code")).to_have_text(code)
    desk.get_by_role("button", name="Visitor is here: start").click()
    expect(desk.get_by_text("Service started.")).to_be_visible()
    expect(desk.locator(".needs")).to_contain_text("Elderly visitor")
    expect(desk.locator(".needs")).to_contain_text("check-in completed by staff")
    # The demo's earlier visit of the same account (passed over above) is his history.
    expect(desk.locator(".history")).to_contain_text("Returning visitor")
    record_passed_checks(reference, "KNOWLEDGE", "FACE_VIDEO")
    decide(desk, "Restored", "Your identity was confirmed with staff's help: restored.")
    phone = outcome_page(new_context, url)
    expect(phone.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(phone.locator("#statement")).to_contain_text(reference)
    screenshot(phone, "case-elderly")

    # Conflicting software: guidance, not restoration.
    serve(desk, software_code)
    decide(
        desk,
        "Guidance given",
        "Add the program to RivalGuard's exceptions list, or uninstall RivalGuard; "
        "nothing is wrong with your account.",
    )
    phone = outcome_page(new_context, software_url)
    statement = phone.locator("#statement")
    expect(statement).to_contain_text("Decision: Guidance given")
    expect(statement).to_contain_text("the fix is on the computer")
    expect(statement).to_contain_text("status unchanged (Restricted)")
    screenshot(phone, "case-software")


def passer_by(kiosk: Page, screenshot) -> None:
    # The passer-by looking for the bathroom: turned away at the door, no case.
    kiosk.goto("/kiosk/")
    turn_away = kiosk.locator("aside", has=kiosk.get_by_role("heading", name="Turned away"))
    turn_away.get_by_label("Reason").select_option(value="NOT_A_VISITOR")
    turn_away.get_by_label("Note (optional)").fill("Looking for the bathroom")
    turn_away.get_by_role("button", name="Log and turn away").click()
    expect(
        kiosk.get_by_text("Logged: turned away at the door. No case was opened.")
    ).to_be_visible()
    expect(kiosk.locator(".counter strong")).to_have_text("1")
    screenshot(kiosk, "case-passer-by")


def frozen_wallet(kiosk: Page, staff, new_context, screenshot) -> None:
    # The frozen wallet, after years abroad; the spouse comes along.
    code, reference, url = check_in(
        kiosk,
        name="Zhang Wei",
        case_type="Wallet frozen",
        handle="zhang.wei.pay",
        fields={"country_abroad": "Canada", "companion": "My wife, Wu Lan"},
        complaint="My wallet was frozen while I lived in Canada.",
    )
    wallet_desk = staff("rep2", "/desk/")
    open_desk(wallet_desk, 4)
    serve(wallet_desk, code)
    record_passed_checks(reference, "ID_DOCUMENT", "FACE_VIDEO", by="rep2")
    decide(wallet_desk, "Restored", "Your ID and face matched: payments work again.")
    phone = outcome_page(new_context, url)
    statement = phone.locator("#statement")
    expect(statement).to_contain_text("status changed from Frozen to Active")
    expect(statement).to_contain_text("Wallet Terms §7.1")
    screenshot(phone, "case-wallet")


def merchant_appeal(kiosk: Page, staff, new_context, screenshot) -> None:
    # The merchant appeal: the reporter's category is told, never who it was.
    code, _reference, url = check_in(
        kiosk,
        name="Fang Hua",
        case_type="Merchant account appeal",
        handle="fanghua.shop",
        fields={"shop_name": "Fanghua Boutique", "times_suspended": "3 or more"},
        complaint="Suspended three times for counterfeits. Who reported me?",
    )
    merchant_desk = staff("rep3", "/desk/")
    open_desk(merchant_desk, 5)
    serve(merchant_desk, code)
    # Staff see who reported it, marked as never to be told.
    expect(merchant_desk.locator("aside")).to_contain_text("Maison Lumière")
    decide(
        merchant_desk,
        "Denied",
        "The brand's complaint is supported by test purchases; bring supplier invoices to "
        "appeal again.",
    )
    phone = outcome_page(new_context, url)
    statement = phone.locator("#statement")
    expect(statement).to_contain_text("Reported by")
    expect(statement).to_contain_text("A rights holder")
    expect(statement).to_contain_text("Manual: taken by a member of the platform's staff.")
    expect(phone.locator("body")).not_to_contain_text("Maison")
    screenshot(phone, "case-merchant")


def minors_spending(kiosk: Page, staff, new_context, screenshot) -> None:
    """Guardian check; referred; the callback is promised for the next morning and, when
    it is not made, alarms the specialist, the supervisor and the visitor's page."""
    code, reference, url = check_in(
        kiosk,
        name="Chen Li (mother) and Chen Hao",
        case_type="Spending by a minor",
        handle="chen.hao.game",
        phone="+86 138 0013 8000",
        needs=("Minor with a guardian",),
        fields={"game": "Dragon Realm", "amount": "10525", "child_age": "16"},
        complaint="My 16-year-old son spent over $10,000 with my bank card.",
    )
    desk = staff("rep1", "/desk/")
    open_desk(desk, 6)
    serve(desk, code)
    record_passed_checks(reference, "ID_DOCUMENT", "GUARDIAN")
    desk.get_by_label("Specialist who calls back (referrals)").select_option(label="He Jing")
    decide(
        desk,
        "Referred to a specialist",
        "A specialist for underage users reviews the payments and calls you tomorrow.",
    )
    expect(desk.locator("section.decided")).to_contain_text("Promised callback")
    phone = outcome_page(new_context, url)
    promise = phone.locator(".callback-promise")
    expect(promise).to_contain_text("Promised")
    expect(promise).to_contain_text(
        re.compile(r"Phone call to \+86 138 0013 8000 on .* 09:00 and 12:00")
    )
    screenshot(phone, "case-minor")

    specialist = staff("specialist", "/desk/callbacks/")
    expect(specialist.locator(".callback")).to_contain_text(reference)
    expect(specialist.get_by_role("alert").filter(has_text="overdue")).to_have_count(0)
    specialist.get_by_label("How did the call go?").select_option(label="No answer")
    specialist.get_by_role("button", name="Log the call").click()
    expect(specialist.locator(".callback .badge")).to_have_text("Attempted")

    # The clock moves past the promised window without the call being made: the
    # promise's times are moved back, as if the day had passed.
    callback = Callback.objects.get(case__reference=reference)
    shift = callback.due_at - (clock.now() - dt.timedelta(minutes=1))
    Callback.objects.filter(pk=callback.pk).update(
        window_starts_at=callback.window_starts_at - shift, due_at=callback.due_at - shift
    )
    specialist.reload()
    alarm = specialist.get_by_role("alert").filter(has_text="overdue")
    expect(alarm).to_contain_text(reference)
    expect(specialist.locator(".callback .badge")).to_have_text("Breached")
    screenshot(specialist, "case-minor-overdue-specialist")
    supervisor = staff("supervisor", "/supervisor/")
    expect(supervisor.get_by_role("alert").filter(has_text="overdue")).to_contain_text(reference)
    expect(supervisor.locator(".callbacks-kept")).to_contain_text("0 of 1 due (0%)")
    phone.reload()
    expect(phone.locator(".callback-promise")).to_contain_text("We did not call you back in time")
    screenshot(phone, "case-minor-overdue")
