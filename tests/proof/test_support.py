"""The bulk floor of tests/postgres/test_drain.py writes what the kiosk writes."""

from django.forms.models import model_to_dict

from center import clock
from queueing.models import Ticket, TicketEvent
from tests.proof.support import assert_event_log_gap_free, bulk_waiting_tickets
from tests.queueing.factories import issue

CLAIM_FIELDS = (
    "center",
    "service",
    "service_date",
    "status",
    "priority",
    "desk",
    "call_count",
    "away_since",
    "called_at",
    "transferred_from",
)


def test_bulk_floor_matches_the_kiosk(center, wallet_case_type, wallet_service, reception):
    at = clock.FixedClock(clock.now())
    with clock.use_clock(at):
        kiosk = issue(center, wallet_case_type, by=reception).ticket
        (bulk_id,) = bulk_waiting_tickets(center, [wallet_service], [wallet_case_type], 1)
        after = issue(center, wallet_case_type, by=reception).ticket
    bulk = Ticket.objects.select_related("case__visit").get(pk=bulk_id)
    kiosk = Ticket.objects.select_related("case__visit").get(pk=kiosk.pk)
    assert model_to_dict(bulk, fields=CLAIM_FIELDS) == model_to_dict(kiosk, fields=CLAIM_FIELDS)
    assert bulk.rank_at == bulk.issued_at <= kiosk.issued_at == kiosk.rank_at
    assert [kiosk.number, bulk.number, after.number] == [1, 2, 3]
    assert (bulk.code, bulk.case.case_type_id, bulk.case.status) == (
        "W002",
        kiosk.case.case_type_id,
        kiosk.case.status,
    )
    assert bulk.case.visit.status == kiosk.case.visit.status
    assert bulk.case.visit.visitor_id is not None
    kinds = TicketEvent.objects.filter(ticket__in=[kiosk, bulk, after]).order_by("seq")
    assert [(e.ticket_id, e.kind) for e in kinds] == [
        (kiosk.pk, "ISSUED"),
        (bulk.pk, "ISSUED"),
        (after.pk, "ISSUED"),
    ]
    assert_event_log_gap_free(center)
