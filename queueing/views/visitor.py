"""The visitor's status page, opened from the ticket's QR code: no login, only the token."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.http import require_POST

from center.errors import DomainError
from center.intake import complaint_display, complaint_initial
from center.selectors import account_for_visitor, outcome_for_visitor
from center.services import case_update_complaint
from center.statement import callback_promises, statement_for_case
from queueing.forms import ComplaintForm, FeedbackForm
from queueing.models import Feedback, Ticket
from queueing.selectors import (
    active_notices,
    called_first,
    ticket_by_token,
    ticket_wait_estimate,
    tickets_ahead,
)
from queueing.services import (
    feedback_give,
    ticket_back,
    ticket_cancel,
    ticket_incident_choice,
    ticket_step_away,
)
from queueing.views.common import HtmxHttpRequest, render_page

TEMPLATE = "queueing/visitor/status.html"
ALMOST_YOUR_TURN = 3


def _unknown(request: HtmxHttpRequest) -> HttpResponse:
    return render(request, "queueing/visitor/unknown.html", status=404)


def visitor_language(cookies: Mapping[str, str], ticket: Ticket) -> str:
    """The visitor's own choice on this device, else the language chosen at the kiosk."""
    chosen = cookies.get(settings.LANGUAGE_COOKIE_NAME)
    return chosen if chosen in dict(settings.LANGUAGES) else ticket.language


@contextlib.contextmanager
def visitor_locale(cookies: Mapping[str, str], ticket: Ticket) -> Iterator[None]:
    """The visitor's language and the center's clock for everything rendered inside."""
    with (
        translation.override(visitor_language(cookies, ticket)),
        timezone.override(ticket.center.tzinfo),
    ):
        yield


def status_context(
    ticket: Ticket,
    form: ComplaintForm | None = None,
    feedback_form: FeedbackForm | None = None,
) -> dict[str, Any]:
    case = ticket.case
    ahead = tickets_ahead(ticket)
    language = translation.get_language() or "en"
    notices = active_notices(ticket.center)
    outcome = outcome_for_visitor(case)
    statement = statement_for_case(case, language) if outcome else None
    return {
        "ticket": ticket,
        "case": case,
        "ahead": ahead,
        "almost": ticket.status == Ticket.Status.WAITING and ahead <= ALMOST_YOUR_TURN,
        "estimate": ticket_wait_estimate(ticket, ahead),
        "complaint": complaint_display(case.case_type, case.complaint, language),
        "account": account_for_visitor(case.platform_account) if case.platform_account else None,
        "outcome": outcome,
        "statement": statement,
        # After the decision: the one satisfaction question, or the answer already given.
        "feedback": Feedback.objects.filter(ticket=ticket).first()
        if ticket.status == Ticket.Status.DONE
        else None,
        "feedback_form": feedback_form or FeedbackForm(),
        # A callback chosen during an incident, before any decision: its promise and state.
        "callbacks": callback_promises(list(case.callbacks.prefetch_related("attempts")))
        if statement is None and not ticket.is_open
        else (),
        "case_type_name": case.case_type.localized_name(language),
        "what_to_bring": case.case_type.localized_what_to_bring(language),
        "self_service_hint": case.case_type.localized_self_service_hint(language)
        if ticket.status == Ticket.Status.WAITING
        else "",
        "notices": notices,
        "called_first": called_first(ticket),
        "incident_offer": ticket.status == Ticket.Status.WAITING
        and not ticket.incident_choice
        and any(case.case_type in notice.case_types.all() for notice in notices),
        "away_until": ticket.away_since
        + dt.timedelta(minutes=ticket.center.step_away_grace_minutes)
        if ticket.away_since
        else None,
        "form": form
        or ComplaintForm(
            case_type=case.case_type,
            language=language,
            initial={
                "complaint_text": case.complaint_text,
                **complaint_initial(case.case_type, case.complaint),
            },
        ),
    }


def status(request: HtmxHttpRequest, token: str) -> HttpResponse:
    ticket = ticket_by_token(token)
    if ticket is None:
        return _unknown(request)
    with visitor_locale(request.COOKIES, ticket):
        return render_page(
            request, TEMPLATE, {**status_context(ticket), "token": token}, partial="status"
        )


def statement(request: HtmxHttpRequest, token: str) -> HttpResponse:
    """The decision's statement of reasons, on its own page for printing."""
    ticket = ticket_by_token(token)
    if ticket is None:
        return _unknown(request)
    with visitor_locale(request.COOKIES, ticket):
        language = translation.get_language() or "en"
        found = statement_for_case(ticket.case, language)
        if found is None:
            messages.error(request, _("There is no decision on your case yet."))
            return redirect("visitor-status", token=token)
        return render(
            request,
            "queueing/visitor/statement.html",
            {"ticket": ticket, "statement": found, "token": token},
        )


@require_POST
def edit_complaint(request: HtmxHttpRequest, token: str) -> HttpResponse:
    ticket = ticket_by_token(token)
    if ticket is None:
        return _unknown(request)
    with visitor_locale(request.COOKIES, ticket):
        if ticket.status != Ticket.Status.WAITING:
            # The representative may be reading the complaint right now: it stays as it was.
            messages.error(request, _complaint_closed_message(ticket))
            return redirect("visitor-status", token=token)
        language = translation.get_language() or "en"
        form = ComplaintForm(request.POST, case_type=ticket.case.case_type, language=language)
        if form.is_valid():
            try:
                case_update_complaint(
                    case=ticket.case,
                    complaint=form.complaint(),
                    complaint_text=form.cleaned_data["complaint_text"],
                    by=None,
                )
            except DomainError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, _("Thank you: your description was saved."))
                return redirect("visitor-status", token=token)
        return render_page(
            request, TEMPLATE, {**status_context(ticket, form), "token": token}, status=400
        )


def _complaint_closed_message(ticket: Ticket) -> str:
    if ticket.status in Ticket.ACTIVE_STATUSES:
        return _("You were already called: please tell the representative at the desk.")
    return _("This ticket is no longer in the queue: its complaint can no longer be changed.")


def _visitor_action(
    request: HtmxHttpRequest, token: str, action: Callable[[Ticket], object], done: str
) -> HttpResponse:
    """One tap on the status page: run the action, say how it went, show the page again."""
    ticket = ticket_by_token(token)
    if ticket is None:
        return _unknown(request)
    with visitor_locale(request.COOKIES, ticket):
        try:
            action(ticket)
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _(done))
    return redirect("visitor-status", token=token)


@require_POST
def cancel(request: HtmxHttpRequest, token: str) -> HttpResponse:
    return _visitor_action(
        request,
        token,
        lambda ticket: ticket_cancel(ticket=ticket),
        gettext_noop("Your ticket was cancelled. Safe travels."),
    )


@require_POST
def step_away(request: HtmxHttpRequest, token: str) -> HttpResponse:
    return _visitor_action(
        request,
        token,
        lambda ticket: ticket_step_away(ticket=ticket),
        gettext_noop('Your place is kept. Tap "I\'m back" when you return.'),
    )


@require_POST
def back(request: HtmxHttpRequest, token: str) -> HttpResponse:
    return _visitor_action(
        request,
        token,
        lambda ticket: ticket_back(ticket=ticket),
        gettext_noop("Welcome back: you are in the queue again."),
    )


@require_POST
def incident_choice(request: HtmxHttpRequest, token: str) -> HttpResponse:
    choice = request.POST.get("choice", "")
    phone = request.POST.get("phone", "")[:32]
    done = (
        gettext_noop("We will call you back. You can leave the center.")
        if choice == "CALLBACK"
        else gettext_noop("You keep your place in the queue.")
    )
    return _visitor_action(
        request,
        token,
        lambda ticket: ticket_incident_choice(ticket=ticket, choice=choice, phone=phone),
        done,
    )


@require_POST
def feedback(request: HtmxHttpRequest, token: str) -> HttpResponse:
    """The one satisfaction question after the decision: 1 to 5 and an optional comment."""
    ticket = ticket_by_token(token)
    if ticket is None:
        return _unknown(request)
    with visitor_locale(request.COOKIES, ticket):
        form = FeedbackForm(request.POST)
        if form.is_valid():
            try:
                feedback_give(
                    ticket=ticket,
                    rating=form.cleaned_data["rating"],
                    comment=form.cleaned_data["comment"],
                    language=translation.get_language() or "en",
                )
            except DomainError as error:
                messages.error(request, error.message)
            else:
                messages.success(request, _("Thank you for your answer."))
            return redirect("visitor-status", token=token)
        return render_page(
            request,
            TEMPLATE,
            {**status_context(ticket, feedback_form=form), "token": token},
            status=400,
        )
