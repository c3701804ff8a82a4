from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from center.models import Role
from center.selectors import staff_center, user_roles


def home(request: HttpRequest) -> HttpResponse:
    """Start page: the screens this person may open."""
    roles = user_roles(request.user)
    is_supervisor = Role.SUPERVISOR in roles
    screens = {
        "kiosk": is_supervisor or Role.RECEPTION in roles,
        "reception": is_supervisor or Role.RECEPTION in roles,
        "desk": is_supervisor or bool(roles & {Role.REPRESENTATIVE, Role.SPECIALIST}),
        "supervisor": is_supervisor,
    }
    return render(
        request,
        "queueing/home/home.html",
        {"screens": screens, "center": staff_center(request.user) if roles else None},
    )
