"""Representative dashboard: run the desk, call visitors, work and resolve their cases."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from center.access import staff_required
from center.errors import DomainError
from center.intake import complaint_display
from center.models import Case, CheckResult, IdentityCheckMethod, Role
from center.selectors import case_history, user_roles
from center.services import case_link_account
from center.statement import statement_for_case
from queueing import services
from queueing.forms import AccountLookupForm, ResolveForm, TransferForm
from queueing.models import Desk, Ticket
from queueing.selectors import active_notices, desk_current_ticket, desk_of
from queueing.views.common import HtmxHttpRequest, render_page

TEMPLATE = "queueing/desk/dashboard.html"
DESK_ROLES = (Role.REPRESENTATIVE, Role.SPECIALIST)
NEXT_UP_SHOWN = 5
#: The session remembers the case just decided, to show its statement of reasons.
DECIDED_KEY = "desk_decided_case"


def _context(request: HtmxHttpRequest, desk: Desk | None, **forms: Any) -> dict[str, Any]:
    center = request.center  # type: ignore[attr-defined]
    if desk is None:
        desks = Desk.objects.filter(center=center).select_related("operator")
        return {"desk": None, "desks": desks.prefetch_related("services")}
    current = desk_current_ticket(desk)
    waiting = Ticket.objects.waiting().filter(center=center, service__in=desk.services.all())
    case = current.case if current else None
    supervisor = Role.SUPERVISOR in user_roles(request.user)
    return {
        **_case_context(request, case),
        "desk": desk,
        "notices": active_notices(center),
        "current": current,
        "case": case,
        "complaint": complaint_display(case.case_type, case.complaint) if case else [],
        "account": case.platform_account if case else None,
        "waiting_count": waiting.count(),
        "next_up": list(waiting.in_queue_order().select_related("service")[:NEXT_UP_SHOWN]),
        "lookup_form": forms.get("lookup_form")
        or AccountLookupForm(initial={"handle": case.account_handle if case else ""}),
        "transfer_form": forms.get("transfer_form")
        or TransferForm(
            center_id=center.pk, exclude_service_id=current.service_id if current else None
        ),
        "resolve_form": forms.get("resolve_form")
        or ResolveForm(center=center, supervisor=supervisor),
        "is_supervisor": supervisor,
    }


def _case_context(request: HtmxHttpRequest, case: Case | None) -> dict[str, Any]:
    """The identity checks still missing before a restore, the history of a returning
    visitor, or (with nobody at the desk) the statement of the decision just made."""
    if case is None:
        reference = request.session.get(DECIDED_KEY)
        decided = (
            Case.objects.filter(center=request.center, reference=reference)  # type: ignore[attr-defined]
            .select_related("case_type", "platform_account", "resolution")
            .first()
            if reference
            else None
        )
        return {"decided_statement": statement_for_case(decided) if decided else None}
    checks = list(case.identity_checks.all())
    passed = {check.method for check in checks if check.result == CheckResult.PASS}
    return {
        "identity_checks": checks,
        "missing_checks": [
            IdentityCheckMethod(method).label
            for method in case.case_type.required_checks
            if method not in passed and method in IdentityCheckMethod.values
        ],
        "history": case_history(case) if case.follows_id else [],
        # The account questions ask for the registration year: until they are passed, the
        # screen the visitor can see from across the desk does not show it.
        "knowledge_pending": IdentityCheckMethod.KNOWLEDGE not in passed,
    }


@staff_required(*DESK_ROLES)
def dashboard(request: HtmxHttpRequest) -> HttpResponse:
    return render_page(
        request, TEMPLATE, _context(request, desk_of(request.user)), partial="workspace"
    )


@staff_required(*DESK_ROLES)
@require_POST
def open_desk(request: HtmxHttpRequest, number: int) -> HttpResponse:
    desk = get_object_or_404(Desk, center=request.center, number=number)  # type: ignore[attr-defined]
    try:
        services.desk_open(desk=desk, by=request.user)
    except DomainError as error:
        messages.error(request, error.message)
    return redirect("desk")


def _call_next(request: HtmxHttpRequest, desk: Desk) -> str:
    request.session.pop(DECIDED_KEY, None)
    ticket = services.ticket_call_next(desk=desk, by=request.user)
    if ticket is None:
        return _("Nobody is waiting for this desk.")
    return _("Called %(code)s.") % {"code": ticket.code}


def _transfer(request: HtmxHttpRequest, desk: Desk) -> str:
    current = desk_current_ticket(desk)
    form = TransferForm(
        request.POST,
        center_id=desk.center_id,
        exclude_service_id=current.service_id if current else None,
    )
    if not form.is_valid():
        raise _FormInvalid(transfer_form=form)
    ticket = services.ticket_transfer(
        desk=desk, service=form.cleaned_data["service"], by=request.user
    )
    return _("Transferred: the visitor now holds %(code)s.") % {"code": ticket.code}


def _resolve(request: HtmxHttpRequest, desk: Desk) -> str:
    form = ResolveForm(
        request.POST,
        center=desk.center,
        supervisor=Role.SUPERVISOR in user_roles(request.user),
    )
    if not form.is_valid():
        raise _FormInvalid(resolve_form=form)
    resolution = services.ticket_resolve(desk=desk, by=request.user, **form.cleaned_data)
    request.session[DECIDED_KEY] = resolution.case.reference
    return _("Decision recorded: %(outcome)s.") % {"outcome": resolution.get_outcome_display()}


def _lookup(request: HtmxHttpRequest, desk: Desk) -> str:
    form = AccountLookupForm(request.POST)
    current = desk_current_ticket(desk)
    if not form.is_valid():
        raise _FormInvalid(lookup_form=form)
    if current is None:
        raise DomainError(_("Call a visitor before looking up an account."))
    account = case_link_account(
        case=current.case, handle=form.cleaned_data["handle"], by=request.user
    )
    return _("Account %(handle)s linked to the case.") % {"handle": account.handle}


def _simple(service: Callable[..., Any], message: str) -> Callable[[HtmxHttpRequest, Desk], str]:
    def run(request: HtmxHttpRequest, desk: Desk) -> str:
        service(desk=desk, by=request.user)
        return str(message)

    return run


class _FormInvalid(Exception):  # noqa: N818 - a control-flow signal, not an error
    def __init__(self, **forms: Any) -> None:
        self.forms = forms


ACTIONS: dict[str, Callable[[HtmxHttpRequest, Desk], str]] = {
    "resume": _simple(services.desk_open, gettext_lazy("Desk open.")),
    "pause": _simple(services.desk_pause, gettext_lazy("Desk paused.")),
    "close": _simple(services.desk_close, gettext_lazy("Desk closed.")),
    "call-next": _call_next,
    "recall": _simple(services.ticket_recall, gettext_lazy("Called again.")),
    "no-show": _simple(services.ticket_no_show, gettext_lazy("Marked as no-show.")),
    "serve": _simple(services.ticket_start_serving, gettext_lazy("Service started.")),
    "transfer": _transfer,
    "resolve": _resolve,
    "account": _lookup,
}


@staff_required(*DESK_ROLES)
@require_POST
def act(request: HtmxHttpRequest, action: str) -> HttpResponse:
    handler = ACTIONS.get(action)
    if handler is None:
        raise Http404
    desk = desk_of(request.user)
    if desk is None:
        messages.error(request, _("Take a desk first."))
        return redirect("desk")
    try:
        notice = handler(request, desk)
    except DomainError as error:
        context = _context(request, desk)
        context["error"] = error.message
        return render_page(request, TEMPLATE, context, partial="workspace", status=409)
    except _FormInvalid as invalid:
        context = _context(request, desk, **invalid.forms)
        context["error"] = _("Please correct the form below.")
        return render_page(request, TEMPLATE, context, partial="workspace", status=400)
    if request.htmx:
        context = _context(request, desk_of(request.user))
        context["notice"] = notice
        return render_page(request, TEMPLATE, context, partial="workspace")
    messages.success(request, notice)
    return redirect("desk")
