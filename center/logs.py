"""Logging without personal data.

Views never log visitors' names, phones or complaints; what Django logs by itself is the
path of a refused request ("Bad Request: /t/<token>/complaint/"), and a visitor's path
holds the token that opens the ticket for the rest of the day. This filter blanks it, on
the loggers that write paths and on the console handler, so no log line can reopen a
ticket.
"""

from __future__ import annotations

import logging
import re

VISITOR_PATH = re.compile(r"/t/[^/\s'\"?]+")
REDACTED = "/t/[token]"


class RedactVisitorTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = VISITOR_PATH.sub(REDACTED, message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True
