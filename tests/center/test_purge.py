"""Retention: identity media are deleted (file and row) after the center's retention
period; old visitors' personal data is erased once their cases are closed; the checks'
results remain."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command

from center import clock
from center.models import AuditEvent, Case, IdentityCheck, IdentityMedia, Visitor
from center.services import (
    ERASED_NAME,
    Upload,
    identity_check_guardian,
    identity_check_id_document,
    identity_media_purge,
    personal_data_erase,
)
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
