"""Complaint intake per case type: builds a validating form from the case type's field
specs, so the kiosk, the visitor's status page and the services check complaints alike."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from center import clock
from center.languages import in_language
from center.models import CaseType

FIELD_PREFIX = "complaint_"
MAX_TEXT = 500

_phone_digits = RegexValidator(r"^\d{2,6}$", _("Enter 2 to 6 digits."))


def _choice_field(spec: dict[str, Any], **common: Any) -> forms.Field:
    choices = [("", "—"), *((choice, choice) for choice in spec.get("choices", []))]
    return forms.ChoiceField(choices=choices, **common)


_BUILDERS: dict[str, Any] = {
    "year": lambda spec, **common: forms.IntegerField(
        min_value=1990, max_value=clock.now().year, **common
    ),
    "money": lambda spec, **common: forms.DecimalField(
        min_value=0, max_value=10_000_000, decimal_places=2, **common
    ),
    "phone_digits": lambda spec, **common: forms.CharField(
        max_length=6, validators=[_phone_digits], **common
    ),
    "date": lambda spec, **common: forms.DateField(**common),
    "choice": _choice_field,
    "textarea": lambda spec, **common: forms.CharField(
        max_length=MAX_TEXT * 4, widget=forms.Textarea(attrs={"rows": 3}), **common
    ),
    "text": lambda spec, **common: forms.CharField(
        max_length=int(spec.get("max_length", MAX_TEXT)), **common
    ),
}


def _field_for(spec: dict[str, Any], language: str) -> forms.Field:
    build = _BUILDERS.get(spec.get("kind", "text"), _BUILDERS["text"])
    return build(
        spec,
        label=in_language(language, spec.get("label", spec["name"]), spec.get("label_zh")),
        required=bool(spec.get("required", False)),
        help_text=spec.get("help", ""),
    )


def complaint_fields(case_type: CaseType, language: str = "en") -> dict[str, forms.Field]:
    """Form fields for a case type's intake, named with ``FIELD_PREFIX``."""
    return {
        FIELD_PREFIX + spec["name"]: _field_for(spec, language) for spec in case_type.intake_fields
    }


def complaint_from_cleaned(case_type: CaseType, cleaned: dict[str, Any]) -> dict[str, Any]:
    """The JSON-safe complaint answers out of a form's cleaned data."""
    complaint: dict[str, Any] = {}
    for spec in case_type.intake_fields:
        value = cleaned.get(FIELD_PREFIX + spec["name"])
        if value in (None, ""):
            continue
        complaint[spec["name"]] = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return complaint


def complaint_initial(case_type: CaseType, complaint: dict[str, Any]) -> dict[str, Any]:
    return {FIELD_PREFIX + name: value for name, value in complaint.items()}


def validate_complaint(case_type: CaseType, complaint: dict[str, Any]) -> dict[str, Any]:
    """Checks stored-form answers against the case type; raises ValidationError."""
    form_class = type("ComplaintForm", (forms.Form,), complaint_fields(case_type))
    form = form_class(data=complaint_initial(case_type, complaint))
    if not form.is_valid():
        raise forms.ValidationError(
            [f"{form.fields[name].label}: {' '.join(errs)}" for name, errs in form.errors.items()]
        )
    return complaint_from_cleaned(case_type, form.cleaned_data)


def complaint_display(case_type: CaseType, complaint: dict[str, Any], language: str = "en"):
    """(label, value) pairs in the case type's field order, for pages."""
    fields = complaint_fields(case_type, language)
    return [
        (fields[FIELD_PREFIX + spec["name"]].label, complaint[spec["name"]])
        for spec in case_type.intake_fields
        if spec["name"] in complaint
    ]
