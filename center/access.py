"""Staff pages need a login, a staff profile (the center) and one of the page's roles.
Supervisors may open every staff page."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from center.models import Role
from center.selectors import staff_center, user_roles


def staff_required(
    *roles: str,
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    allowed = set(roles) | {Role.SUPERVISOR}

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            center = staff_center(request.user)
            if center is None or not (user_roles(request.user) & allowed):
                return render(
                    request,
                    "center/forbidden.html",
                    {
                        "roles": [Role(role).label for role in sorted(allowed)],
                        "no_center": center is None,
                    },
                    status=403,
                )
            request.center = center  # type: ignore[attr-defined]
            with timezone.override(center.tzinfo):
                return view(request, *args, **kwargs)

        return wrapper

    return decorator
