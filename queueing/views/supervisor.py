"""Supervisor view: today's numbers, the floor at a glance, incident notices, the day in
numbers by hour and case type, CSV exports of the day, and staffing from a forecast."""

from __future__ import annotations

import csv
import itertools
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from typing import Any

from asgiref.sync import sync_to_async
from django import forms
from django.contrib import messages
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from center.access import staff_required
from center.errors import DomainError
from center.models import Center, Role
from center.selectors import callbacks_overdue
from center.services import callbacks_mark_breached
from queueing import analytics
from queueing.forms import NoticeForm
from queueing.models import Notice
from queueing.selectors import day_kpis, floor_snapshot, ratings_today
from queueing.services import notice_end, notice_post, service_date
from queueing.views.common import HtmxHttpRequest, render_page

TEMPLATE = "queueing/supervisor/dashboard.html"
DAY_TEMPLATE = "queueing/supervisor/day.html"
STAFFING_TEMPLATE = "queueing/supervisor/staffing.html"


def _page(request: HtmxHttpRequest, form: NoticeForm | None = None, status: int = 200):
    center = request.center  # type: ignore[attr-defined]
    # The overdue promises are settled on every load, so the share below counts them.
    callbacks_mark_breached(center=center)
    floor = floor_snapshot(center)
    return render_page(
        request,
        TEMPLATE,
        {
            "kpis": day_kpis(center, floor),
            "floor": floor,
            "notices": floor.notices,
            "notice_form": form or NoticeForm(),
            "callbacks_overdue": callbacks_overdue(center),
            "callbacks_today": analytics.callbacks_today(center),
        },
        partial="kpis",
        status=status,
    )


@staff_required(Role.SUPERVISOR)
def dashboard(request: HtmxHttpRequest) -> HttpResponse:
    return _page(request)


@staff_required(Role.SUPERVISOR)
@require_POST
def post_notice(request: HtmxHttpRequest) -> HttpResponse:
    form = NoticeForm(request.POST)
    if form.is_valid():
        try:
            notice_post(center=request.center, by=request.user, **form.cleaned_data)  # type: ignore[attr-defined]
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Notice posted to every screen of the center."))
            return redirect("supervisor")
    return _page(request, form, status=400)


@staff_required(Role.SUPERVISOR)
@require_POST
def end_notice(request: HtmxHttpRequest, notice_id: int) -> HttpResponse:
    notice = get_object_or_404(Notice, pk=notice_id, center=request.center)  # type: ignore[attr-defined]
    notice_end(notice=notice, by=request.user)
    messages.success(request, _("Notice ended."))
    return redirect("supervisor")


# The day in numbers ---------------------------------------------------------------------


@staff_required(Role.SUPERVISOR)
@require_GET
def day(request: HtmxHttpRequest) -> HttpResponse:
    language = translation.get_language() or "en"
    numbers = analytics.day_in_numbers(
        center=request.center,  # type: ignore[attr-defined]
        language=language,
    )
    ratings = ratings_today(request.center, language)  # type: ignore[attr-defined]
    return render(request, DAY_TEMPLATE, {"numbers": numbers, "ratings": ratings})


# CSV exports ----------------------------------------------------------------------------

CSV_BATCH = 200


class _Echo:
    """A file for csv.writer that hands each written line back instead of keeping it."""

    def write(self, line: str) -> str:
        return line


def _csv_lines(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(columns)
    for row in rows:
        yield writer.writerow(row)


async def _in_batches(lines: Iterator[str]) -> AsyncIterator[str]:
    """Under ASGI the rows are read in the request's thread a batch at a time, so the
    database is never touched from the event loop and nothing waits for the whole file."""
    take = sync_to_async(lambda: "".join(itertools.islice(lines, CSV_BATCH)))
    while batch := await take():
        yield batch


def _csv_response(
    request: HtmxHttpRequest, filename: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> StreamingHttpResponse:
    lines = _csv_lines(columns, rows)
    return StreamingHttpResponse(
        _in_batches(lines) if isinstance(request, ASGIRequest) else lines,
        content_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


@staff_required(Role.SUPERVISOR)
@require_GET
def export_tickets(request: HtmxHttpRequest) -> StreamingHttpResponse:
    center: Center = request.center  # type: ignore[attr-defined]
    day = service_date(center)
    rows = analytics.tickets_export(center=center, day=day)
    filename = f"tickets-{center.slug}-{day}.csv"
    return _csv_response(request, filename, analytics.TICKET_COLUMNS, rows)


@staff_required(Role.SUPERVISOR)
@require_GET
def export_events(request: HtmxHttpRequest) -> StreamingHttpResponse:
    center: Center = request.center  # type: ignore[attr-defined]
    day = service_date(center)
    rows = analytics.events_export(center=center, day=day)
    filename = f"events-{center.slug}-{day}.csv"
    return _csv_response(request, filename, analytics.EVENT_COLUMNS, rows)


# Staffing -------------------------------------------------------------------------------

MAX_ARRIVALS_PER_HOUR = 500
MIN_HANDLE_MINUTES = 0.5
MAX_HANDLE_MINUTES = 240


class StaffingForm(forms.Form):
    """A forecast of arrivals for each opening hour and a mean handle time."""

    handle_time_minutes = forms.FloatField(
        label=gettext_lazy("Mean handle time (minutes)"),
        min_value=MIN_HANDLE_MINUTES,
        max_value=MAX_HANDLE_MINUTES,
        widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
    )

    def __init__(self, *args: Any, hours: Sequence[int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.hours = list(hours)
        for hour in self.hours:
            self.fields[self.arrivals_name(hour)] = forms.FloatField(
                label=analytics.hour_label(hour),
                min_value=0,
                max_value=MAX_ARRIVALS_PER_HOUR,
                widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
            )

    @staticmethod
    def arrivals_name(hour: int) -> str:
        return f"arrivals_{hour:02d}"

    def arrivals(self) -> dict[int, float]:
        return {hour: self.cleaned_data[self.arrivals_name(hour)] for hour in self.hours}


@staff_required(Role.SUPERVISOR)
@require_GET
def staffing(request: HtmxHttpRequest) -> HttpResponse:
    """Desks per hour for a forecast: a calculation, so a GET form that can be bookmarked;
    nothing it runs is kept."""
    center: Center = request.center  # type: ignore[attr-defined]
    defaults = analytics.staffing_defaults(center=center)
    context: dict[str, Any] = {
        "center": center,
        "defaults": defaults,
        "target_share_label": f"{round(100 * center.target_share)}%",
    }
    if not request.GET:
        initial: dict[str, Any] = {
            "handle_time_minutes": round(defaults.handle_time_s / 60, 1),
            **{
                StaffingForm.arrivals_name(hour): defaults.arrivals.get(hour, 0)
                for hour in defaults.hours
            },
        }
        form = StaffingForm(initial=initial, hours=defaults.hours)
        return render(request, STAFFING_TEMPLATE, {**context, **_rows(form, None)})
    form = StaffingForm(request.GET, hours=defaults.hours)
    if not form.is_valid():
        return render(request, STAFFING_TEMPLATE, {**context, **_rows(form, None)}, status=400)
    plan = analytics.staffing_plan(
        arrivals_by_hour=form.arrivals(),
        handle_time_s=form.cleaned_data["handle_time_minutes"] * 60,
        target_s=center.target_wait_minutes * 60,
        target_share=float(center.target_share),
    )
    plan = analytics.staffing_check(center=center, plan=plan)
    return render(request, STAFFING_TEMPLATE, {**context, **_rows(form, plan)})


def _rows(form: StaffingForm, plan: analytics.StaffingPlan | None) -> dict[str, Any]:
    """The form, the plan, and each hour's input next to its result."""
    by_hour = {hour.hour: hour for hour in plan.hours} if plan else {}
    rows = [(form[form.arrivals_name(hour)], by_hour.get(hour)) for hour in form.hours]
    return {"form": form, "plan": plan, "rows": rows}
