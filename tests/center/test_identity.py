"""Identity checks: knowledge questions scored on the server, face video with liveness and
the representative's decision, ID document and guardian; each recorded and audited."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from center import identity
from center.errors import DomainError
from center.models import (
    AuditEvent,
    Case,
    CheckResult,
    IdentityCheck,
    IdentityCheckMethod,
    IdentityMedia,
    Role,
)
from center.services import (
    Upload,
    identity_check_face_video,
    identity_check_guardian,
    identity_check_id_document,
    identity_check_knowledge,
    identity_face_capture,
)
from queueing.services import ticket_call_next
from tests.center.face_samples import (
    astronaut_bgr,
    jpeg,
    moving_astronaut,
    no_face_bgr,
    png,
    still_astronaut,
)
from tests.center.factories import CenterFactory, PlatformAccountFactory, staff_user
from tests.queueing.factories import issue

pytestmark = pytest.mark.django_db

KNOWLEDGE = {
    "registration_year": 2011,
    "former_phone": "13857340921",
    "contacts": ["Chen Bo", "Aunt Mei"],
    "groups": ["Journalism Class 2009", "Hiking Shenzhen"],
}
RIGHT_ANSWERS = {
    "registration_year": "2011",
    "phone_digits": "5734",
    "contacts": ["Chen Bo", "Aunt Mei"],
    "groups": ["Journalism Class 2009", "Hiking Shenzhen"],
}


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def journalist():
    return PlatformAccountFactory(
        handle="lin.reporter",
        registration_year=2011,
        registration_phone_masked="138****0921",
        records={"knowledge": KNOWLEDGE},
    )


@pytest.fixture
def case(center, case_type, journalist, reception, open_desk, desk, rep) -> Case:
    """The journalist's case, called to the representative's desk."""
    case_type.required_checks = ["KNOWLEDGE", "FACE_VIDEO"]
    case_type.save()
    issued = issue(
        center, case_type, by=reception, name="Lin Xiaoyu", account_handle=journalist.handle
    )
    ticket_call_next(desk=desk, by=rep)
    return Case.objects.select_related("platform_account", "case_type", "visit").get(
        pk=issued.ticket.case_id
    )


@pytest.fixture
def rep_client(rep) -> Client:
    client = Client()
    client.force_login(rep)
    return client


def frames(images) -> list[Upload]:
    return [Upload(jpeg(image), "image/jpeg", f"f{i}.jpg") for i, image in enumerate(images)]


# --- Questions: generated and scored on the server ---------------------------------


def quiz(attempt: int = 1, seed: int = 42) -> identity.Quiz:
    return identity.build_quiz(
        knowledge=KNOWLEDGE,
        registration_year=2011,
        phone_masked="138****0921",
        seed=seed,
        attempt=attempt,
    )


def test_questions_come_from_the_record_with_decoys_mixed_in():
    questions = {q.key: q for q in quiz().questions}
    assert set(questions) == {"registration_year", "contacts", "groups", "phone_digits"}
    contacts = questions["contacts"].options
    assert len(contacts) == identity.CHOICES_SHOWN
    assert {"Chen Bo", "Aunt Mei"} <= set(contacts)
    assert set(contacts) - {"Chen Bo", "Aunt Mei"} <= set(identity.DECOY_CONTACTS)
    assert "138****0921" in questions["phone_digits"].prompt
    assert questions["phone_digits"].digits == 4


def test_the_same_seed_gives_the_same_questions_and_another_seed_other_decoys():
    assert quiz(seed=1).questions == quiz(seed=1).questions
    options = {tuple(q.options for q in quiz(seed=seed).questions) for seed in range(6)}
    assert len(options) > 1


def test_the_seed_depends_on_the_secret_the_case_and_the_attempt():
    seeds = {
        identity.quiz_seed("secret", "1:WC-A", 1),
        identity.quiz_seed("secret", "1:WC-A", 2),
        identity.quiz_seed("secret", "2:WC-B", 1),
        identity.quiz_seed("other", "1:WC-A", 1),
    }
    assert len(seeds) == 4


def test_the_expected_answers_are_not_in_the_quizs_repr():
    text = repr(quiz())
    assert "5734" not in text
    assert "expected" not in text


def test_hidden_digits_are_those_behind_the_stars():
    assert identity.hidden_digits("138 5734 0921", "138****0921") == "5734"
    assert identity.hidden_digits("12345", "138****0921") == ""


@pytest.mark.parametrize(
    ("answers", "score", "result"),
    [
        (RIGHT_ANSWERS, 1.0, CheckResult.PASS),
        ({**RIGHT_ANSWERS, "phone_digits": "0000"}, 0.75, CheckResult.PASS),
        ({**RIGHT_ANSWERS, "phone_digits": "", "registration_year": "2012"}, 0.5, "INCONCLUSIVE"),
        ({"registration_year": "2012", "contacts": ["Chen Bo"]}, 0.125, CheckResult.FAIL),
        ({}, 0.0, CheckResult.FAIL),
    ],
)
def test_answers_are_scored(answers, score, result):
    scored = identity.score_quiz(quiz(), answers)
    assert scored.score == score
    assert scored.result == result


def test_ticking_every_option_of_a_choice_question_scores_nothing():
    everything = {q.key: list(q.options) for q in quiz().questions if q.kind == "choices"}
    scored = identity.score_quiz(quiz(), everything)
    assert scored.per_question["contacts"] == 0
    assert scored.per_question["groups"] == 0


def test_a_record_with_too_little_knowledge_has_no_quiz(case):
    account = case.platform_account
    account.records = {}
    account.registration_phone_masked = "138****0921"
    account.save()
    # Only the registration year (from the account itself) is left: one question.
    assert identity.quiz_for_case(case, 1) is None
    with pytest.raises(DomainError, match="too little"):
        identity_check_knowledge(case=case, attempt=1, answers={}, by=case.visit.recorded_by)


# --- The knowledge check -------------------------------------------------------------


def test_right_answers_pass_and_are_recorded_without_the_answers(case, rep):
    check = identity_check_knowledge(case=case, attempt=1, answers=RIGHT_ANSWERS, by=rep)
    assert (check.method, check.result, check.score) == ("KNOWLEDGE", "PASS", 1.0)
    assert check.performed_by == rep
    stored = json.dumps(check.details)
    for secret in ("2011", "5734", "Chen Bo", "Hiking"):
        assert secret not in stored
    audit = AuditEvent.objects.get(action="identity.checked")
    assert audit.details == {"method": "KNOWLEDGE", "result": "PASS", "check": check.pk}


def test_attempts_are_limited_per_case(case, rep):
    for attempt in range(1, identity.MAX_ATTEMPTS + 1):
        identity_check_knowledge(case=case, attempt=attempt, answers={}, by=rep)
    with pytest.raises(DomainError, match="used up"):
        identity_check_knowledge(
            case=case, attempt=identity.MAX_ATTEMPTS + 1, answers=RIGHT_ANSWERS, by=rep
        )
    assert IdentityCheck.objects.filter(case=case).count() == identity.MAX_ATTEMPTS


def test_the_same_questions_cannot_be_answered_twice(case, rep):
    identity_check_knowledge(case=case, attempt=1, answers={}, by=rep)
    with pytest.raises(DomainError, match="already answered"):
        identity_check_knowledge(case=case, attempt=1, answers=RIGHT_ANSWERS, by=rep)


def test_a_closed_case_takes_no_more_checks(case, rep):
    Case.objects.filter(pk=case.pk).update(status=Case.Status.RESOLVED)
    case.refresh_from_db()
    with pytest.raises(DomainError, match="closed"):
        identity_check_knowledge(case=case, attempt=1, answers=RIGHT_ANSWERS, by=rep)


def test_the_page_never_contains_the_answers(case, rep_client):
    response = rep_client.get("/desk/identity/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Which of these people were among your contacts?" in html
    assert 'name="attempt" value="1"' in html
    assert "2011" not in html  # the registration year
    assert "5734" not in html  # the hidden phone digits
    assert "138****0921" in html  # the question shows the masked number
    # Real contacts are among the options, but nothing marks them.
    for option in identity.quiz_for_case(case, 1).questions:
        for value in option.options:
            assert html.count(f'value="{value}"') == 1
    assert "checked" not in html
    session = json.dumps(dict(rep_client.session.items()))
    assert "5734" not in session
    assert "Chen Bo" not in session


def test_answering_through_the_page_records_the_check(case, rep_client):
    response = rep_client.post(
        "/desk/identity/knowledge/", {"attempt": "1", **RIGHT_ANSWERS}, follow=True
    )
    assert response.status_code == 200
    check = IdentityCheck.objects.get(case=case)
    assert check.result == CheckResult.PASS
    html = response.content.decode()
    assert "Account knowledge questions recorded: Passed." in html
    assert 'data-method="KNOWLEDGE"' in html
    assert 'name="attempt"' not in html
    assert "The visitor answered the account questions." in html


def test_the_desk_shows_the_registration_year_only_once_the_questions_are_passed(
    case, rep, rep_client
):
    before = rep_client.get("/desk/").content.decode()
    identity_check_knowledge(case=case, attempt=1, answers=RIGHT_ANSWERS, by=rep)
    after = rep_client.get("/desk/").content.decode()

    # The account is shown, only not its answer. (What the visitor wrote at the kiosk, a
    # year among it, is their own claim and stays in the complaint.)
    assert "lin.reporter" in before
    assert "Registered</dt><dd>2011" not in before
    assert "shown once the account questions are passed" in before
    assert "Registered</dt><dd>2011" in after


def test_the_desk_links_to_the_identity_checks(case, rep_client):
    html = rep_client.get("/desk/").content.decode()
    assert 'href="/desk/identity/"' in html


# --- Face video ----------------------------------------------------------------------


def test_a_moving_face_confirmed_by_the_representative_passes(case, rep):
    analysis, media = identity_face_capture(case=case, uploads=frames(moving_astronaut()), by=rep)
    assert analysis.live
    assert len(media) == 8
    for item in media:
        assert item.purge_after == item.captured_at + dt.timedelta(hours=24)
        assert item.file.storage.exists(item.file.name)
    check = identity_check_face_video(case=case, confirmed=True, by=rep)
    assert check.result == CheckResult.PASS
    assert check.details["live"] is True
    assert check.details["representative_confirmed"] is True
    assert set(check.media.values_list("pk", flat=True)) == {m.pk for m in media}


def test_the_representative_can_reject_a_live_face(case, rep):
    identity_face_capture(case=case, uploads=frames(moving_astronaut()), by=rep)
    check = identity_check_face_video(case=case, confirmed=False, by=rep)
    assert check.result == CheckResult.FAIL


def test_a_photo_held_still_cannot_be_confirmed(case, rep):
    analysis, _media = identity_face_capture(case=case, uploads=frames(still_astronaut()), by=rep)
    assert analysis.present
    assert not analysis.live
    with pytest.raises(DomainError, match="No live face"):
        identity_check_face_video(case=case, confirmed=True, by=rep)
    assert not IdentityCheck.objects.filter(case=case).exists()
    assert identity_check_face_video(case=case, confirmed=False, by=rep).result == "FAIL"


def test_no_face_is_not_live(case, rep):
    analysis, _ = identity_face_capture(
        case=case, uploads=frames([no_face_bgr("camera"), no_face_bgr("coffee")] * 3), by=rep
    )
    assert not analysis.face_found
    with pytest.raises(DomainError):
        identity_check_face_video(case=case, confirmed=True, by=rep)


def test_a_new_capture_replaces_the_undecided_one(case, rep):
    _, first = identity_face_capture(case=case, uploads=frames(still_astronaut(4)), by=rep)
    identity_face_capture(case=case, uploads=frames(moving_astronaut()), by=rep)
    assert not IdentityMedia.objects.filter(pk__in=[m.pk for m in first]).exists()
    for item in first:
        assert not item.file.storage.exists(item.file.name)
    assert identity_check_face_video(case=case, confirmed=True, by=rep).result == "PASS"


@pytest.mark.parametrize(
    "uploads",
    [
        [],
        [Upload(b"%PDF-1.4", "application/pdf")],
        [Upload(b"x", "video/webm"), Upload(jpeg(astronaut_bgr()), "image/jpeg")],
    ],
)
def test_a_capture_must_be_a_video_or_photos(case, rep, uploads):
    with pytest.raises(DomainError):
        identity_face_capture(case=case, uploads=uploads, by=rep)


def test_deciding_needs_a_capture(case, rep):
    with pytest.raises(DomainError, match="Capture the face first"):
        identity_check_face_video(case=case, confirmed=True, by=rep)


def test_the_face_capture_through_the_page(case, rep_client):
    files = [
        _file(f"f{i}.jpg", jpeg(image), "image/jpeg") for i, image in enumerate(moving_astronaut(6))
    ]
    response = rep_client.post("/desk/identity/face/", {"frames": files}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200, html
    assert "A live face was found" in html
    frame = IdentityMedia.objects.filter(case=case).first()
    assert "/desk/identity/media/" in html
    image = rep_client.get(f"/desk/identity/media/{frame.pk}/")
    assert image.status_code == 200
    assert image["Cache-Control"] == "private, no-store"
    assert b"".join(image.streaming_content)[:2] == b"\xff\xd8"
    response = rep_client.post(
        "/desk/identity/face/decide/", {"decision": "confirm"}, HTTP_HX_REQUEST="true"
    )
    assert "Face video against the reference photo recorded: Passed." in response.content.decode()


def _file(name: str, content: bytes, content_type: str):
    return SimpleUploadedFile(name, content, content_type=content_type)


# --- ID document and guardian --------------------------------------------------------


def test_a_document_with_a_face_passes_when_the_representative_says_so(case, rep):
    check = identity_check_id_document(
        case=case, upload=Upload(png(astronaut_bgr()), "image/png"), result="PASS", by=rep
    )
    assert (check.method, check.result) == (IdentityCheckMethod.ID_DOCUMENT, "PASS")
    assert check.details == {"face_on_document": True}
    media = check.media.get()
    assert media.kind == IdentityMedia.Kind.ID_DOCUMENT


def test_a_document_without_a_face_cannot_pass_but_can_fail(case, rep):
    coffee = Upload(jpeg(no_face_bgr("coffee")), "image/jpeg")
    with pytest.raises(DomainError, match="No face"):
        identity_check_id_document(case=case, upload=coffee, result="PASS", by=rep)
    check = identity_check_id_document(case=case, upload=coffee, result="FAIL", by=rep)
    assert check.result == "FAIL"


@pytest.mark.parametrize(
    "upload",
    [
        None,
        Upload(b"", "image/jpeg"),
        Upload(b"not an image", "image/jpeg"),
        Upload(b"GIF", "text/plain"),
    ],
)
def test_a_document_check_needs_an_image(case, rep, upload):
    with pytest.raises(DomainError):
        identity_check_id_document(case=case, upload=upload, result="FAIL", by=rep)
    assert not IdentityCheck.objects.exists()


def guardian(case, rep, **overrides):
    arguments = {
        "guardian_name": "Chen Li",
        "relationship": "MOTHER",
        "consent": True,
        "upload": Upload(jpeg(astronaut_bgr()), "image/jpeg"),
    }
    return identity_check_guardian(case=case, by=rep, **(arguments | overrides))


def test_a_guardian_with_everything_passes_and_the_name_stays_off_the_record(case, rep):
    check = guardian(case, rep)
    assert check.result == "PASS"
    assert check.details == {"relationship": "MOTHER", "consent": True, "face_on_document": True}
    assert "Chen Li" not in json.dumps(check.details)
    case.visit.refresh_from_db()
    assert case.visit.guardian_name == "Chen Li"
    assert check.media.get().kind == IdentityMedia.Kind.GUARDIAN_DOCUMENT


def test_without_consent_the_guardian_check_fails(case, rep):
    assert guardian(case, rep, consent=False).result == "FAIL"


def test_a_guardian_document_without_a_face_is_inconclusive(case, rep):
    upload = Upload(jpeg(no_face_bgr("chelsea")), "image/jpeg")
    assert guardian(case, rep, upload=upload).result == "INCONCLUSIVE"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"guardian_name": "  "}, "name"),
        ({"relationship": "NEIGHBOUR"}, "relationship"),
        ({"upload": None}, "photo"),
    ],
)
def test_a_guardian_check_needs_name_relationship_and_document(case, rep, overrides, message):
    with pytest.raises(DomainError, match=message):
        guardian(case, rep, **overrides)


def test_the_guardian_form_through_the_page(case, rep_client):
    response = rep_client.post(
        "/desk/identity/guardian/",
        {
            "guardian_name": "Chen Li",
            "relationship": "MOTHER",
            "consent": "on",
            "photo": _file("id.jpg", jpeg(astronaut_bgr()), "image/jpeg"),
        },
        follow=True,
    )
    assert "Guardian verification recorded: Passed." in response.content.decode()


def test_an_invalid_guardian_form_is_shown_again(case, rep_client):
    response = rep_client.post("/desk/identity/guardian/", {"relationship": "MOTHER"})
    assert response.status_code == 400
    assert "Please correct the form below." in response.content.decode()


# --- States and access ---------------------------------------------------------------


def test_states_show_required_checks_missing_passed_or_failed(case, rep):
    states = {s.method: s.state for s in identity.check_states(case)}
    assert states == {"KNOWLEDGE": "missing", "FACE_VIDEO": "missing"}
    identity_check_knowledge(case=case, attempt=1, answers={}, by=rep)
    guardian(case, rep)
    states = {s.method: s for s in identity.check_states(case)}
    assert states["KNOWLEDGE"].state == "failed"
    assert states["FACE_VIDEO"].state == "missing"
    assert states["GUARDIAN"].state == "passed"
    assert not states["GUARDIAN"].required
    identity_check_knowledge(case=case, attempt=2, answers=RIGHT_ANSWERS, by=rep)
    assert identity.check_states(case)[0].state == "passed"
    identity_check_id_document(
        case=case, upload=Upload(jpeg(no_face_bgr("cat")), "image/jpeg"), result="FAIL", by=rep
    )
    identity_check_id_document(
        case=case, upload=Upload(png(astronaut_bgr()), "image/png"), result="PASS", by=rep
    )
    identity_check_id_document(
        case=case, upload=Upload(jpeg(no_face_bgr("cat")), "image/jpeg"), result="FAIL", by=rep
    )
    # A pass counts, as the resolution services count it.
    assert {s.method: s.state for s in identity.check_states(case)}["ID_DOCUMENT"] == "passed"


def test_passed_knowledge_is_not_asked_again(case, rep):
    identity_check_knowledge(case=case, attempt=1, answers=RIGHT_ANSWERS, by=rep)
    with pytest.raises(DomainError, match="already passed"):
        identity_check_knowledge(case=case, attempt=2, answers=RIGHT_ANSWERS, by=rep)


def test_media_and_reference_photos_are_for_staff_of_the_cases_center(case, rep, settings):
    check = identity_check_id_document(
        case=case, upload=Upload(png(astronaut_bgr()), "image/png"), result="PASS", by=rep
    )
    media = check.media.get()
    account = case.platform_account
    account.reference_photo.save("ref.png", _file("ref.png", png(astronaut_bgr()), "image/png"))
    urls = [f"/desk/identity/media/{media.pk}/", f"/desk/identity/reference/{account.pk}/"]
    own = Client()
    own.force_login(rep)
    for url in urls:
        assert own.get(url).status_code == 200
    assert Client().get(urls[0]).status_code == 302  # to the sign-in page
    reception = Client()
    reception.force_login(staff_user(case.center, Role.RECEPTION, "guard"))
    other = Client()
    other.force_login(staff_user(CenterFactory(slug="elsewhere"), Role.REPRESENTATIVE, "far"))
    for url in urls:
        assert reception.get(url).status_code == 403
        assert other.get(url).status_code == 404


def test_the_page_without_a_visitor_says_so(rep_client, open_desk):
    response = rep_client.get("/desk/identity/")
    assert "No visitor at your desk" in response.content.decode()
    response = rep_client.post("/desk/identity/knowledge/", {"attempt": "1"})
    assert response.status_code == 409
