"""Every decision carries a statement of reasons: the measure, the facts, the policy
clause, whether the original measure was automated, how to contest it and by when."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings

from center import clock
from center.models import Resolution
from center.services import CONTEST_PERIOD, case_resolve
from center.statement import statement_for_case
from queueing.services import ticket_resolve
from tests.center.factories import PlatformAccountFactory
from tests.queueing.factories import issue, serve_next
from tests.queueing.web import assert_in_page, text

# 00:30 on 2 March in Shanghai, still 1 March in UTC: the decided date is the center's.
LATE_EVENING = dt.datetime(2026, 3, 1, 16, 30, tzinfo=dt.UTC)


@pytest.fixture
def decided(center, case_type, reception, rep, open_desk, account):
    issued = issue(center, case_type, by=reception, account_handle=account.handle)
    with clock.use_clock(clock.FixedClock(LATE_EVENING)):
        serve_next(open_desk, rep)
        ticket_resolve(
            desk=open_desk,
            outcome="RESTORED",
            reason_code="",
            explanation="You proved the account is yours.",
            by=rep,
        )
    return issued


def test_the_resolution_keeps_what_the_statement_needs(decided, account):
    resolution = Resolution.objects.get(case=decided.ticket.case)

    assert resolution.original_decision_automated is True
    assert resolution.contest_until == dt.date(2026, 3, 2) + CONTEST_PERIOD
    assert resolution.reason_code == "UNVERIFIED_OWNERSHIP"
    account.refresh_from_db()
    assert account.suspension_automated is False  # the measure is lifted


def test_the_statement_states_measure_facts_clause_automation_and_contest(decided):
    statement = statement_for_case(decided.ticket.case)

    assert statement.outcome_label == "Restored"
    assert (statement.account_before_label, statement.account_after_label) == (
        "Suspended",
        "Active",
    )
    assert statement.facts == "You proved the account is yours."
    assert statement.policy_clause == "Terms of Service §4.2 (account security)"
    assert "owner could no longer be confirmed" in statement.reason_explanation
    assert statement.original_measure_label.startswith("Automated")
    assert statement.contest_until == dt.date(2026, 4, 1)


def test_a_manual_measure_is_stated_as_manual(center, case_type, reception, rep):
    merchant = PlatformAccountFactory(
        handle="shop.1", suspension_automated=False, suspension_reason="COUNTERFEIT_GOODS"
    )
    case = issue(center, case_type, by=reception, account_handle=merchant.handle).ticket.case

    case_resolve(case=case, outcome="DENIED", reason_code="", explanation="No.", by=rep)

    statement = statement_for_case(case)
    assert statement.original_decision_automated is False
    assert statement.original_measure_label.startswith("Manual")
    assert statement.policy_clause == "Merchant Terms §9.4 (intellectual property)"
    assert (statement.account_before_label, statement.account_after_label) == (
        "Suspended",
        "Suspended",
    )


def test_without_a_restricted_account_nothing_is_said_about_automation(
    center, case_type, reception, rep
):
    case = issue(center, case_type, by=reception).ticket.case

    case_resolve(
        case=case, outcome="GUIDANCE_GIVEN", reason_code="", explanation="Do this.", by=rep
    )

    statement = statement_for_case(case)
    assert statement.original_decision_automated is None
    assert statement.original_measure_label == ""
    assert not statement.has_reason


def test_no_statement_before_a_decision(issued):
    assert statement_for_case(issued.ticket.case) is None


def test_the_status_page_shows_the_statement_and_links_the_printable_one(client, decided):
    body = text(client.get(f"/t/{decided.token}/"))

    for part in (
        "Decision: Restored",
        "The measure",
        "status changed from Suspended to Active",
        "You proved the account is yours.",
        "Terms of Service §4.2 (account security)",
        "Automated: taken by the platform",
        "How to contest this decision",
        "Until 2026-04-01",
        f"/t/{decided.token}/statement/",
    ):
        assert part in body, part


def test_the_printable_statement(client, decided):
    response = client.get(f"/t/{decided.token}/statement/")

    assert response.status_code == 200
    body = text(response)
    assert 'class="visitor statement-page"' in body
    assert "data-print" in body
    assert decided.ticket.case.reference in body
    assert "Until 2026-04-01" in body


def test_the_printable_statement_in_chinese(client, decided):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"

    response = client.get(f"/t/{decided.token}/statement/")

    assert response.status_code == 200
    assert '<html lang="zh-hans">' in text(response)


def test_the_print_stylesheet_puts_the_statement_on_a4():
    css = (settings.BASE_DIR / "static" / "css" / "app.css").read_text()
    assert "body.statement-page { page: statement;" in css
    assert "@page statement { size: A4;" in css


def test_no_statement_page_before_a_decision(client, issued):
    response = client.get(f"/t/{issued.token}/statement/", follow=True)

    assert_in_page(response, "There is no decision on your case yet.")


def test_an_unknown_token_has_no_statement(client, db):
    assert client.get("/t/not-a-token/statement/").status_code == 404


def test_the_desk_shows_the_statement_just_given(
    client, center, case_type, reception, rep, open_desk
):
    issue(center, case_type, by=reception)
    client.force_login(rep)
    client.post("/desk/call-next/")
    client.post("/desk/serve/")

    response = client.post(
        "/desk/resolve/",
        {"outcome": "GUIDANCE_GIVEN", "reason_code": "", "explanation": "Update the app."},
        follow=True,
    )

    body = text(response)
    assert "Statement given to the visitor" in body
    assert "Update the app." in body
    assert "How to contest this decision" in body
    # The next call clears it.
    client.post("/desk/call-next/")
    assert "Statement given to the visitor" not in text(client.get("/desk/"))
