"""Runs tests/postgres against a real PostgreSQL in a child pytest, so that the one test
command covers both the embedded default and the production database.

Locally an unreachable server skips; with WALKIN_REQUIRE_SERVICES=1 (CI) it fails.
"""

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_URL = os.environ.get("WALKIN_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")
REQUIRED = os.environ.get("WALKIN_REQUIRE_SERVICES") == "1"
# One process (-n 0): the child runs beside the parent's other worker on two cores.
CHILD_PYTEST = [
    sys.executable,
    "-m",
    "pytest",
    "-q",
    "-p",
    "no:cacheprovider",
    "-n",
    "0",
    "tests/postgres",
]


def _reachable(url: str) -> str | None:
    try:
        with psycopg.connect(url, connect_timeout=3):
            return None
    except psycopg.Error as error:
        return str(error)


@pytest.mark.slow
@pytest.mark.timeout(660)  # its child run has 600 s, and each of its tests the usual 300
def test_postgres_suite():
    problem = _reachable(POSTGRES_URL)
    if problem:
        message = f"PostgreSQL at {POSTGRES_URL} is not reachable: {problem}"
        if REQUIRED:
            pytest.fail(message)
        pytest.skip(message)
    result = subprocess.run(  # noqa: S603 - our own interpreter and arguments
        CHILD_PYTEST,
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": POSTGRES_URL},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
