"""Writes of the front-desk domain. Each function is one step of the visitor's day; the
queueing services compose them inside their own transaction."""

from __future__ import annotations

import datetime as dt
import mimetypes
import secrets
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from center import clock, face, identity
from center.errors import DomainError
from center.intake import validate_complaint
from center.models import (
    AssistanceNeed,
    AuditEvent,
    Callback,
    CallbackAttempt,
    Case,
    CaseType,
    Center,
    CheckResult,
    IdentityCheck,
    IdentityCheckMethod,
    IdentityMedia,
    Outcome,
    PlatformAccount,
    Resolution,
    Role,
    TurnAwayReason,
    Visit,
    Visitor,
    VisitPurpose,
)
from center.policy import SuspensionReason
from center.selectors import user_roles

REFERENCE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"

#: What each outcome does to a restricted platform account.
OUTCOME_ACCOUNT_STATUS: dict[str, str | None] = {
    Outcome.RESTORED: PlatformAccount.Status.ACTIVE,
    Outcome.DENIED: None,
    Outcome.REFERRED: None,
    Outcome.REFUND_INITIATED: None,
    Outcome.GUIDANCE_GIVEN: None,
    Outcome.NEEDS_MORE_INFO: None,
}
OUTCOME_CASE_STATUS: dict[str, str] = {
    Outcome.REFERRED: Case.Status.REFERRED,
}
#: Outcomes that give the visitor an account or a wallet back: they need the case type's
#: identity checks, or a supervisor's written override.
REACTIVATING_OUTCOMES = frozenset(
    outcome
    for outcome, status in OUTCOME_ACCOUNT_STATUS.items()
    if status == PlatformAccount.Status.ACTIVE
)
#: How long a visitor may contest a decision, from the day it was made.
CONTEST_PERIOD = dt.timedelta(days=30)
#: A referral's callback: the next day, within these local hours.
REFERRAL_CALLBACK_HOURS = (dt.time(9), dt.time(12))


def audit_record(
    *,
    center: Center,
    actor: AbstractBaseUser | None,
    action: str,
    subject: str,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    return AuditEvent.objects.create(
        center=center,
        actor=actor if actor is not None and actor.is_authenticated else None,
        action=action,
        subject=subject,
        details=details or {},
        at=clock.now(),
    )


def visit_turn_away(
    *,
    center: Center,
    reason: str,
    note: str = "",
    by: AbstractBaseUser | None,
) -> Visit:
    """Logs a person turned away at the door: counted, no visitor record, no case."""
    if reason not in TurnAwayReason.values:
        raise DomainError(_("Choose why the person was turned away."))
    with transaction.atomic():
        visit = Visit.objects.create(
            center=center,
            status=Visit.Status.TURNED_AWAY,
            purpose=VisitPurpose.OTHER,
            turned_away_reason=reason,
            turned_away_note=note[:200],
            at=clock.now(),
            recorded_by=by if by is not None and by.is_authenticated else None,
        )
        audit_record(
            center=center,
            actor=by,
            action="visit.turned_away",
            subject=f"visit:{visit.pk}",
            details={"reason": reason},
        )
    return visit


def visit_check_in(
    *,
    center: Center,
    full_name: str,
    phone: str = "",
    language: str = "en",
    purpose: str,
    screening_passed: bool,
    items_stored: bool,
    locker_tag: str = "",
    recording_rule_acknowledged: bool,
    assistance_needs: list[str] | tuple[str, ...] = (),
    assisted_by_staff: bool = False,
    idempotency_key: str | None = None,
    by: AbstractBaseUser | None,
) -> Visit:
    """Security check-in. Nobody passes the door without the screening and the rules."""
    full_name = full_name.strip()
    if not full_name:
        raise DomainError(_("Enter the visitor's name."))
    if not screening_passed:
        raise DomainError(_("The security screening must be passed before check-in."))
    if not recording_rule_acknowledged:
        raise DomainError(_("The visitor must acknowledge the no-recording rule."))
    if items_stored and not locker_tag.strip():
        raise DomainError(_("Enter the locker tag for the stored items."))
    if purpose not in VisitPurpose.values or purpose == VisitPurpose.OTHER:
        raise DomainError(_("Choose the purpose of the visit."))
    if not set(assistance_needs) <= set(AssistanceNeed.values):
        raise DomainError(_("Choose assistance needs from the list."))
    if language not in dict(settings.LANGUAGES):
        raise DomainError(_("Choose one of the offered languages."))
    now = clock.now()
    # Nested in the kiosk's check-in, no savepoint: the refusals above come before it, and
    # no caller goes on with a transaction that failed in here.
    with transaction.atomic(savepoint=False):
        visitor = Visitor.objects.create(
            center=center,
            full_name=full_name[:120],
            phone=phone.strip()[:32],
            language=language,
            created_at=now,
        )
        visit = Visit.objects.create(
            center=center,
            visitor=visitor,
            status=Visit.Status.CHECKED_IN,
            purpose=purpose,
            screening_passed=True,
            items_stored=items_stored,
            locker_tag=locker_tag.strip()[:16] if items_stored else "",
            recording_rule_acknowledged=True,
            assistance_needs=sorted(set(assistance_needs)),
            assisted_by_staff=assisted_by_staff,
            idempotency_key=idempotency_key or None,
            at=now,
            recorded_by=by if by is not None and by.is_authenticated else None,
        )
        audit_record(
            center=center,
            actor=by,
            action="visit.checked_in",
            subject=f"visit:{visit.pk}",
            details={"assisted": assisted_by_staff, "needs": visit.assistance_needs},
        )
    return visit


def _new_reference() -> str:
    return "WC-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))


def case_open(
    *,
    visit: Visit,
    case_type: CaseType,
    complaint: dict[str, Any],
    complaint_text: str,
    account_handle: str = "",
    by: AbstractBaseUser | None,
) -> Case:
    """Opens the visitor's case with a complaint validated against its case type."""
    if not case_type.active:
        raise DomainError(_("This case type is not handled any more."))
    complaint_text = complaint_text.strip()
    if not complaint_text:
        raise DomainError(_("Describe the problem in a sentence or two."))
    try:
        complaint = validate_complaint(case_type, complaint)
    except ValidationError as error:
        raise DomainError(" ".join(error.messages)) from error
    account_handle = account_handle.strip()
    now = clock.now()
    earlier = returning_visitor_case(
        center=visit.center, account_handle=account_handle, phone=visit.visitor.phone
    )
    case = Case.objects.create(
        center=visit.center,
        visit=visit,
        case_type=case_type,
        reference=_new_reference(),
        follows=earlier,
        account_handle=account_handle[:64],
        platform_account=PlatformAccount.objects.filter(handle=account_handle).first()
        if account_handle
        else None,
        complaint=complaint,
        complaint_text=complaint_text[:4000],
        opened_at=now,
        updated_at=now,
    )
    audit_record(
        center=visit.center,
        actor=by,
        action="case.opened",
        subject=f"case:{case.reference}",
        details={
            "case_type": case_type.code,
            "follows": earlier.reference if earlier else "",
        },
    )
    return case


PENDING_CALLBACK_STATUSES = (
    Callback.Status.PROMISED,
    Callback.Status.ATTEMPTED,
    Callback.Status.BREACHED,
)


def returning_visitor_case(*, center: Center, account_handle: str, phone: str) -> Case | None:
    """The latest case of the same account (or phone) that is still open, referred to a
    specialist, or waiting for a callback: a returning visitor continues it.

    The cases of the account and those of the phone are found apart, each through its
    index, and then joined: one condition over both, an OR across the case and its
    visitor, would read every case, visit and visitor of the center's history on every
    check-in."""
    matches = []
    if account_handle:
        matches.append(Case.objects.filter(account_handle=account_handle))
    if phone.strip():
        matches.append(Case.objects.filter(visit__visitor__phone=phone.strip()))
    if not matches:
        return None
    ids = matches[0].values("pk")
    if len(matches) > 1:
        ids = ids.union(matches[1].values("pk"))
    pending = Q(status__in=(Case.Status.OPEN, Case.Status.REFERRED)) | Q(
        callbacks__status__in=PENDING_CALLBACK_STATUSES
    )
    return (
        Case.objects.filter(pending, pk__in=ids, center=center)
        .select_related("case_type")
        .order_by("-opened_at", "-pk")
        .first()
    )


def case_update_complaint(
    *, case: Case, complaint: dict[str, Any], complaint_text: str, by: AbstractBaseUser | None
) -> Case:
    """The visitor (or staff) corrects the complaint while the case is still open."""
    if case.status != Case.Status.OPEN:
        raise DomainError(_("This case is closed; its complaint can no longer be changed."))
    complaint_text = complaint_text.strip()
    if not complaint_text:
        raise DomainError(_("Describe the problem in a sentence or two."))
    try:
        case.complaint = validate_complaint(case.case_type, complaint)
    except ValidationError as error:
        raise DomainError(" ".join(error.messages)) from error
    case.complaint_text = complaint_text[:4000]
    case.updated_at = clock.now()
    case.save(update_fields=["complaint", "complaint_text", "updated_at"])
    audit_record(
        center=case.center,
        actor=by,
        action="case.complaint_updated",
        subject=f"case:{case.reference}",
    )
    return case


def case_link_account(*, case: Case, handle: str, by: AbstractBaseUser) -> PlatformAccount:
    """A representative looks the visitor's account up and attaches it to the case."""
    account = PlatformAccount.objects.filter(handle=handle.strip()).first()
    if account is None:
        raise DomainError(_("No platform account has that ID."))
    case.platform_account = account
    case.account_handle = account.handle
    case.updated_at = clock.now()
    case.save(update_fields=["platform_account", "account_handle", "updated_at"])
    audit_record(
        center=case.center,
        actor=by,
        action="case.account_linked",
        subject=f"case:{case.reference}",
        details={"account": account.handle},
    )
    return account


def case_missing_checks(case: Case) -> list[str]:
    """The case type's required identity checks that have no PASS on this case yet."""
    passed = set(
        case.identity_checks.filter(result=CheckResult.PASS).values_list("method", flat=True)
    )
    return [method for method in case.case_type.required_checks if method not in passed]


def _require_checks_or_override(
    *, case: Case, outcome: str, override_reason: str, by: AbstractBaseUser
) -> list[str]:
    """Refuses an outcome that reactivates an account or wallet without the case type's
    passed checks, unless a supervisor writes why. Returns the checks overridden."""
    if outcome not in REACTIVATING_OUTCOMES:
        return []
    missing = case_missing_checks(case)
    if not missing:
        return []
    labels = ", ".join(str(IdentityCheckMethod(method).label) for method in missing)
    if not override_reason:
        raise DomainError(
            _("Restoring needs these identity checks to pass first: %(checks)s.")
            % {"checks": labels}
        )
    if Role.SUPERVISOR not in user_roles(by):
        raise DomainError(
            _("Only a supervisor may restore without the identity checks (missing: %(checks)s).")
            % {"checks": labels}
        )
    return missing


def referral_callback_window(center: Center, at: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The promised window of a referral's callback: the next day, 09:00 to 12:00 local."""
    next_day = at.astimezone(center.tzinfo).date() + dt.timedelta(days=1)
    start, end = REFERRAL_CALLBACK_HOURS
    return (
        dt.datetime.combine(next_day, start, center.tzinfo),
        dt.datetime.combine(next_day, end, center.tzinfo),
    )


def specialists_of(center: Center) -> Any:
    """The staff a referral's callback may be given to."""
    return (
        get_user_model()
        .objects.filter(staff_profile__center=center, groups__name=Role.SPECIALIST)
        .order_by("first_name", "username")
        .distinct()
    )


@transaction.atomic
def case_resolve(
    *,
    case: Case,
    outcome: str,
    reason_code: str,
    explanation: str,
    by: AbstractBaseUser,
    override_reason: str = "",
    callback_owner: AbstractBaseUser | None = None,
    callback_channel: str = Callback.Channel.PHONE,
    callback_phone: str = "",
) -> Resolution:
    """Records the decision with its statement of reasons, and applies it to the platform
    account. Restoring needs the case type's identity checks (or a supervisor's written
    override); a referral promises the visitor a callback by the specialist."""
    if outcome not in Outcome.values:
        raise DomainError(_("Choose an outcome."))
    if reason_code and reason_code not in SuspensionReason.values:
        raise DomainError(_("Choose one of the listed policy reasons."))
    explanation = explanation.strip()
    if not explanation:
        raise DomainError(_("Write the explanation the visitor will read."))
    override_reason = override_reason.strip()
    # The stored status, locked: the caller's copy may predate another decision.
    stored_status = (
        Case.objects.select_for_update().values_list("status", flat=True).get(pk=case.pk)
    )
    if stored_status != Case.Status.OPEN:
        raise DomainError(_("This case already has a decision."))
    account = (
        PlatformAccount.objects.select_for_update().get(pk=case.platform_account_id)
        if case.platform_account_id
        else None
    )
    new_status = OUTCOME_ACCOUNT_STATUS[outcome]
    if new_status and account is None:
        raise DomainError(_("Link the visitor's platform account before restoring it."))
    overridden = _require_checks_or_override(
        case=case, outcome=outcome, override_reason=override_reason, by=by
    )
    before = account.status if account else ""
    reason_before = account.suspension_reason if account else SuspensionReason.NONE
    # The statement says whether the measure under review was a machine's or a person's.
    automated_before = account.suspension_automated if account and account.is_restricted else None
    if account is not None and new_status and account.status != new_status:
        account.status = new_status
        account.suspension_reason = SuspensionReason.NONE
        account.suspension_automated = False
        account.suspended_at = None
        account.save(
            update_fields=["status", "suspension_reason", "suspension_automated", "suspended_at"]
        )
    decided_at = clock.now()
    resolution = Resolution.objects.create(
        case=case,
        outcome=outcome,
        reason_code=reason_code or reason_before,
        explanation=explanation[:4000],
        account_status_before=before,
        account_status_after=account.status if account else "",
        decided_by=by,
        decided_at=decided_at,
        original_decision_automated=automated_before,
        contest_until=decided_at.astimezone(case.center.tzinfo).date() + CONTEST_PERIOD,
        checks_overridden_by=by if overridden else None,
        override_reason=override_reason[:2000] if overridden else "",
    )
    case.status = OUTCOME_CASE_STATUS.get(outcome, Case.Status.RESOLVED)
    case.updated_at = resolution.decided_at
    case.save(update_fields=["status", "updated_at"])
    if overridden:
        audit_record(
            center=case.center,
            actor=by,
            action="case.checks_overridden",
            subject=f"case:{case.reference}",
            details={"outcome": outcome, "missing": overridden, "reason": override_reason[:2000]},
        )
    audit_record(
        center=case.center,
        actor=by,
        action="case.resolved",
        subject=f"case:{case.reference}",
        details={
            "outcome": outcome,
            "account_before": before,
            "account_after": resolution.account_status_after,
        },
    )
    if outcome == Outcome.REFERRED:
        window_starts_at, due_at = referral_callback_window(case.center, decided_at)
        callback_promise(
            case=case,
            reason=Callback.Reason.REFERRAL,
            channel=callback_channel,
            phone=callback_phone or case.visit.visitor.phone,
            owner=callback_owner,
            window_starts_at=window_starts_at,
            due_at=due_at,
            by=by,
        )
    return resolution


def callback_promise(
    *,
    case: Case,
    reason: str,
    phone: str,
    due_at: dt.datetime,
    by: AbstractBaseUser | None,
    channel: str = Callback.Channel.PHONE,
    owner: AbstractBaseUser | None = None,
    window_starts_at: dt.datetime | None = None,
) -> Callback:
    """Promises the visitor a callback: who calls, on which number, in which window."""
    phone = phone.strip()
    if not phone:
        raise DomainError(_("Enter the phone number on which the visitor will be called back."))
    if channel not in Callback.Channel.values:
        raise DomainError(_("Choose how the visitor will be called back."))
    if owner is not None and not specialists_of(case.center).filter(pk=owner.pk).exists():
        raise DomainError(_("Give the callback to a specialist of this center."))
    callback = Callback.objects.create(
        case=case,
        reason=reason,
        channel=channel,
        phone=phone[:32],
        owner=owner,
        window_starts_at=window_starts_at,
        due_at=due_at,
        created_at=clock.now(),
    )
    audit_record(
        center=case.center,
        actor=by,
        action="callback.promised",
        subject=f"case:{case.reference}",
        details={
            "callback": callback.pk,
            "reason": reason,
            "owner": owner.get_username() if owner else "",
            "due_at": due_at.isoformat(),
        },
    )
    return callback


def _may_work_callback(callback: Callback, by: AbstractBaseUser) -> bool:
    roles = user_roles(by)
    if Role.SUPERVISOR in roles:
        return True
    return Role.SPECIALIST in roles and callback.owner_id in (None, by.pk)


@transaction.atomic
def callback_attempt_log(
    *, callback: Callback, result: str, note: str = "", by: AbstractBaseUser
) -> CallbackAttempt:
    """Logs one attempt to keep the promise. Reaching the visitor keeps it (late, if after
    the deadline); an unsuccessful attempt leaves it ATTEMPTED, or BREACHED once overdue."""
    callback = Callback.objects.select_for_update().select_related("case").get(pk=callback.pk)
    if result not in CallbackAttempt.Result.values:
        raise DomainError(_("Choose how the call went."))
    if callback.status == Callback.Status.DONE:
        raise DomainError(_("This callback was already made."))
    if not _may_work_callback(callback, by):
        raise DomainError(_("This callback belongs to another specialist."))
    now = clock.now()
    attempt = CallbackAttempt.objects.create(
        callback=callback, result=result, note=note.strip()[:500], by=by, at=now
    )
    if result == CallbackAttempt.Result.REACHED:
        callback.status = Callback.Status.DONE
        callback.done_at = now
    elif now > callback.due_at:
        callback.status = Callback.Status.BREACHED
    else:
        callback.status = Callback.Status.ATTEMPTED
    if callback.owner_id is None:
        callback.owner = by
    callback.save(update_fields=["status", "done_at", "owner"])
    audit_record(
        center=callback.case.center,
        actor=by,
        action="callback.attempted",
        subject=f"case:{callback.case.reference}",
        details={"callback": callback.pk, "result": result, "status": callback.status},
    )
    return attempt


def callbacks_mark_breached(*, center: Center) -> int:
    """Marks every promise past its deadline and not kept as BREACHED; returns how many.

    Run when a specialist's or the supervisor's page loads, and by ``callbacks_check``."""
    now = clock.now()
    overdue = list(
        Callback.objects.filter(
            case__center=center,
            status__in=(Callback.Status.PROMISED, Callback.Status.ATTEMPTED),
            due_at__lt=now,
        ).values_list("pk", "case__reference")
    )
    if not overdue:
        return 0
    with transaction.atomic():
        marked = Callback.objects.filter(
            pk__in=[pk for pk, _reference in overdue],
            status__in=(Callback.Status.PROMISED, Callback.Status.ATTEMPTED),
        ).update(status=Callback.Status.BREACHED)
        for pk, reference in overdue:
            audit_record(
                center=center,
                actor=None,
                action="callback.breached",
                subject=f"case:{reference}",
                details={"callback": pk},
            )
    return marked


# --- Identity checks ------------------------------------------------------------------
# Every check is one append-only IdentityCheck row (method, result, who, when) and one
# audit event; neither holds the expected answers nor the media's contents.

CHECKABLE_CASE_STATUSES = (Case.Status.OPEN, Case.Status.REFERRED)
IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp")
VIDEO_TYPES = ("video/webm", "video/mp4", "video/quicktime", "video/x-matroska")
VIDEO_SUFFIXES = {"video/mp4": ".mp4", "video/quicktime": ".mov", "video/x-matroska": ".mkv"}


@dataclass(frozen=True)
class Upload:
    """A file a representative sent: its bytes and the type the browser declared."""

    content: bytes
    content_type: str
    name: str = ""


def _ensure_checkable(case: Case) -> None:
    if case.status not in CHECKABLE_CASE_STATUSES:
        raise DomainError(_("This case is closed; no more identity checks can be recorded."))


def _record_check(
    *,
    case: Case,
    method: str,
    result: str,
    score: float | None,
    details: dict[str, Any],
    by: AbstractBaseUser,
) -> IdentityCheck:
    check = IdentityCheck.objects.create(
        case=case,
        method=method,
        result=result,
        score=score,
        details=details,
        performed_by=by,
        performed_at=clock.now(),
    )
    audit_record(
        center=case.center,
        actor=by,
        action="identity.checked",
        subject=f"case:{case.reference}",
        details={"method": method, "result": result, "check": check.pk},
    )
    return check


def _store_media(
    *, case: Case, kind: str, upload: Upload, by: AbstractBaseUser, check: IdentityCheck | None
) -> IdentityMedia:
    now = clock.now()
    media = IdentityMedia(
        case=case,
        check_record=check,
        kind=kind,
        content_type=upload.content_type,
        captured_by=by,
        captured_at=now,
        purge_after=now + dt.timedelta(hours=case.center.media_retention_hours),
    )
    suffix = mimetypes.guess_extension(upload.content_type) or ".bin"
    media.file.save(
        f"{case.reference}-{kind.lower()}-{secrets.token_hex(6)}{suffix}",
        ContentFile(upload.content),
        save=False,
    )
    media.save()
    return media


def _delete_media(media: IdentityMedia) -> None:
    media.file.delete(save=False)
    media.delete()


def _document_image(upload: Upload | None) -> np.ndarray:
    if upload is None or not upload.content:
        raise DomainError(_("Take or upload a photo of the document."))
    image = face.decode_image(upload.content)
    if upload.content_type not in IMAGE_TYPES or image is None:
        raise DomainError(_("The document photo must be a JPEG, PNG or WebP image."))
    return image


@transaction.atomic
def identity_check_knowledge(
    *, case: Case, attempt: int, answers: dict[str, Any], by: AbstractBaseUser
) -> IdentityCheck:
    """Scores the visitor's answers against questions regenerated on the server."""
    _ensure_checkable(case)
    if IdentityCheck.objects.filter(
        case=case, method=IdentityCheckMethod.KNOWLEDGE, result=CheckResult.PASS
    ).exists():
        raise DomainError(_("The knowledge questions were already passed."))
    done = identity.knowledge_attempts(case)
    if done >= identity.MAX_ATTEMPTS:
        raise DomainError(_("All knowledge attempts for this case are used up."))
    if attempt != done + 1:
        raise DomainError(_("These questions were already answered; new ones are shown."))
    quiz = identity.quiz_for_case(case, attempt)
    if quiz is None:
        raise DomainError(_("The account's record holds too little to ask questions."))
    scored = identity.score_quiz(quiz, answers)
    return _record_check(
        case=case,
        method=IdentityCheckMethod.KNOWLEDGE,
        result=scored.result,
        score=scored.score,
        details={"attempt": attempt, "per_question": scored.per_question},
        by=by,
    )


def _face_frames(files: list[tuple[bytes, str]]) -> list[np.ndarray]:
    """Grey frames of a capture: (content, content type) of one video or several photos."""
    frames: list[np.ndarray] = []
    for content, content_type in files:
        if content_type in VIDEO_TYPES:
            suffix = VIDEO_SUFFIXES.get(content_type, ".webm")
            frames.extend(face.decode_video(content, suffix=suffix))
        else:
            image = face.decode_image(content)
            if image is not None:
                frames.append(image)
    return frames


def _stored_frames(media: list[IdentityMedia]) -> list[np.ndarray]:
    files = []
    for item in media:
        with item.file.open("rb") as handle:
            files.append((handle.read(), item.content_type))
    return _face_frames(files)


def pending_face_capture(case: Case) -> list[IdentityMedia]:
    """The face frames (or video) captured for the case and not yet decided on."""
    return list(
        IdentityMedia.objects.filter(
            case=case, kind=IdentityMedia.Kind.FACE_VIDEO, check_record__isnull=True
        ).order_by("pk")
    )


@transaction.atomic
def identity_face_capture(
    *, case: Case, uploads: list[Upload], by: AbstractBaseUser
) -> tuple[face.FaceAnalysis, list[IdentityMedia]]:
    """Stores a face capture (several photos or one video) for the representative to
    compare with the reference photo, replacing an undecided earlier capture."""
    _ensure_checkable(case)
    uploads = [upload for upload in uploads if upload.content]
    if not uploads:
        raise DomainError(_("Capture the face with the camera or upload a video or photos."))
    videos = [upload for upload in uploads if upload.content_type in VIDEO_TYPES]
    images = [upload for upload in uploads if upload.content_type in IMAGE_TYPES]
    if len(videos) + len(images) != len(uploads) or (videos and images) or len(videos) > 1:
        raise DomainError(_("Send one video, or several JPEG, PNG or WebP photos."))
    if len(images) > face.MAX_FRAMES:
        raise DomainError(_("Send at most %(count)d photos.") % {"count": face.MAX_FRAMES})
    # Analysed before anything is stored or replaced: a refusal leaves no files behind.
    analysis = face.analyse_frames(
        _face_frames([(upload.content, upload.content_type) for upload in uploads])
    )
    if analysis.frames == 0:
        raise DomainError(_("The video or photos could not be read. Capture again."))
    for old in pending_face_capture(case):
        _delete_media(old)
    media = [
        _store_media(
            case=case, kind=IdentityMedia.Kind.FACE_VIDEO, upload=upload, by=by, check=None
        )
        for upload in uploads
    ]
    audit_record(
        center=case.center,
        actor=by,
        action="identity.face_captured",
        subject=f"case:{case.reference}",
        details={"files": len(media), **analysis.as_details()},
    )
    return analysis, media


@transaction.atomic
def identity_check_face_video(
    *, case: Case, confirmed: bool, by: AbstractBaseUser
) -> IdentityCheck:
    """The representative's decision on the pending capture: PASS only when the server
    found a live face and the representative confirms it is the reference photo's."""
    _ensure_checkable(case)
    media = pending_face_capture(case)
    if not media:
        raise DomainError(_("Capture the face first."))
    analysis = face.analyse_frames(_stored_frames(media))
    if confirmed and not analysis.live:
        raise DomainError(_("No live face was found in the capture: capture again, or reject it."))
    check = _record_check(
        case=case,
        method=IdentityCheckMethod.FACE_VIDEO,
        result=CheckResult.PASS if confirmed else CheckResult.FAIL,
        score=round(analysis.motion, 4),
        details={**analysis.as_details(), "representative_confirmed": confirmed},
        by=by,
    )
    IdentityMedia.objects.filter(pk__in=[item.pk for item in media]).update(check_record=check)
    return check


@transaction.atomic
def identity_check_id_document(
    *, case: Case, upload: Upload | None, result: str, by: AbstractBaseUser
) -> IdentityCheck:
    """The representative's verdict on the ID document, with its photo; a PASS needs the
    server to find the holder's photo (a face) on it."""
    _ensure_checkable(case)
    if result not in (CheckResult.PASS, CheckResult.FAIL):
        raise DomainError(_("Record whether the document matches the visitor."))
    image = _document_image(upload)
    face_found = face.detect_face(image) is not None
    if result == CheckResult.PASS and not face_found:
        raise DomainError(
            _("No face was found on the document photo: retake it with the photo page visible.")
        )
    check = _record_check(
        case=case,
        method=IdentityCheckMethod.ID_DOCUMENT,
        result=result,
        score=None,
        details={"face_on_document": face_found},
        by=by,
    )
    _store_media(case=case, kind=IdentityMedia.Kind.ID_DOCUMENT, upload=upload, by=by, check=check)
    return check


@transaction.atomic
def identity_check_guardian(
    *,
    case: Case,
    guardian_name: str,
    relationship: str,
    consent: bool,
    upload: Upload | None,
    by: AbstractBaseUser,
) -> IdentityCheck:
    """A minor's guardian: who they are, how related, their consent and their ID
    document. PASS needs all four; without consent the check fails."""
    _ensure_checkable(case)
    guardian_name = guardian_name.strip()
    if not guardian_name:
        raise DomainError(_("Enter the guardian's name."))
    if relationship not in identity.GuardianRelationship.values:
        raise DomainError(_("Choose the guardian's relationship to the minor."))
    image = _document_image(upload)
    face_found = face.detect_face(image) is not None
    if not consent:
        result = CheckResult.FAIL
    elif not face_found:
        result = CheckResult.INCONCLUSIVE
    else:
        result = CheckResult.PASS
    visit = case.visit
    visit.guardian_name = guardian_name[:120]
    visit.save(update_fields=["guardian_name"])
    # The name stays on the visit (erased with the visitor's data), not in the check.
    check = _record_check(
        case=case,
        method=IdentityCheckMethod.GUARDIAN,
        result=result,
        score=None,
        details={
            "relationship": relationship,
            "consent": consent,
            "face_on_document": face_found,
        },
        by=by,
    )
    _store_media(
        case=case, kind=IdentityMedia.Kind.GUARDIAN_DOCUMENT, upload=upload, by=by, check=check
    )
    return check


# --- Retention ------------------------------------------------------------------------

ERASED_NAME = "(erased)"
# A callback keeps its row (kept on time or not counts in the day's figures) and a phone
# it must have: this one.
ERASED_PHONE = "(erased)"
CLOSED_CASE_STATUSES = (Case.Status.RESOLVED, Case.Status.CANCELLED)


def identity_media_purge(*, now: dt.datetime | None = None) -> int:
    """Deletes identity media (file, then row) whose retention has passed; the checks'
    results stay. Returns how many were deleted."""
    now = now or clock.now()
    deleted = 0
    for media in IdentityMedia.objects.filter(purge_after__lte=now).iterator():
        _delete_media(media)
        deleted += 1
    return deleted


def personal_data_erase(*, now: dt.datetime | None = None) -> int:
    """Erases the names, phone numbers and guardians' names of visitors whose last visit
    is older than their center's retention, whose cases are all closed and who are owed
    no callback, with the phone numbers of their callbacks. Returns how many visitors
    were erased; running it again erases nobody twice. (Their text consents and texts:
    ``queueing.messaging.texts_personal_data_erase``.)"""
    now = now or clock.now()
    erased = 0
    for center in Center.objects.all():
        cutoff = now - dt.timedelta(days=center.personal_data_retention_days)
        visitors = (
            Visitor.objects.filter(center=center, created_at__lt=cutoff)
            .exclude(full_name=ERASED_NAME, phone="")
            .exclude(visits__at__gte=cutoff)
            .exclude(visits__cases__status__in=[Case.Status.OPEN, Case.Status.REFERRED])
            .exclude(visits__cases__callbacks__status__in=PENDING_CALLBACK_STATUSES)
        )
        ids = list(visitors.values_list("pk", flat=True))
        if not ids:
            continue
        with transaction.atomic():
            Visit.objects.filter(visitor_id__in=ids).exclude(guardian_name="").update(
                guardian_name=""
            )
            erased += Visitor.objects.filter(pk__in=ids).update(full_name=ERASED_NAME, phone="")
            Callback.objects.filter(case__visit__visitor_id__in=ids).update(phone=ERASED_PHONE)
            audit_record(
                center=center,
                actor=None,
                action="retention.personal_data_erased",
                subject=f"center:{center.slug}",
                details={"visitors": len(ids)},
            )
    return erased
