"""No personal data in the logs: a whole visit (check-in with a refused first try, the
visitor's page and a refused edit, the call, the account and the decision) is logged at
DEBUG, and the visitor's name, phone, complaint and status-page token appear nowhere."""

from __future__ import annotations

import logging
import re

import pytest

from center.models import Role
from queueing.models import Ticket
from queueing.services import desk_open
from tests.center.factories import staff_user
from tests.queueing.web import kiosk_data

NAME = "Zhao Mingyue"
PHONE = "+86 139 1234 5678"
COMPLAINT = "Locked out since the trip to Chengdu"
LOGGERS = ["", "django", "django.request", "django.server", "axes", "center", "queueing"]


@pytest.fixture
def every_log(caplog):
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def _logged(caplog) -> str:
    lines = []
    for record in caplog.records:
        lines.append(record.getMessage())
        if record.exc_text:
            lines.append(record.exc_text)
    return "\n".join(lines)


def test_a_visit_leaves_no_personal_data_in_the_logs(
    client, every_log, center, case_type, desk, account
):
    reception = staff_user(center, Role.RECEPTION, "reception-logs")
    rep = staff_user(center, Role.REPRESENTATIVE, "rep-logs")
    desk_open(desk=desk, by=rep)
    client.force_login(reception)
    data = kiosk_data(
        case_type,
        full_name=NAME,
        phone=PHONE,
        complaint_text=COMPLAINT,
        account_handle=account.handle,
    )

    refused = client.post("/kiosk/", {**data, "screening_passed": ""})
    checked_in = client.post("/kiosk/", data)
    slip = client.get(checked_in["Location"]).content.decode()
    token = re.search(r"/t/([^/\"]+)/", slip)[1]
    client.logout()
    status = client.get(f"/t/{token}/")
    bad_edit = client.post(f"/t/{token}/complaint/", {"complaint_text": ""})
    client.force_login(rep)
    called = client.post("/desk/call-next/")
    served = client.post("/desk/serve/")
    client.post("/desk/account/", {"handle": account.handle})
    resolved = client.post(
        "/desk/resolve/",
        {"outcome": "RESTORED", "reason_code": "", "explanation": f"Confirmed {NAME} by phone."},
    )

    assert refused.status_code == 400
    assert (checked_in.status_code, status.status_code, bad_edit.status_code) == (302, 200, 400)
    assert (called.status_code, served.status_code, resolved.status_code) == (302, 302, 302)
    assert Ticket.objects.get().status == Ticket.Status.DONE
    logged = _logged(every_log)
    assert "Bad Request: /t/[token]/complaint/" in logged, "the refusals were logged"
    for secret in (NAME, PHONE, PHONE.replace(" ", ""), COMPLAINT, token):
        assert secret not in logged, f"{secret!r} was logged"
