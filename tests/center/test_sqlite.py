"""SQLite (the embedded default): this process's write transactions queue for SQLite's one
write lock in the process (``center.sqlite``), not in SQLite's sleeping busy handler."""

from __future__ import annotations

import threading

import pytest
from django.db import DEFAULT_DB_ALIAS, OperationalError, connection, connections, transaction
from django.db.backends.sqlite3 import base as django_sqlite

from center.models import Center
from center.sqlite import base as walkin_sqlite
from tests.center.factories import CenterFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "sqlite", reason="the embedded default's SQLite backend only"
    ),
]

WAIT_S = 10


class _WatchedLock:
    """The writers' lock, telling when a thread has come to it."""

    def __init__(self, lock: threading.Lock) -> None:
        self.lock = lock
        self.arrived = threading.Event()

    def acquire(self, timeout: float = -1) -> bool:
        self.arrived.set()
        return self.lock.acquire(timeout=timeout)

    def release(self) -> None:
        self.lock.release()


def writers() -> threading.Lock:
    return walkin_sqlite.writers_lock(connection.settings_dict["NAME"])


def in_thread(target) -> threading.Thread:
    def run() -> None:
        try:
            target()
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_the_embedded_default_uses_the_queued_backend():
    assert isinstance(connections[DEFAULT_DB_ALIAS], walkin_sqlite.DatabaseWrapper)
    assert connection.settings_dict["OPTIONS"]["transaction_mode"] == "IMMEDIATE"


def test_a_writer_waits_in_the_process_and_begins_once_the_holder_commits(monkeypatch):
    watched = _WatchedLock(writers())
    monkeypatch.setattr(walkin_sqlite, "writers_lock", lambda name: watched)
    holding, commit = threading.Event(), threading.Event()
    statements: list[str] = []

    def holder() -> None:
        with transaction.atomic():
            CenterFactory(name="First")
            holding.set()
            assert commit.wait(WAIT_S)
        statements.append("holder committed")

    def writer() -> None:
        def record(execute, sql, params, many, context):
            statements.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(record), transaction.atomic():
            CenterFactory(name="Second")

    first = in_thread(holder)
    assert holding.wait(WAIT_S)
    watched.arrived.clear()
    second = in_thread(writer)
    # The second writer has come to the lock and waits there: it has sent SQLite nothing,
    # so SQLite's busy handler is not sleeping on its behalf.
    assert watched.arrived.wait(WAIT_S)
    second.join(timeout=0.2)
    assert second.is_alive()
    assert statements == []
    commit.set()
    first.join(timeout=WAIT_S)
    second.join(timeout=WAIT_S)

    assert statements[0] == "holder committed"
    assert statements[1] == "BEGIN IMMEDIATE"
    assert set(Center.objects.values_list("name", flat=True)) >= {"First", "Second"}
    assert not watched.lock.locked()


def test_commit_rollback_and_close_let_the_lock_go():
    with transaction.atomic():
        CenterFactory()
        assert connection.write_lock_held is writers()
        assert writers().locked()
    assert connection.write_lock_held is None
    assert not writers().locked()

    def write_then_fail() -> None:
        with transaction.atomic():
            CenterFactory()
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        write_then_fail()
    assert not writers().locked()

    def closed_in_a_transaction() -> None:
        # As when a thread's connection is closed under a transaction it never ends.
        transaction.atomic().__enter__()
        CenterFactory()
        assert writers().locked()
        connection.close()

    thread = in_thread(closed_in_a_transaction)
    thread.join(timeout=WAIT_S)
    assert not writers().locked()


def test_a_begin_that_fails_lets_the_lock_go(monkeypatch):
    def refused(self) -> None:
        raise OperationalError("disk I/O error")

    monkeypatch.setattr(
        django_sqlite.DatabaseWrapper, "_start_transaction_under_autocommit", refused
    )
    with pytest.raises(OperationalError), transaction.atomic():
        CenterFactory()
    assert connection.write_lock_held is None
    assert not writers().locked()


def test_a_writer_gives_up_after_the_database_timeout(monkeypatch):
    monkeypatch.setitem(connection.settings_dict["OPTIONS"], "timeout", 0.1)
    outcome: list[BaseException] = []

    def writer() -> None:
        try:
            with transaction.atomic():
                CenterFactory()
        except OperationalError as error:
            outcome.append(error)

    lock = writers()
    lock.acquire()
    try:
        in_thread(writer).join(timeout=WAIT_S)
    finally:
        lock.release()
    assert len(outcome) == 1
    assert "database is locked" in str(outcome[0])
