"""Hostile input at the desk's identity checks: Hypothesis posts generated forms and files
to the knowledge questions, the face capture and its decision, the ID document and the
guardian check, through Django's test client (tests/proof/test_fuzz.py explains the
forms and the hostile values; its own file so that the two run in parallel in CI).

Files are hostile too: random bytes, an empty file, text claiming to be a JPEG, a real
JPEG or PNG, or a true name with a lying content type. Whatever comes in:

- never a 5xx: accepted (302), refused with the form (400) or with a domain message (409);
- nothing half-written: a refused submission adds no identity check, no identity media,
  no audit entry and no file in the media folder; an accepted check adds exactly one
  identity check and its audit entry, an accepted capture its frames, their files and
  its audit entry (replacing an undecided earlier capture).

The visitor at the desk changes every few examples (attempts at the questions are
limited per case), so later examples meet fresh cases as well as exhausted ones.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from hypothesis import given
from hypothesis import strategies as st

from center.models import AuditEvent, IdentityCheck, IdentityMedia
from center.services import Upload, identity_face_capture, pending_face_capture
from queueing.models import Ticket
from queueing.services import desk_open, ticket_call_next, ticket_no_show
from tests.center.face_samples import astronaut_bgr, jpeg, moving_astronaut, png
from tests.center.factories import PlatformAccountFactory
from tests.proof.test_fuzz import (
    EXAMPLES,
    assert_no_server_error,
    form,
    fuzz_settings,
)
from tests.queueing.factories import issue

KNOWLEDGE = {
    "registration_year": 2011,
    "former_phone": "13857340921",
    "contacts": ["Chen Bo", "Aunt Mei"],
    "groups": ["Journalism Class 2009", "Hiking Shenzhen"],
}
#: Examples a visitor stays at the desk before the next one is called.
EXAMPLES_PER_VISITOR = 12


def _image_bytes() -> tuple[bytes, bytes]:
    face = astronaut_bgr()[20:120, 10:110]
    return jpeg(face), png(face)


JPEG, PNG = _image_bytes()
LIVE_FACE = [
    Upload(jpeg(image), "image/jpeg", f"frame{index}.jpg")
    for index, image in enumerate(moving_astronaut())
]

HOSTILE_UPLOAD = st.builds(
    lambda content, name, content_type: SimpleUploadedFile(name, content, content_type),
    st.one_of(
        st.binary(max_size=512),
        st.just(b""),
        st.just(b"not a picture at all"),
        st.just(JPEG),
        st.just(PNG),
        st.just(JPEG[: len(JPEG) // 2]),
    ),
    st.sampled_from(["frame.jpg", "photo.png", "clip.webm", "x", "../../etc/passwd", "长.jpg"]),
    st.sampled_from(["image/jpeg", "image/png", "video/webm", "text/html", ""]),
)
# Half of the files are what a camera sends, or hardly anything would be accepted.
UPLOAD = st.one_of(
    st.sampled_from([("photo.jpg", JPEG, "image/jpeg"), ("photo.png", PNG, "image/png")]).map(
        lambda file: SimpleUploadedFile(*file)
    ),
    HOSTILE_UPLOAD,
)

ENDPOINTS: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "/desk/identity/knowledge/": form(
        {
            "attempt": st.sampled_from(["1", "2", "3", "4", "0", "-1"]),
            "registration_year": st.sampled_from(["2011", "2012", " 2011 "]),
            "phone_digits": st.sampled_from(["5734", "57 34", "0000", ""]),
            "contacts": st.lists(st.sampled_from(["Chen Bo", "Aunt Mei", "Nobody"]), max_size=3),
            "groups": st.lists(
                st.sampled_from(["Journalism Class 2009", "Hiking Shenzhen", "Chess"]), max_size=3
            ),
        }
    ),
    "/desk/identity/face/": form({"frames": st.lists(UPLOAD, min_size=1, max_size=4)}),
    "/desk/identity/face/decide/": form({"decision": st.sampled_from(["confirm", "reject"])}),
    "/desk/identity/document/": form(
        {"result": st.sampled_from(["PASS", "FAIL", "PASS", "INCONCLUSIVE"]), "photo": UPLOAD}
    ),
    "/desk/identity/guardian/": form(
        {
            "guardian_name": st.sampled_from(["Wang Fang", "王芳", "Wang Fang", ""]),
            "relationship": st.sampled_from(["MOTHER", "LEGAL_GUARDIAN", "MOTHER", "COUSIN", ""]),
            "consent": st.sampled_from(["on", "on", ""]),
            "photo": UPLOAD,
        }
    ),
}
CHECKS = {path for path in ENDPOINTS if path != "/desk/identity/face/"}


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def media_files(root: Path) -> int:
    return sum(1 for path in root.rglob("*") if path.is_file()) if root.exists() else 0


@pytest.mark.slow
def test_fuzzed_identity_checks(center, case_type, reception, rep, desk, settings):
    case_type.required_checks = ["KNOWLEDGE", "FACE_VIDEO", "ID_DOCUMENT"]
    case_type.save()
    account = PlatformAccountFactory(
        handle="fuzz.reporter",
        registration_year=2011,
        registration_phone_masked="138****0921",
        records={"knowledge": KNOWLEDGE},
    )
    desk_open(desk=desk, by=rep)
    client = Client()
    client.force_login(rep)
    accepted: dict[str, int] = dict.fromkeys(ENDPOINTS, 0)
    examples = 0

    def visitor_at_desk() -> None:
        nonlocal examples
        examples += 1
        if examples % EXAMPLES_PER_VISITOR != 1:
            return
        if Ticket.objects.filter(desk=desk, status=Ticket.Status.CALLED).exists():
            ticket_no_show(desk=desk, by=rep)
        issue(center, case_type, by=reception, name="Lin Xiaoyu", account_handle=account.handle)
        ticket = ticket_call_next(desk=desk, by=rep)
        # A live capture waits for the representative's decision, as after the camera.
        identity_face_capture(case=ticket.case, uploads=LIVE_FACE, by=rep)

    def stored() -> dict[str, int]:
        return {
            "checks": IdentityCheck.objects.count(),
            "media": IdentityMedia.objects.count(),
            "audit": AuditEvent.objects.filter(center=center).count(),
            "files": media_files(Path(settings.MEDIA_ROOT)),
        }

    @fuzz_settings(EXAMPLES["identity"])
    @given(path=st.sampled_from(sorted(ENDPOINTS)), data=st.data())
    def submit(path: str, data: st.DataObject) -> None:
        visitor_at_desk()
        fields = data.draw(ENDPOINTS[path])
        before = stored()
        response = client.post(path, fields)
        assert_no_server_error(response)
        after = stored()
        change = {name: after[name] - before[name] for name in after}
        if response.status_code != 302:
            assert response.status_code in (400, 409)
            assert change == dict.fromkeys(change, 0), f"a refused {path} wrote something"
            return
        accepted[path] += 1
        if path in CHECKS:
            assert change["checks"] == 1, f"an accepted {path} recorded {change['checks']} checks"
            assert change["audit"] == 1
            assert change["media"] == change["files"]
        else:
            # A new capture replaces the undecided one: only the net change is known.
            assert change["checks"] == 0
            assert change["audit"] == 1
            assert change["media"] == change["files"]
            case = Ticket.objects.get(desk=desk, status=Ticket.Status.CALLED).case
            assert pending_face_capture(case), "an accepted capture stored no frame"

    submit()
    # Each endpoint must have accepted something, or the fuzzing only proved the refusals.
    assert all(accepted.values()), accepted
