"""Prepared statements for the few statements that run on every call of a desk.

Django sends every query with its parameters merged in on the client, so PostgreSQL
parses, analyses and plans each one anew. For the queue's hottest statements (a desk's
claim, the numbering of events) that was a third of the database's work per claim.
:func:`prepared_cursor` gives a cursor that sends its parameters apart from the statement
(server-side binding), so that psycopg prepares a statement once it has run
``prepare_threshold`` times on a connection (``settings.DATABASES``; Django's own cursors
never prepare) and PostgreSQL can keep one plan for it.

Only statements whose text never changes belong here, with code constants written into
the text rather than passed as parameters: a plan kept for every call cannot use a
partial index on ``status = 'WAITING'`` if the status is a parameter. Parameters arrive
typed (a small Python int as ``smallint``): cast them where arithmetic could overflow.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import psycopg
from django.db import connection
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper


@contextlib.contextmanager
def prepared_cursor() -> Iterator[Any]:
    """A cursor of the default connection whose statements PostgreSQL may prepare; a
    plain cursor elsewhere. Query logging and execute wrappers see it as any other."""
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            yield cursor
        return
    connection.ensure_connection()
    connection.validate_thread_sharing()
    wrapper = CursorDebugWrapper if connection.queries_logged else CursorWrapper
    with wrapper(psycopg.Cursor(connection.connection), connection) as cursor:
        yield cursor


def literal(value: str) -> str:
    """A code constant (a status, a kind: capitals and underscores) as an SQL literal, for
    the text of a statement that is prepared."""
    if not value or not all(c.isascii() and (c.isupper() or c == "_") for c in value):
        raise ValueError(f"not a code constant: {value!r}")
    return f"'{value}'"
