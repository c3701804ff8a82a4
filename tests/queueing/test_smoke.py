from center.services import case_link_account
from queueing.models import Ticket, TicketEvent
from queueing.services import ticket_call_next, ticket_resolve, ticket_start_serving


def test_one_visitor_from_check_in_to_resolution(issued, open_desk, rep, account):
    ticket = issued.ticket
    assert ticket.code == "A001"
    called = ticket_call_next(desk=open_desk, by=rep)
    assert called == ticket
    ticket_start_serving(desk=open_desk, by=rep)
    case_link_account(case=ticket.case, handle=account.handle, by=rep)
    resolution = ticket_resolve(
        desk=open_desk, outcome="RESTORED", reason_code="", explanation="Verified.", by=rep
    )
    ticket.refresh_from_db()
    account.refresh_from_db()
    assert ticket.status == Ticket.Status.DONE
    assert account.status == "ACTIVE"
    assert resolution.reason_code == "UNVERIFIED_OWNERSHIP"
    seqs = list(TicketEvent.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))
