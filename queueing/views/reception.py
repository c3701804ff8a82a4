"""The live floor for reception: who waits where and for how long."""

import re

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from center.access import staff_required
from center.errors import DomainError
from center.models import Role
from queueing.models import Ticket
from queueing.selectors import floor_snapshot
from queueing.services import ticket_walkout
from queueing.views.common import HtmxHttpRequest, render_page

#: A ticket's id as the floor's buttons send it: ASCII digits only.
TICKET_ID = re.compile(r"[0-9]{1,18}")


@staff_required(Role.RECEPTION)
def floor(request: HtmxHttpRequest) -> HttpResponse:
    floor = floor_snapshot(request.center)  # type: ignore[attr-defined]
    return render_page(
        request,
        "queueing/reception/floor.html",
        {"floor": floor, "notices": floor.notices},
        partial="floor",
    )


@staff_required(Role.RECEPTION)
@require_POST
def walkout(request: HtmxHttpRequest) -> HttpResponse:
    """The visitor whose button was pressed (``ticket``: one form per line, not one per
    visitor, keeps a floor of 500 waiting small enough to push on every change)."""
    ticket_id = request.POST.get("ticket", "")
    if not TICKET_ID.fullmatch(ticket_id):
        raise Http404
    ticket = get_object_or_404(Ticket, pk=int(ticket_id), center=request.center)  # type: ignore[attr-defined]
    try:
        ticket_walkout(ticket=ticket, by=request.user)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("%(code)s marked as gone.") % {"code": ticket.code})
    return redirect("reception")
