"""Request hygiene that every view relies on."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.utils.translation import gettext as _


def reject_nul_characters(
    get_response: Callable[[HttpRequest], HttpResponse],
) -> Callable[[HttpRequest], HttpResponse]:
    """Refuses, with 400, any query or form parameter that holds a NUL character.

    No person types one, SQLite would store it and PostgreSQL refuses it with an error
    (text cannot hold NUL), so it is turned away here, once, before any view looks a
    value up or writes it.
    """

    def middleware(request: HttpRequest) -> HttpResponse:
        parameters = [request.GET]
        if request.method == "POST":
            parameters.append(request.POST)
        for query in parameters:
            for key, values in query.lists():
                if "\x00" in key or any("\x00" in value for value in values):
                    return HttpResponseBadRequest(_("The request holds a NUL character."))
        return get_response(request)

    return middleware
