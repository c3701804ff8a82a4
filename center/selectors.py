"""Reads of the front-desk domain. What a visitor may see of an account is decided here,
once: the reporter's identity never leaves this module on a visitor's path."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import F, Q

from center.models import (
    Callback,
    Case,
    Center,
    PlatformAccount,
    ReporterCategory,
    Role,
    StaffProfile,
)
from center.policy import explain_suspension, policy_clause

# Where the roles read with the staff profile are kept on the user object of a request.
_ROLES_READ = "_walkin_roles"
ROLES = frozenset(Role.values)


def staff_center(user: AbstractBaseUser) -> Center | None:
    """The center a staff member works at (None without a staff profile).

    One query on every staff request: it reads the member's groups too (a row per group),
    and keeps the roles among them on this user object for :func:`user_roles` (a
    request's user is loaded per request)."""
    if not user.is_authenticated:
        return None
    rows = list(
        StaffProfile.objects.select_related("center")
        .filter(user_id=user.pk)
        .annotate(group_name=F("user__groups__name"))
    )
    if not rows:
        return None
    setattr(user, _ROLES_READ, frozenset(row.group_name for row in rows) & ROLES)
    return rows[0].center


def user_roles(user: AbstractBaseUser) -> set[str]:
    if not user.is_authenticated:
        return set()
    read = getattr(user, _ROLES_READ, None)
    if read is not None:
        return set(read)
    return set(user.groups.filter(name__in=Role.values).values_list("name", flat=True))


@dataclass(frozen=True)
class VisitorAccountView:
    """The part of a platform account a visitor may read about their own case."""

    handle: str
    status_label: str
    reason_label: str
    explanation: str
    policy_clause: str
    automated: bool
    reporter_category_label: str


def account_for_visitor(account: PlatformAccount) -> VisitorAccountView:
    return VisitorAccountView(
        handle=account.handle,
        status_label=str(account.get_status_display()),
        reason_label=str(account.get_suspension_reason_display()),
        explanation=explain_suspension(account.suspension_reason),
        policy_clause=policy_clause(account.suspension_reason),
        automated=account.suspension_automated,
        reporter_category_label=str(ReporterCategory(account.reporter_category).label),
    )


@dataclass(frozen=True)
class VisitorOutcomeView:
    reference: str
    outcome_label: str
    explanation: str
    reason_label: str
    reason_explanation: str
    policy_clause: str
    reporter_category_label: str
    reported: bool
    decided_at: object


def outcome_for_visitor(case: Case) -> VisitorOutcomeView | None:
    resolution = getattr(case, "resolution", None)
    if resolution is None:
        return None
    account = case.platform_account
    return VisitorOutcomeView(
        reference=case.reference,
        outcome_label=str(resolution.get_outcome_display()),
        explanation=resolution.explanation,
        reason_label=str(resolution.get_reason_code_display()),
        reason_explanation=explain_suspension(resolution.reason_code),
        policy_clause=policy_clause(resolution.reason_code),
        reporter_category_label=str(ReporterCategory(account.reporter_category).label)
        if account
        else "",
        reported=bool(account and account.reporter_category != ReporterCategory.NONE),
        decided_at=resolution.decided_at,
    )


HISTORY_DEPTH = 5


def case_history(case: Case) -> list[Case]:
    """The earlier cases a returning visitor's case continues, latest first, each with its
    decision, identity checks and callbacks (staff only)."""
    history: list[Case] = []
    earlier_id = case.follows_id
    while earlier_id is not None and len(history) < HISTORY_DEPTH:
        earlier = (
            Case.objects.select_related("case_type", "resolution", "visit")
            .prefetch_related("identity_checks", "callbacks__attempts", "callbacks__owner")
            .filter(pk=earlier_id)
            .first()
        )
        if earlier is None:
            break
        history.append(earlier)
        earlier_id = earlier.follows_id
    return history


def callbacks_open(center: Center, user: AbstractBaseUser | None = None) -> list[Callback]:
    """The promises not yet kept, soonest deadline first: a specialist's own and the
    unassigned ones of the specialist queue, or (``user=None``) every one of the center."""
    callbacks = Callback.objects.filter(
        case__center=center,
        status__in=(Callback.Status.PROMISED, Callback.Status.ATTEMPTED, Callback.Status.BREACHED),
    )
    if user is not None:
        callbacks = callbacks.filter(Q(owner=user) | Q(owner__isnull=True))
    return list(
        callbacks.select_related("case__case_type", "case__visit__visitor", "owner")
        .prefetch_related("attempts")
        .order_by("due_at", "pk")
    )


def callbacks_overdue(center: Center) -> list[Callback]:
    """The promises broken and still not kept, for the supervisor's alarm."""
    return list(
        Callback.objects.filter(case__center=center, status=Callback.Status.BREACHED)
        .select_related("case", "owner")
        .order_by("due_at", "pk")
    )
