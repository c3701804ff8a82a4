"""Helpers for the HTTP-level tests: htmx requests, partial responses, kiosk form data and
reading the QR code of a ticket slip back into the address it encodes."""

from __future__ import annotations

import re
from typing import Any

import cv2
import numpy as np
from django.http import HttpResponse
from django.utils.html import escape

from center.models import CaseType
from queueing.services import IssuedTicket
from tests.queueing.factories import issue

HTMX = {"HX-Request": "true"}


def text(response: HttpResponse) -> str:
    return response.content.decode()


def assert_in_page(response: HttpResponse, message: str) -> None:
    """The message as the visitor reads it (templates escape apostrophes and the like)."""
    assert escape(message) in text(response), f"{message!r} not in the page"


def assert_not_server_error(response: HttpResponse) -> None:
    assert response.status_code < 500, f"server error {response.status_code}"


def assert_full_page(response: HttpResponse) -> None:
    assert response.status_code < 500
    assert "<html" in text(response)


def assert_partial(response: HttpResponse, region: str) -> None:
    """Only the swappable region: its outer element, no page around it."""
    body = text(response).strip()
    assert body.startswith(f'<div id="{region}"'), body[:200]
    assert body.endswith("</div>")
    for page_part in ("<html", "<head", "<body", "<header", "<main"):
        assert page_part not in body, f"{page_part} in the {region} partial"


def kiosk_data(chosen: CaseType | None = None, **overrides: Any) -> dict[str, Any]:
    """A complete, valid kiosk check-in; ``None`` in overrides drops a field."""
    data: dict[str, Any] = {
        "idempotency_key": "",
        "full_name": "Lin Xiaoyu",
        "phone": "+86 138 0000 0921",
        "language": "en",
        "purpose": "CASE",
        "screening_passed": "on",
        "recording_rule_acknowledged": "on",
        "case_type": chosen.code if chosen else "ACCOUNT_SUSPENDED",
        "complaint_registration_year": "2011",
        "complaint_text": "My account was suspended and I cannot log in.",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


_PATH_DATA = re.compile(r'<svg[^>]*class="segno".*?<path[^>]*\sd="([^"]+)"', re.DOTALL)
_PATH_COMMAND = re.compile(r"([Mmh])(-?[\d.]+)(?:\s(-?[\d.]+))?")
QUIET_ZONE = 4


def qr_dark_modules(html: str) -> set[tuple[int, int]]:
    """The dark modules of the first segno SVG in ``html``, as (row, column)."""
    match = _PATH_DATA.search(html)
    assert match, "no inline SVG QR code in the page"
    x = y = 0.0
    dark: set[tuple[int, int]] = set()
    for command, first, second in _PATH_COMMAND.findall(match.group(1)):
        if command == "M":
            x, y = float(first), float(second)
        elif command == "m":
            x, y = x + float(first), y + float(second)
        else:
            length = int(float(first))
            row = int(y) - QUIET_ZONE
            dark.update((row, int(x) + step - QUIET_ZONE) for step in range(length))
            x += length
    return dark


def qr_encodes(html: str, content: str) -> bool:
    """Whether the page's QR code reads as ``content``: its modules drawn as a picture and
    decoded by OpenCV's QR detector, as a phone's camera would."""
    dark = qr_dark_modules(html)
    size = max(max(row, column) for row, column in dark) + 1
    picture = np.full((size + 2 * QUIET_ZONE, size + 2 * QUIET_ZONE), 255, dtype=np.uint8)
    for row, column in dark:
        picture[row + QUIET_ZONE, column + QUIET_ZONE] = 0
    picture = cv2.resize(picture, None, fx=8, fy=8, interpolation=cv2.INTER_NEAREST)
    decoded, _points, _code = cv2.QRCodeDetector().detectAndDecode(picture)
    return decoded == content


def another_visitor(first: IssuedTicket, name: str) -> IssuedTicket:
    """One more visitor checked in at the same kiosk, for the same kind of case."""
    ticket = first.ticket
    return issue(ticket.center, ticket.case.case_type, by=ticket.case.visit.recorded_by, name=name)
