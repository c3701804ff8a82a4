"""This folder runs only on PostgreSQL: tests/test_postgres.py starts it with DATABASE_URL."""

import pytest
from django.db import connection


@pytest.fixture(autouse=True)
def _require_postgresql(db):
    if connection.vendor != "postgresql":
        pytest.fail("tests/postgres must run with DATABASE_URL pointing at PostgreSQL")
