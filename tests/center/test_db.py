"""center/db.py: code constants written into prepared statements."""

import pytest

from center.db import literal


def test_a_code_constant_becomes_an_sql_literal():
    assert literal("WAITING") == "'WAITING'"
    assert literal("NO_SHOW") == "'NO_SHOW'"


@pytest.mark.parametrize("value", ["", "waiting", "A'B", "A B", "A;--", "É", "1"])
def test_anything_but_a_code_constant_is_refused(value):
    with pytest.raises(ValueError, match="not a code constant"):
        literal(value)
