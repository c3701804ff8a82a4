"""Django's SQLite backend, with this process's write transactions queued for SQLite's one
write lock in the process instead of in SQLite's busy handler.

SQLite lets one transaction write at a time; with ``transaction_mode`` IMMEDIATE every
transaction takes the write lock when it begins. One that finds it taken is retried by
SQLite's busy handler, which sleeps between tries, longer and longer, up to 100 ms at a
time, and does not know when the lock is let go: with a worker's request threads writing
at once, a transaction slept on while the lock was free, again and again, and a few check-ins
waited a second and more behind others that came later.

Here a transaction first takes a lock of the process for its database file, which wakes a
waiting thread as soon as the holder commits or rolls back; only then does it begin in
SQLite. SQLite's own lock and busy handler still order this process against others (a
management command, a second server). Statements outside transactions (autocommit) write
as before: each is short.
"""

from __future__ import annotations

import threading
from typing import Any

from django.db import OperationalError
from django.db.backends.sqlite3 import base

#: Database file -> the lock its writers of this process queue for.
_writers: dict[str, threading.Lock] = {}
_writers_lock = threading.Lock()

#: Transaction modes whose BEGIN takes SQLite's write lock.
WRITING_MODES = frozenset({"IMMEDIATE", "EXCLUSIVE"})


def writers_lock(name: str) -> threading.Lock:
    """The lock of this process's writers of the database file ``name``."""
    key = str(name)
    lock = _writers.get(key)
    if lock is None:
        with _writers_lock:
            lock = _writers.setdefault(key, threading.Lock())
    return lock


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: The writers' lock while this connection's transaction holds it.
        self.write_lock_held: threading.Lock | None = None

    def _start_transaction_under_autocommit(self) -> None:
        options = self.settings_dict["OPTIONS"]
        mode = (options.get("transaction_mode") or "").upper()
        if mode not in WRITING_MODES or self.is_in_memory_db():
            super()._start_transaction_under_autocommit()
            return
        lock = writers_lock(self.settings_dict["NAME"])
        # As long as SQLite itself would wait for the lock (Python's sqlite3 default: 5 s).
        if not lock.acquire(timeout=float(options.get("timeout", 5))):
            raise OperationalError("database is locked (waited for this process's writers)")
        self.write_lock_held = lock
        try:
            super()._start_transaction_under_autocommit()
        except BaseException:
            self._release_write_lock()
            raise

    def _commit(self) -> None:
        try:
            super()._commit()
        finally:
            self._release_write_lock()

    def _rollback(self) -> None:
        try:
            super()._rollback()
        finally:
            self._release_write_lock()

    def _close(self) -> None:
        try:
            super()._close()
        finally:
            self._release_write_lock()

    def _release_write_lock(self) -> None:
        lock, self.write_lock_held = self.write_lock_held, None
        if lock is not None:
            lock.release()
