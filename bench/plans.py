"""How many rows of the tables that grow with every visitor a read takes, as PostgreSQL
executes it: the measure of whether a screen slows as the history grows."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

#: The tables that grow with every visitor, kept for years.
GROWING = frozenset(
    {
        "center_visitor",
        "center_visit",
        "center_case",
        "center_auditevent",
        "center_resolution",
        "queueing_ticket",
        "queueing_ticketevent",
    }
)


def rows_read(read: Callable[[], Any]) -> int:
    """Runs ``read()``, then each of its queries (``SELECT``: writes would not run twice)
    again under ``EXPLAIN ANALYZE``, and sums the rows the scans of the growing tables
    returned and those they read and discarded. PostgreSQL only."""
    with CaptureQueriesContext(connection) as captured:
        read()
    total = 0
    for query in captured.captured_queries:
        if not query["sql"].lstrip().upper().startswith("SELECT"):
            continue
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {query['sql']}")
            (plan,) = cursor.fetchone()
        if isinstance(plan, str):
            plan = json.loads(plan)
        total += _scanned(plan[0]["Plan"])
    return total


def _scanned(node: dict[str, Any]) -> int:
    rows = 0
    if node.get("Relation Name") in GROWING and "Scan" in node.get("Node Type", ""):
        discarded = node.get("Rows Removed by Filter", 0) + node.get(
            "Rows Removed by Index Recheck", 0
        )
        rows += (node["Actual Rows"] + discarded) * node["Actual Loops"]
    return rows + sum(_scanned(child) for child in node.get("Plans", []))
