"""Retention: identity media are deleted (file and row) after the center's retention
period; old visitors' personal data (name, phone, guardian, and the phone number in their
callbacks, text consents and texts) is erased once their cases are closed and no callback
is owed; the checks' results remain."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command

from center import clock
from center.models import AuditEvent, Callback, Case, IdentityCheck, IdentityMedia, Visitor
from center.services import (
    ERASED_NAME,
    ERASED_PHONE,
    Upload,
    callback_promise,
    identity_check_guardian,
    identity_check_id_document,
    identity_media_purge,
    personal_data_erase,
)
from queueing.messaging import text_consent_give
from queueing.models import TextConsent, TextMessage
from tests.center.face_samples import astronaut_bgr, jpeg, png
from tests.queueing.factories import issue

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def case(center, case_type, reception) -> Case:
    issued = issue(center, case_type, by=reception, name="Lin Xiaoyu")
    visitor = issued.ticket.case.visit.visitor
    visitor.phone = "13800001111"
    visitor.save()
    return Case.objects.select_related("visit", "center").get(pk=issued.ticket.case_id)


@pytest.fixture
def checked(case, rep) -> IdentityCheck:
    identity_check_guardian(
        case=case,
        guardian_name="Chen Li",
        relationship="MOTHER",
        consent=True,
        upload=Upload(jpeg(astronaut_bgr()), "image/jpeg"),
        by=rep,
    )
    return identity_check_id_document(
        case=case, upload=Upload(png(astronaut_bgr()), "image/png"), result="PASS", by=rep
    )


def later(**delta: float) -> dt.datetime:
    return clock.now() + dt.timedelta(**delta)


def purge() -> str:
    out = StringIO()
    call_command("purge_expired", stdout=out)
    return out.getvalue()


def test_media_are_kept_until_the_retention_has_passed(checked):
    assert identity_media_purge(now=later(hours=23)) == 0
    assert IdentityMedia.objects.count() == 2


def test_expired_media_files_and_rows_are_deleted_and_the_results_remain(checked):
    files = [(m.file.storage, m.file.name) for m in IdentityMedia.objects.all()]
    assert all(storage.exists(name) for storage, name in files)
    with clock.use_clock(clock.FixedClock(later(hours=24, seconds=1))):
        assert "Identity media deleted: 2" in purge()
    assert not IdentityMedia.objects.exists()
    assert not any(storage.exists(name) for storage, name in files)
    results = IdentityCheck.objects.order_by("pk").values_list("method", "result")
    assert list(results) == [("GUARDIAN", "PASS"), ("ID_DOCUMENT", "PASS")]
    # Idempotent: nothing left to delete.
    assert "Identity media deleted: 0" in purge()


def test_the_center_sets_the_media_retention(center, checked):
    center.media_retention_hours = 2
    center.save()
    # Media already stored keep the deadline they were given...
    assert identity_media_purge(now=later(hours=3)) == 0
    # ...new ones get the center's new one.
    identity_check_id_document(
        case=Case.objects.get(pk=checked.case_id),
        upload=Upload(png(astronaut_bgr()), "image/png"),
        result="PASS",
        by=checked.performed_by,
    )
    assert identity_media_purge(now=later(hours=3)) == 1


def close(case: Case) -> None:
    Case.objects.filter(pk=case.pk).update(status=Case.Status.RESOLVED)


def test_personal_data_of_old_closed_cases_is_erased(case, checked):
    close(case)
    assert personal_data_erase(now=later(days=179)) == 0
    assert personal_data_erase(now=later(days=181)) == 1
    visitor = Visitor.objects.get(pk=case.visit.visitor_id)
    assert (visitor.full_name, visitor.phone) == (ERASED_NAME, "")
    case.visit.refresh_from_db()
    assert case.visit.guardian_name == ""
    assert IdentityCheck.objects.filter(case=case).count() == 2
    assert AuditEvent.objects.filter(action="retention.personal_data_erased").count() == 1
    # Idempotent: erased visitors are not counted again.
    assert personal_data_erase(now=later(days=182)) == 0


@pytest.mark.parametrize("status", [Case.Status.OPEN, Case.Status.REFERRED])
def test_a_visitor_with_a_case_still_open_keeps_their_data(case, status):
    Case.objects.filter(pk=case.pk).update(status=status)
    assert personal_data_erase(now=later(days=400)) == 0
    assert Visitor.objects.get(pk=case.visit.visitor_id).full_name == "Lin Xiaoyu"


def test_the_command_erases_with_the_centers_retention(center, case):
    close(case)
    center.personal_data_retention_days = 30
    center.save()
    with clock.use_clock(clock.FixedClock(later(days=31))):
        assert "Visitors' personal data erased: 1" in purge()
    assert Visitor.objects.get(pk=case.visit.visitor_id).full_name == ERASED_NAME


def callback_in(case: Case, rep, status: str, **fields) -> Callback:
    """A referral callback on the visitor's number, moved on to ``status``."""
    callback = callback_promise(
        case=case,
        reason=Callback.Reason.REFERRAL,
        phone="13800001111",
        due_at=later(days=2),
        by=rep,
    )
    Callback.objects.filter(pk=callback.pk).update(status=status, **fields)
    return callback


def test_phones_in_callbacks_consents_and_the_text_outbox_are_erased_too(case, rep):
    ticket = case.tickets.get()
    text_consent_give(case=case, phone="13800001111")
    TextMessage.objects.create(
        center=case.center,
        ticket=ticket,
        kind=TextMessage.Kind.CALLED,
        phone="13800001111",
        language="en",
        body="Ticket A001, please go to desk 3 now.",
        created_at=clock.now(),
    )
    callback = callback_in(case, rep, Callback.Status.DONE, done_at=clock.now())
    close(case)

    with clock.use_clock(clock.FixedClock(later(days=181))):
        output = purge()

    assert "Visitors' personal data erased: 1" in output
    assert "Text consents deleted: 1, text phone numbers erased: 1" in output
    assert Callback.objects.get(pk=callback.pk).phone == ERASED_PHONE
    assert not TextConsent.objects.filter(case=case).exists()
    message = TextMessage.objects.get(ticket=ticket)
    assert (message.phone, message.body) == ("", "Ticket A001, please go to desk 3 now.")
    # Nothing of the phone number is left anywhere in the case's rows.
    # (Its text fields: a time's microseconds may well hold "1111".)
    rows = (
        list(Callback.objects.filter(case=case).values())
        + list(TextMessage.objects.filter(ticket__case=case).values())
        + list(Visitor.objects.filter(pk=case.visit.visitor_id).values())
    )
    texts = [value for row in rows for value in row.values() if isinstance(value, str)]
    assert not [text for text in texts if "1111" in text]


@pytest.mark.parametrize("status", [Callback.Status.PROMISED, Callback.Status.ATTEMPTED])
def test_a_visitor_still_owed_a_callback_keeps_their_data(case, rep, status):
    callback = callback_in(case, rep, status)
    close(case)

    assert personal_data_erase(now=later(days=400)) == 0
    assert Callback.objects.get(pk=callback.pk).phone == "13800001111"
