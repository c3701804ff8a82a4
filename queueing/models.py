"""The queue: services (lines with a ticket prefix), desks, tickets and the append-only
ticket event log that live screens and analytics read."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import F, OuterRef, Q, Subquery
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from center.languages import in_language
from center.models import AppendOnlyModel, Case, CaseType, Center

MAX_CALLS = 3


class Service(models.Model):
    """One line of the floor: a skill that desks have, with its ticket prefix letter."""

    center = models.ForeignKey(Center, on_delete=models.PROTECT, related_name="services")
    code = models.CharField(_("code"), max_length=32)
    name = models.CharField(_("name"), max_length=120)
    name_zh = models.CharField(_("name (Simplified Chinese)"), max_length=120, blank=True)
    prefix = models.CharField(_("ticket prefix"), max_length=1)

    class Meta:
        verbose_name = _("service")
        verbose_name_plural = _("services")
        ordering: ClassVar = ["prefix"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["center", "code"], name="service_code_per_center"),
            models.UniqueConstraint(fields=["center", "prefix"], name="service_prefix_per_center"),
            models.CheckConstraint(
                name="service_prefix_is_capital_letter",
                condition=Q(prefix__regex=r"^[A-Z]$"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.prefix} · {self.name}"

    def localized_name(self, language: str) -> str:
        return in_language(language, self.name, self.name_zh)


class Desk(models.Model):
    class Status(models.TextChoices):
        OPEN = "OPEN", pgettext_lazy("desk status", "Open")
        PAUSED = "PAUSED", _("Paused")
        CLOSED = "CLOSED", _("Closed")

    center = models.ForeignKey(Center, on_delete=models.PROTECT, related_name="desks")
    number = models.PositiveSmallIntegerField(_("number"))
    services = models.ManyToManyField(Service, related_name="desks", verbose_name=_("skills"))
    status = models.CharField(_("status"), max_length=8, choices=Status, default=Status.CLOSED)
    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="desks",
    )
    status_changed_at = models.DateTimeField(_("status changed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("desk")
        verbose_name_plural = _("desks")
        ordering: ClassVar = ["number"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["center", "number"], name="desk_number_per_center"),
            models.UniqueConstraint(
                fields=["operator"],
                condition=Q(operator__isnull=False),
                name="one_desk_per_operator",
            ),
        ]

    def __str__(self) -> str:
        return str(_("Desk %(number)s") % {"number": self.number})


class PriorityClass(models.IntegerChoices):
    STANDARD = 0, _("Standard")
    PRIORITY = 1, _("Priority (elderly, disability, minor with guardian)")


class DailyCounter(models.Model):
    """Last ticket number issued per center, service and day; its row lock serialises
    numbering so numbers are unique and gap-free."""

    center = models.ForeignKey(Center, on_delete=models.CASCADE, related_name="+")
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="+")
    service_date = models.DateField()
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["center", "service", "service_date"], name="one_counter_per_service_day"
            )
        ]

    def __str__(self) -> str:
        return f"{self.service_date} {self.service_id}: {self.last_number}"


class EventSequence(models.Model):
    """Last ticket-event sequence number per center (gap-free, strictly increasing)."""

    center = models.OneToOneField(Center, on_delete=models.CASCADE, related_name="+")
    last_seq = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.center_id}: {self.last_seq}"


class TicketQuerySet(models.QuerySet["Ticket"]):
    def active(self) -> TicketQuerySet:
        return self.filter(status__in=Ticket.ACTIVE_STATUSES)

    def waiting(self) -> TicketQuerySet:
        return self.filter(status=Ticket.Status.WAITING)

    def in_queue_order(self) -> TicketQuerySet:
        return self.order_by("rank_at", "id")

    def with_first_call(self) -> TicketQuerySet:
        """Annotates ``first_called_at`` from the event log: a wait ends at the first call,
        and a recall rewrites ``called_at``."""
        first_call = (
            TicketEvent.objects.filter(ticket=OuterRef("pk"), kind=TicketEvent.Kind.CALLED)
            .order_by("seq")
            .values("at")[:1]
        )
        return self.annotate(first_called_at=Subquery(first_call))


class Ticket(models.Model):
    class Status(models.TextChoices):
        WAITING = "WAITING", _("Waiting")
        CALLED = "CALLED", _("Called")
        SERVING = "SERVING", _("Being served")
        DONE = "DONE", _("Done")
        NO_SHOW = "NO_SHOW", _("No-show")
        WALKOUT = "WALKOUT", _("Left before being called")
        TRANSFERRED = "TRANSFERRED", _("Transferred")
        CANCELLED = "CANCELLED", _("Cancelled")

    ACTIVE_STATUSES: ClassVar = (Status.CALLED, Status.SERVING)
    OPEN_STATUSES: ClassVar = (Status.WAITING, Status.CALLED, Status.SERVING)

    # No index of its own: the indexes below that start with the center serve it.
    center = models.ForeignKey(
        Center, on_delete=models.PROTECT, related_name="tickets", db_index=False
    )
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="tickets")
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="tickets")
    service_date = models.DateField(_("service day"))
    number = models.PositiveIntegerField(_("number"))
    code = models.CharField(_("ticket"), max_length=8)
    priority = models.PositiveSmallIntegerField(
        _("priority class"), choices=PriorityClass, default=PriorityClass.STANDARD
    )
    status = models.CharField(_("status"), max_length=12, choices=Status, default=Status.WAITING)
    # Queue order: issue time moved earlier by the priority class's head start (engine).
    rank_at = models.DateTimeField()
    issued_at = models.DateTimeField(_("issued at"))
    called_at = models.DateTimeField(_("called at"), null=True, blank=True)
    serving_at = models.DateTimeField(_("serving since"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    desk = models.ForeignKey(
        Desk, on_delete=models.PROTECT, null=True, blank=True, related_name="tickets"
    )
    call_count = models.PositiveSmallIntegerField(_("calls"), default=0)
    language = models.CharField(max_length=16, choices=settings.LANGUAGES, default="en")
    # Unique by a constraint (below): see center.models.Visit.idempotency_key.
    token_hash = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001 - unique: many nulls
    token_expires_at = models.DateTimeField(null=True, blank=True)
    away_since = models.DateTimeField(_("stepped away at"), null=True, blank=True)
    incident_choice = models.CharField(
        _("choice during an incident"),
        max_length=8,
        choices=[("KEEP", _("Keep my place")), ("CALLBACK", _("Call me back"))],
        blank=True,
    )
    transferred_from = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="transferred_to"
    )

    objects = TicketQuerySet.as_manager()

    class Meta:
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        indexes: ClassVar = [
            models.Index(fields=["center", "status", "service", "rank_at"]),
            models.Index(fields=["center", "service_date"]),
            # The waiting line in queue order: a desk's claim walks it from the front and
            # stops at the first ticket of its services, instead of sorting every waiting
            # ticket of the center on every call. A called ticket leaves it.
            models.Index(
                fields=["center", "rank_at", "id"],
                condition=Q(status="WAITING"),
                name="ticket_waiting_in_order",
            ),
            # Visitors waiting away from the floor: hardly anyone, looked for on every call
            # (their texts). The look stays one probe of a nearly empty index.
            models.Index(
                fields=["center", "service"],
                condition=Q(status="WAITING", away_since__isnull=False),
                name="ticket_waiting_away",
            ),
            # Each line's latest finished visitors, read for every status page's estimate:
            # a walk of a few entries from the newest, however long the line's history.
            models.Index(
                fields=["service", "finished_at"],
                condition=Q(finished_at__isnull=False),
                name="ticket_finished_by_line",
            ),
        ]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["center", "service", "service_date", "number"],
                name="ticket_number_unique_per_service_day",
            ),
            models.UniqueConstraint(fields=["token_hash"], name="ticket_token_hash_unique"),
            models.UniqueConstraint(
                fields=["desk"],
                condition=Q(status__in=["CALLED", "SERVING"]),
                name="one_active_ticket_per_desk",
            ),
            models.CheckConstraint(
                name="active_ticket_has_desk",
                condition=~Q(status__in=["CALLED", "SERVING"]) | Q(desk__isnull=False),
            ),
            models.CheckConstraint(
                name="ticket_calls_within_limit", condition=Q(call_count__lte=MAX_CALLS)
            ),
        ]

    def __str__(self) -> str:
        return self.code

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES


class Notice(models.Model):
    """A structured incident notice from the supervisor, shown on every screen."""

    center = models.ForeignKey(Center, on_delete=models.PROTECT, related_name="notices")
    what = models.CharField(_("what happened"), max_length=300)
    case_types = models.ManyToManyField(
        CaseType, related_name="notices", blank=True, verbose_name=_("affected case types")
    )
    since_at = models.DateTimeField(_("since"))
    next_update_at = models.DateTimeField(_("next update at"))
    posted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    posted_at = models.DateTimeField(_("posted at"))
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)

    class Meta:
        verbose_name = _("incident notice")
        verbose_name_plural = _("incident notices")
        ordering: ClassVar = ["-posted_at"]
        constraints: ClassVar = [
            models.CheckConstraint(
                name="notice_update_after_start", condition=Q(next_update_at__gt=F("since_at"))
            ),
        ]

    def __str__(self) -> str:
        return self.what


class TicketEvent(AppendOnlyModel):
    """Append-only log of every ticket transition, numbered per center without gaps."""

    class Kind(models.TextChoices):
        ISSUED = "ISSUED", _("Issued")
        CALLED = "CALLED", _("Called")
        RECALLED = "RECALLED", _("Called again")
        SERVING = "SERVING", _("Service started")
        DONE = "DONE", _("Done")
        NO_SHOW = "NO_SHOW", _("No-show")
        WALKOUT = "WALKOUT", _("Walked out")
        TRANSFERRED = "TRANSFERRED", _("Transferred")
        CANCELLED = "CANCELLED", _("Cancelled")
        COMPLAINT_UPDATED = "COMPLAINT_UPDATED", _("Complaint updated")
        DESK_CHANGED = "DESK_CHANGED", _("Desk status changed")
        TURNED_AWAY = "TURNED_AWAY", _("Person turned away at the door")
        STEPPED_AWAY = "STEPPED_AWAY", _("Visitor stepped away")
        BACK = "BACK", _("Visitor is back")
        NOTICE = "NOTICE", _("Incident notice changed")

    # No index of its own: the numbers' unique index starts with the center.
    center = models.ForeignKey(
        Center, on_delete=models.PROTECT, related_name="ticket_events", db_index=False
    )
    # Null only between the commit of the change and its numbering (see queueing.events).
    seq = models.PositiveBigIntegerField(null=True, blank=True)
    kind = models.CharField(max_length=20, choices=Kind)
    ticket = models.ForeignKey(
        Ticket, on_delete=models.PROTECT, null=True, blank=True, related_name="events"
    )
    desk = models.ForeignKey(
        Desk, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField()
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("ticket event")
        verbose_name_plural = _("ticket events")
        ordering: ClassVar = ["center", "seq"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["center", "seq"], name="event_seq_unique_per_center"),
        ]
        indexes: ClassVar = [
            models.Index(
                fields=["center", "id"], condition=Q(seq__isnull=True), name="event_unnumbered"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.kind}"


class TextConsent(models.Model):
    """The visitor agreed at check-in to text messages on this number about this case (the
    case, not the ticket: a transfer keeps it). Without this row nothing is ever sent."""

    case = models.OneToOneField(Case, on_delete=models.CASCADE, related_name="text_consent")
    phone = models.CharField(_("phone"), max_length=32)
    given_at = models.DateTimeField(_("agreed at"))
    assisted_by_staff = models.BooleanField(_("given through staff"), default=False)

    class Meta:
        verbose_name = _("consent to text messages")
        verbose_name_plural = _("consents to text messages")
        constraints: ClassVar = [
            models.CheckConstraint(name="text_consent_has_phone", condition=~Q(phone="")),
        ]

    def __str__(self) -> str:
        return f"{self.case_id}: {self.phone}"


class TextMessage(models.Model):
    """The outbox: every text to a visitor, written in the transaction that decided to send
    it and handed to the configured sender after commit. At most one of each kind per
    ticket, held by the database."""

    class Kind(models.TextChoices):
        ALMOST_TURN = "ALMOST_TURN", _("Almost your turn")
        CALLED = "CALLED", _("Called to a desk")

    class Status(models.TextChoices):
        PENDING = "PENDING", _("Waiting for commit")
        SENT = "SENT", _("Handed to the sender")
        FAILED = "FAILED", _("Sender failed")

    center = models.ForeignKey(Center, on_delete=models.PROTECT, related_name="+")
    # No index of its own: the one-text-per-kind constraint's index starts with the ticket.
    ticket = models.ForeignKey(
        Ticket, on_delete=models.PROTECT, related_name="text_messages", db_index=False
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind)
    phone = models.CharField(_("phone"), max_length=32)
    language = models.CharField(_("language"), max_length=16, choices=settings.LANGUAGES)
    body = models.CharField(_("text"), max_length=320)
    status = models.CharField(_("status"), max_length=8, choices=Status, default=Status.PENDING)
    created_at = models.DateTimeField(_("created at"))
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    sender = models.CharField(_("sender"), max_length=200, blank=True)
    error = models.CharField(_("error"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("text message")
        verbose_name_plural = _("text messages")
        ordering: ClassVar = ["-created_at"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["ticket", "kind"], name="one_text_per_kind_per_ticket"),
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.kind}"


class Feedback(models.Model):
    """The visitor's one answer, after the outcome, to "how satisfied are you?"."""

    RATINGS: ClassVar = range(1, 6)

    ticket = models.OneToOneField(Ticket, on_delete=models.PROTECT, related_name="feedback")
    rating = models.PositiveSmallIntegerField(_("rating"))
    comment = models.CharField(_("comment"), max_length=1000, blank=True)
    language = models.CharField(_("language"), max_length=16, choices=settings.LANGUAGES)
    given_at = models.DateTimeField(_("given at"))

    class Meta:
        verbose_name = _("satisfaction rating")
        verbose_name_plural = _("satisfaction ratings")
        ordering: ClassVar = ["-given_at"]
        constraints: ClassVar = [
            models.CheckConstraint(
                name="feedback_rating_1_to_5", condition=Q(rating__gte=1, rating__lte=5)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id}: {self.rating}"
