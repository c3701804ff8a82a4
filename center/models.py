"""The front desk: centers, staff, visitors and their security check-in, cases with their
complaints, the simulated platform account registry, resolutions and the audit trail."""

from __future__ import annotations

import zoneinfo
from decimal import Decimal
from typing import Any, ClassVar

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from center.languages import in_language
from center.policy import SuspensionReason


class AppendOnlyQuerySet(models.QuerySet):
    """Bulk updates and deletes are refused as well as single ones."""

    def update(self, **kwargs: Any) -> int:
        raise PermissionError(f"{self.model.__name__} rows are append-only.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise PermissionError(f"{self.model.__name__} rows are append-only.")


class AppendOnlyModel(models.Model):
    """A log: rows are written once and never changed or removed."""

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise PermissionError(f"{type(self).__name__} rows are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise PermissionError(f"{type(self).__name__} rows are append-only.")


def _timezone_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in sorted(zoneinfo.available_timezones())]


class Center(models.Model):
    """A tenant: one physical support center."""

    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(_("slug"), unique=True)
    timezone = models.CharField(
        _("time zone"), max_length=64, default="Asia/Shanghai", choices=_timezone_choices
    )
    step_away_grace_minutes = models.PositiveSmallIntegerField(
        _("step-away grace (minutes)"),
        default=15,
        help_text=_("How long a waiting visitor may step away and keep their place."),
    )
    desk_pause_minutes = models.PositiveSmallIntegerField(
        _("usual desk pause (minutes)"),
        default=30,
        help_text=_(
            "How long a representative's break usually lasts: wait estimates count on a "
            "paused desk again after it."
        ),
    )
    languages = models.JSONField(
        _("languages"),
        default=list,
        help_text=_('Language codes offered to visitors, e.g. ["zh-hans", "en"].'),
    )
    # The published service level: ``target_share`` of visitors called within
    # ``target_wait_minutes`` of getting their ticket.
    target_wait_minutes = models.PositiveSmallIntegerField(
        _("target wait (minutes)"),
        default=15,
        validators=[MinValueValidator(1), MaxValueValidator(600)],
        help_text=_("The wait within which the center promises to call most visitors."),
    )
    target_share = models.DecimalField(
        _("share called within the target wait"),
        max_digits=3,
        decimal_places=2,
        default=Decimal("0.85"),
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal("0.99"))],
        help_text=_("A fraction between 0 and 1, e.g. 0.85."),
    )
    media_retention_hours = models.PositiveSmallIntegerField(
        _("identity media kept for (hours)"),
        default=24,
        validators=[MinValueValidator(1), MaxValueValidator(24 * 30)],
        help_text=_("Face videos and document photos are deleted after this; results remain."),
    )
    personal_data_retention_days = models.PositiveSmallIntegerField(
        _("personal data kept for (days)"),
        default=180,
        validators=[MinValueValidator(1), MaxValueValidator(3650)],
        help_text=_(
            "Visitors' names and phone numbers are erased this long after their last visit."
        ),
    )

    class Meta:
        verbose_name = _("center")
        verbose_name_plural = _("centers")
        constraints: ClassVar = [
            models.CheckConstraint(
                name="center_target_wait_positive", condition=Q(target_wait_minutes__gte=1)
            ),
            models.CheckConstraint(
                name="center_target_share_is_a_fraction",
                condition=Q(target_share__gt=0, target_share__lt=1),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)


class Role(models.TextChoices):
    """Staff roles; each is a Django auth group of the same name."""

    RECEPTION = "reception", _("Reception")
    REPRESENTATIVE = "representative", _("Representative")
    SPECIALIST = "specialist", _("Specialist")
    SUPERVISOR = "supervisor", _("Supervisor")


class StaffProfile(models.Model):
    """Ties a staff login to the center it works in."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_profile"
    )
    center = models.ForeignKey(Center, on_delete=models.PROTECT, related_name="staff")

    class Meta:
        verbose_name = _("staff profile")
        verbose_name_plural = _("staff profiles")

    def __str__(self) -> str:
        return f"{self.user} @ {self.center}"


class Visitor(models.Model):
    center = models.ForeignKey(Center, on_delete=models.PROTECT, related_name="visitors")
    full_name = models.CharField(_("full name"), max_length=120)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    language = models.CharField(
        _("language"), max_length=16, choices=settings.LANGUAGES, default="en"
    )
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("visitor")
        verbose_name_plural = _("visitors")
        # A returning visitor is recognised by phone at every check-in (and by account).
        indexes: ClassVar = [models.Index(fields=["phone"], name="visitor_phone")]

    def __str__(self) -> str:
        return self.full_name


class VisitPurpose(models.TextChoices):
    CASE = "CASE", _("Account or payment problem")
    FOLLOW_UP = "FOLLOW_UP", _("Follow-up on an earlier case")
    ENQUIRY = "ENQUIRY", _("General enquiry")
    OTHER = "OTHER", _("Other (not for the support center)")


class AssistanceNeed(models.TextChoices):
    ELDERLY = "ELDERLY", _("Elderly visitor")
    LANGUAGE = "LANGUAGE", _("Language help")
    DISABILITY = "DISABILITY", _("Disability")
    MINOR_WITH_GUARDIAN = "MINOR_WITH_GUARDIAN", _("Minor with a guardian")


class TurnAwayReason(models.TextChoices):
    NOT_A_VISITOR = "NOT_A_VISITOR", _("Passer-by (bathroom, directions…)")
    SECURITY = "SECURITY", _("Did not pass the security screening")
    REFUSED_RULES = "REFUSED_RULES", _("Refused to store items or accept the no-recording rule")
    OUTSIDE_HOURS = "OUTSIDE_HOURS", _("Outside opening hours")
    OTHER = "OTHER", _("Other")


class Visit(models.Model):
    """One pass through the security door: either a check-in or a turned-away person."""

    class Status(models.TextChoices):
        CHECKED_IN = "CHECKED_IN", _("Checked in")
        TURNED_AWAY = "TURNED_AWAY", _("Turned away")

    # No index of its own: the index below that starts with the center serves it.
    center = models.ForeignKey(
        Center, on_delete=models.PROTECT, related_name="visits", db_index=False
    )
    visitor = models.ForeignKey(
        Visitor, on_delete=models.PROTECT, related_name="visits", null=True, blank=True
    )
    status = models.CharField(_("status"), max_length=16, choices=Status)
    purpose = models.CharField(_("purpose"), max_length=16, choices=VisitPurpose)
    screening_passed = models.BooleanField(_("security screening passed"), default=False)
    items_stored = models.BooleanField(_("bags and drinks stored"), default=False)
    locker_tag = models.CharField(_("locker tag"), max_length=16, blank=True)
    recording_rule_acknowledged = models.BooleanField(
        _("no-recording rule acknowledged"), default=False
    )
    assistance_needs = models.JSONField(_("assistance needs"), default=list, blank=True)
    assisted_by_staff = models.BooleanField(_("check-in completed by staff"), default=False)
    turned_away_reason = models.CharField(
        _("reason turned away"), max_length=16, choices=TurnAwayReason, blank=True
    )
    turned_away_note = models.CharField(_("note"), max_length=200, blank=True)
    # Recorded by the guardian check of a minor's case; erased with the visitor's name.
    guardian_name = models.CharField(_("guardian's name"), max_length=120, blank=True)
    # Unique by a constraint (below), not the field: on PostgreSQL a unique text field gets
    # a second index for LIKE, which no lookup of a key uses and every check-in writes.
    idempotency_key = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001 - unique: many nulls
    at = models.DateTimeField(_("at"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )

    class Meta:
        verbose_name = _("visit")
        verbose_name_plural = _("visits")
        indexes: ClassVar = [models.Index(fields=["center", "at"])]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["idempotency_key"], name="visit_idempotency_key_unique"
            ),
            models.CheckConstraint(
                name="visit_checked_in_passed_security",
                condition=~Q(status="CHECKED_IN")
                | (
                    Q(screening_passed=True, recording_rule_acknowledged=True)
                    & Q(visitor__isnull=False)
                    & (Q(items_stored=False) | ~Q(locker_tag=""))
                ),
            ),
            models.CheckConstraint(
                name="visit_turned_away_has_reason",
                condition=~Q(status="TURNED_AWAY") | ~Q(turned_away_reason=""),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_status_display()} {self.at:%Y-%m-%d %H:%M}"

    @property
    def assistance_need_labels(self) -> list[str]:
        return [
            str(AssistanceNeed(need).label)
            for need in self.assistance_needs
            if need in AssistanceNeed.values
        ]


class IdentityCheckMethod(models.TextChoices):
    KNOWLEDGE = "KNOWLEDGE", _("Account knowledge questions")
    FACE_VIDEO = "FACE_VIDEO", _("Face video against the reference photo")
    ID_DOCUMENT = "ID_DOCUMENT", _("ID document")
    GUARDIAN = "GUARDIAN", _("Guardian verification")


class CaseType(models.Model):
    """A kind of problem the center handles, with its own intake form and checks.

    ``intake_fields`` is a list of field specs read by :mod:`center.intake`, e.g.
    ``{"name": "registration_year", "label": "Year registered", "kind": "year",
    "required": true}``.
    """

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=120)
    name_zh = models.CharField(_("name (Simplified Chinese)"), max_length=120, blank=True)
    description = models.TextField(_("description"), blank=True)
    description_zh = models.TextField(_("description (Simplified Chinese)"), blank=True)
    self_service_hint = models.TextField(
        _("self-service hint"),
        blank=True,
        help_text=_(
            "Only where it really solves the problem: what a visitor can do without "
            "waiting for a desk. Shown at the kiosk and on the status page."
        ),
    )
    self_service_hint_zh = models.TextField(_("self-service hint (Simplified Chinese)"), blank=True)
    skill = models.CharField(
        _("skill"),
        max_length=32,
        help_text=_("Code of the queue service whose desks handle this case type."),
    )
    intake_fields = models.JSONField(_("intake fields"), default=list, blank=True)
    required_checks = models.JSONField(_("required identity checks"), default=list, blank=True)
    what_to_bring = models.JSONField(_("what to bring"), default=list, blank=True)
    expected_service_s = models.PositiveIntegerField(_("expected service time (s)"), default=600)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("case type")
        verbose_name_plural = _("case types")
        ordering: ClassVar = ["name"]

    def __str__(self) -> str:
        return self.name

    def localized_name(self, language: str) -> str:
        return in_language(language, self.name, self.name_zh)

    def localized_description(self, language: str) -> str:
        return in_language(language, self.description, self.description_zh)

    def localized_self_service_hint(self, language: str) -> str:
        return in_language(language, self.self_service_hint, self.self_service_hint_zh)

    def localized_what_to_bring(self, language: str) -> list[str]:
        """The checklist in the visitor's language. An item is a text, shown as it is, or
        ``{"en": "National ID card", "zh": "居民身份证"}``, shown in Chinese to a Chinese
        speaker when it has Chinese, else in English."""
        return [
            in_language(language, str(item.get("en") or item.get("zh", "")), item.get("zh"))
            if isinstance(item, dict)
            else str(item)
            for item in self.what_to_bring
        ]

    @property
    def required_check_labels(self) -> list[str]:
        return [
            str(IdentityCheckMethod(code).label)
            for code in self.required_checks
            if code in IdentityCheckMethod.values
        ]


class ReporterCategory(models.TextChoices):
    NONE = "NONE", _("Nobody reported it")
    RIGHTS_HOLDER = "RIGHTS_HOLDER", _("A rights holder")
    USER_REPORT = "USER_REPORT", _("Another user")
    AUTOMATED = "AUTOMATED", _("Automated detection")


class PlatformAccount(models.Model):
    """The simulated platform's registry entry that representatives look up."""

    class Kind(models.TextChoices):
        PERSONAL = "PERSONAL", _("Messaging account")
        WALLET = "WALLET", _("Digital wallet")
        MERCHANT = "MERCHANT", _("Merchant account")
        GAME = "GAME", _("Game account")

    class Status(models.TextChoices):
        ACTIVE = "ACTIVE", _("Active")
        SUSPENDED = "SUSPENDED", _("Suspended")
        FROZEN = "FROZEN", _("Frozen")
        RESTRICTED = "RESTRICTED", _("Restricted")

    handle = models.CharField(_("account ID"), max_length=64, unique=True)
    display_name = models.CharField(_("display name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind)
    status = models.CharField(_("status"), max_length=16, choices=Status, default=Status.ACTIVE)
    suspension_reason = models.CharField(
        _("suspension reason"),
        max_length=32,
        choices=SuspensionReason,
        default=SuspensionReason.NONE,
    )
    suspension_automated = models.BooleanField(_("suspended automatically"), default=False)
    suspended_at = models.DateTimeField(_("suspended at"), null=True, blank=True)
    registration_year = models.PositiveSmallIntegerField(_("registration year"))
    registration_phone_masked = models.CharField(_("registration phone"), max_length=32)
    registration_phone_active = models.BooleanField(_("registration phone active"), default=True)
    reporter_category = models.CharField(
        _("reported by"), max_length=16, choices=ReporterCategory, default=ReporterCategory.NONE
    )
    # Staff-only: never rendered on a visitor-facing page or socket (see selectors).
    reporter_identity = models.CharField(_("reporter identity"), max_length=200, blank=True)
    wallet_balance_cents = models.BigIntegerField(_("wallet balance (cents)"), default=0)
    reference_photo = models.FileField(
        _("reference photo"), upload_to="platform/reference_photos/", blank=True
    )
    records = models.JSONField(
        _("records"),
        default=dict,
        blank=True,
        help_text=_("Account knowledge, wallet and game-spending records."),
    )

    class Meta:
        verbose_name = _("platform account")
        verbose_name_plural = _("platform accounts")
        constraints: ClassVar = [
            models.CheckConstraint(
                name="platform_account_restriction_has_reason",
                condition=Q(status="ACTIVE") | ~Q(suspension_reason="NONE"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.handle} ({self.get_status_display()})"

    @property
    def wallet_balance(self) -> Decimal:
        return Decimal(self.wallet_balance_cents) / 100

    @property
    def is_restricted(self) -> bool:
        return self.status != self.Status.ACTIVE


class Case(models.Model):
    class Status(models.TextChoices):
        OPEN = "OPEN", pgettext_lazy("case status", "Open")
        RESOLVED = "RESOLVED", _("Resolved")
        REFERRED = "REFERRED", _("Referred to a specialist")
        CANCELLED = "CANCELLED", _("Cancelled")

    center = models.ForeignKey(Center, on_delete=models.PROTECT, related_name="cases")
    visit = models.ForeignKey(Visit, on_delete=models.PROTECT, related_name="cases")
    case_type = models.ForeignKey(CaseType, on_delete=models.PROTECT, related_name="cases")
    # Unique by a constraint (below): see Visit.idempotency_key.
    reference = models.CharField(_("reference"), max_length=32)
    account_handle = models.CharField(_("account ID"), max_length=64, blank=True)
    platform_account = models.ForeignKey(
        PlatformAccount, on_delete=models.PROTECT, null=True, blank=True, related_name="cases"
    )
    complaint = models.JSONField(_("complaint"), default=dict, blank=True)
    complaint_text = models.TextField(_("description of the problem"), max_length=4000)
    status = models.CharField(_("status"), max_length=16, choices=Status, default=Status.OPEN)
    follows = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="follow_ups",
        verbose_name=_("follows the earlier case"),
    )
    opened_at = models.DateTimeField(_("opened at"))
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["reference"], name="case_reference_unique"),
        ]
        indexes: ClassVar = [models.Index(fields=["account_handle"], name="case_account_handle")]

    def __str__(self) -> str:
        return self.reference


class Callback(models.Model):
    """A promise to call the visitor back, with a deadline; kept or breached."""

    class Reason(models.TextChoices):
        INCIDENT = "INCIDENT", _("Chose a callback during a platform incident")
        REFERRAL = "REFERRAL", _("Referred to a specialist")

    class Status(models.TextChoices):
        PROMISED = "PROMISED", _("Promised")
        ATTEMPTED = "ATTEMPTED", _("Attempted")
        DONE = "DONE", _("Done")
        BREACHED = "BREACHED", _("Breached")

    class Channel(models.TextChoices):
        PHONE = "PHONE", _("Phone call")
        SMS = "SMS", _("Text message")
        VIDEO = "VIDEO", _("Video call")

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="callbacks")
    reason = models.CharField(_("reason"), max_length=16, choices=Reason)
    channel = models.CharField(_("channel"), max_length=8, choices=Channel, default=Channel.PHONE)
    phone = models.CharField(_("phone"), max_length=32)
    status = models.CharField(_("status"), max_length=16, choices=Status, default=Status.PROMISED)
    window_starts_at = models.DateTimeField(_("call back from"), null=True, blank=True)
    due_at = models.DateTimeField(_("call back by"))
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"))
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)

    class Meta:
        verbose_name = _("callback")
        verbose_name_plural = _("callbacks")
        constraints: ClassVar = [
            models.CheckConstraint(name="callback_has_phone", condition=~Q(phone="")),
            # "Kept on time" compares done_at with due_at.
            models.CheckConstraint(
                name="callback_done_has_done_at",
                condition=~Q(status="DONE") | Q(done_at__isnull=False),
            ),
            models.CheckConstraint(
                name="callback_window_before_due",
                condition=Q(window_starts_at__isnull=True) | Q(window_starts_at__lt=F("due_at")),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case.reference}: {self.get_status_display()} by {self.due_at:%Y-%m-%d %H:%M}"


class Outcome(models.TextChoices):
    RESTORED = "RESTORED", _("Restored")
    DENIED = "DENIED", _("Denied")
    REFERRED = "REFERRED", _("Referred to a specialist")
    REFUND_INITIATED = "REFUND_INITIATED", _("Refund initiated")
    GUIDANCE_GIVEN = "GUIDANCE_GIVEN", _("Guidance given")
    NEEDS_MORE_INFO = "NEEDS_MORE_INFO", _("More information needed")


class Resolution(models.Model):
    """The written decision on a case, and the change it made to the platform account."""

    case = models.OneToOneField(Case, on_delete=models.PROTECT, related_name="resolution")
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome)
    reason_code = models.CharField(_("reason code"), max_length=32, choices=SuspensionReason)
    explanation = models.TextField(_("explanation for the visitor"), max_length=4000)
    account_status_before = models.CharField(max_length=16, blank=True)
    account_status_after = models.CharField(max_length=16, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided at"))
    # The statement of reasons: was the measure being reviewed taken by a machine or a
    # person, and until when the visitor may contest this decision.
    original_decision_automated = models.BooleanField(
        _("original measure was automated"), null=True, blank=True
    )
    contest_until = models.DateField(_("may be contested until"), null=True, blank=True)
    # Restoring without the case type's required identity checks needs a supervisor.
    checks_overridden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("identity checks overridden by"),
    )
    override_reason = models.TextField(_("reason for the override"), max_length=2000, blank=True)

    class Meta:
        verbose_name = _("resolution")
        verbose_name_plural = _("resolutions")
        constraints: ClassVar = [
            models.CheckConstraint(name="resolution_has_explanation", condition=~Q(explanation="")),
            models.CheckConstraint(
                name="resolution_override_has_reason",
                condition=Q(checks_overridden_by__isnull=True, override_reason="")
                | (Q(checks_overridden_by__isnull=False) & ~Q(override_reason="")),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case.reference}: {self.get_outcome_display()}"


class CheckResult(models.TextChoices):
    PASS = "PASS", _("Passed")
    FAIL = "FAIL", _("Failed")
    INCONCLUSIVE = "INCONCLUSIVE", _("Inconclusive")


class IdentityCheck(AppendOnlyModel):
    """One identity check on a case: how, with what result, by whom and when.

    The record outlives its media: after the center's retention period only this remains.
    ``details`` never holds the expected answers of knowledge questions."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="identity_checks")
    method = models.CharField(_("method"), max_length=16, choices=IdentityCheckMethod)
    result = models.CharField(_("result"), max_length=16, choices=CheckResult)
    score = models.FloatField(_("score"), null=True, blank=True)
    details = models.JSONField(_("details"), default=dict, blank=True)
    performed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    performed_at = models.DateTimeField(_("performed at"))

    class Meta:
        verbose_name = _("identity check")
        verbose_name_plural = _("identity checks")
        indexes: ClassVar = [models.Index(fields=["case", "method"])]

    def __str__(self) -> str:
        return f"{self.case.reference}: {self.get_method_display()} {self.get_result_display()}"


class IdentityMedia(models.Model):
    """A face video, frame or document photo taken for an identity check, deleted (file
    and row) once ``purge_after`` has passed."""

    class Kind(models.TextChoices):
        FACE_VIDEO = "FACE_VIDEO", _("Face video")
        ID_DOCUMENT = "ID_DOCUMENT", _("ID document photo")
        GUARDIAN_DOCUMENT = "GUARDIAN_DOCUMENT", _("Guardian's ID document photo")

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="identity_media")
    check_record = models.ForeignKey(
        IdentityCheck,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="media",
        verbose_name=_("identity check"),
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind)
    file = models.FileField(_("file"), upload_to="identity/%Y/%m/%d/")
    content_type = models.CharField(_("content type"), max_length=100, blank=True)
    captured_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    captured_at = models.DateTimeField(_("captured at"))
    purge_after = models.DateTimeField(_("delete after"))

    class Meta:
        verbose_name = _("identity media")
        verbose_name_plural = _("identity media")
        indexes: ClassVar = [models.Index(fields=["purge_after"])]
        constraints: ClassVar = [
            models.CheckConstraint(
                name="identity_media_purge_after_capture",
                condition=Q(purge_after__gt=F("captured_at")),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case.reference}: {self.get_kind_display()}"


class CallbackAttempt(AppendOnlyModel):
    """Every attempt to keep a callback promise, as it happened."""

    class Result(models.TextChoices):
        REACHED = "REACHED", _("Reached the visitor")
        NO_ANSWER = "NO_ANSWER", _("No answer")
        LEFT_MESSAGE = "LEFT_MESSAGE", _("Left a message")
        WRONG_NUMBER = "WRONG_NUMBER", _("Wrong number")

    callback = models.ForeignKey(Callback, on_delete=models.PROTECT, related_name="attempts")
    result = models.CharField(_("result"), max_length=16, choices=Result)
    note = models.CharField(_("note"), max_length=500, blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(_("at"))

    class Meta:
        verbose_name = _("callback attempt")
        verbose_name_plural = _("callback attempts")
        ordering: ClassVar = ["at"]

    def __str__(self) -> str:
        return f"{self.callback_id}: {self.get_result_display()} at {self.at:%Y-%m-%d %H:%M}"


class AuditEvent(AppendOnlyModel):
    """Append-only trail of every staff action on a case, ticket or desk."""

    # No index of its own: the index below that starts with the center serves it.
    center = models.ForeignKey(
        Center, on_delete=models.PROTECT, related_name="audit_events", db_index=False
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    action = models.CharField(_("action"), max_length=64)
    subject = models.CharField(_("subject"), max_length=64)
    details = models.JSONField(_("details"), default=dict, blank=True)
    at = models.DateTimeField(_("at"))

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        indexes: ClassVar = [models.Index(fields=["center", "at"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.action} {self.subject}"
