"""Front-desk services against the real database: the security door, complaint intake,
decisions on cases, and the invariants the database itself enforces."""

import datetime as dt

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from center.clock import FixedClock, use_clock
from center.errors import DomainError
from center.models import (
    AuditEvent,
    Case,
    PlatformAccount,
    Resolution,
    TurnAwayReason,
    Visit,
    Visitor,
)
from center.services import (
    case_link_account,
    case_open,
    case_resolve,
    case_update_complaint,
    visit_check_in,
    visit_turn_away,
)
from queueing.models import Desk
from queueing.selectors import day_kpis, floor_snapshot
from tests.center.factories import CaseTypeFactory, PlatformAccountFactory

NOON_2026 = dt.datetime(2026, 6, 1, 4, 0, tzinfo=dt.UTC)


def check_in(center, by=None, **overrides) -> Visit:
    values = {
        "full_name": "Zhao Lei",
        "purpose": "CASE",
        "screening_passed": True,
        "items_stored": False,
        "recording_rule_acknowledged": True,
    }
    return visit_check_in(center=center, by=by, **(values | overrides))


@pytest.fixture
def visit(center, reception):
    return check_in(center, by=reception)


@pytest.fixture
def detailed_case_type(db):
    return CaseTypeFactory(
        code="WALLET_DETAIL",
        skill="WALLET",
        intake_fields=[
            {"name": "registration_year", "label": "Year registered", "kind": "year"},
            {"name": "amount", "label": "Amount", "kind": "money", "required": True},
            {"name": "paid_on", "label": "Paid on", "kind": "date"},
            {"name": "channel", "label": "Channel", "kind": "choice", "choices": ["App", "Web"]},
            {"name": "last_digits", "label": "Last digits", "kind": "phone_digits"},
        ],
    )


def open_case(visit, case_type, complaint, **overrides) -> Case:
    values = {"complaint_text": "The payment never arrived.", "by": None}
    return case_open(visit=visit, case_type=case_type, complaint=complaint, **(values | overrides))


# Security check-in -----------------------------------------------------------------


def test_check_in_records_visitor_and_visit(center, reception):
    with use_clock(FixedClock(NOON_2026)):
        visit = check_in(
            center,
            by=reception,
            full_name="  Zhao Lei ",
            items_stored=True,
            locker_tag=" L-17 ",
            assistance_needs=["LANGUAGE", "ELDERLY", "LANGUAGE"],
            assisted_by_staff=True,
        )
    visit.refresh_from_db()
    assert visit.status == Visit.Status.CHECKED_IN
    assert visit.visitor.full_name == "Zhao Lei"
    assert visit.locker_tag == "L-17"
    assert visit.assistance_needs == ["ELDERLY", "LANGUAGE"]
    assert visit.at == NOON_2026
    assert visit.recorded_by == reception
    audit = AuditEvent.objects.get(action="visit.checked_in")
    assert audit.subject == f"visit:{visit.pk}"
    assert audit.actor == reception


def test_locker_tag_is_dropped_when_nothing_was_stored(center):
    visit = check_in(center, items_stored=False, locker_tag="L-3")
    assert visit.locker_tag == ""


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"screening_passed": False}, "security screening"),
        ({"recording_rule_acknowledged": False}, "no-recording rule"),
        ({"items_stored": True, "locker_tag": ""}, "locker tag"),
        ({"items_stored": True, "locker_tag": "   "}, "locker tag"),
        ({"full_name": ""}, "name"),
        ({"full_name": "   "}, "name"),
        ({"purpose": "OTHER"}, "purpose"),
        ({"purpose": "SIGHTSEEING"}, "purpose"),
    ],
)
def test_check_in_refusals_write_nothing(center, reception, overrides, message):
    with pytest.raises(DomainError, match=message):
        check_in(center, by=reception, **overrides)
    assert not Visit.objects.exists()
    assert not Visitor.objects.exists()
    assert not AuditEvent.objects.exists()


def test_duplicate_idempotency_key_leaves_no_stray_visitor(center):
    check_in(center, idempotency_key="kiosk-7")
    # Whoever goes on after a failed check-in wraps it in a savepoint of its own.
    with pytest.raises(IntegrityError), transaction.atomic():
        check_in(center, full_name="Someone Else", idempotency_key="kiosk-7")
    assert Visit.objects.count() == 1
    assert list(Visitor.objects.values_list("full_name", flat=True)) == ["Zhao Lei"]


def test_turn_away_is_counted_without_a_visitor_or_case(center, reception):
    visit = visit_turn_away(
        center=center, reason=TurnAwayReason.NOT_A_VISITOR, note="Asked for the bathroom.", by=None
    )
    visit.refresh_from_db()
    assert visit.status == Visit.Status.TURNED_AWAY
    assert visit.visitor is None
    assert visit.turned_away_reason == "NOT_A_VISITOR"
    assert not Visitor.objects.exists()
    assert not Case.objects.exists()
    kpis = day_kpis(center)
    assert (kpis.turned_away, kpis.checked_in) == (1, 0)
    check_in(center, by=reception)
    assert day_kpis(center).checked_in == 1
    assert AuditEvent.objects.filter(action="visit.turned_away").count() == 1


def test_the_days_numbers_taken_from_the_floor_are_the_ones_read_on_their_own(
    center, reception, open_desk
):
    """The supervisor's screen reads the floor, then the day's numbers: the counts the floor
    already holds (visits, open desks) are taken from it instead of read a second time."""
    visit_turn_away(center=center, reason=TurnAwayReason.NOT_A_VISITOR, by=None)
    check_in(center, by=reception)
    check_in(center, by=reception)
    kpis = day_kpis(center)
    assert (kpis.turned_away, kpis.checked_in, kpis.desks_open) == (1, 2, 1)
    floor = floor_snapshot(center)
    with CaptureQueriesContext(connection) as queries:
        from_floor = day_kpis(center, floor=floor)
    assert from_floor == kpis
    tables = (f'"{Visit._meta.db_table}"', f'"{Desk._meta.db_table}"')
    assert not [query for query in queries if any(table in query["sql"] for table in tables)]


def test_turn_away_needs_a_known_reason(center):
    with pytest.raises(DomainError):
        visit_turn_away(center=center, reason="", by=None)
    with pytest.raises(DomainError):
        visit_turn_away(center=center, reason="TOO_LOUD", by=None)
    assert not Visit.objects.exists()


# Complaint intake ------------------------------------------------------------------


def test_case_open_stores_the_cleaned_complaint(visit, case_type, account, reception):
    with use_clock(FixedClock(NOON_2026)):
        case = open_case(
            visit,
            case_type,
            {"registration_year": " 2011 ", "former_phone_digits": "0921", "stray": "x"},
            complaint_text="  Locked after a phone change.  ",
            account_handle=f" {account.handle} ",
            by=reception,
        )
    case.refresh_from_db()
    assert case.complaint == {"registration_year": "2011", "former_phone_digits": "0921"}
    assert case.complaint_text == "Locked after a phone change."
    assert case.status == Case.Status.OPEN
    assert case.platform_account == account
    assert case.reference.startswith("WC-")
    assert case.opened_at == case.updated_at == NOON_2026
    assert AuditEvent.objects.filter(action="case.opened", actor=reception).count() == 1


def test_unknown_account_handle_is_kept_without_a_link(visit, case_type):
    case = open_case(visit, case_type, {"registration_year": "2011"}, account_handle="nobody")
    assert (case.account_handle, case.platform_account) == ("nobody", None)


def test_case_open_normalises_every_field_kind(visit, detailed_case_type):
    case = open_case(
        visit,
        detailed_case_type,
        {"amount": "12.5", "paid_on": "2026-05-30", "channel": "Web", "last_digits": "42"},
    )
    assert case.complaint == {
        "amount": "12.5",
        "paid_on": "2026-05-30",
        "channel": "Web",
        "last_digits": "42",
    }


@pytest.mark.parametrize(
    ("complaint", "message"),
    [
        ({}, "Year registered: This field is required."),
        ({"registration_year": ""}, "Year registered: This field is required."),
        ({"registration_year": "1989"}, "Year registered"),
        ({"registration_year": "2027"}, "Year registered"),
        ({"registration_year": "twenty eleven"}, "Year registered: Enter a whole number."),
        ({"registration_year": "2011", "former_phone_digits": "09x1"}, "Phone digits"),
        ({"registration_year": "2011", "former_phone_digits": "1234567"}, "Phone digits"),
    ],
)
def test_case_open_validates_against_the_case_type(visit, case_type, complaint, message):
    with use_clock(FixedClock(NOON_2026)), pytest.raises(DomainError, match=message):
        open_case(visit, case_type, complaint)
    assert not Case.objects.exists()


@pytest.mark.parametrize(
    ("complaint", "message"),
    [
        ({"amount": "12", "channel": "Carrier pigeon"}, "Channel: Select a valid choice"),
        ({"amount": "-1"}, "Amount"),
        ({"amount": "lots"}, "Amount"),
        ({"amount": "1", "paid_on": "yesterday"}, "Paid on"),
        ({"channel": "App"}, "Amount: This field is required."),
    ],
)
def test_case_open_validates_choices_money_and_dates(visit, detailed_case_type, complaint, message):
    with pytest.raises(DomainError, match=message):
        open_case(visit, detailed_case_type, complaint)
    assert not Case.objects.exists()


def test_year_limit_follows_the_clock(visit, case_type):
    with use_clock(FixedClock(NOON_2026.replace(year=2027))):
        case = open_case(visit, case_type, {"registration_year": "2027"})
    assert case.complaint == {"registration_year": "2027"}


def test_case_open_refuses_blank_description_and_retired_case_types(visit, case_type):
    with pytest.raises(DomainError, match="Describe the problem"):
        open_case(visit, case_type, {"registration_year": "2011"}, complaint_text="  ")
    retired = CaseTypeFactory(code="RETIRED", active=False, intake_fields=[])
    with pytest.raises(DomainError, match="not handled"):
        open_case(visit, retired, {})
    assert not Case.objects.exists()


@pytest.fixture
def case(visit, case_type):
    return open_case(visit, case_type, {"registration_year": "2011"})


def test_complaint_can_be_corrected_while_open(case):
    case_update_complaint(
        case=case,
        complaint={"registration_year": "2013", "former_phone_digits": "77"},
        complaint_text="Registered in 2013, not 2011.",
        by=None,
    )
    case.refresh_from_db()
    assert case.complaint == {"registration_year": "2013", "former_phone_digits": "77"}
    assert case.complaint_text == "Registered in 2013, not 2011."
    assert AuditEvent.objects.filter(action="case.complaint_updated").count() == 1


def test_invalid_correction_keeps_the_old_complaint(case):
    with pytest.raises(DomainError, match="Year registered"):
        case_update_complaint(case=case, complaint={}, complaint_text="Oops.", by=None)
    case.refresh_from_db()
    assert case.complaint == {"registration_year": "2011"}


def test_complaint_is_frozen_once_decided(case, rep):
    case_resolve(case=case, outcome="DENIED", reason_code="", explanation="No.", by=rep)
    with pytest.raises(DomainError, match="closed"):
        case_update_complaint(
            case=case, complaint={"registration_year": "2014"}, complaint_text="Late.", by=None
        )
    case.refresh_from_db()
    assert case.complaint == {"registration_year": "2011"}


# Decisions -------------------------------------------------------------------------


def test_link_account(case, account, rep):
    assert case_link_account(case=case, handle=f" {account.handle}", by=rep) == account
    case.refresh_from_db()
    assert case.platform_account == account
    with pytest.raises(DomainError, match="No platform account"):
        case_link_account(case=case, handle="ghost", by=rep)


@pytest.mark.parametrize("explanation", ["", "   \n"])
def test_resolve_refuses_a_decision_without_written_reasons(case, rep, explanation):
    with pytest.raises(DomainError, match="explanation"):
        case_resolve(
            case=case, outcome="DENIED", reason_code="SPAM", explanation=explanation, by=rep
        )
    assert not Resolution.objects.exists()


def test_resolve_refuses_an_unknown_outcome(case, rep):
    with pytest.raises(DomainError, match="outcome"):
        case_resolve(case=case, outcome="SHRUG", reason_code="", explanation="Hm.", by=rep)


def test_resolve_refuses_to_restore_without_a_linked_account(case, rep):
    with pytest.raises(DomainError, match="Link the visitor's platform account"):
        case_resolve(case=case, outcome="RESTORED", reason_code="", explanation="Ok.", by=rep)
    case.refresh_from_db()
    assert case.status == Case.Status.OPEN
    assert not Resolution.objects.exists()


def test_restore_records_the_suspension_reason_then_restores(case, account, rep):
    case_link_account(case=case, handle=account.handle, by=rep)
    resolution = case_resolve(
        case=case, outcome="RESTORED", reason_code="", explanation="Verified.", by=rep
    )
    account.refresh_from_db()
    assert resolution.reason_code == "UNVERIFIED_OWNERSHIP"
    assert (resolution.account_status_before, resolution.account_status_after) == (
        "SUSPENDED",
        "ACTIVE",
    )
    assert (account.status, account.suspension_reason) == ("ACTIVE", "NONE")


def test_resolve_refuses_a_second_decision(case, account, rep):
    case_resolve(case=case, outcome="DENIED", reason_code="", explanation="No.", by=rep)
    with pytest.raises(DomainError, match="already has a decision"):
        case_resolve(case=case, outcome="DENIED", reason_code="", explanation="Again.", by=rep)
    assert Resolution.objects.count() == 1


def test_second_decision_from_a_stale_page_changes_nothing(case, account, rep, rep2):
    case_link_account(case=case, handle=account.handle, by=rep)
    stale = Case.objects.get(pk=case.pk)  # another representative's copy, still OPEN
    case_resolve(case=case, outcome="DENIED", reason_code="", explanation="No.", by=rep)
    with pytest.raises(DomainError, match="already has a decision"):
        case_resolve(case=stale, outcome="RESTORED", reason_code="", explanation="Yes.", by=rep2)
    account.refresh_from_db()
    assert account.status == PlatformAccount.Status.SUSPENDED
    assert Resolution.objects.get().outcome == "DENIED"


# Database constraints ------------------------------------------------------------------


def _visit_row(center, **fields) -> dict:
    visitor = Visitor.objects.create(center=center, full_name="Direct", created_at=NOON_2026)
    return {
        "center": center,
        "visitor": visitor,
        "status": Visit.Status.CHECKED_IN,
        "purpose": "CASE",
        "screening_passed": True,
        "recording_rule_acknowledged": True,
        "at": NOON_2026,
    } | fields


@pytest.mark.parametrize(
    "fields",
    [
        {"screening_passed": False},
        {"recording_rule_acknowledged": False},
        {"items_stored": True, "locker_tag": ""},
        {"visitor": None},
        {"status": Visit.Status.TURNED_AWAY, "turned_away_reason": ""},
    ],
    ids=["no-screening", "no-rules", "no-locker-tag", "no-visitor", "turned-away-no-reason"],
)
def test_database_refuses_a_visit_that_breaks_the_door_rules(center, fields):
    with pytest.raises(IntegrityError), transaction.atomic():
        Visit.objects.create(**_visit_row(center, **fields))
    assert not Visit.objects.exists()


def test_database_accepts_a_valid_visit_row(center):
    Visit.objects.create(**_visit_row(center, items_stored=True, locker_tag="L-1"))
    assert Visit.objects.count() == 1


def test_database_refuses_a_restriction_without_a_reason(db):
    with pytest.raises(IntegrityError), transaction.atomic():
        PlatformAccountFactory(status="FROZEN", suspension_reason="NONE")
    assert not PlatformAccount.objects.exists()


def test_database_refuses_a_resolution_without_explanation(case, rep):
    with pytest.raises(IntegrityError), transaction.atomic():
        Resolution.objects.create(
            case=case, outcome="DENIED", reason_code="NONE", decided_by=rep, decided_at=NOON_2026
        )
    assert not Resolution.objects.exists()
