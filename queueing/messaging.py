"""Text messages to a visitor who stepped away: one when it is almost their turn (three or
fewer people ahead) and one when a desk calls them, only with their consent from check-in.

A message is written to the outbox (``TextMessage``) inside the transaction that moved
the queue, at most once per kind and ticket (a unique constraint), and handed to the
sender only after commit: a rolled-back call never texts anybody. The sender is the
dotted path in ``settings.WALKIN_SMS_SENDER``; the default, ``OutboxSender``, leaves the
message in the outbox, which staff read in the admin. A real gateway is a class with the
same ``send`` method.
"""

from __future__ import annotations

import functools
import logging
from typing import Protocol

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, IntegerField, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import translation
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from center import clock
from center.errors import DomainError
from center.models import Case
from center.services import ERASED_NAME
from queueing.models import TextConsent, TextMessage, Ticket

logger = logging.getLogger(__name__)

DEFAULT_SENDER = "queueing.messaging.OutboxSender"
ALMOST_TURN_AHEAD = 3
# Transitions after which people waiting in the ticket's line may have moved up.
QUEUE_MOVES = frozenset({"CALLED", "CANCELLED", "WALKOUT", "TRANSFERRED", "STEPPED_AWAY"})


class Sender(Protocol):
    def send(self, *, phone: str, body: str) -> None:
        """Sends one text; raises when the gateway refused it."""


class OutboxSender:
    """The demo's sender: nothing leaves the building, the message stays in the outbox."""

    def send(self, *, phone: str, body: str) -> None:
        logger.info("Text to %s kept in the outbox: %s", phone[-4:], body)


def sender_path() -> str:
    return getattr(settings, "WALKIN_SMS_SENDER", "") or DEFAULT_SENDER


def text_consent_give(*, case: Case, phone: str, assisted_by_staff: bool = False) -> TextConsent:
    """Records the visitor's explicit agreement to texts about this case on this number."""
    phone = phone.strip()
    if not phone:
        raise DomainError(_("Enter the phone number the texts should go to."))
    return TextConsent.objects.create(
        case=case, phone=phone[:32], given_at=clock.now(), assisted_by_staff=assisted_by_staff
    )


def texts_after_transition(ticket: Ticket, kind: str, *, anyone_away: bool | None = None) -> None:
    """Called by the queue services inside their transaction, after each ticket step.

    ``anyone_away``: whether anybody waiting in the ticket's line has stepped away, when
    the caller already knows (its own statement looked); None to look here."""
    if kind == "CALLED" and ticket.away_since is not None:
        consent = TextConsent.objects.filter(case_id=ticket.case_id).first()
        if consent is not None:
            _queue_text(ticket, TextMessage.Kind.CALLED, consent)
    if kind in QUEUE_MOVES and anyone_away is not False:
        _almost_turn_texts(ticket, looked=anyone_away is not None)


def _almost_turn_texts(moved: Ticket, *, looked: bool) -> None:
    """Texts every consenting visitor of the moved ticket's line who is away and now has
    three or fewer people ahead, unless they already got that text."""
    # Hardly anyone is away: a plain look first spares every call the full query.
    if (
        not looked
        and not Ticket.objects.filter(
            center_id=moved.center_id,
            service_id=moved.service_id,
            status=Ticket.Status.WAITING,
            away_since__isnull=False,
        ).exists()
    ):
        return
    line = Ticket.objects.waiting().filter(
        center_id=OuterRef("center_id"), service_id=OuterRef("service_id")
    )
    ahead = (
        line.filter(
            Q(rank_at__lt=OuterRef("rank_at"))
            | Q(rank_at=OuterRef("rank_at"), id__lt=OuterRef("id"))
        )
        .order_by()
        .values("service_id")
        .annotate(count=Count("id"))
        .values("count")
    )
    candidates = (
        Ticket.objects.waiting()
        .filter(
            center_id=moved.center_id,
            service_id=moved.service_id,
            away_since__isnull=False,
            case__text_consent__isnull=False,
        )
        .exclude(text_messages__kind=TextMessage.Kind.ALMOST_TURN)
        .annotate(ahead=Coalesce(Subquery(ahead, output_field=IntegerField()), 0))
        .filter(ahead__lte=ALMOST_TURN_AHEAD)
        .select_related("case__text_consent", "center")
    )
    for ticket in candidates:
        _queue_text(ticket, TextMessage.Kind.ALMOST_TURN, ticket.case.text_consent)


def _body(ticket: Ticket, kind: str) -> str:
    with translation.override(ticket.language):
        if kind == TextMessage.Kind.CALLED:
            return _("%(center)s: ticket %(code)s, please go to desk %(desk)s now.") % {
                "center": ticket.center.name,
                "code": ticket.code,
                "desk": ticket.desk.number if ticket.desk else "",
            }
        ahead = getattr(ticket, "ahead", 0)
        return ngettext(
            "%(center)s: ticket %(code)s, almost your turn (%(ahead)s person ahead). "
            "Please come back to the waiting room.",
            "%(center)s: ticket %(code)s, almost your turn (%(ahead)s people ahead). "
            "Please come back to the waiting room.",
            ahead,
        ) % {"center": ticket.center.name, "code": ticket.code, "ahead": ahead}


def _queue_text(ticket: Ticket, kind: str, consent: TextConsent) -> None:
    try:
        with transaction.atomic():
            message = TextMessage.objects.create(
                center_id=ticket.center_id,
                ticket=ticket,
                kind=kind,
                phone=consent.phone,
                language=ticket.language,
                body=_body(ticket, kind)[:320],
                created_at=clock.now(),
            )
    except IntegrityError:
        return  # this text already went out for this ticket
    transaction.on_commit(functools.partial(text_deliver, message_id=message.pk))


def text_deliver(*, message_id: int) -> None:
    """Hands one committed outbox message to the sender, once: the claim is a conditional
    UPDATE, so two workers never send the same message."""
    path = sender_path()
    claimed = TextMessage.objects.filter(pk=message_id, status=TextMessage.Status.PENDING).update(
        status=TextMessage.Status.SENT, sent_at=clock.now(), sender=path
    )
    if not claimed:
        return
    message = TextMessage.objects.get(pk=message_id)
    try:
        import_string(path)().send(phone=message.phone, body=message.body)
    except Exception as error:  # a gateway's failure must not break the desk's call
        logger.exception("Text %s could not be sent", message_id)
        TextMessage.objects.filter(pk=message_id).update(
            status=TextMessage.Status.FAILED, error=f"{type(error).__name__}: {error}"[:300]
        )


def texts_personal_data_erase() -> tuple[int, int]:
    """For visitors whose personal data the retention erased
    (``center.services.personal_data_erase``): deletes their consents to texts and erases
    the phone number of every text sent to them (the text itself names no person).
    Returns (consents deleted, texts erased); running it again changes nothing."""
    erased = Case.objects.filter(visit__visitor__full_name=ERASED_NAME, visit__visitor__phone="")
    with transaction.atomic():
        consents, _ = TextConsent.objects.filter(case__in=erased).delete()
        texts = (
            TextMessage.objects.filter(ticket__case__in=erased).exclude(phone="").update(phone="")
        )
    return consents, texts
