"""The audit trail and the ticket event log cannot be edited through any page: the admin
shows them read-only even to a superuser, the models refuse changes, and no view writes
them (only the service layer does)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.contrib import admin

from center.models import AppendOnlyModel, AuditEvent, Role
from queueing.models import TicketEvent
from tests.center.factories import UserFactory, staff_user

ROOT = Path(__file__).resolve().parents[2]
LOGS = [model for model in admin.site._registry if issubclass(model, AppendOnlyModel)]


def test_both_logs_are_in_the_admin():
    assert {AuditEvent, TicketEvent} <= set(LOGS)


@pytest.fixture
def superuser(center):
    user = staff_user(center, Role.SUPERVISOR, "root")
    user.is_staff = user.is_superuser = True
    user.save()
    return user


def _admin_url(model, view: str, *args: object) -> str:
    meta = model._meta
    base = f"/admin/{meta.app_label}/{meta.model_name}/"
    return base + "".join(f"{arg}/" for arg in args) + (f"{view}/" if view else "")


@pytest.mark.parametrize("model", LOGS, ids=lambda model: model.__name__)
def test_even_a_superuser_cannot_add_change_or_delete_a_log_row(client, superuser, issued, model):
    client.force_login(superuser)
    row = model.objects.order_by("pk").first()
    assert row is not None, "the check-in wrote to both logs"
    before = {field.name: getattr(row, field.attname) for field in model._meta.concrete_fields}

    changelist = client.get(_admin_url(model, ""))
    add = client.get(_admin_url(model, "add"))
    add_post = client.post(_admin_url(model, "add"), {})
    change = client.get(_admin_url(model, "change", row.pk))
    change_post = client.post(_admin_url(model, "change", row.pk), {"action": "edited"})
    delete = client.get(_admin_url(model, "delete", row.pk))
    delete_post = client.post(_admin_url(model, "delete", row.pk), {"post": "yes"})
    bulk_delete = client.post(
        _admin_url(model, ""),
        {"action": "delete_selected", "_selected_action": [row.pk], "post": "yes"},
    )

    assert changelist.status_code == 200
    assert 'value="delete_selected"' not in changelist.content.decode()
    assert (add.status_code, add_post.status_code) == (403, 403)
    assert change.status_code == 200  # view only
    assert 'type="submit"' not in change.content.decode().split('id="content-main"')[-1]
    assert change_post.status_code == 403
    assert (delete.status_code, delete_post.status_code) == (403, 403)
    assert bulk_delete.status_code in {200, 302}
    row.refresh_from_db()
    assert {field.name: getattr(row, field.attname) for field in model._meta.concrete_fields} == (
        before
    )
    assert model.objects.filter(pk=row.pk).exists()


def test_staff_without_django_admin_rights_do_not_reach_the_logs(client, center, issued):
    client.force_login(staff_user(center, Role.SUPERVISOR, "supervisor-2"))
    assert client.get(_admin_url(AuditEvent, "")).status_code == 302
    client.force_login(UserFactory(username="plain", is_staff=True))
    assert client.get(_admin_url(AuditEvent, "")).status_code == 403


@pytest.mark.parametrize("model", [AuditEvent, TicketEvent], ids=lambda model: model.__name__)
def test_the_models_refuse_every_change(issued, model):
    row = model.objects.first()
    with pytest.raises(PermissionError):
        row.save()
    with pytest.raises(PermissionError):
        row.delete()
    with pytest.raises(PermissionError):
        model.objects.filter(pk=row.pk).update(pk=row.pk)
    with pytest.raises(PermissionError):
        model.objects.filter(pk=row.pk).delete()


# The service layer alone writes the logs: a view, form, consumer or command that wants an
# audit row calls a service.
WRITERS = re.compile(
    r"\baudit_record\(|\bticket_event_append\(|(?<!class )\b(?:AuditEvent|TicketEvent)"
    r"(?:\(|\.objects\.(?:create|bulk_create|get_or_create|update_or_create))"
)
DEFINED_IN = {"center/services.py", "queueing/services.py", "queueing/events.py"}


def _is_service_layer(relative: str) -> bool:
    return relative in DEFINED_IN or relative.endswith("_services.py") or "/services/" in relative


def test_only_the_service_layer_writes_the_logs():
    writers = []
    for app in ("center", "queueing"):
        for path in sorted((ROOT / app).rglob("*.py")):
            relative = str(path.relative_to(ROOT))
            if "/migrations/" in relative or _is_service_layer(relative):
                continue
            for number, line in enumerate(path.read_text().splitlines(), start=1):
                if WRITERS.search(line):
                    writers.append(f"{relative}:{number}: {line.strip()}")
    assert not writers, "the logs are written outside the service layer:\n" + "\n".join(writers)
