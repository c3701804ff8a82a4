"""The waiting-room display: now serving and next up. Public: it shows only ticket
numbers and desks, never a name."""

from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone

from center.models import Center
from queueing.selectors import floor_snapshot
from queueing.views.common import HtmxHttpRequest, render_page

NEXT_UP_SHOWN = 6


def board(request: HtmxHttpRequest) -> HttpResponse:
    slug = request.GET.get("center", "")
    centers = Center.objects.order_by("pk")
    center = centers.filter(slug=slug).first() if slug else centers.first()
    if center is None:
        return render(request, "queueing/board/no_center.html", status=404)
    floor = floor_snapshot(center)
    next_up = floor.next_up(NEXT_UP_SHOWN)
    with timezone.override(center.tzinfo):
        return render_page(
            request,
            "queueing/board/board.html",
            {"floor": floor, "next_up": next_up, "center": center, "notices": floor.notices},
            partial="now-serving",
        )
