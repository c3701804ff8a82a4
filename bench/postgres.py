"""A fresh PostgreSQL database for a benchmark: created on the server the run points at,
migrated, Django's default connection pointed at it (with the options the settings give
PostgreSQL: the pool, prepared statements), dropped at the end."""

from __future__ import annotations

import contextlib
import copy
import os
from collections.abc import Iterator

import dj_database_url
import psycopg
from django.conf import settings
from django.core.management import call_command
from django.db import connections

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/test"


def server(report) -> str | None:
    """The server of a PostgreSQL-only benchmark: ``DATABASE_URL``'s when it is one, else
    ``DEFAULT_URL``. None, with a note on ``report``, when it does not answer."""
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith(("postgres://", "postgresql://")):
        base = DEFAULT_URL
    if why := unreachable(base):
        report.note(f"  skipped: {why}")
        return None
    return base


def unreachable(base: str) -> str | None:
    """Why no PostgreSQL server answers at ``base``; None when one does."""
    try:
        with psycopg.connect(base, connect_timeout=3, autocommit=True):
            return None
    except psycopg.Error as error:
        return f"PostgreSQL at {base} is not reachable: {error}".rstrip()


@contextlib.contextmanager
def fresh_database(base: str, label: str) -> Iterator[str]:
    """``bench_<label>_<pid>`` on the server of ``base``, migrated and made Django's
    default database for its duration; yields its URL."""
    name = f"bench_{label}_{os.getpid()}"
    url = with_database(base, name)
    with psycopg.connect(base, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        with default_database(url):
            call_command("migrate", verbosity=0, interactive=False)
            yield url
    finally:
        connections.close_all()
        with psycopg.connect(base, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def with_database(url: str, name: str) -> str:
    head, _, tail = url.partition("?")
    scheme, _, rest = head.partition("://")
    server = rest.split("/", 1)[0]
    return f"{scheme}://{server}/{name}" + (f"?{tail}" if tail else "")


@contextlib.contextmanager
def default_database(url: str) -> Iterator[None]:
    """Points Django's default alias at ``url`` for this process (and the threads it
    starts), then puts the run's own database back."""
    old = connections.settings["default"]
    connections.close_all()
    _close_pool()
    # With the options the settings give a PostgreSQL database (its pool, prepared
    # statements).
    parsed = {**dj_database_url.parse(url), "OPTIONS": copy.deepcopy(settings.POSTGRES_OPTIONS)}
    new = connections.configure_settings({"default": parsed})["default"]
    connections.settings["default"] = new
    _forget_default()
    try:
        yield
    finally:
        connections.close_all()
        # Django keeps one pool per alias: this database's must not serve the next one.
        _close_pool()
        connections.settings["default"] = old
        _forget_default()


def _close_pool() -> None:
    close = getattr(connections["default"], "close_pool", None)
    if close is not None:
        close()


def _forget_default() -> None:
    with contextlib.suppress(AttributeError):
        del connections["default"]
