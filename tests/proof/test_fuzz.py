"""Hostile input: Hypothesis posts generated forms to the kiosk, the visitor's complaint
edit and the desk's decision (and, in test_fuzz_identity.py, the identity checks), through
Django's test client on the test database.

Each form starts from a valid submission; every field is independently kept, replaced by
a hostile value (any unicode text with control characters and NULs, a huge string, a
number, several values for one field, a value from another field) or left out. Extra
unknown fields come along. Whatever comes in:

- the answer is never a 5xx: accepted (302), refused with the form (400) or with a domain
  message (409);
- nothing is half-written: a refused form writes nothing (rows counted before and after
  in every table the action writes to), an accepted one writes all of it.

5,000 examples in all by default, any number with WALKIN_FUZZ_EXAMPLES (TOTAL below);
``database=None`` keeps no example database.
"""

from __future__ import annotations

import os
import uuid
from typing import Any

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from center.models import AuditEvent, Case, Resolution
from queueing.models import Ticket
from queueing.services import desk_open
from tests.proof.support import floor_rows
from tests.queueing.factories import issue, serve_next

# The issue's 5,000 in all, shared by the endpoints (the identity checks' share is drawn in
# test_fuzz_identity.py); each example costs 10-60 ms of CPU (a refused kiosk form renders
# the whole kiosk page). WALKIN_FUZZ_EXAMPLES for another total.
TOTAL = int(os.environ.get("WALKIN_FUZZ_EXAMPLES", "5000"))
EXAMPLES = {
    "kiosk": TOTAL * 3 // 10,
    "complaint": TOTAL // 5,
    "resolve": TOTAL // 5,
    "identity": TOTAL * 3 // 10,
}
MISSING = object()


def fuzz_settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


HOSTILE_TEXT = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(max_codepoint=0x1F), max_size=10),
    st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF), max_size=20),
    st.sampled_from(
        [
            "\x00",
            "a\x00b",
            " ",
            "\u200b",
            "\ufeff",
            "<script>alert(1)</script>",
            "'; DROP TABLE x;--",
        ]
    ),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
)
HUGE = st.one_of(
    st.integers(min_value=3_990, max_value=4_100).map(lambda n: "长" * n),
    st.just("x" * 100_000),
)
HOSTILE = st.one_of(
    HOSTILE_TEXT, HOSTILE_TEXT, HOSTILE_TEXT, HUGE, st.lists(HOSTILE_TEXT, min_size=2, max_size=3)
)


def form(fields: dict[str, st.SearchStrategy]) -> st.SearchStrategy[dict[str, Any]]:
    """A valid form with up to three fields made hostile or left out, and up to two
    unknown fields added."""
    names = sorted(fields)

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        data = {name: draw(strategy) for name, strategy in fields.items()}
        for name in draw(st.sets(st.sampled_from(names), max_size=3)):
            value = draw(st.one_of(HOSTILE, st.just(MISSING)))
            if value is MISSING:
                del data[name]
            else:
                data[name] = value
        data.update(
            draw(st.dictionaries(st.text(min_size=1, max_size=12), HOSTILE_TEXT, max_size=2))
        )
        return data

    return build()


def assert_no_server_error(response) -> None:
    assert response.status_code < 500, response.content[:2000]


# --- kiosk --------------------------------------------------------------------------------

KIOSK = form(
    {
        "idempotency_key": st.one_of(
            st.uuids().map(lambda u: u.hex), st.sampled_from(["same", " same ", ""])
        ),
        "full_name": st.sampled_from(["Lin Xiaoyu", "王小明", "  Ahmad  "]),
        "phone": st.sampled_from(["", "+86 138 0013 8000", "(010) 1234-5678"]),
        "texts_consent": st.sampled_from(["", "on"]),
        "language": st.sampled_from(["en", "zh-hans"]),
        "purpose": st.sampled_from(["CASE", "FOLLOW_UP", "ENQUIRY"]),
        "screening_passed": st.just("on"),
        "items_stored": st.sampled_from(["", "on"]),
        "locker_tag": st.sampled_from(["", "L-12"]),
        "recording_rule_acknowledged": st.just("on"),
        "assistance_needs": st.lists(
            st.sampled_from(["ELDERLY", "LANGUAGE", "DISABILITY"]), max_size=2
        ),
        "assisted_by_staff": st.sampled_from(["", "on"]),
        "case_type": st.sampled_from(["ACCOUNT_SUSPENDED", "WALLET_FROZEN"]),
        "account_handle": st.sampled_from(["", "lin.reporter", "nobody.here"]),
        "complaint_text": st.sampled_from(["My account was suspended.", "钱包被冻结了。"]),
        "complaint_registration_year": st.sampled_from(["2011", "2019"]),
        "complaint_former_phone_digits": st.sampled_from(["", "0921"]),
    }
)
KIOSK_WRITES = ("visitors", "visits", "cases", "tickets", "events", "last_seq", "last_number")


@pytest.fixture
def kiosk_client(reception) -> Client:
    client = Client()
    client.force_login(reception)
    return client


@pytest.mark.slow
def test_fuzzed_kiosk_checkins(center, case_type, wallet_case_type, account, kiosk_client):
    seen_tickets: set[int] = set()

    @fuzz_settings(EXAMPLES["kiosk"])
    @given(data=KIOSK)
    def submit(data: dict[str, Any]) -> None:
        before = floor_rows(center)
        response = kiosk_client.post("/kiosk/", data)
        assert_no_server_error(response)
        after = floor_rows(center)
        change = {name: after[name] - before[name] for name in KIOSK_WRITES}
        if response.status_code != 302:
            assert response.status_code == 400
            assert change == dict.fromkeys(KIOSK_WRITES, 0), "a refused check-in wrote something"
            assert after["audit"] == before["audit"]
            return
        ticket_id = int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])
        if ticket_id in seen_tickets:  # a retry with the key of an earlier submission
            assert change == dict.fromkeys(KIOSK_WRITES, 0), "a retried check-in wrote again"
            return
        seen_tickets.add(ticket_id)
        assert change == dict.fromkeys(KIOSK_WRITES, 1), "an accepted check-in is incomplete"
        ticket = Ticket.objects.select_related("case__visit").get(pk=ticket_id)
        assert ticket.status == Ticket.Status.WAITING
        assert ticket.case.visit.visitor_id

    submit()
    assert len(seen_tickets) > EXAMPLES["kiosk"] // 20, (
        "too few accepted check-ins to prove anything"
    )


# --- the visitor's complaint ------------------------------------------------------------

COMPLAINT = form(
    {
        "complaint_text": st.sampled_from(["Still suspended.", "我的账号被封了。"]),
        "complaint_registration_year": st.sampled_from(["2011", "2020"]),
        "complaint_former_phone_digits": st.sampled_from(["", "0921"]),
    }
)


def test_fuzzed_complaint_edits(center, issued):
    case = issued.ticket.case
    path = f"/t/{issued.token}/complaint/"
    client = Client()
    accepted = 0

    def stored() -> tuple[Any, ...]:
        row = Case.objects.values_list("complaint", "complaint_text", "updated_at").get(pk=case.pk)
        return (*row, AuditEvent.objects.filter(center=center).count())

    @fuzz_settings(EXAMPLES["complaint"])
    @given(data=COMPLAINT)
    def submit(data: dict[str, Any]) -> None:
        nonlocal accepted
        before = stored()
        response = client.post(path, data)
        assert_no_server_error(response)
        after = stored()
        if response.status_code != 302:
            assert response.status_code == 400
            assert after == before, "a refused complaint edit wrote something"
            return
        accepted += 1
        text = data["complaint_text"]
        assert after[1] == (text[-1] if isinstance(text, list) else text).strip()
        assert after[3] == before[3] + 1

    submit()
    assert accepted > EXAMPLES["complaint"] // 20


# --- the desk's decision ----------------------------------------------------------------

RESOLVE = form(
    {
        "outcome": st.sampled_from(
            ["GUIDANCE_GIVEN", "DENIED", "NEEDS_MORE_INFO", "RESTORED", "REFERRED"]
        ),
        "reason_code": st.sampled_from(["", "UNVERIFIED_OWNERSHIP"]),
        "explanation": st.sampled_from(["We explained the policy.", "已说明原因。"]),
        "callback_channel": st.sampled_from(["", "PHONE"]),
        "callback_phone": st.sampled_from(["", "+86 138 0013 8000"]),
        "override_reason": st.sampled_from(["", "Checked in person."]),
    }
)


@pytest.mark.slow
def test_fuzzed_decisions(center, case_type, reception, rep, desk):
    desk_open(desk=desk, by=rep)
    client = Client()
    client.force_login(rep)
    accepted = 0

    def serving() -> Ticket:
        current = Ticket.objects.filter(desk=desk, status=Ticket.Status.SERVING).first()
        if current is None:
            issue(center, case_type, by=reception, name=f"Visitor {uuid.uuid4().hex[:6]}")
            current = serve_next(desk, rep)
        return current

    def stored(ticket: Ticket) -> tuple[Any, ...]:
        return (
            Ticket.objects.values_list("status", flat=True).get(pk=ticket.pk),
            Case.objects.values_list("status", flat=True).get(pk=ticket.case_id),
            Resolution.objects.filter(case__center=center).count(),
            floor_rows(center)["events"],
        )

    @fuzz_settings(EXAMPLES["resolve"])
    @given(data=RESOLVE)
    def submit(data: dict[str, Any]) -> None:
        nonlocal accepted
        ticket = serving()
        before = stored(ticket)
        response = client.post("/desk/resolve/", data)
        assert_no_server_error(response)
        after = stored(ticket)
        if response.status_code != 302:
            assert response.status_code in (400, 409)
            assert after == before, "a refused decision wrote something"
            return
        accepted += 1
        assert after[0] == Ticket.Status.DONE
        assert after[1] != Case.Status.OPEN
        assert after[2:] == (before[2] + 1, before[3] + 1)

    submit()
    assert accepted > EXAMPLES["resolve"] // 20
