"""Restoring an account or wallet needs the case type's identity checks; a supervisor may
override with a written reason, audited as its own event and kept on the resolution."""

from __future__ import annotations

import pytest

from center import clock
from center.errors import DomainError
from center.models import (
    AuditEvent,
    Case,
    CaseType,
    IdentityCheck,
    PlatformAccount,
    Resolution,
    Role,
)
from center.services import REACTIVATING_OUTCOMES, case_missing_checks, case_resolve
from queueing.services import desk_open
from tests.center.factories import PlatformAccountFactory, staff_user
from tests.queueing.factories import issue, serve_next
from tests.queueing.web import assert_in_page, text

REQUIRED = ["KNOWLEDGE", "FACE_VIDEO"]


@pytest.fixture
def checked_case_type(case_type) -> CaseType:
    case_type.required_checks = REQUIRED
    case_type.save(update_fields=["required_checks"])
    return case_type


@pytest.fixture
def case(center, checked_case_type, reception, account) -> Case:
    issued = issue(center, checked_case_type, by=reception, account_handle=account.handle)
    return issued.ticket.case


def record_check(case: Case, method: str, result: str, by) -> IdentityCheck:
    return IdentityCheck.objects.create(
        case=case, method=method, result=result, performed_by=by, performed_at=clock.now()
    )


def restore(case: Case, by, **extra) -> Resolution:
    return case_resolve(
        case=case, outcome="RESTORED", reason_code="", explanation="Verified.", by=by, **extra
    )


def test_only_restoring_reactivates():
    assert {"RESTORED"} == REACTIVATING_OUTCOMES


def test_restoring_without_any_check_is_refused_and_names_the_missing_checks(case, rep):
    with pytest.raises(DomainError) as refused:
        restore(case, rep)

    assert "Account knowledge questions" in refused.value.message
    assert "Face video against the reference photo" in refused.value.message
    case.refresh_from_db()
    assert case.status == Case.Status.OPEN
    assert PlatformAccount.objects.get(pk=case.platform_account_id).status == "SUSPENDED"
    assert not Resolution.objects.exists()


@pytest.mark.parametrize("result", ["FAIL", "INCONCLUSIVE"])
def test_a_check_that_did_not_pass_does_not_count(case, rep, result):
    record_check(case, "KNOWLEDGE", "PASS", rep)
    record_check(case, "FACE_VIDEO", result, rep)

    with pytest.raises(DomainError, match="Face video"):
        restore(case, rep)
    assert case_missing_checks(case) == ["FACE_VIDEO"]


def test_one_passed_check_of_two_is_refused(case, rep):
    record_check(case, "FACE_VIDEO", "PASS", rep)

    with pytest.raises(DomainError, match="Account knowledge"):
        restore(case, rep)


def test_a_check_passed_on_another_case_does_not_count(center, checked_case_type, case, rep):
    other = issue(center, checked_case_type, name="Someone else").ticket.case
    record_check(other, "KNOWLEDGE", "PASS", rep)
    record_check(other, "FACE_VIDEO", "PASS", rep)

    with pytest.raises(DomainError):
        restore(case, rep)


def test_every_required_check_passed_restores(case, rep):
    record_check(case, "KNOWLEDGE", "FAIL", rep)
    record_check(case, "KNOWLEDGE", "PASS", rep)  # a second try passed
    record_check(case, "FACE_VIDEO", "PASS", rep)

    resolution = restore(case, rep)

    assert resolution.account_status_after == "ACTIVE"
    assert resolution.checks_overridden_by is None
    assert resolution.override_reason == ""
    assert not AuditEvent.objects.filter(action="case.checks_overridden").exists()


@pytest.mark.parametrize("outcome", ["DENIED", "GUIDANCE_GIVEN", "NEEDS_MORE_INFO"])
def test_outcomes_that_reactivate_nothing_need_no_checks(case, rep, outcome):
    resolution = case_resolve(
        case=case, outcome=outcome, reason_code="", explanation="Explained.", by=rep
    )

    assert resolution.account_status_after == "SUSPENDED"


def test_a_representative_cannot_override(case, rep):
    with pytest.raises(DomainError, match="Only a supervisor"):
        restore(case, rep, override_reason="The visitor is well known to me.")

    assert not Resolution.objects.exists()
    assert not AuditEvent.objects.filter(action="case.checks_overridden").exists()


def test_a_supervisor_without_a_written_reason_is_refused(case, supervisor):
    with pytest.raises(DomainError, match="Restoring needs these identity checks"):
        restore(case, supervisor, override_reason="   ")


def test_a_supervisors_override_restores_is_recorded_and_audited(case, supervisor, rep):
    record_check(case, "KNOWLEDGE", "PASS", rep)
    reason = "Face camera broken today; passport checked in person by me."

    resolution = restore(case, supervisor, override_reason=reason)

    assert resolution.account_status_after == "ACTIVE"
    assert resolution.checks_overridden_by == supervisor
    assert resolution.override_reason == reason
    override = AuditEvent.objects.get(action="case.checks_overridden")
    assert override.actor == supervisor
    assert override.subject == f"case:{case.reference}"
    assert override.details["missing"] == ["FACE_VIDEO"]
    assert override.details["reason"] == reason
    assert AuditEvent.objects.filter(action="case.resolved", actor=supervisor).exists()


def test_an_override_reason_is_ignored_when_nothing_is_missing(case, supervisor, rep):
    for method in REQUIRED:
        record_check(case, method, "PASS", rep)

    resolution = restore(case, supervisor, override_reason="Just in case.")

    assert resolution.checks_overridden_by is None
    assert resolution.override_reason == ""


def test_a_wallet_needs_its_own_checks(center, wallet_case_type, reception, rep):
    wallet_case_type.required_checks = ["ID_DOCUMENT", "FACE_VIDEO"]
    wallet_case_type.save(update_fields=["required_checks"])
    wallet = PlatformAccountFactory(
        handle="frozen.wallet",
        kind="WALLET",
        status="FROZEN",
        suspension_reason="PROLONGED_FOREIGN_USE",
    )
    case = issue(center, wallet_case_type, by=reception, account_handle=wallet.handle).ticket.case
    record_check(case, "FACE_VIDEO", "PASS", rep)

    with pytest.raises(DomainError, match="ID document"):
        restore(case, rep)
    wallet.refresh_from_db()
    assert wallet.status == "FROZEN"


# --- the desk -----------------------------------------------------------------------------


@pytest.fixture
def serving_case(client, center, desk, checked_case_type, reception, account):
    issue(center, checked_case_type, by=reception, account_handle=account.handle)

    def serve(user):
        desk_open(desk=desk, by=user)
        ticket = serve_next(desk, user)
        client.force_login(user)
        return ticket.case

    return serve


RESTORE = {"outcome": "RESTORED", "reason_code": "", "explanation": "Verified."}


def test_the_desk_lists_the_missing_checks_and_refuses_with_them(client, rep, serving_case):
    case = serving_case(rep)

    page = client.get("/desk/")
    assert "Still missing (restoring is refused until they pass)" in text(page)
    assert "override" not in text(page).lower()

    response = client.post("/desk/resolve/", RESTORE)

    assert response.status_code == 409
    assert_in_page(response, "Restoring needs these identity checks to pass first")
    assert 'role="alert"' in text(response)
    case.refresh_from_db()
    assert case.status == Case.Status.OPEN


def test_the_desk_shows_passed_checks(client, rep, serving_case):
    case = serving_case(rep)
    for method in REQUIRED:
        record_check(case, method, "PASS", rep)

    body = text(client.get("/desk/"))

    assert "All required checks passed." in body
    assert "Still missing" not in body


def test_a_supervisor_at_the_desk_overrides_with_a_reason(client, center, serving_case):
    boss = staff_user(center, Role.SUPERVISOR, "boss")
    case = serving_case(boss)
    assert "Supervisor override" in text(client.get("/desk/"))

    response = client.post(
        "/desk/resolve/", {**RESTORE, "override_reason": "Known to the center since 2015."}
    )

    assert response.status_code == 302
    resolution = Resolution.objects.get(case=case)
    assert resolution.checks_overridden_by == boss
    assert resolution.override_reason == "Known to the center since 2015."


def test_a_representative_cannot_smuggle_an_override_into_the_form(client, rep, serving_case):
    serving_case(rep)

    response = client.post("/desk/resolve/", {**RESTORE, "override_reason": "Trust me."})

    assert response.status_code == 409
    assert not Resolution.objects.exists()
