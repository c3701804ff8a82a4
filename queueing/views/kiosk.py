"""Reception kiosk: security check-in, the case with its complaint, the ticket slip."""

from __future__ import annotations

import segno
from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from center.access import staff_required
from center.errors import DomainError
from center.models import Role
from queueing.forms import KioskForm, TurnAwayForm
from queueing.models import Ticket
from queueing.selectors import active_notices, visit_counts_today
from queueing.services import checkin_issue_ticket, door_turn_away
from queueing.views.common import HtmxHttpRequest, render_page

TEMPLATE = "queueing/kiosk/kiosk.html"
# Any of the eight masks makes a valid code; choosing the best one scores all eight and
# was the costliest step of printing a slip (2.9 of 3.5 ms). Mask 0 reads at any kiosk.
SLIP_QR_MASK = 0
# Large-text mode of the kiosk's screen; static/js/app.js sets the same cookie.
LARGE_TEXT_COOKIE = "walkin_large_text"
LARGE_TEXT_MAX_AGE_S = 30 * 24 * 3600
SESSION_TOKENS = "kiosk_tokens"
TOKENS_KEPT = 50


def _remember_token(request: HtmxHttpRequest, ticket: Ticket, token: str) -> None:
    """The raw token exists only here (the database keeps its hash): the slip of the
    kiosk that issued it can show the QR code again."""
    tokens = dict(list(request.session.get(SESSION_TOKENS, {}).items())[-(TOKENS_KEPT - 1) :])
    tokens[str(ticket.pk)] = token
    request.session[SESSION_TOKENS] = tokens


def _context(request: HtmxHttpRequest, form: KioskForm, turn_away: TurnAwayForm) -> dict:
    return {
        "notices": active_notices(request.center),  # type: ignore[attr-defined]
        "form": form,
        "turn_away_form": turn_away,
        "turned_away_today": visit_counts_today(request.center)["turned_away"],  # type: ignore[attr-defined]
    }


@staff_required(Role.RECEPTION)
@require_http_methods(["GET", "POST"])
def kiosk(request: HtmxHttpRequest) -> HttpResponse:
    if request.method == "GET":
        form = KioskForm(
            initial=_initial_from(request.GET) if request.htmx else None,
            language=_language(request.GET.get("language")),
        )
        # htmx asks only for the questions of the case type just chosen.
        return render_page(
            request, TEMPLATE, _context(request, form, TurnAwayForm()), partial="complaint-fields"
        )
    language = _language(request.POST.get("language"))
    if "show_questions" in request.POST:
        # Without JavaScript, choosing a case type is a round trip that adds its questions.
        form = KioskForm(initial=_initial_from(request.POST), language=language)
        return render_page(request, TEMPLATE, _context(request, form, TurnAwayForm()))
    form = KioskForm(request.POST, language=language)
    if form.is_valid():
        try:
            result = checkin_issue_ticket(
                center=request.center,  # type: ignore[attr-defined]
                checkin=form.to_checkin(),
                by=request.user,
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            if result.token is not None:
                _remember_token(request, result.ticket, result.token)
            return redirect("kiosk-slip", ticket_id=result.ticket.pk)
    return render_page(request, TEMPLATE, _context(request, form, TurnAwayForm()), status=400)


def _language(value: str | None) -> str:
    return value if value in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE


def _initial_from(data: QueryDict) -> dict:
    return {key: data.getlist(key) if key == "assistance_needs" else data.get(key) for key in data}


@staff_required(Role.RECEPTION)
@require_POST
def turn_away(request: HtmxHttpRequest) -> HttpResponse:
    form = TurnAwayForm(request.POST)
    if form.is_valid():
        door_turn_away(
            center=request.center,  # type: ignore[attr-defined]
            reason=form.cleaned_data["reason"],
            note=form.cleaned_data["note"],
            by=request.user,
        )
        messages.success(request, _("Logged: turned away at the door. No case was opened."))
        return redirect("kiosk")
    return render_page(request, TEMPLATE, _context(request, KioskForm(), form), status=400)


@staff_required(Role.RECEPTION)
def slip(request: HtmxHttpRequest, ticket_id: int) -> HttpResponse:
    ticket = get_object_or_404(
        Ticket.objects.select_related("service", "case__case_type"),
        pk=ticket_id,
        center=request.center,  # type: ignore[attr-defined]
    )
    ticket.center = request.center  # type: ignore[attr-defined]
    token = request.session.get(SESSION_TOKENS, {}).get(str(ticket.pk))
    status_url = (
        request.build_absolute_uri(reverse("visitor-status", args=[token])) if token else None
    )
    qr_svg = (
        segno.make(status_url, error="m", mask=SLIP_QR_MASK).svg_inline(
            omitsize=True, title=_("Your status page")
        )
        if status_url
        else None
    )
    return render_page(
        request,
        "queueing/kiosk/slip.html",
        {
            "ticket": ticket,
            "status_url": status_url,
            "qr_svg": qr_svg,
            "case_type": ticket.case.case_type,
            "what_to_bring": ticket.case.case_type.localized_what_to_bring(ticket.language),
        },
    )


@staff_required(Role.RECEPTION)
@require_POST
def text_size(request: HtmxHttpRequest) -> HttpResponse:
    """Large-text mode on or off for this kiosk (without JavaScript; app.js does it in
    place, without losing what was typed)."""
    response = redirect("kiosk")
    response.set_cookie(
        LARGE_TEXT_COOKIE,
        "1" if request.POST.get("large") == "1" else "0",
        max_age=LARGE_TEXT_MAX_AGE_S,
        samesite="Lax",
    )
    return response
