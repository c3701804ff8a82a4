"""The visitor's status page over HTTP: no login, only the ticket's token."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest

from center.clock import FixedClock, use_clock
from center.models import Case, PlatformAccount, Role
from center.services import case_link_account
from queueing.models import Ticket
from queueing.services import (
    desk_open,
    ticket_call_next,
    ticket_resolve,
    ticket_start_serving,
    ticket_transfer,
)
from tests.center.factories import CaseTypeFactory, PlatformAccountFactory, staff_user
from tests.queueing.factories import issue, serve_next
from tests.queueing.web import (
    HTMX,
    another_visitor,
    assert_full_page,
    assert_in_page,
    assert_partial,
    text,
)

NOT_FOUND = "We could not find this ticket"
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
REPORTER = "Maison Lumiere Legal"


def _status_path(token: str) -> str:
    return f"/t/{token}/"


@pytest.mark.usefixtures("open_desk")
def test_waiting_visitor_sees_position_and_estimate(client, issued):
    another_visitor(issued, "Second")
    third = another_visitor(issued, "Third")

    first_page = client.get(_status_path(issued.token))
    third_page = client.get(_status_path(third.token))

    assert first_page.status_code == 200
    assert "You are next." in text(first_page)
    assert "A001" in text(first_page)
    assert third_page.status_code == 200
    body = text(third_page)
    assert "A003" in body
    assert "2 people ahead of you" in body
    # Three visitors of 10 minutes each at one open desk: about half an hour.
    assert "Estimated wait: " in body
    assert "Almost your turn" in body
    assert third.ticket.case.reference in body
    assert "ID card" in body
    assert "Second" not in body


def test_without_an_open_desk_there_is_no_estimate(client, issued):
    response = client.get(_status_path(issued.token))

    assert "Estimated wait" not in text(response)
    assert_in_page(response, "No estimate yet: no desk for your case is open at the moment.")


def test_called_visitor_is_told_to_go_to_the_desk(client, rep, open_desk, issued):
    ticket_call_next(desk=open_desk, by=rep)

    response = client.get(_status_path(issued.token))

    assert response.status_code == 200
    assert "Go to desk 1 now" in text(response)
    assert "It is your turn" in text(response)
    # The complaint form and the cancel button belong to a waiting ticket only.
    assert "visitor-complaint" not in text(response)
    assert f"/t/{issued.token}/cancel/" not in text(response)


def test_served_visitor_sees_the_desk(client, rep, open_desk, issued):
    ticket_call_next(desk=open_desk, by=rep)
    ticket_start_serving(desk=open_desk, by=rep)

    response = client.get(_status_path(issued.token))

    assert "You are being served at desk 1." in text(response)
    assert "Go to desk" not in text(response)


def test_outcome_with_explanation_and_reference_after_resolution(
    client, rep, open_desk, issued, account
):
    serve_next(open_desk, rep)
    case_link_account(case=issued.ticket.case, handle=account.handle, by=rep)
    ticket_resolve(
        desk=open_desk,
        outcome="RESTORED",
        reason_code="",
        explanation="Your identity was confirmed by the face check.",
        by=rep,
    )

    response = client.get(_status_path(issued.token))

    assert response.status_code == 200
    body = text(response)
    assert "Decision: Restored" in body
    assert "Your identity was confirmed by the face check." in body
    assert issued.ticket.case.reference in body
    assert "Terms of Service §4.2 (account security)" in body
    assert_in_page(
        response, "The account was locked because its owner could no longer be confirmed"
    )


def test_complaint_edit_while_waiting(client, issued):
    response = client.post(
        f"/t/{issued.token}/complaint/",
        {
            "complaint_text": "  Suspended since May; my old number is gone.  ",
            "complaint_registration_year": "2010",
            "complaint_former_phone_digits": "4471",
        },
    )

    assert response.status_code == 302
    assert response["Location"] == _status_path(issued.token)
    case = Case.objects.get(pk=issued.ticket.case_id)
    assert case.complaint_text == "Suspended since May; my old number is gone."
    assert case.complaint == {"registration_year": "2010", "former_phone_digits": "4471"}
    page = client.get(response["Location"])
    assert "Thank you: your description was saved." in text(page)
    assert "Suspended since May; my old number is gone." in text(page)


BAD_COMPLAINTS = {
    "empty text": ({"complaint_text": "", "complaint_registration_year": "2011"}, "required"),
    "only spaces": ({"complaint_text": "   ", "complaint_registration_year": "2011"}, "required"),
    "text too long": (
        {"complaint_text": "x" * 4001, "complaint_registration_year": "2011"},
        "at most 4000 characters (it has 4001)",
    ),
    "required intake field missing": ({"complaint_text": "Help."}, "required"),
    "year not a number": (
        {"complaint_text": "Help.", "complaint_registration_year": "last year"},
        "Enter a whole number.",
    ),
    "year too early": (
        {"complaint_text": "Help.", "complaint_registration_year": "1900"},
        "greater than or equal to 1990",
    ),
    "digits not digits": (
        {
            "complaint_text": "Help.",
            "complaint_registration_year": "2011",
            "complaint_former_phone_digits": "12ab",
        },
        "Enter 2 to 6 digits.",
    ),
}


@pytest.mark.parametrize("case", list(BAD_COMPLAINTS), ids=list(BAD_COMPLAINTS))
def test_bad_complaint_edit_is_400_with_a_message(client, issued, case):
    data, message = BAD_COMPLAINTS[case]
    if message == "required":
        message = "This field is required."

    response = client.post(f"/t/{issued.token}/complaint/", data)

    assert response.status_code == 400
    assert_full_page(response)
    assert_in_page(response, message)
    assert 'role="alert"' in text(response)
    stored = Case.objects.get(pk=issued.ticket.case_id)
    assert stored.complaint_text == "My account was suspended."
    assert stored.complaint == {"registration_year": "2011"}


def test_editing_after_the_ticket_was_called_gives_a_clear_message(client, rep, open_desk, issued):
    ticket_call_next(desk=open_desk, by=rep)

    response = client.post(
        f"/t/{issued.token}/complaint/",
        {"complaint_text": "Changed my mind.", "complaint_registration_year": "2011"},
        follow=True,
    )

    assert response.status_code in {200, 400, 409}
    assert_in_page(response, "You were already called: please tell the representative at the desk.")
    assert "Go to desk 1 now" in text(response)
    assert Case.objects.get(pk=issued.ticket.case_id).complaint_text == "My account was suspended."


def test_cancel_works_once(client, issued):
    first = client.post(f"/t/{issued.token}/cancel/", follow=True)

    assert first.status_code == 200
    assert "Your ticket was cancelled. Safe travels." in text(first)
    assert "This ticket is no longer in the queue." in text(first)
    ticket = Ticket.objects.get(pk=issued.ticket.pk)
    assert ticket.status == Ticket.Status.CANCELLED
    assert ticket.case.status == Case.Status.CANCELLED

    second = client.post(f"/t/{issued.token}/cancel/", follow=True)

    assert second.status_code == 200
    assert "Only a waiting ticket can be cancelled." in text(second)
    assert "Safe travels" not in text(second)
    assert Ticket.objects.get(pk=issued.ticket.pk).status == Ticket.Status.CANCELLED


def test_cancel_after_being_called_is_refused_with_a_message(client, rep, open_desk, issued):
    ticket_call_next(desk=open_desk, by=rep)

    response = client.post(f"/t/{issued.token}/cancel/", follow=True)

    assert "Only a waiting ticket can be cancelled." in text(response)
    assert Ticket.objects.get(pk=issued.ticket.pk).status == Ticket.Status.CALLED


def test_a_cancelled_ticket_no_longer_edits_its_complaint(client, issued):
    client.post(f"/t/{issued.token}/cancel/")

    response = client.post(
        f"/t/{issued.token}/complaint/",
        {"complaint_text": "Still here?", "complaint_registration_year": "2011"},
        follow=True,
    )

    assert response.status_code == 200
    assert_in_page(
        response, "This ticket is no longer in the queue: its complaint can no longer be changed."
    )
    assert "Still here?" not in text(response)
    assert Case.objects.get(pk=issued.ticket.case_id).complaint_text == "My account was suspended."


@pytest.mark.parametrize(
    "token",
    [
        "not-a-real-token",
        "x" * 500,
        "ü" * 30,
        "A001",
    ],
    ids=["wrong", "500 characters", "unicode", "ticket code"],
)
@pytest.mark.parametrize("suffix", ["", "complaint/", "cancel/"])
def test_unknown_token_gives_a_clear_404(client, issued, token, suffix):
    path = f"/t/{token}/{suffix}"
    send = client.get if not suffix else client.post

    response = send(path, {"complaint_text": "x"} if suffix == "complaint/" else {})

    assert response.status_code == 404
    assert_in_page(response, NOT_FOUND)
    assert "status links work on the day the ticket was issued" in text(response)
    assert Ticket.objects.get(pk=issued.ticket.pk).status == Ticket.Status.WAITING


def test_token_expires_at_the_end_of_the_centers_service_day(client, center, case_type, reception):
    morning = dt.datetime(2025, 3, 10, 9, 30, tzinfo=SHANGHAI)
    with use_clock(FixedClock(morning)) as clock:
        issued = issue(center, case_type, by=reception)
        path = _status_path(issued.token)
        assert client.get(path).status_code == 200

        clock.advance(hours=14, minutes=29)  # 23:59 in Shanghai
        assert client.get(path).status_code == 200

        # 00:30 in Shanghai is still 16:30 on the same day in UTC: the center's day counts.
        clock.advance(minutes=31)
        expired = client.get(path)
        cancel = client.post(f"{path}cancel/")

    assert expired.status_code == 404
    assert_in_page(expired, NOT_FOUND)
    assert cancel.status_code == 404
    assert Ticket.objects.get(pk=issued.ticket.pk).status == Ticket.Status.WAITING


def test_htmx_get_returns_only_the_status_partial(client, rep, open_desk, issued):
    waiting = client.get(_status_path(issued.token), headers=HTMX)
    ticket_call_next(desk=open_desk, by=rep)
    called = client.get(_status_path(issued.token), headers=HTMX)

    assert_partial(waiting, "status")
    assert "You are next." in text(waiting)
    assert "complaint_text" not in text(waiting)
    assert_partial(called, "status")
    assert "Go to desk 1 now" in text(called)


def test_the_page_speaks_the_language_chosen_on_the_device(
    client, center, accounts_service, reception
):
    bilingual = CaseTypeFactory(
        code="WALLET_ABROAD",
        name="Wallet frozen",
        name_zh="钱包被冻结",
        skill="ACCOUNTS",
        intake_fields=[],
    )
    issued = issue(center, bilingual, by=reception, language="zh-hans")

    chinese = client.get(_status_path(issued.token))
    client.cookies["django_language"] = "en"
    english = client.get(_status_path(issued.token))

    assert "钱包被冻结" in text(chinese)
    assert "Wallet frozen" in text(english)


@pytest.fixture
def merchant_case(center, case_type, reception):
    """The merchant whose account a rights holder reported, resolved at desk 1."""
    merchant = PlatformAccountFactory(
        handle="maison.seller",
        display_name="Lumiere Outlet",
        kind=PlatformAccount.Kind.MERCHANT,
        suspension_reason="COUNTERFEIT_GOODS",
        reporter_category="RIGHTS_HOLDER",
        reporter_identity=REPORTER,
    )
    issued = issue(center, case_type, by=reception, name="Merchant", account_handle=merchant.handle)
    assert issued.ticket.case.platform_account == merchant
    return issued


def _rep_with_desk(center, desk):
    rep = staff_user(center, Role.REPRESENTATIVE, "merchant-rep")
    desk_open(desk=desk, by=rep)
    return rep


def test_the_reporter_identity_never_reaches_the_visitor(client, center, desk, merchant_case):
    rep = _rep_with_desk(center, desk)
    token = merchant_case.token

    before = [client.get(_status_path(token)), client.get(_status_path(token), headers=HTMX)]
    serve_next(desk, rep)
    client.force_login(rep)
    desk_page = client.get("/desk/")
    client.logout()
    ticket_resolve(
        desk=desk,
        outcome="DENIED",
        reason_code="",
        explanation="The listed goods infringe a registered trademark.",
        by=rep,
    )
    full = client.get(_status_path(token))
    partial = client.get(_status_path(token), headers=HTMX)

    # Staff see who reported the account.
    assert REPORTER in text(desk_page)
    for response in [*before, full, partial]:
        assert response.status_code == 200
        assert REPORTER.lower() not in text(response).lower()
        assert "Maison Lumiere" not in text(response)
        assert "Lumiere Legal" not in text(response)
    assert_partial(partial, "status")
    for response in (full, partial):
        assert "A rights holder" in text(response)
        assert "Decision: Denied" in text(response)
        assert "Merchant Terms §9.4 (intellectual property)" in text(response)


def test_the_reporter_identity_stays_hidden_in_chinese_too(client, center, desk, merchant_case):
    rep = _rep_with_desk(center, desk)
    serve_next(desk, rep)
    ticket_resolve(desk=desk, outcome="DENIED", reason_code="", explanation="No.", by=rep)
    client.cookies["django_language"] = "zh-hans"

    response = client.get(_status_path(merchant_case.token))

    assert response.status_code == 200
    assert REPORTER not in text(response)


@pytest.mark.parametrize("cookie", ["klingon", "de", "zh-hans'><b>x", "x" * 300])
def test_an_unsupported_language_cookie_falls_back_to_the_tickets_language(client, issued, cookie):
    client.cookies["django_language"] = cookie

    page = client.get(_status_path(issued.token))
    edit = client.post(f"/t/{issued.token}/complaint/", {"complaint_text": ""})

    assert page.status_code == 200
    assert '<html lang="en">' in text(page)
    assert edit.status_code == 400
    assert '<html lang="en">' in text(edit)


def test_a_transferred_visitor_keeps_their_status_page(client, rep, open_desk, issued):
    ticket_call_next(desk=open_desk, by=rep)
    wallet = open_desk.services.get(code="WALLET")
    ticket_transfer(desk=open_desk, service=wallet, by=rep)

    response = client.get(_status_path(issued.token))

    assert response.status_code == 200
    assert "W001" in text(response)
    assert "You are next." in text(response)
