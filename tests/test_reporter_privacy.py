"""Who reported an account is never shown to a visitor: only the category of reporter.

A sweep over every page and socket payload a visitor can reach, in every state of the
ticket, for the reporter's identity. The staff desk does show it (so the sweep is able to
find it when it leaks)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from center.models import ReporterCategory
from center.selectors import account_for_visitor
from queueing.services import (
    desk_open,
    ticket_call_next,
    ticket_cancel,
    ticket_no_show,
    ticket_resolve,
    ticket_start_serving,
    ticket_transfer,
    ticket_walkout,
)
from tests.center.factories import CaseTypeFactory, PlatformAccountFactory
from tests.queueing.factories import DeskFactory, ServiceFactory, issue
from tests.queueing.test_consumers import (  # noqa: F401 - the hubs fixture is autouse
    SNAPSHOT_S,
    _hubs_stop_with_the_test,
    in_thread,
    next_push,
    pushes_until,
    watching,
)

REPORTER = "Maison Lumière Legal Department (complaint IP-77812)"
LEAKS = (REPORTER, "Maison Lumi", "IP-77812")
CATEGORY = "A rights holder"


def assert_private(body: str, where: str) -> None:
    for leak in LEAKS:
        assert leak not in body, f"the reporter's identity leaked on {where}"


@pytest.fixture
def merchant(center):
    service = ServiceFactory(center=center, code="MERCHANT", name="Merchant appeals", prefix="M")
    case_type = CaseTypeFactory(
        code="MERCHANT_APPEAL", name="Merchant account appeal", skill="MERCHANT", intake_fields=[]
    )
    account = PlatformAccountFactory(
        handle="fanghua.shop",
        kind="MERCHANT",
        suspension_reason="COUNTERFEIT_GOODS",
        suspension_automated=False,
        reporter_category=ReporterCategory.RIGHTS_HOLDER,
        reporter_identity=REPORTER,
    )
    return service, case_type, account


@pytest.fixture
def merchant_desk(center, merchant, accounts_service, rep):
    desk = DeskFactory(center=center, number=5, services=[merchant[0]])
    desk_open(desk=desk, by=rep)
    return desk


def check_in(center, merchant, reception, name="Fang Hua"):
    return issue(center, merchant[1], by=reception, name=name, account_handle=merchant[2].handle)


def visitor_pages(client: Client, token: str) -> dict[str, str]:
    pages = {}
    for path in (f"/t/{token}/", f"/t/{token}/statement/"):
        response = client.get(path, follow=True)
        pages[path] = response.content.decode()
        partial = client.get(path, headers={"HX-Request": "true"}, follow=True)
        pages[f"{path} (htmx)"] = partial.content.decode()
    edited = client.post(f"/t/{token}/complaint/", {"complaint_text": ""}, follow=True)
    pages["complaint edit"] = edited.content.decode()
    for language in ("zh-hans", "en"):
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
        pages[f"status {language}"] = client.get(f"/t/{token}/").content.decode()
    return pages


def test_no_visitor_page_in_any_state_shows_the_reporter(
    client, center, merchant, merchant_desk, accounts_service, reception, rep
):
    seen: dict[str, str] = {}

    def sweep(state: str, token: str) -> None:
        for where, body in visitor_pages(Client(), token).items():
            seen[f"{state}: {where}"] = body

    decided = check_in(center, merchant, reception)
    others = [check_in(center, merchant, reception, name=f"Other {n}") for n in range(4)]
    sweep("waiting", decided.token)
    reception_client = Client()
    reception_client.force_login(reception)
    seen["kiosk slip"] = reception_client.get(
        f"/kiosk/tickets/{decided.ticket.pk}/"
    ).content.decode()
    seen["board"] = client.get(f"/board/?center={center.slug}").content.decode()
    seen["unknown token"] = client.get("/t/no-such-token/").content.decode()
    ticket_call_next(desk=merchant_desk, by=rep)
    sweep("called", decided.token)
    ticket_start_serving(desk=merchant_desk, by=rep)
    sweep("serving", decided.token)
    ticket_resolve(
        desk=merchant_desk,
        outcome="DENIED",
        reason_code="",
        explanation="The listed goods were confirmed as counterfeit by the brand owner.",
        by=rep,
    )
    sweep("decided", decided.token)
    ticket_call_next(desk=merchant_desk, by=rep)
    ticket_no_show(desk=merchant_desk, by=rep)
    sweep("no-show", others[0].token)
    ticket_cancel(ticket=others[1].ticket)
    sweep("cancelled", others[1].token)
    ticket_walkout(ticket=others[2].ticket, by=reception)
    sweep("walkout", others[2].token)
    ticket_call_next(desk=merchant_desk, by=rep)
    ticket_transfer(desk=merchant_desk, service=accounts_service, by=rep)
    sweep("transferred", others[3].token)

    assert len(seen) > 50
    for where, body in seen.items():
        assert_private(body, where)
    # The category is what the visitor is told.
    assert CATEGORY in seen[f"decided: /t/{decided.token}/"]
    assert CATEGORY in seen[f"decided: /t/{decided.token}/statement/"]
    assert "who reported it is not disclosed" in seen[f"decided: /t/{decided.token}/statement/"]


def test_the_staff_desk_does_show_the_reporter(
    client, center, merchant, merchant_desk, reception, rep
):
    check_in(center, merchant, reception)
    ticket_call_next(desk=merchant_desk, by=rep)
    client.force_login(rep)

    assert REPORTER in client.get("/desk/").content.decode()


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_no_visitor_socket_payload_shows_the_reporter(center, merchant, reception, rep):
    desk = await in_thread(lambda: DeskFactory(center=center, number=5, services=[merchant[0]]))
    await in_thread(desk_open, desk=desk, by=rep)
    issued = await in_thread(check_in, center, merchant, reception)
    payloads: list[str] = []
    async with (
        watching(f"/ws/t/{issued.token}/") as phone,
        watching(f"/ws/board/{center.slug}/") as board,
    ):
        payloads.append((await next_push(phone, timeout=SNAPSHOT_S)).text)
        payloads.append((await next_push(board, timeout=SNAPSHOT_S)).text)
        await in_thread(ticket_call_next, desk=desk, by=rep)
        pushes = await pushes_until(phone, lambda p: 'data-status="CALLED"' in p.text, within=3)
        payloads += [p.text for p in pushes]
        await in_thread(ticket_start_serving, desk=desk, by=rep)
        pushes = await pushes_until(phone, lambda p: 'data-status="SERVING"' in p.text, within=3)
        payloads += [p.text for p in pushes]
        await in_thread(
            ticket_resolve,
            desk=desk,
            outcome="DENIED",
            reason_code="",
            explanation="Confirmed counterfeit.",
            by=rep,
        )
        pushes = await pushes_until(phone, lambda p: 'data-status="DONE"' in p.text, within=3)
        payloads += [p.text for p in pushes]
        payloads.append((await next_push(board, timeout=SNAPSHOT_S)).text)

    assert CATEGORY in payloads[-2]  # the decision reaches the phone, with the category
    for n, payload in enumerate(payloads):
        assert_private(payload, f"socket payload {n}")


def test_the_visitors_view_of_an_account_carries_only_the_category(merchant):
    view = account_for_visitor(merchant[2])

    assert REPORTER not in repr(view)
    assert view.reporter_category_label == CATEGORY
