"""The specialist's callbacks: the promises made to referred visitors, with every attempt
logged, and an alarm for those past their deadline."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from center import clock
from center.access import staff_required
from center.errors import DomainError
from center.models import Callback, CallbackAttempt, Role
from center.selectors import callbacks_open, user_roles
from center.services import callback_attempt_log, callbacks_mark_breached
from queueing.views.common import HtmxHttpRequest, render_page

TEMPLATE = "queueing/desk/callbacks.html"


class AttemptForm(forms.Form):
    result = forms.ChoiceField(
        label=gettext_lazy("How did the call go?"),
        choices=[("", gettext_lazy("— choose —")), *CallbackAttempt.Result.choices],
    )
    note = forms.CharField(label=gettext_lazy("Note"), max_length=500, required=False)


def _context(request: HtmxHttpRequest, **extra: Any) -> dict[str, Any]:
    center = request.center  # type: ignore[attr-defined]
    everyone = Role.SUPERVISOR in user_roles(request.user)
    callbacks = callbacks_open(center, None if everyone else request.user)
    return {
        "callbacks": callbacks,
        "overdue": [c for c in callbacks if c.status == Callback.Status.BREACHED],
        "now": clock.now(),
        "form": AttemptForm(),
        **extra,
    }


@staff_required(Role.SPECIALIST)
def callbacks(request: HtmxHttpRequest) -> HttpResponse:
    # Every load of this page settles the promises whose deadline has passed.
    callbacks_mark_breached(center=request.center)  # type: ignore[attr-defined]
    return render_page(request, TEMPLATE, _context(request))


@staff_required(Role.SPECIALIST)
@require_POST
def attempt(request: HtmxHttpRequest, callback_id: int) -> HttpResponse:
    callback = get_object_or_404(
        Callback,
        pk=callback_id,
        case__center=request.center,  # type: ignore[attr-defined]
    )
    form = AttemptForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose how the call went."))
        return redirect("desk-callbacks")
    try:
        logged = callback_attempt_log(callback=callback, by=request.user, **form.cleaned_data)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("Logged for %(reference)s: %(result)s.")
            % {"reference": callback.case.reference, "result": logged.get_result_display()},
        )
    return redirect("desk-callbacks")
