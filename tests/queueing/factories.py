import datetime as dt

import factory

from bench.scenario import bulk_cases
from center.models import Case, CaseType, Center
from queueing.models import Desk, Service, Ticket
from queueing.services import (
    CheckIn,
    IssuedTicket,
    checkin_issue_ticket,
    ticket_call_next,
    ticket_start_serving,
)


class ServiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Service
        django_get_or_create = ("center", "code")

    code = "ACCOUNTS"
    name = "Accounts"
    prefix = "A"


class DeskFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Desk
        django_get_or_create = ("center", "number")
        skip_postgeneration_save = True

    number = factory.Sequence(lambda n: n + 1)

    @factory.post_generation
    def services(self, create: bool, extracted, **kwargs) -> None:
        if create and extracted:
            self.services.set(extracted)


def issue(
    center: Center,
    case_type: CaseType,
    *,
    by=None,
    name: str = "Visitor",
    needs: tuple[str, ...] = (),
    language: str = "en",
    account_handle: str = "",
    key: str | None = None,
) -> IssuedTicket:
    """Checks a visitor in through the real kiosk service and returns the issued ticket."""
    result = checkin_issue_ticket(
        center=center,
        checkin=CheckIn(
            full_name=name,
            purpose="CASE",
            screening_passed=True,
            items_stored=False,
            recording_rule_acknowledged=True,
            case_type=case_type,
            complaint={"registration_year": "2011"}
            if any(f["name"] == "registration_year" for f in case_type.intake_fields)
            else {},
            complaint_text="My account was suspended.",
            language=language,
            assistance_needs=needs,
            account_handle=account_handle,
            idempotency_key=key,
        ),
        by=by,
    )
    assert result.token, "a fresh check-in hands out its token"
    return result


def serve_next(desk: Desk, by) -> Ticket | None:
    """Calls the next visitor to the desk and starts serving them, as a representative
    does before deciding a case; ``None`` when nobody is waiting for the desk."""
    if ticket_call_next(desk=desk, by=by) is None:
        return None
    return ticket_start_serving(desk=desk, by=by)


def past_visitors(
    service: Service,
    case_type: CaseType,
    outcomes: list[tuple[str, dt.datetime | None, dt.datetime]],
) -> list[Ticket]:
    """Visitors of past days, bulk-written as the kiosk and the desks would have left
    them (visitor, visit, closed case, finished ticket): one per ``(status, serving_at,
    finished_at)``, issued an hour before it finished, on that day."""
    center = service.center
    issued = [finished - dt.timedelta(hours=1) for _status, _serving, finished in outcomes]
    cases = bulk_cases(
        center,
        [case_type],
        issued,
        reference=f"WC-PAST-{service.pk}",
        status=Case.Status.RESOLVED,
    )
    numbers: dict[dt.date, int] = {}
    tickets = []
    for case, at, (status, serving, finished) in zip(cases, issued, outcomes, strict=True):
        day = at.astimezone(center.tzinfo).date()
        # From 1001: clear of the numbers the kiosk gives today's visitors.
        numbers[day] = numbers.get(day, 1000) + 1
        tickets.append(
            Ticket(
                center=center,
                service=service,
                case=case,
                service_date=day,
                number=numbers[day],
                code=f"{service.prefix}{numbers[day]}",
                rank_at=at,
                issued_at=at,
                status=status,
                serving_at=serving,
                finished_at=finished,
            )
        )
    return Ticket.objects.bulk_create(tickets)
