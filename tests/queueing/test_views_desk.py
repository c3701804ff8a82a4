"""The representative dashboard over HTTP: open the desk, call, recall, no-show, serve,
transfer, look the account up, resolve; htmx partials; refusals with clear messages."""

from __future__ import annotations

import json
import re

import pytest

from center.models import AuditEvent, Case, PlatformAccount, Resolution, Role
from queueing.models import Desk, Ticket
from queueing.services import desk_open, desk_pause, ticket_call_next, ticket_start_serving
from tests.center.factories import CenterFactory, staff_user
from tests.queueing.factories import ServiceFactory
from tests.queueing.web import (
    HTMX,
    assert_full_page,
    assert_in_page,
    assert_partial,
    text,
)

CORRECT_THE_FORM = "Please correct the form below."


@pytest.fixture
def desk_client(client, rep, open_desk):
    client.force_login(rep)
    return client


@pytest.fixture
def called(desk_client, issued):
    """The only waiting visitor, called to desk 1 over HTTP."""
    response = desk_client.post("/desk/call-next/")
    assert response.status_code == 302
    issued.ticket.refresh_from_db()
    assert issued.ticket.status == Ticket.Status.CALLED
    return issued.ticket


@pytest.fixture
def serving(desk_client, called):
    """The called visitor, at the desk: service started over HTTP, a decision can be made."""
    response = desk_client.post("/desk/serve/")
    assert response.status_code == 302
    called.refresh_from_db()
    assert called.status == Ticket.Status.SERVING
    return called


def _act(client, action: str, data: dict | None = None, *, htmx: bool = False):
    return client.post(f"/desk/{action}/", data or {}, headers=HTMX if htmx else None)


def test_open_desk(client, rep, desk, issued):
    client.force_login(rep)

    response = client.post(f"/desk/{desk.number}/open/")

    assert response.status_code == 302
    assert response["Location"] == "/desk/"
    desk.refresh_from_db()
    assert desk.status == Desk.Status.OPEN
    assert desk.operator == rep
    page = client.get("/desk/")
    assert "Desk 1" in text(page)
    assert "1 visitor waiting for this desk" in text(page)
    assert "A001" in text(page)
    assert AuditEvent.objects.filter(action="desk.open", actor=rep).exists()


def test_desk_page_lists_the_desks_to_take(client, rep, desk, desk2):
    client.force_login(rep)

    page = client.get("/desk/")

    assert "Take a desk" in text(page)
    assert 'action="/desk/1/open/"' in text(page)
    assert 'action="/desk/2/open/"' in text(page)


def test_a_desk_operated_by_someone_else_cannot_be_taken(client, rep2, open_desk):
    client.force_login(rep2)

    response = client.post(f"/desk/{open_desk.number}/open/", follow=True)

    assert response.status_code == 200
    assert_in_page(response, "Another representative is operating this desk.")
    open_desk.refresh_from_db()
    assert open_desk.operator.username == "rep1"


def test_a_representative_with_an_open_desk_cannot_take_a_second_one(desk_client, desk2):
    response = desk_client.post(f"/desk/{desk2.number}/open/", follow=True)

    assert_in_page(response, "Close your other desk first.")
    desk2.refresh_from_db()
    assert desk2.operator is None


def test_opening_an_unknown_desk_is_404(desk_client):
    assert desk_client.post("/desk/99/open/").status_code == 404


def test_call_next_calls_the_ticket_and_shows_code_and_complaint(desk_client, issued, rep):
    response = _act(desk_client, "call-next")

    assert response.status_code == 302
    assert response["Location"] == "/desk/"
    ticket = Ticket.objects.get(pk=issued.ticket.pk)
    assert ticket.status == Ticket.Status.CALLED
    assert ticket.desk.number == 1
    assert ticket.call_count == 1
    assert AuditEvent.objects.filter(action="ticket.called", actor=rep).exists()

    page = desk_client.get("/desk/")

    assert_in_page(page, "Called A001.")
    body = text(page)
    assert "A001" in body
    assert "Lin Xiaoyu" in body
    assert "My account was suspended." in body
    assert "Year registered" in body
    assert "2011" in body
    assert ticket.case.reference in body
    assert "called 1 time" in body


def test_recall(desk_client, called):
    response = _act(desk_client, "recall")

    assert response.status_code == 302
    called.refresh_from_db()
    assert called.status == Ticket.Status.CALLED
    assert called.call_count == 2
    page = desk_client.get("/desk/")
    assert_in_page(page, "Called again.")
    assert "called 2 times" in text(page)


def test_no_show(desk_client, called):
    response = _act(desk_client, "no-show")

    assert response.status_code == 302
    called.refresh_from_db()
    assert called.status == Ticket.Status.NO_SHOW
    page = desk_client.get("/desk/")
    assert_in_page(page, "Marked as no-show.")
    assert_in_page(page, "No visitor at this desk.")


def test_serve(desk_client, called):
    response = _act(desk_client, "serve")

    assert response.status_code == 302
    called.refresh_from_db()
    assert called.status == Ticket.Status.SERVING
    assert called.serving_at is not None
    page = desk_client.get("/desk/")
    assert_in_page(page, "Service started.")
    assert "Being served" in text(page)


def test_transfer_to_another_service(desk_client, called, wallet_service):
    response = _act(desk_client, "transfer", {"service": wallet_service.pk})

    assert response.status_code == 302
    called.refresh_from_db()
    assert called.status == Ticket.Status.TRANSFERRED
    new_ticket = called.transferred_to
    assert new_ticket.code == "W001"
    assert new_ticket.status == Ticket.Status.WAITING
    assert new_ticket.case == called.case
    assert_in_page(desk_client.get("/desk/"), "Transferred: the visitor now holds W001.")


@pytest.fixture
def foreign_service(db):
    return ServiceFactory(center=CenterFactory(slug="elsewhere"), code="ACCOUNTS", prefix="A")


@pytest.mark.parametrize("bad", ["999999", "wallet", "", "current", "foreign", str(2**70)])
def test_transfer_to_a_bad_service_is_400_with_a_message(desk_client, called, foreign_service, bad):
    service = {"current": called.service_id, "foreign": foreign_service.pk}.get(bad, bad)

    response = _act(desk_client, "transfer", {"service": service})

    assert response.status_code == 400
    assert_full_page(response)
    assert_in_page(response, CORRECT_THE_FORM)
    message = "This field is required." if bad == "" else "Choose one of the listed services."
    assert_in_page(response, message)
    called.refresh_from_db()
    assert called.status == Ticket.Status.CALLED
    assert Ticket.objects.count() == 1


def test_account_lookup_links_the_account_and_shows_it(desk_client, called, account):
    response = _act(desk_client, "account", {"handle": f"  {account.handle} "})

    assert response.status_code == 302
    case = Case.objects.get(pk=called.case_id)
    assert case.platform_account == account
    page = desk_client.get("/desk/")
    assert_in_page(page, f"Account {account.handle} linked to the case.")
    assert account.display_name in text(page)
    assert "Ownership could not be verified" in text(page)
    assert "138****0921" in text(page)
    assert AuditEvent.objects.filter(action="case.account_linked").exists()


@pytest.mark.parametrize("htmx", [False, True])
def test_account_lookup_of_an_unknown_handle_is_refused_with_a_message(desk_client, called, htmx):
    response = _act(desk_client, "account", {"handle": "nobody.here"}, htmx=htmx)

    assert response.status_code == 409
    assert_in_page(response, "No platform account has that ID.")
    assert Case.objects.get(pk=called.case_id).platform_account is None


@pytest.mark.parametrize(
    ("handle", "message"),
    [("", "This field is required."), ("h" * 65, "at most 64 characters")],
)
def test_account_lookup_with_a_bad_handle_is_400(desk_client, called, handle, message):
    response = _act(desk_client, "account", {"handle": handle})

    assert response.status_code == 400
    assert_in_page(response, CORRECT_THE_FORM)
    assert_in_page(response, message)


def test_account_lookup_without_a_visitor_is_refused(desk_client, account):
    response = _act(desk_client, "account", {"handle": account.handle})

    assert response.status_code == 409
    assert_in_page(response, "Call a visitor before looking up an account.")


def test_resolve_records_the_decision_and_restores_the_account(desk_client, serving, account, rep):
    _act(desk_client, "account", {"handle": account.handle})

    response = _act(
        desk_client,
        "resolve",
        {"outcome": "RESTORED", "reason_code": "", "explanation": "Verified by face video."},
    )

    assert response.status_code == 302
    serving.refresh_from_db()
    account.refresh_from_db()
    resolution = Resolution.objects.get(case=serving.case)
    assert serving.status == Ticket.Status.DONE
    assert resolution.outcome == "RESTORED"
    assert resolution.reason_code == "UNVERIFIED_OWNERSHIP"
    assert resolution.explanation == "Verified by face video."
    assert resolution.decided_by == rep
    assert account.status == PlatformAccount.Status.ACTIVE
    assert serving.case.status == Case.Status.RESOLVED
    page = desk_client.get("/desk/")
    assert_in_page(page, "Decision recorded: Restored.")
    assert_in_page(page, "No visitor at this desk.")


@pytest.mark.parametrize("htmx", [False, True])
def test_resolving_before_the_service_started_is_409(desk_client, called, account, htmx):
    _act(desk_client, "account", {"handle": account.handle})

    response = _act(
        desk_client, "resolve", {"outcome": "RESTORED", "explanation": "Verified."}, htmx=htmx
    )

    assert response.status_code == 409
    if htmx:
        assert_partial(response, "workspace")
    else:
        assert_full_page(response)
    assert_in_page(response, "Start the service when the visitor is at the desk.")
    assert not Resolution.objects.exists()
    called.refresh_from_db()
    account.refresh_from_db()
    assert called.status == Ticket.Status.CALLED
    assert called.case.status == Case.Status.OPEN
    assert account.status == PlatformAccount.Status.SUSPENDED


BAD_RESOLUTIONS = {
    "missing explanation": ({"outcome": "DENIED"}, "This field is required."),
    "blank explanation": ({"outcome": "DENIED", "explanation": "   "}, "This field is required."),
    "unknown outcome": (
        {"outcome": "MAGIC", "explanation": "Because."},
        "Select a valid choice. MAGIC is not one of the available choices.",
    ),
    "unknown reason": (
        {"outcome": "DENIED", "reason_code": "WHIM", "explanation": "Because."},
        "Select a valid choice. WHIM is not one of the available choices.",
    ),
    "explanation too long": (
        {"outcome": "DENIED", "explanation": "x" * 4001},
        "at most 4000 characters (it has 4001)",
    ),
}


@pytest.mark.parametrize("case", list(BAD_RESOLUTIONS), ids=list(BAD_RESOLUTIONS))
def test_bad_resolution_is_400_with_a_message(desk_client, serving, case):
    data, message = BAD_RESOLUTIONS[case]

    response = _act(desk_client, "resolve", data)

    assert response.status_code == 400
    assert_full_page(response)
    assert_in_page(response, CORRECT_THE_FORM)
    assert_in_page(response, message)
    assert not Resolution.objects.exists()
    serving.refresh_from_db()
    assert serving.status == Ticket.Status.SERVING


def test_restoring_without_a_linked_account_is_refused(desk_client, serving):
    response = _act(desk_client, "resolve", {"outcome": "RESTORED", "explanation": "Looks fine."})

    assert response.status_code == 409
    assert_in_page(response, "Link the visitor's platform account before restoring it.")
    assert not Resolution.objects.exists()


HTMX_SCENARIOS = [
    ("call-next", {}, 200, "Called A001."),
    ("recall", {}, 200, "Called again."),
    ("serve", {}, 200, "Service started."),
    ("no-show", {}, 200, "Marked as no-show."),
    ("transfer", {"service": "WALLET"}, 200, "Transferred: the visitor now holds W001."),
    ("transfer", {"service": "nope"}, 400, CORRECT_THE_FORM),
    ("account", {"handle": "lin.reporter"}, 200, "Account lin.reporter linked to the case."),
    ("account", {"handle": "ghost"}, 409, "No platform account has that ID."),
    ("resolve", {"outcome": "DENIED", "explanation": "No."}, 200, "Decision recorded: Denied."),
    ("resolve", {"outcome": "DENIED"}, 400, CORRECT_THE_FORM),
    ("pause", {}, 200, "Desk paused."),
    ("close", {}, 409, "Finish or transfer the current visitor before closing."),
]


@pytest.mark.parametrize(
    "scenario",
    HTMX_SCENARIOS,
    ids=[f"{action}-{status}" for action, _, status, _ in HTMX_SCENARIOS],
)
@pytest.mark.usefixtures("issued", "account")
def test_every_action_with_htmx_returns_only_the_workspace(
    desk_client, open_desk, wallet_service, scenario
):
    action, data, status, message = scenario
    if action != "call-next":
        ticket_call_next(desk=open_desk, by=open_desk.operator)
    if action == "resolve":
        ticket_start_serving(desk=open_desk, by=open_desk.operator)
    if data.get("service") == "WALLET":
        data = {"service": wallet_service.pk}

    response = _act(desk_client, action, data, htmx=True)

    assert response.status_code == status
    assert_partial(response, "workspace")
    assert_in_page(response, message)


def test_resume_and_close_with_htmx_return_the_workspace(desk_client, open_desk, rep):
    desk_pause(desk=open_desk, by=rep)

    resumed = _act(desk_client, "resume", htmx=True)
    closed = _act(desk_client, "close", htmx=True)

    assert_partial(resumed, "workspace")
    assert_in_page(resumed, "Desk open.")
    assert_partial(closed, "workspace")
    # A closed desk is given up: the workspace offers the desks to take again.
    assert "Take a desk" in text(closed)
    open_desk.refresh_from_db()
    assert open_desk.status == Desk.Status.CLOSED
    assert open_desk.operator is None


def test_htmx_get_of_the_dashboard_returns_the_workspace(desk_client, issued):
    response = desk_client.get("/desk/", headers=HTMX)

    assert_partial(response, "workspace")
    assert "A001" in text(response)


@pytest.mark.parametrize("action", ["call-next", "recall", "resolve", "pause", "account"])
def test_acting_without_a_desk_redirects_with_a_message(client, rep, issued, action):
    client.force_login(rep)

    response = _act(client, action, {"outcome": "DENIED", "explanation": "x", "handle": "x"})

    assert response.status_code == 302
    assert response["Location"] == "/desk/"
    assert_in_page(client.get("/desk/"), "Take a desk first.")
    issued.ticket.refresh_from_db()
    assert issued.ticket.status == Ticket.Status.WAITING


@pytest.mark.parametrize("action", ["explode", "call_next", "CALL-NEXT", "open"])
def test_unknown_action_is_404(desk_client, issued, action):
    assert _act(desk_client, action).status_code == 404
    issued.ticket.refresh_from_db()
    assert issued.ticket.status == Ticket.Status.WAITING


@pytest.fixture
def second_desk(rep2, desk2):
    return desk_open(desk=desk2, by=rep2)


def test_ticket_already_called_by_someone_else(client, rep, open_desk, second_desk, issued):
    client.force_login(rep)
    assert _act(client, "call-next").status_code == 302
    client.force_login(second_desk.operator)

    response = _act(client, "call-next")

    assert response.status_code == 302
    page = client.get("/desk/")
    assert page.status_code == 200
    assert_in_page(page, "Nobody is waiting for this desk.")
    issued.ticket.refresh_from_db()
    assert issued.ticket.desk == open_desk
    assert not Ticket.objects.filter(desk=second_desk).exists()

    partial = _act(client, "call-next", htmx=True)

    assert partial.status_code == 200
    assert_partial(partial, "workspace")
    assert_in_page(partial, "Nobody is waiting for this desk.")


def test_call_next_when_the_desk_is_paused_is_409(desk_client, open_desk, rep, issued):
    desk_pause(desk=open_desk, by=rep)

    response = _act(desk_client, "call-next")

    assert response.status_code == 409
    assert_full_page(response)
    assert_in_page(response, "Open the desk before calling the next visitor.")
    issued.ticket.refresh_from_db()
    assert issued.ticket.status == Ticket.Status.WAITING


@pytest.mark.usefixtures("called")
def test_call_next_while_a_visitor_is_at_the_desk_is_409(desk_client):
    response = _act(desk_client, "call-next")

    assert response.status_code == 409
    assert_in_page(response, "Finish the current visitor before calling the next one.")


@pytest.mark.parametrize("action", ["recall", "no-show", "serve", "resolve", "transfer"])
def test_acting_on_nobody_is_409(desk_client, wallet_service, action):
    response = _act(
        desk_client, action, {"outcome": "DENIED", "explanation": "x", "service": wallet_service.pk}
    )

    assert response.status_code == 409
    assert_in_page(response, "This desk has no visitor to act on.")


def test_reporter_identity_is_shown_to_staff(desk_client, called):
    merchant = PlatformAccount.objects.create(
        handle="maison.boutique",
        display_name="Boutique",
        kind=PlatformAccount.Kind.MERCHANT,
        status=PlatformAccount.Status.SUSPENDED,
        suspension_reason="COUNTERFEIT_GOODS",
        registration_year=2016,
        registration_phone_masked="139****1234",
        reporter_category="RIGHTS_HOLDER",
        reporter_identity="Maison Lumiere Legal",
    )
    _act(desk_client, "account", {"handle": merchant.handle})

    page = desk_client.get("/desk/")

    assert "A rights holder" in text(page)
    assert "Maison Lumiere Legal" in text(page)


def test_specialist_works_the_same_dashboard(client, center, desk, issued):
    specialist = staff_user(center, Role.SPECIALIST, "specialist")
    client.force_login(specialist)
    client.post("/desk/1/open/")

    _act(client, "call-next")

    issued.ticket.refresh_from_db()
    assert issued.ticket.status == Ticket.Status.CALLED
    assert issued.ticket.desk == desk


def _htmx_swaps(page: str, status: int) -> bool:
    """Whether htmx, configured by the page, swaps a response of ``status`` in (its rule:
    the first responseHandling entry whose code pattern matches)."""
    match = re.search(r"<meta name=\"htmx-config\" content='([^']+)'>", page)
    assert match, "the page does not configure htmx"
    rules = json.loads(match.group(1))["responseHandling"]
    rule = next(rule for rule in rules if re.search(rule["code"], str(status)))
    return bool(rule["swap"])


def test_htmx_swaps_in_the_refusals_of_the_desk(desk_client):
    """A 400 or 409 workspace carries the message the representative must read; htmx
    would drop it by default."""
    page = text(desk_client.get("/desk/"))

    assert _htmx_swaps(page, 200)
    assert _htmx_swaps(page, 400)
    assert _htmx_swaps(page, 409)
    assert not _htmx_swaps(page, 204)
    assert not _htmx_swaps(page, 500)
