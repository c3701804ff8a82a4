"""The statement of reasons: what a visitor takes home from a decision.

Every decision states the measure and what it changed, the facts, the policy clause it
rests on, whether the original measure was taken by a machine or a person, how to contest
it and by when, and any callback promised. Built only from the case's resolution and the
reporter's *category*: the reporter's identity is never read here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils.translation import gettext as _

from center import clock
from center.models import Callback, Case, PlatformAccount, ReporterCategory
from center.policy import SuspensionReason, explain_suspension, policy_clause


@dataclass(frozen=True)
class CallbackPromise:
    """A promised callback as the visitor may see it: no staff names, no notes."""

    reason_label: str
    channel_label: str
    phone: str
    status: str
    status_label: str
    window_starts_at: dt.datetime | None
    due_at: dt.datetime
    done_at: dt.datetime | None
    attempts: int

    @property
    def overdue(self) -> bool:
        return self.status == Callback.Status.BREACHED or (
            self.status in (Callback.Status.PROMISED, Callback.Status.ATTEMPTED)
            and clock.now() > self.due_at
        )


@dataclass(frozen=True)
class Statement:
    reference: str
    case_type_name: str
    outcome: str
    outcome_label: str
    account_handle: str
    account_before_label: str
    account_after_label: str
    facts: str
    reason_code: str
    reason_label: str
    reason_explanation: str
    policy_clause: str
    original_decision_automated: bool | None
    reporter_category_label: str
    decided_at: dt.datetime
    contest_until: dt.date | None
    callbacks: tuple[CallbackPromise, ...]

    @property
    def account_changed(self) -> bool:
        return self.account_before_label != self.account_after_label

    @property
    def has_reason(self) -> bool:
        return self.reason_code != SuspensionReason.NONE

    @property
    def original_measure_label(self) -> str:
        if self.original_decision_automated is None:
            return ""
        if self.original_decision_automated:
            return _("Automated: taken by the platform's detection systems, not by a person.")
        return _("Manual: taken by a member of the platform's staff.")


def _status_label(status: str) -> str:
    return str(PlatformAccount.Status(status).label) if status else ""


def callback_promises(callbacks: list[Callback]) -> tuple[CallbackPromise, ...]:
    return tuple(
        CallbackPromise(
            reason_label=str(callback.get_reason_display()),
            channel_label=str(callback.get_channel_display()),
            phone=callback.phone,
            status=callback.status,
            status_label=str(callback.get_status_display()),
            window_starts_at=callback.window_starts_at,
            due_at=callback.due_at,
            done_at=callback.done_at,
            attempts=len(callback.attempts.all()),
        )
        for callback in callbacks
    )


def statement_for_case(case: Case, language: str = "en") -> Statement | None:
    """The statement of the case's decision, or None while it has none."""
    resolution = getattr(case, "resolution", None)
    if resolution is None:
        return None
    account = case.platform_account
    reported = account is not None and account.reporter_category != ReporterCategory.NONE
    callbacks = list(case.callbacks.order_by("created_at").prefetch_related("attempts"))
    return Statement(
        reference=case.reference,
        case_type_name=case.case_type.localized_name(language),
        outcome=resolution.outcome,
        outcome_label=str(resolution.get_outcome_display()),
        account_handle=case.account_handle,
        account_before_label=_status_label(resolution.account_status_before),
        account_after_label=_status_label(resolution.account_status_after),
        facts=resolution.explanation,
        reason_code=resolution.reason_code,
        reason_label=str(resolution.get_reason_code_display()),
        reason_explanation=explain_suspension(resolution.reason_code),
        policy_clause=policy_clause(resolution.reason_code),
        original_decision_automated=resolution.original_decision_automated,
        reporter_category_label=str(ReporterCategory(account.reporter_category).label)
        if reported
        else "",
        decided_at=resolution.decided_at,
        contest_until=resolution.contest_until,
        callbacks=callback_promises(callbacks),
    )
