"""The tables written on every check-in and every call carry no index that another one
already serves: each index is written again on every insert, and on every update that
changes an indexed column (a ticket's status does, on every call)."""

from __future__ import annotations

import pytest
from django.db import connection

from center.models import AuditEvent, Case, Visit
from queueing.models import TextMessage, Ticket, TicketEvent

#: Written on the hot paths: a check-in writes a visit, a case and a ticket; a call updates
#: the ticket and writes an audit entry, an event (numbered by an update) and its texts.
HOT_TABLES = [
    model._meta.db_table for model in (Visit, Case, Ticket, TicketEvent, AuditEvent, TextMessage)
]

# Every index of those tables with its columns in order, whether it is unique, whether it
# is partial, and whether it is a pattern-matching one (what Django adds for LIKE beside
# a unique text column).
INDEXES_SQL = """
SELECT tbl.relname, idx.relname, x.indisunique, x.indpred IS NOT NULL,
       ARRAY(SELECT a.attname FROM unnest(x.indkey) WITH ORDINALITY AS k(num, ord)
             JOIN pg_attribute AS a ON a.attrelid = x.indrelid AND a.attnum = k.num
             ORDER BY k.ord),
       EXISTS (SELECT 1 FROM unnest(x.indclass) AS c(oid) JOIN pg_opclass o ON o.oid = c.oid
               WHERE o.opcname LIKE '%%pattern_ops')
FROM pg_index x
JOIN pg_class idx ON idx.oid = x.indexrelid
JOIN pg_class tbl ON tbl.oid = x.indrelid
WHERE tbl.relname = ANY(%s)
"""


@pytest.mark.django_db
def test_no_index_of_the_hot_tables_is_served_by_another():
    with connection.cursor() as cursor:
        cursor.execute(INDEXES_SQL, [HOT_TABLES])
        indexes = cursor.fetchall()
    assert {row[0] for row in indexes} == set(HOT_TABLES)
    redundant = []
    for table, name, unique, partial, columns, pattern in indexes:
        if pattern:
            # Lookups of these columns are equalities; no LIKE 'prefix%' runs on them.
            redundant.append(f"{table}.{name}: LIKE index of {columns}")
            continue
        if unique or partial:
            continue
        for other_table, other, _unique, other_partial, other_columns, _pattern in indexes:
            if (
                other_table == table
                and other != name
                and not other_partial
                and other_columns[: len(columns)] == columns
            ):
                redundant.append(f"{table}.{name} {columns}: served by {other} {other_columns}")
    assert not redundant, "\n".join(redundant)
