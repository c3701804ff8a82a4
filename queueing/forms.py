"""Forms of the screens. The kiosk form grows the intake questions of the chosen case
type, so a complaint is validated the same way at the kiosk, on the status page and in
the services."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from center import clock
from center.intake import complaint_fields, complaint_from_cleaned
from center.models import (
    AssistanceNeed,
    Callback,
    CaseType,
    Center,
    Outcome,
    TurnAwayReason,
    VisitPurpose,
)
from center.policy import SuspensionReason
from center.services import specialists_of
from queueing.models import Service
from queueing.services import CheckIn

NAME_MAX = 120


class CaseTypeChoiceField(forms.ModelChoiceField):
    """The active case types, chosen by code. ``known``: the case type the form already
    read for the code it was sent, which cleaning then takes instead of reading it again."""

    known: CaseType | None = None

    def to_python(self, value: Any) -> CaseType | None:
        if self.known is not None and value == self.known.code:
            return self.known
        return super().to_python(value)


def active_case_types() -> CaseTypeChoiceField:
    return CaseTypeChoiceField(
        queryset=CaseType.objects.filter(active=True),
        label=_("Case type"),
        empty_label=_("— choose the problem —"),
        to_field_name="code",
        error_messages={"invalid_choice": _("Choose one of the listed case types.")},
    )


class KioskForm(forms.Form):
    """Security check-in plus the case and its pre-filled complaint."""

    idempotency_key = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)
    full_name = forms.CharField(label=_("Visitor's name"), max_length=NAME_MAX)
    phone = forms.RegexField(
        label=_("Phone (optional)"),
        regex=r"^\+?[0-9 ()-]{5,24}$",
        required=False,
        error_messages={"invalid": _("Enter a phone number: digits, spaces, + ( ) -.")},
    )
    texts_consent = forms.BooleanField(
        label=_(
            "Text me on this phone if I step away: when it is almost my turn and when I am called"
        ),
        required=False,
    )
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES, initial="en")
    purpose = forms.ChoiceField(
        label=_("Purpose of visit"),
        choices=[c for c in VisitPurpose.choices if c[0] != VisitPurpose.OTHER],
    )
    screening_passed = forms.BooleanField(
        label=_("Security screening passed"),
        error_messages={"required": _("The security screening must be passed.")},
    )
    items_stored = forms.BooleanField(label=_("Bags and drinks stored"), required=False)
    locker_tag = forms.CharField(label=_("Locker tag"), max_length=16, required=False)
    recording_rule_acknowledged = forms.BooleanField(
        label=_("No recording or photos: rule explained and acknowledged"),
        error_messages={"required": _("The visitor must acknowledge the no-recording rule.")},
    )
    assistance_needs = forms.MultipleChoiceField(
        label=_("Assistance needs"),
        choices=AssistanceNeed.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    assisted_by_staff = forms.BooleanField(
        label=_("Staff filled this in for the visitor"), required=False
    )
    account_handle = forms.CharField(
        label=_("Platform account ID (if known)"), max_length=64, required=False
    )
    complaint_text = forms.CharField(
        label=_("The problem, in the visitor's words"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, language: str = "en", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["case_type"] = active_case_types()
        self.order_fields(
            [
                "idempotency_key",
                "full_name",
                "phone",
                "texts_consent",
                "language",
                "purpose",
                "screening_passed",
                "items_stored",
                "locker_tag",
                "recording_rule_acknowledged",
                "assistance_needs",
                "assisted_by_staff",
                "case_type",
                "account_handle",
                "complaint_text",
            ]
        )
        if not self.is_bound:
            self.initial.setdefault("idempotency_key", uuid.uuid4().hex)
        # Not ``case_type``: templates look ``form.case_type`` up as the bound field.
        self.chosen_case_type = self._chosen_case_type()
        self.fields["case_type"].known = self.chosen_case_type
        self.complaint_field_names: list[str] = []
        self.what_to_bring: list[str] = []
        self.case_type_description = self.self_service_hint = ""
        if self.chosen_case_type is not None:
            self.what_to_bring = self.chosen_case_type.localized_what_to_bring(language)
            self.case_type_description = self.chosen_case_type.localized_description(language)
            self.self_service_hint = self.chosen_case_type.localized_self_service_hint(language)
            extra = complaint_fields(self.chosen_case_type, language)
            self.fields.update(extra)
            self.complaint_field_names = list(extra)

    def _chosen_case_type(self) -> CaseType | None:
        code = (self.data or {}).get("case_type") or self.initial.get("case_type")
        if not code or not isinstance(code, str) or len(code) > 32:
            return None
        return CaseType.objects.filter(code=code, active=True).first()

    @property
    def case_type_choices(self) -> list[tuple[Any, str]]:
        """The case type menu as a list. A template's for loop over the field's choices,
        or ``list()`` of them, asks their length first: one COUNT query more."""
        return list(iter(self.fields["case_type"].choices))

    @property
    def complaint_bound_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.complaint_field_names]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("items_stored") and not (cleaned.get("locker_tag") or "").strip():
            self.add_error("locker_tag", _("Enter the locker tag for the stored items."))
        if cleaned.get("texts_consent") and not cleaned.get("phone"):
            self.add_error("phone", _("Enter the phone number the texts should go to."))
        return cleaned

    def to_checkin(self) -> CheckIn:
        data = self.cleaned_data
        return CheckIn(
            full_name=data["full_name"],
            phone=data["phone"] or "",
            language=data["language"],
            purpose=data["purpose"],
            screening_passed=data["screening_passed"],
            items_stored=data["items_stored"],
            locker_tag=data["locker_tag"],
            recording_rule_acknowledged=data["recording_rule_acknowledged"],
            assistance_needs=tuple(data["assistance_needs"]),
            assisted_by_staff=data["assisted_by_staff"],
            texts_consent=data["texts_consent"],
            case_type=data["case_type"],
            account_handle=data["account_handle"],
            complaint=complaint_from_cleaned(data["case_type"], data),
            complaint_text=data["complaint_text"],
            idempotency_key=data["idempotency_key"] or None,
        )


class TurnAwayForm(forms.Form):
    reason = forms.ChoiceField(label=_("Reason"), choices=TurnAwayReason.choices)
    note = forms.CharField(label=_("Note (optional)"), max_length=200, required=False)


class ComplaintForm(forms.Form):
    """The visitor corrects their complaint on the status page."""

    complaint_text = forms.CharField(
        label=_("Your problem, in your words"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    def __init__(self, *args: Any, case_type: CaseType, language: str = "en", **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.case_type = case_type
        self.fields.update(complaint_fields(case_type, language))

    def complaint(self) -> dict[str, Any]:
        return complaint_from_cleaned(self.case_type, self.cleaned_data)


class AccountLookupForm(forms.Form):
    handle = forms.CharField(label=_("Platform account ID"), max_length=64)


class TransferForm(forms.Form):
    def __init__(self, *args: Any, center_id: int, exclude_service_id: int | None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["service"] = forms.ModelChoiceField(
            label=_("Transfer to"),
            queryset=Service.objects.filter(center_id=center_id).exclude(pk=exclude_service_id),
            empty_label=_("— choose a service —"),
            error_messages={"invalid_choice": _("Choose one of the listed services.")},
        )


class ResolveForm(forms.Form):
    outcome = forms.ChoiceField(
        label=_("Outcome"), choices=[("", _("— choose the decision —")), *Outcome.choices]
    )
    reason_code = forms.ChoiceField(
        label=_("Policy reason"),
        choices=[("", _("The account's own suspension reason")), *SuspensionReason.choices],
        required=False,
    )
    explanation = forms.CharField(
        label=_("Explanation for the visitor"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    callback_owner = forms.ModelChoiceField(
        label=_("Specialist who calls back (referrals)"),
        queryset=get_user_model().objects.none(),
        required=False,
        empty_label=_("The specialist queue"),
        error_messages={"invalid_choice": _("Choose one of the listed specialists.")},
    )
    callback_channel = forms.ChoiceField(
        label=_("Call back by"),
        choices=Callback.Channel.choices,
        initial=Callback.Channel.PHONE,
        required=False,
    )
    callback_phone = forms.RegexField(
        label=_("Phone for the callback (if not the one given at check-in)"),
        regex=r"^\+?[0-9 ()-]{5,24}$",
        required=False,
        error_messages={"invalid": _("Enter a phone number: digits, spaces, + ( ) -.")},
    )
    override_reason = forms.CharField(
        label=_("Supervisor override: why restore without the missing checks"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(
        self, *args: Any, center: Center | None = None, supervisor: bool = False, **kwargs
    ):
        super().__init__(*args, **kwargs)
        if center is not None:
            owner = self.fields["callback_owner"]
            owner.queryset = specialists_of(center)
            owner.label_from_instance = lambda user: user.get_full_name() or user.get_username()
        if not supervisor:
            del self.fields["override_reason"]

    def clean_callback_channel(self) -> str:
        return self.cleaned_data.get("callback_channel") or Callback.Channel.PHONE


class NoticeForm(forms.Form):
    """A structured incident notice: what, which case types, since when, next update."""

    what = forms.CharField(
        label=_("What happened"),
        max_length=300,
        widget=forms.TextInput(
            attrs={"placeholder": _("e.g. Wallet payments fail for many users")}
        ),
    )
    case_types = forms.ModelMultipleChoiceField(
        label=_("Affected case types"),
        queryset=CaseType.objects.filter(active=True),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    since_at = forms.DateTimeField(
        label=_("Since"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    next_update_at = forms.DateTimeField(
        label=_("Next update at"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            now = timezone.localtime(clock.now()).replace(second=0, microsecond=0)
            self.initial.setdefault("since_at", now.strftime("%Y-%m-%dT%H:%M"))
            self.initial.setdefault(
                "next_update_at", (now + dt.timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M")
            )


class FeedbackForm(forms.Form):
    """One question after the decision, in the visitor's language."""

    rating = forms.TypedChoiceField(
        label=_("How satisfied are you with today's visit?"),
        choices=[
            (1, _("1 · Very dissatisfied")),
            (2, _("2 · Dissatisfied")),
            (3, _("3 · Neither")),
            (4, _("4 · Satisfied")),
            (5, _("5 · Very satisfied")),
        ],
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose a number from 1 to 5.")},
    )
    comment = forms.CharField(
        label=_("Anything you want to tell us? (optional)"),
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
