"""History: the screens, a check-in and a visitor's status page with a year behind the floor.

The busy floor of ``bench.screens`` (500 waiting, 30 desks, a day of history) on a fresh
PostgreSQL database of this benchmark only (as ``bench.claims`` makes one; skipped with
one line when no server answers). Each screen, and the kiosk's check-in (``POST
/kiosk/``, its form read first, untimed), is timed in this process with
``django.test.Client`` as in ``bench.screens``; then the day's finished visitors are
copied into each of the 365 days before (30 with ``--quick``) in SQL: their visitors,
visits, cases, tickets, events (numbered before today's), audit entries and decisions,
each copy that many days earlier; then ``ANALYZE`` and the same timings again.

Figures, for each screen: its p50 with the year behind it, beside its p50 on the day's
floor (a ratio near 1: the screen does not slow as the history grows), and the rows its
statements read from the tables that grow with every visitor (``bench.plans``), beside
the same on the day's floor. The check-ins of each phase are cancelled after it, so both
phases time the same floor.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.db import connection, transaction
from django.test import Client, override_settings

from bench import screens
from bench.apps.common import UNLIMITED
from bench.checkin import IDEMPOTENCY, SLIP, checkin_form
from bench.plans import rows_read
from bench.postgres import fresh_database, server
from bench.report import median
from bench.runner import Context
from queueing.models import Ticket
from queueing.services import ticket_cancel

NAME = "history"
TITLE = "the screens and a check-in with a year of history behind a busy floor (PostgreSQL)"

DAYS = 365
QUICK_DAYS = 30
CHECKINS = 20
QUICK_CHECKINS = 5
CHECKIN = "checkin"


def run(context: Context) -> None:
    report = context.report
    if (base := server(report)) is None:
        return
    started = time.monotonic()
    limits = {**getattr(settings, "RATE_LIMITS", {}), **UNLIMITED}
    with (
        fresh_database(base, "history"),
        override_settings(
            ROOT_URLCONF=screens.__name__, ALLOWED_HOSTS=["testserver"], RATE_LIMITS=limits
        ),
    ):
        floor = screens.floor_create()
        requests = screens.QUICK_REQUESTS if context.quick else screens.REQUESTS
        checkins = QUICK_CHECKINS if context.quick else CHECKINS
        day_times, day_rows = _measure(floor, requests, checkins)
        days = QUICK_DAYS if context.quick else DAYS
        added = _history_add(days)
        report.note(
            f"  floor ready; {days} days of history added in"
            f" {time.monotonic() - started:.0f} s in all: "
            + ", ".join(f"{count:,} {what}" for what, count in added.items())
        )
        year_times, year_rows = _measure(floor, requests, checkins)
    for name in day_times:
        report.figure(
            f"history.{name}.p50", median(year_times[name]), "ms", baseline=median(day_times[name])
        )
        report.figure(f"history.{name}.rows_read", year_rows[name], "rows", baseline=day_rows[name])
    report.note(f"  history done in {time.monotonic() - started:.0f} s")


def _measure(
    floor: dict[str, tuple[str, object]], requests: int, checkins: int
) -> tuple[dict[str, list[float]], dict[str, int]]:
    """Each screen's request times (ms) and the rows one request reads from the growing
    tables; the same for a check-in."""
    times: dict[str, list[float]] = {}
    rows: dict[str, int] = {}
    for name, (url, make_client) in floor.items():
        client = make_client()
        times[name] = screens.timings(client, url, requests)
        rows[name] = rows_read(lambda client=client, url=url: client.get(url))
    kiosk = floor["kiosk"][1]()
    times[CHECKIN], tickets = [], []
    for index in range(checkins):
        form = _checkin_form(kiosk, index)
        begin = time.perf_counter()
        response = kiosk.post("/kiosk/", form)
        times[CHECKIN].append((time.perf_counter() - begin) * 1000)
        tickets.append(_slip_ticket(response))
    form = _checkin_form(kiosk, checkins)
    rows[CHECKIN] = rows_read(lambda: tickets.append(_slip_ticket(kiosk.post("/kiosk/", form))))
    for ticket in Ticket.objects.filter(pk__in=tickets, status=Ticket.Status.WAITING):
        ticket_cancel(ticket=ticket)
    return times, rows


def _checkin_form(kiosk: Client, index: int) -> dict[str, str]:
    """A returning-looking visitor: a phone and an account, as most give."""
    key = IDEMPOTENCY.search(kiosk.get("/kiosk/").content.decode())
    assert key is not None, "the kiosk's form has no idempotency key"
    form = checkin_form("", key.group(1), index)
    del form["csrfmiddlewaretoken"]
    return {
        **form,
        "case_type": screens.ACCOUNTS_CASE_TYPE,
        "phone": f"+86 138 {index:04d} 0000",
        "account_handle": f"visitor_{index}",
    }


def _slip_ticket(response) -> int:
    assert response.status_code == 302, response.status_code
    slip = SLIP.search(response["Location"])
    assert slip is not None, response["Location"]
    return int(slip.group(1))


# --- a year behind the floor ----------------------------------------------------------

#: The day's finished visitors, each copied into each of the days before. A copy's rows
#: find their copied parents by a key written into the copy: the visitor's phone, made of
#: the original visitor's id and the copy's day.
_HISTORY_SQL = [
    (
        "visitors",
        """
        INSERT INTO center_visitor (center_id, full_name, phone, language, created_at)
        SELECT v.center_id, v.full_name, '+86 1' || lpad((v.id * 1000 + g)::text, 10, '0'),
               v.language, v.created_at - g * interval '1 day'
        FROM center_visitor v, generate_series(1, %(days)s) AS g
        WHERE v.id IN (SELECT visit.visitor_id FROM center_visit visit
                       JOIN center_case c ON c.visit_id = visit.id
                       JOIN queueing_ticket t ON t.case_id = c.id WHERE t.finished_at IS NOT NULL)
        """,
    ),
    (
        "visits",
        """
        CREATE TEMP TABLE visit_copy ON COMMIT DROP AS
        SELECT visit.id AS old, g, nv.id AS visitor
        FROM center_visit visit, generate_series(1, %(days)s) AS g, center_visitor nv
        WHERE nv.phone = '+86 1' || lpad((visit.visitor_id * 1000 + g)::text, 10, '0')
          AND visit.id IN (SELECT c.visit_id FROM center_case c
                           JOIN queueing_ticket t ON t.case_id = c.id
                           WHERE t.finished_at IS NOT NULL);
        INSERT INTO center_visit (center_id, visitor_id, status, purpose, screening_passed,
            items_stored, locker_tag, recording_rule_acknowledged, assistance_needs,
            assisted_by_staff, turned_away_reason, turned_away_note, guardian_name,
            idempotency_key, at, recorded_by_id)
        SELECT v.center_id, m.visitor, v.status, v.purpose, v.screening_passed,
            v.items_stored, v.locker_tag, v.recording_rule_acknowledged, v.assistance_needs,
            v.assisted_by_staff, v.turned_away_reason, v.turned_away_note, v.guardian_name,
            NULL, v.at - m.g * interval '1 day', v.recorded_by_id
        FROM center_visit v JOIN visit_copy m ON m.old = v.id
        """,
    ),
    (
        "cases",
        """
        CREATE TEMP TABLE case_copy ON COMMIT DROP AS
        SELECT c.id AS old, m.g, nv.id AS visit
        FROM center_case c JOIN visit_copy m ON m.old = c.visit_id
        JOIN center_visit nv ON nv.visitor_id = m.visitor;
        INSERT INTO center_case (center_id, visit_id, case_type_id, reference, account_handle,
            platform_account_id, complaint, complaint_text, status, follows_id, opened_at,
            updated_at)
        SELECT c.center_id, m.visit, c.case_type_id, c.reference || '-' || m.g,
            'past_' || m.visit, c.platform_account_id, c.complaint, c.complaint_text,
            c.status, NULL, c.opened_at - m.g * interval '1 day',
            c.updated_at - m.g * interval '1 day'
        FROM center_case c JOIN case_copy m ON m.old = c.id
        """,
    ),
    (
        "tickets",
        """
        CREATE TEMP TABLE ticket_copy ON COMMIT DROP AS
        SELECT t.id AS old, m.g, nc.id AS "case"
        FROM queueing_ticket t JOIN case_copy m ON m.old = t.case_id
        JOIN center_case nc ON nc.visit_id = m.visit
        WHERE t.finished_at IS NOT NULL;
        INSERT INTO queueing_ticket (center_id, service_id, case_id, service_date, number, code,
            priority, status, rank_at, issued_at, called_at, serving_at, finished_at, desk_id,
            call_count, language, token_hash, token_expires_at, away_since, incident_choice,
            transferred_from_id)
        SELECT t.center_id, t.service_id, m."case", t.service_date - m.g, t.number, t.code,
            t.priority, t.status, t.rank_at - m.g * interval '1 day',
            t.issued_at - m.g * interval '1 day', t.called_at - m.g * interval '1 day',
            t.serving_at - m.g * interval '1 day', t.finished_at - m.g * interval '1 day',
            t.desk_id, t.call_count, t.language, NULL, NULL, NULL, t.incident_choice, NULL
        FROM queueing_ticket t JOIN ticket_copy m ON m.old = t.id
        """,
    ),
    (
        "events",
        """
        CREATE TEMP TABLE ticket_new ON COMMIT DROP AS
        SELECT m.old, m.g, nt.id AS new FROM ticket_copy m
        JOIN queueing_ticket nt ON nt.case_id = m."case";
        UPDATE queueing_ticketevent SET seq = seq + 1000000000;
        INSERT INTO queueing_ticketevent (center_id, seq, kind, ticket_id, desk_id, actor_id,
            at, data)
        SELECT e.center_id,
            row_number() OVER (PARTITION BY e.center_id
                               ORDER BY e.at - m.g * interval '1 day', e.id),
            e.kind, m.new, e.desk_id, e.actor_id, e.at - m.g * interval '1 day', e.data
        FROM queueing_ticketevent e JOIN ticket_new m ON m.old = e.ticket_id
        """,
    ),
    (
        "audit entries",
        """
        INSERT INTO center_auditevent (center_id, actor_id, action, subject, details, at)
        SELECT a.center_id, a.actor_id, a.action, a.subject, a.details,
            a.at - g * interval '1 day'
        FROM center_auditevent a, generate_series(1, %(days)s) AS g
        WHERE a.at <= (SELECT max(finished_at) FROM queueing_ticket)
        """,
    ),
    (
        "decisions",
        """
        INSERT INTO center_resolution (case_id, outcome, reason_code, explanation,
            account_status_before, account_status_after, decided_by_id, decided_at,
            original_decision_automated, contest_until, checks_overridden_by_id,
            override_reason)
        SELECT m.visit_case, r.outcome, r.reason_code, r.explanation, r.account_status_before,
            r.account_status_after, r.decided_by_id, r.decided_at - m.g * interval '1 day',
            r.original_decision_automated, r.contest_until - m.g, r.checks_overridden_by_id,
            r.override_reason
        FROM center_resolution r
        JOIN (SELECT copy.old, copy.g, nc.id AS visit_case FROM case_copy AS copy
              JOIN center_case nc ON nc.visit_id = copy.visit) AS m ON m.old = r.case_id
        """,
    ),
]

#: Today's events, moved past the history's numbers (every event of the history was
#: numbered before them), and the centers' last numbers after them.
_RENUMBER_SQL = """
UPDATE queueing_ticketevent AS e SET seq = e.seq - 1000000000 + history.events
FROM (SELECT center_id, count(*) AS events FROM queueing_ticketevent
      WHERE seq < 1000000000 GROUP BY center_id) AS history
WHERE history.center_id = e.center_id AND e.seq > 1000000000;
UPDATE queueing_ticketevent SET seq = seq - 1000000000 WHERE seq > 1000000000;
UPDATE queueing_eventsequence AS s SET last_seq = (
    SELECT coalesce(max(seq), 0) FROM queueing_ticketevent e WHERE e.center_id = s.center_id)
"""


def _history_add(days: int) -> dict[str, int]:
    """The day's finished visitors copied into each of ``days`` days before; how many rows
    of each kind were added."""
    added = {}
    with transaction.atomic(), connection.cursor() as cursor:
        for what, sql in _HISTORY_SQL:
            *setup, insert = [part for part in sql.split(";") if part.strip()]
            for statement in setup:
                cursor.execute(statement, {"days": days})
            cursor.execute(insert, {"days": days})
            added[what] = cursor.rowcount
        for statement in _RENUMBER_SQL.split(";"):
            cursor.execute(statement)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return added
