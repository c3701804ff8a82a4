"""Identity checks of the case at the representative's desk: account knowledge, face
video, ID document and guardian; and the staff-only views that stream identity media and
reference photos (never served as static files)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.files.uploadedfile import UploadedFile
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from center import identity
from center.access import staff_required
from center.errors import DomainError
from center.models import (
    Case,
    CheckResult,
    IdentityCheckMethod,
    IdentityMedia,
    PlatformAccount,
    Role,
)
from center.services import (
    Upload,
    identity_check_face_video,
    identity_check_guardian,
    identity_check_id_document,
    identity_check_knowledge,
    identity_face_capture,
    pending_face_capture,
)
from queueing.selectors import desk_current_ticket, desk_of
from queueing.views.common import HtmxHttpRequest, render_page

TEMPLATE = "queueing/desk/identity.html"
DESK_ROLES = (Role.REPRESENTATIVE, Role.SPECIALIST)
MAX_UPLOAD_BYTES = 25 * 1024 * 1024
SESSION_KEY = "identity-face-analysis"


class DocumentForm(forms.Form):
    photo = forms.FileField(label=gettext_lazy("Photo of the document"), required=False)
    result = forms.ChoiceField(
        label=gettext_lazy("The document"),
        choices=[
            (CheckResult.PASS, gettext_lazy("is genuine and shows the visitor")),
            (CheckResult.FAIL, gettext_lazy("does not match, or is not genuine")),
        ],
        widget=forms.RadioSelect,
    )


class GuardianForm(forms.Form):
    guardian_name = forms.CharField(label=gettext_lazy("Guardian's full name"), max_length=120)
    relationship = forms.ChoiceField(
        label=gettext_lazy("Relationship to the minor"),
        choices=[("", "—"), *identity.GuardianRelationship.choices],
    )
    consent = forms.BooleanField(
        label=gettext_lazy("The guardian consents to the handling of the minor's case"),
        required=False,
    )
    photo = forms.FileField(
        label=gettext_lazy("Photo of the guardian's ID document"), required=False
    )


def _current_case(request: HtmxHttpRequest) -> Case | None:
    desk = desk_of(request.user)
    ticket = desk_current_ticket(desk) if desk else None
    return ticket.case if ticket else None


def _upload(file: UploadedFile | None) -> Upload | None:
    if file is None:
        return None
    if file.size and file.size > MAX_UPLOAD_BYTES:
        raise DomainError(_("The file is too large (at most 25 MB)."))
    return Upload(content=file.read(), content_type=file.content_type or "", name=file.name or "")


def _context(request: HtmxHttpRequest, case: Case | None, **extra: Any) -> dict[str, Any]:
    if case is None:
        return {"case": None, **extra}
    attempts = identity.knowledge_attempts(case)
    states = identity.check_states(case)
    knowledge_passed = any(
        s.method == IdentityCheckMethod.KNOWLEDGE and s.state == "passed" for s in states
    )
    quiz = (
        identity.quiz_for_case(case, attempts + 1)
        if attempts < identity.MAX_ATTEMPTS and not knowledge_passed
        else None
    )
    pending = pending_face_capture(case)
    stored = request.session.get(SESSION_KEY) or {}
    analysis = stored.get("analysis") if stored.get("case") == case.pk else None
    best = stored.get("best") if analysis else None
    shown_frame = next((m for m in pending if m.pk == best), None) or next(
        (m for m in pending if m.content_type.startswith("image/")), None
    )
    if shown_frame is None and not pending:
        # The frame of the last decided capture, until the retention purge removes it.
        shown_frame = (
            IdentityMedia.objects.filter(
                case=case,
                kind=IdentityMedia.Kind.FACE_VIDEO,
                check_record__isnull=False,
                content_type__startswith="image/",
            )
            .order_by("-check_record_id", "pk")
            .first()
        )
    methods = {state.method for state in states}
    minor = "MINOR_WITH_GUARDIAN" in (case.visit.assistance_needs or [])
    return {
        "case": case,
        "account": case.platform_account,
        "states": states,
        "quiz": quiz,
        "knowledge_passed": knowledge_passed,
        "attempts_used": attempts,
        "attempts_max": identity.MAX_ATTEMPTS,
        "pending": pending,
        "analysis": analysis,
        "shown_frame": shown_frame,
        "document_form": extra.pop("document_form", None) or DocumentForm(),
        "guardian_form": extra.pop("guardian_form", None) or GuardianForm(),
        "show_guardian": "GUARDIAN" in methods or minor,
        "show_document": True,
        **extra,
    }


def _respond(
    request: HtmxHttpRequest, case: Case | None, *, status: int = 200, **extra: Any
) -> HttpResponse:
    return render_page(
        request, TEMPLATE, _context(request, case, **extra), partial="identity", status=status
    )


@staff_required(*DESK_ROLES)
def page(request: HtmxHttpRequest) -> HttpResponse:
    return _respond(request, _current_case(request))


def _act(request: HtmxHttpRequest, run: Any) -> HttpResponse:
    """Runs one check for the desk's current case; the notice or error goes in the page."""
    case = _current_case(request)
    if case is None:
        return _respond(request, None, status=409, error=_("No visitor at your desk."))
    try:
        notice, extra = run(case)
    except DomainError as error:
        return _respond(request, case, status=409, error=error.message)
    except _Invalid as invalid:
        return _respond(
            request, case, status=400, error=_("Please correct the form below."), **invalid.forms
        )
    if request.htmx:
        return _respond(request, case, notice=notice, **extra)
    messages.success(request, notice)
    return redirect("desk-identity")


class _Invalid(Exception):  # noqa: N818 - a control-flow signal, not an error
    def __init__(self, **forms: Any) -> None:
        self.forms = forms


def _result_notice(label: str, result: str) -> str:
    return _("%(check)s recorded: %(result)s.") % {
        "check": label,
        "result": CheckResult(result).label,
    }


@staff_required(*DESK_ROLES)
@require_POST
def knowledge(request: HtmxHttpRequest) -> HttpResponse:
    def run(case: Case) -> tuple[str, dict[str, Any]]:
        try:
            attempt = int(request.POST.get("attempt", ""))
        except ValueError as error:
            raise DomainError(
                _("These questions were already answered; new ones are shown.")
            ) from error
        answers: dict[str, Any] = {
            key: request.POST.getlist(key) if key in ("contacts", "groups") else value
            for key, value in request.POST.items()
        }
        check = identity_check_knowledge(
            case=case, attempt=attempt, answers=answers, by=request.user
        )
        return _result_notice(check.get_method_display(), check.result), {}

    return _act(request, run)


@staff_required(*DESK_ROLES)
@require_POST
def face_capture(request: HtmxHttpRequest) -> HttpResponse:
    def run(case: Case) -> tuple[str, dict[str, Any]]:
        files = request.FILES.getlist("frames") + request.FILES.getlist("video")
        uploads = [upload for upload in (_upload(file) for file in files) if upload]
        analysis, media = identity_face_capture(case=case, uploads=uploads, by=request.user)
        best = (
            media[analysis.best_frame].pk
            if (
                analysis.best_frame is not None
                and len(media) > analysis.best_frame
                and media[analysis.best_frame].content_type.startswith("image/")
            )
            else None
        )
        request.session[SESSION_KEY] = {
            "case": case.pk,
            "analysis": analysis.as_details(),
            "best": best,
        }
        if analysis.live:
            notice = _("A live face was found. Compare it with the reference photo.")
        elif not analysis.face_found:
            notice = _("No face was found. Capture again, facing the camera.")
        else:
            notice = _("The face did not move as a live person's would. Capture again.")
        return notice, {}

    return _act(request, run)


@staff_required(*DESK_ROLES)
@require_POST
def face_decide(request: HtmxHttpRequest) -> HttpResponse:
    def run(case: Case) -> tuple[str, dict[str, Any]]:
        decision = request.POST.get("decision")
        if decision not in ("confirm", "reject"):
            raise DomainError(_("Confirm or reject the face."))
        check = identity_check_face_video(
            case=case, confirmed=decision == "confirm", by=request.user
        )
        request.session.pop(SESSION_KEY, None)
        return _result_notice(check.get_method_display(), check.result), {}

    return _act(request, run)


@staff_required(*DESK_ROLES)
@require_POST
def document(request: HtmxHttpRequest) -> HttpResponse:
    def run(case: Case) -> tuple[str, dict[str, Any]]:
        form = DocumentForm(request.POST, request.FILES)
        if not form.is_valid():
            raise _Invalid(document_form=form)
        check = identity_check_id_document(
            case=case,
            upload=_upload(form.cleaned_data["photo"]),
            result=form.cleaned_data["result"],
            by=request.user,
        )
        return _result_notice(check.get_method_display(), check.result), {}

    return _act(request, run)


@staff_required(*DESK_ROLES)
@require_POST
def guardian(request: HtmxHttpRequest) -> HttpResponse:
    def run(case: Case) -> tuple[str, dict[str, Any]]:
        form = GuardianForm(request.POST, request.FILES)
        if not form.is_valid():
            raise _Invalid(guardian_form=form)
        check = identity_check_guardian(
            case=case,
            guardian_name=form.cleaned_data["guardian_name"],
            relationship=form.cleaned_data["relationship"],
            consent=form.cleaned_data["consent"],
            upload=_upload(form.cleaned_data["photo"]),
            by=request.user,
        )
        return _result_notice(check.get_method_display(), check.result), {}

    return _act(request, run)


def _private_file(file: Any, content_type: str) -> FileResponse:
    response = FileResponse(file.open("rb"), content_type=content_type)
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@staff_required(*DESK_ROLES)
def media(request: HtmxHttpRequest, media_id: int) -> HttpResponse:
    """One identity media file, to staff of the case's own center only."""
    item = get_object_or_404(IdentityMedia, pk=media_id, case__center=request.center)  # type: ignore[attr-defined]
    if not item.file or not item.file.storage.exists(item.file.name):
        raise Http404
    return _private_file(item.file, item.content_type or "application/octet-stream")


@staff_required(*DESK_ROLES)
def reference_photo(request: HtmxHttpRequest, account_id: int) -> HttpResponse:
    """An account's reference photo, to staff of a center with a case on that account."""
    account = get_object_or_404(
        PlatformAccount.objects.filter(cases__center=request.center).distinct(),  # type: ignore[attr-defined]
        pk=account_id,
    )
    if not account.reference_photo or not account.reference_photo.storage.exists(
        account.reference_photo.name
    ):
        raise Http404
    return _private_file(
        account.reference_photo,
        "image/png" if account.reference_photo.name.endswith(".png") else "image/jpeg",
    )
