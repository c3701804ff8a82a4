"""The embedded default's database backend: Django's SQLite, writers queued in the process
(see :mod:`center.sqlite.base`)."""
