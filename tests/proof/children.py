"""Child processes of the proof tests, on the database of ``DATABASE_URL``.

    python -m tests.proof.children drain '{"desks": [[desk_id, rep_id], ...]}'
        One thread per desk, each with its own connection. Prints ``ready`` when every
        thread is connected, waits for ``go`` on stdin, then each thread calls next
        (``ticket_call_next``) until nobody waits; after each claim one raw autocommit
        UPDATE lets the visitor go (status NO_SHOW) so the desk may call again, as in
        bench/claims.py: the claim is under test, and the release through
        ``ticket_no_show`` would double the run's time. Prints one JSON line:
        ``{"claimed": [ticket ids], "errors": [...], "seconds": s}``.

    python -m tests.proof.children checkin '{"center": id, "case_type": code,
                                             "key": key, "pause": point}'
        One kiosk check-in through ``checkin_issue_ticket``. With ``pause``, it stops
        inside the check-in's transaction at that point, prints ``inside`` and sleeps
        until the parent kills it: ``after-visit`` (the visit is written, the case is
        not) or ``after-event`` (every row is written, the ISSUED event last; only the
        commit is missing). Without, it prints the JSON ``{"ticket": id}``.

The pauses are monkeypatches of this process only: the product has no test hooks.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402

from center.models import CaseType, Center  # noqa: E402
from queueing import services  # noqa: E402
from queueing.models import Desk  # noqa: E402

HANG_S = 600
RELEASE_SQL = "UPDATE queueing_ticket SET status = 'NO_SHOW', finished_at = now() WHERE id = %s"


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def drain(args: dict[str, Any]) -> None:
    users = get_user_model().objects.in_bulk([rep for _desk, rep in args["desks"]])
    desks = Desk.objects.in_bulk([desk for desk, _rep in args["desks"]])
    connection.close()
    pairs = [(desks[desk], users[rep]) for desk, rep in args["desks"]]
    claimed: list[list[int]] = [[] for _ in pairs]
    errors: list[str] = []
    connected = threading.Barrier(len(pairs) + 1)
    go = threading.Event()

    def work(index: int) -> None:
        desk, rep = pairs[index]
        try:
            connection.ensure_connection()
            connected.wait()
            go.wait()
            while (ticket := services.ticket_call_next(desk=desk, by=rep)) is not None:
                claimed[index].append(ticket.pk)
                with connection.cursor() as cursor:
                    cursor.execute(RELEASE_SQL, [ticket.pk])
        except BaseException as error:  # every error is reported to the parent
            errors.append(f"desk {desk.number}: {type(error).__name__}: {error}")
            connected.abort()
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(index,)) for index in range(len(pairs))]
    for thread in threads:
        thread.start()
    connected.wait()
    say("ready")
    sys.stdin.readline()
    begin, cpu_begin = time.perf_counter(), time.process_time()
    go.set()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - begin
    cpu = time.process_time() - cpu_begin
    claims = [pk for part in claimed for pk in part]
    say(json.dumps({"claimed": claims, "errors": errors, "seconds": seconds, "cpu": cpu}))


def _hang() -> None:
    say("inside")
    time.sleep(HANG_S)
    raise SystemExit("the parent never killed this check-in")


def checkin(args: dict[str, Any]) -> None:
    pause = args.get("pause")
    if pause == "after-visit":
        case_open = services.case_open

        def case_open_after_a_hang(**kwargs: Any):
            _hang()
            return case_open(**kwargs)

        services.case_open = case_open_after_a_hang
    elif pause == "after-event":
        append = services.ticket_event_append

        def append_then_hang(**kwargs: Any):
            event = append(**kwargs)
            _hang()
            return event

        services.ticket_event_append = append_then_hang
    elif pause is not None:
        raise SystemExit(f"unknown pause {pause!r}")
    issued = services.checkin_issue_ticket(
        center=Center.objects.get(pk=args["center"]),
        checkin=services.CheckIn(
            full_name="Killed Midway",
            purpose="CASE",
            screening_passed=True,
            items_stored=False,
            recording_rule_acknowledged=True,
            case_type=CaseType.objects.get(code=args["case_type"]),
            complaint=args.get("complaint", {}),
            complaint_text="My account was suspended.",
            idempotency_key=args.get("key"),
        ),
        by=None,
    )
    say(json.dumps({"ticket": issued.ticket.pk}))


COMMANDS = {"drain": drain, "checkin": checkin}

if __name__ == "__main__":
    COMMANDS[sys.argv[1]](json.loads(sys.argv[2]))
