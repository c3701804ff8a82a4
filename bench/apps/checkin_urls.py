"""The project's URLs plus the check-in benchmark's baseline: a bare Django view that
inserts one row into the benchmark's own table ``bench_row`` in a transaction and answers
a short text. Used as ``ROOT_URLCONF`` by ``bench.apps.checkin`` (under Daphne) and by
``bench.checkin`` (in process, to profile); imports nothing that sets Django up."""

from __future__ import annotations

from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from bench.apps.common import UNLIMITED  # noqa: F401 - the benchmark reads it here

WRITE_PATH = "/bench/write/"

TABLE_SQL = (
    "CREATE TABLE IF NOT EXISTS bench_row "
    "(id INTEGER PRIMARY KEY, at VARCHAR(40) NOT NULL, note VARCHAR(40) NOT NULL)"
)
TABLE_SQL_POSTGRES = (
    "CREATE TABLE IF NOT EXISTS bench_row "
    "(id BIGSERIAL PRIMARY KEY, at VARCHAR(40) NOT NULL, note VARCHAR(40) NOT NULL)"
)


def table_create() -> None:
    """The baseline's table; the benchmark process creates it before the worker starts."""
    with connection.cursor() as cursor:
        cursor.execute(TABLE_SQL_POSTGRES if connection.vendor == "postgresql" else TABLE_SQL)


@csrf_exempt
@require_POST
def bare_write(request: HttpRequest) -> HttpResponse:
    """The baseline: one row written in one transaction, a short answer."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO bench_row (at, note) VALUES (%s, %s)",
            [timezone.now().isoformat(), request.POST.get("note", "")[:40]],
        )
    return HttpResponse("written", content_type="text/plain")


urlpatterns = [
    path(WRITE_PATH.strip("/") + "/", bare_write),
    path("", include("center.urls")),
]
