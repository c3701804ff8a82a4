"""The reception kiosk over HTTP: check-in, the slip with its QR code, the questions of a
case type, idempotent submission, turned-away visitors and every kind of bad input."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from center.clock import FixedClock, use_clock
from center.models import AuditEvent, Case, CaseType, Role, Visit, Visitor
from queueing.models import PriorityClass, Ticket
from tests.center.factories import CaseTypeFactory, staff_user
from tests.queueing.web import (
    HTMX,
    assert_full_page,
    assert_in_page,
    assert_partial,
    kiosk_data,
    qr_encodes,
    text,
)


@pytest.fixture
def kiosk(client, reception, case_type):
    client.force_login(reception)
    return client


def _counts() -> tuple[int, int, int, int]:
    return (
        Visitor.objects.count(),
        Visit.objects.count(),
        Case.objects.count(),
        Ticket.objects.count(),
    )


def _status_url(slip_html: str) -> str:
    match = re.search(r'<a href="(http://testserver/t/[^"]+/)">', slip_html)
    assert match, "no status link on the slip"
    return match.group(1)


def test_kiosk_page_offers_the_check_in_form(kiosk, case_type, wallet_case_type):
    response = kiosk.get("/kiosk/")

    assert_full_page(response)
    assert response.status_code == 200
    page = text(response)
    assert 'name="idempotency_key"' in page
    assert f'value="{case_type.code}"' in page
    assert f'value="{wallet_case_type.code}"' in page
    assert "Account suspended" in page
    assert 'name="screening_passed"' in page
    assert 'name="recording_rule_acknowledged"' in page
    # No case type chosen yet: no questions of any case type.
    assert "complaint_registration_year" not in page


def test_valid_check_in_creates_visit_case_and_ticket_and_shows_the_slip(
    kiosk, center, reception, case_type
):
    data = kiosk_data(
        case_type,
        assistance_needs=["ELDERLY", "LANGUAGE"],
        assisted_by_staff="on",
        items_stored="on",
        locker_tag="L-17",
        complaint_former_phone_digits="0921",
    )

    response = kiosk.post("/kiosk/", data)

    ticket = Ticket.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/kiosk/tickets/{ticket.pk}/"
    visit = Visit.objects.get()
    case = Case.objects.get()
    assert visit.status == Visit.Status.CHECKED_IN
    assert visit.center == center
    assert visit.visitor.full_name == "Lin Xiaoyu"
    assert visit.visitor.phone == "+86 138 0000 0921"
    assert visit.locker_tag == "L-17"
    assert visit.assistance_needs == ["ELDERLY", "LANGUAGE"]
    assert visit.assisted_by_staff is True
    assert visit.recorded_by == reception
    assert case.visit == visit
    assert case.case_type == case_type
    assert case.complaint == {"registration_year": "2011", "former_phone_digits": "0921"}
    assert case.complaint_text == "My account was suspended and I cannot log in."
    assert ticket.case == case
    assert ticket.code == "A001"
    assert ticket.status == Ticket.Status.WAITING
    assert ticket.priority == PriorityClass.PRIORITY
    assert AuditEvent.objects.filter(action="visit.checked_in", actor=reception).exists()

    slip = kiosk.get(response["Location"])

    assert slip.status_code == 200
    page = text(slip)
    assert "A001" in page
    assert case.reference in page
    assert "ID card" in page
    status_url = _status_url(page)
    assert "<svg" in page
    assert qr_encodes(page, status_url)
    assert ticket.token_hash is not None


def test_a_check_in_reads_its_case_type_once_and_the_slip_its_ticket_once(kiosk, case_type):
    """The form looks the chosen case type up for its questions; cleaning the field takes
    that one. The slip takes the center from the request, not from the ticket."""
    kiosk.post("/kiosk/", kiosk_data(case_type, full_name="Warm-up"))
    with CaptureQueriesContext(connection) as posted:
        response = kiosk.post("/kiosk/", kiosk_data(case_type))
    with CaptureQueriesContext(connection) as slip:
        kiosk.get(response["Location"])

    def reads(captured, table: str) -> int:
        return sum(
            query["sql"].startswith("SELECT") and f'FROM "{table}"' in query["sql"]
            for query in captured.captured_queries
        )

    assert reads(posted, "center_casetype") == 1
    assert reads(slip, "center_center") == 0
    assert reads(slip, "queueing_ticket") == 1


def test_the_slip_shows_the_time_on_the_centers_clock(kiosk, case_type):
    # 01:02 UTC is 09:02 in Shanghai, the test center's time zone.
    at = dt.datetime(2026, 11, 22, 1, 2, tzinfo=dt.UTC)
    with use_clock(FixedClock(at)):
        response = kiosk.post("/kiosk/", kiosk_data(case_type))
    page = text(kiosk.get(response["Location"]))
    assert "2026-11-22 09:02" in page
    assert "01:02" not in page


def test_the_slip_qr_code_opens_the_visitor_page(kiosk, client, case_type):
    response = kiosk.post("/kiosk/", kiosk_data(case_type))
    status_url = _status_url(text(kiosk.get(response["Location"])))
    path = status_url.removeprefix("http://testserver")

    client.logout()
    visitor_page = client.get(path)

    assert visitor_page.status_code == 200
    assert "A001" in text(visitor_page)
    assert Case.objects.get().reference in text(visitor_page)


def test_the_qr_code_is_shown_only_at_the_kiosk_that_issued_it(kiosk, client, center, case_type):
    response = kiosk.post("/kiosk/", kiosk_data(case_type))
    slip_path = response["Location"]
    other = staff_user(center, Role.RECEPTION, "second-kiosk")
    client.force_login(other)

    slip = client.get(slip_path)

    assert slip.status_code == 200
    assert "A001" in text(slip)
    assert "<svg" not in text(slip)
    assert_in_page(slip, "The QR code can only be printed at the kiosk that issued this ticket.")


def test_htmx_case_type_change_returns_only_that_case_types_questions(kiosk, case_type):
    response = kiosk.get("/kiosk/", {"case_type": case_type.code, "language": "en"}, headers=HTMX)

    assert response.status_code == 200
    assert_partial(response, "complaint-fields")
    page = text(response)
    assert "Year registered" in page
    assert 'name="complaint_registration_year"' in page
    assert 'name="complaint_former_phone_digits"' in page
    assert "ID card" in page
    assert 'name="full_name"' not in page


def test_htmx_case_type_without_questions_returns_an_empty_question_area(kiosk, wallet_case_type):
    response = kiosk.get("/kiosk/", {"case_type": wallet_case_type.code}, headers=HTMX)

    assert_partial(response, "complaint-fields")
    assert "complaint_registration_year" not in text(response)


def test_htmx_questions_follow_the_chosen_language(kiosk, accounts_service):
    bilingual = CaseTypeFactory(
        code="MINOR_SPENDING",
        name="Minor spending",
        description="Game purchases made by a child with a parent's money.",
        intake_fields=[
            {"name": "amount", "label": "Amount spent", "label_zh": "消费金额", "kind": "money"}
        ],
    )

    english = kiosk.get("/kiosk/", {"case_type": bilingual.code, "language": "en"}, headers=HTMX)
    chinese = kiosk.get(
        "/kiosk/", {"case_type": bilingual.code, "language": "zh-hans"}, headers=HTMX
    )

    assert "Amount spent" in text(english)
    assert_in_page(english, "Game purchases made by a child with a parent's money.")
    assert "消费金额" in text(chinese)


@pytest.mark.parametrize("code", ["NO_SUCH_TYPE", "x" * 500, ""])
def test_htmx_unknown_case_type_returns_no_questions_not_an_error(kiosk, code):
    response = kiosk.get("/kiosk/", {"case_type": code}, headers=HTMX)

    assert response.status_code == 200
    assert_partial(response, "complaint-fields")
    assert "complaint_" not in text(response)


def test_no_js_show_questions_rerenders_with_the_questions_and_creates_nothing(kiosk, case_type):
    data = kiosk_data(case_type, show_questions="1", idempotency_key="abc123")
    del data["complaint_registration_year"]

    response = kiosk.post("/kiosk/", data)

    assert response.status_code == 200
    assert_full_page(response)
    page = text(response)
    assert 'name="complaint_registration_year"' in page
    assert "Year registered" in page
    # What was typed so far stays in the form, without error messages yet.
    assert 'value="Lin Xiaoyu"' in page
    assert 'value="abc123"' in page
    assert 'class="error"' not in page
    assert _counts() == (0, 0, 0, 0)


def test_double_submission_with_the_same_key_creates_one_ticket(kiosk, case_type):
    data = kiosk_data(case_type, idempotency_key="4f1c2d")

    first = kiosk.post("/kiosk/", data)
    second = kiosk.post("/kiosk/", data)

    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert _counts() == (1, 1, 1, 1)
    assert kiosk.get(second["Location"]).status_code == 200


def test_submissions_without_a_key_or_with_different_keys_are_different_visitors(kiosk, case_type):
    kiosk.post("/kiosk/", kiosk_data(case_type, idempotency_key="one"))
    kiosk.post("/kiosk/", kiosk_data(case_type, idempotency_key="two"))
    kiosk.post("/kiosk/", kiosk_data(case_type))

    assert list(Ticket.objects.order_by("number").values_list("code", flat=True)) == [
        "A001",
        "A002",
        "A003",
    ]


def test_turn_away_logs_a_visit_and_the_counter_shows_it(kiosk, center, reception):
    response = kiosk.post(
        "/kiosk/turn-away/", {"reason": "NOT_A_VISITOR", "note": "Looking for the bathroom"}
    )

    assert response.status_code == 302
    assert response["Location"] == "/kiosk/"
    visit = Visit.objects.get()
    assert visit.status == Visit.Status.TURNED_AWAY
    assert visit.turned_away_reason == "NOT_A_VISITOR"
    assert visit.turned_away_note == "Looking for the bathroom"
    assert visit.visitor is None
    assert visit.recorded_by == reception
    assert not Case.objects.exists()
    assert not Ticket.objects.exists()

    page = kiosk.get("/kiosk/")

    assert_in_page(page, "Logged: turned away at the door. No case was opened.")
    assert '<p class="counter"><strong>1</strong>' in text(page)


def test_the_turn_away_counter_counts_only_today(kiosk, center):
    Visit.objects.create(
        center=center,
        status=Visit.Status.TURNED_AWAY,
        purpose="OTHER",
        turned_away_reason="SECURITY",
        at=timezone.now() - timezone.timedelta(days=2),
    )
    kiosk.post("/kiosk/turn-away/", {"reason": "SECURITY"})

    assert '<p class="counter"><strong>1</strong>' in text(kiosk.get("/kiosk/"))


def _year_now() -> int:
    return timezone.now().year


BAD_CHECK_INS = {
    "empty form": (None, "This field is required."),
    "name too long": ({"full_name": "x" * 121}, "at most 120 characters (it has 121)"),
    "name only spaces": ({"full_name": "   "}, "This field is required."),
    "phone with letters": ({"phone": "138-CALL-ME"}, "Enter a phone number: digits, spaces"),
    "unknown case type": ({"case_type": "NO_SUCH_TYPE"}, "Choose one of the listed case types."),
    "case type missing": ({"case_type": None}, "This field is required."),
    "screening not ticked": (
        {"screening_passed": None},
        "The security screening must be passed.",
    ),
    "rule not acknowledged": (
        {"recording_rule_acknowledged": None},
        "The visitor must acknowledge the no-recording rule.",
    ),
    "items stored without locker tag": (
        {"items_stored": "on", "locker_tag": "  "},
        "Enter the locker tag for the stored items.",
    ),
    "locker tag too long": (
        {"items_stored": "on", "locker_tag": "L" * 17},
        "at most 16 characters",
    ),
    "required intake field missing": (
        {"complaint_registration_year": None},
        "This field is required.",
    ),
    "year too early": (
        {"complaint_registration_year": "1850"},
        "Ensure this value is greater than or equal to 1990.",
    ),
    "year in the future": (
        {"complaint_registration_year": "2999"},
        "Ensure this value is less than or equal to",
    ),
    "year not a number": ({"complaint_registration_year": "two thousand"}, "Enter a whole number."),
    "intake digits not digits": (
        {"complaint_former_phone_digits": "09a1"},
        "Enter 2 to 6 digits.",
    ),
    "complaint of 5000 chars": (
        {"complaint_text": "x" * 5000},
        "at most 4000 characters (it has 5000)",
    ),
    "complaint missing": ({"complaint_text": ""}, "This field is required."),
    "unknown language": ({"language": "klingon"}, "Select a valid choice."),
    "purpose not for the center": ({"purpose": "OTHER"}, "Select a valid choice."),
    "unknown assistance need": ({"assistance_needs": ["VIP"]}, "Select a valid choice."),
    "idempotency key too long": ({"idempotency_key": "k" * 65}, "at most 64 characters"),
    "account id too long": ({"account_handle": "a" * 65}, "at most 64 characters"),
}


@pytest.mark.parametrize("case", list(BAD_CHECK_INS), ids=list(BAD_CHECK_INS))
def test_bad_check_in_gets_a_clear_message_and_creates_nothing(kiosk, case_type, case):
    overrides, message = BAD_CHECK_INS[case]
    data = {} if overrides is None else kiosk_data(case_type, **overrides)

    response = kiosk.post("/kiosk/", data)

    assert response.status_code == 400
    assert_full_page(response)
    assert_in_page(response, message)
    assert 'role="alert"' in text(response)
    assert _counts() == (0, 0, 0, 0)


def test_a_rejected_check_in_keeps_what_was_typed_and_its_key(kiosk, case_type):
    data = kiosk_data(case_type, idempotency_key="keep-me", screening_passed=None)

    response = kiosk.post("/kiosk/", data)

    page = text(response)
    assert 'value="keep-me"' in page
    assert 'value="Lin Xiaoyu"' in page
    assert 'name="complaint_registration_year"' in page
    assert 'value="2011"' in page


def test_inactive_case_type_is_refused(kiosk, case_type):
    CaseType.objects.filter(pk=case_type.pk).update(active=False)

    response = kiosk.post("/kiosk/", kiosk_data(case_type))

    assert response.status_code == 400
    assert_in_page(response, "Choose one of the listed case types.")
    assert _counts() == (0, 0, 0, 0)


def test_case_type_no_desk_can_handle_is_refused_with_a_message(kiosk, accounts_service):
    orphan = CaseTypeFactory(code="ORPHAN", name="Orphan", skill="NOBODY", intake_fields=[])

    response = kiosk.post("/kiosk/", kiosk_data(orphan, complaint_registration_year=None))

    assert response.status_code == 400
    assert_in_page(response, "No service of this center handles that case type.")
    assert _counts() == (0, 0, 0, 0)


BAD_TURN_AWAYS = {
    "unknown reason": ({"reason": "BORED"}, "Select a valid choice. BORED is not one"),
    "no reason": ({}, "This field is required."),
    "note too long": (
        {"reason": "OTHER", "note": "n" * 201},
        "at most 200 characters (it has 201)",
    ),
}


@pytest.mark.parametrize("case", list(BAD_TURN_AWAYS), ids=list(BAD_TURN_AWAYS))
def test_bad_turn_away_gets_a_clear_message_and_logs_nothing(kiosk, case):
    data, message = BAD_TURN_AWAYS[case]

    response = kiosk.post("/kiosk/turn-away/", data)

    assert response.status_code == 400
    assert_full_page(response)
    assert_in_page(response, message)
    assert not Visit.objects.exists()


def test_kiosk_refuses_other_methods(kiosk):
    assert kiosk.put("/kiosk/").status_code == 405
    assert kiosk.delete("/kiosk/").status_code == 405


@pytest.mark.parametrize("field", ["case_type", "complaint_text", "purpose", "language"])
def test_a_nul_character_in_any_field_is_refused_and_writes_nothing(kiosk, case_type, field):
    # PostgreSQL cannot store NUL in text: without the refusal this was a 500 there.
    data = kiosk_data(case_type)
    data[field] = f"{data.get(field, '')}\x00"
    before = _counts()

    response = kiosk.post("/kiosk/", data)

    assert response.status_code == 400
    assert _counts() == before


def test_a_nul_character_in_a_query_is_refused(client, center):
    assert client.get("/board/", {"center": "test-\x00center"}).status_code == 400
    assert client.get("/board/", {"center": "test-center"}).status_code == 200
