"""The journalist's identity checks at the desk, in Chromium with a fake camera that films
scikit-image's astronaut (a moving crop): knowledge questions, a face video captured in
the browser and compared with the reference photo, and the ID document photo."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np
import pytest
from django.conf import settings
from django.db import connection
from playwright.sync_api import Browser, BrowserContext, Page, expect

from center.models import Case, CaseType, IdentityCheck, IdentityMedia
from queueing.models import Desk
from queueing.services import (
    CheckIn,
    checkin_issue_ticket,
    desk_open,
    ticket_call_next,
    ticket_no_show,
    ticket_start_serving,
)
from tests.center.face_samples import astronaut_bgr, png
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, DESKTOP, TIMEOUT_MS
from tests.e2e.daphne import DaphneServer, free_port, server_env, session_cookie

pytestmark = pytest.mark.django_db(transaction=True)

SIDE = 400
FPS = 10


def write_astronaut_y4m(path: Path, frames: int = 30) -> Path:
    """A Y4M video of the astronaut's face drifting and bobbing, for Chromium's fake camera."""
    image = astronaut_bgr()
    with path.open("wb") as video:
        video.write(f"YUV4MPEG2 W{SIDE} H{SIDE} F{FPS}:1 Ip A1:1 C420jpeg\n".encode())
        for index in range(frames):
            step = index % 15  # back and forth
            dx, dy = 4 * min(step, 15 - step), 3 * (index % 4)
            crop = np.ascontiguousarray(image[30 + dy : 30 + dy + SIDE, 20 + dx : 20 + dx + SIDE])
            video.write(b"FRAME\n")
            video.write(cv2.cvtColor(crop, cv2.COLOR_BGR2YUV_I420).tobytes())
    return path


@pytest.fixture
def camera_browser(browser: Browser, tmp_path: Path) -> Iterator[Browser]:
    """A second Chromium of the same Playwright, whose camera films the astronaut."""
    video = write_astronaut_y4m(tmp_path / "astronaut.y4m")
    camera = browser.browser_type.launch(
        executable_path=str(CHROMIUM),
        headless=True,
        args=[
            *CHROMIUM_ARGS,
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        ],
    )
    yield camera
    camera.close()


@pytest.fixture
def media_server(
    transactional_db, daphne_static_root: Path, tmp_path: Path
) -> Iterator[DaphneServer]:
    """Daphne with the test's media directory, where the demo put the reference photo."""
    server = DaphneServer(
        port=free_port(),
        env=server_env(static_root=daphne_static_root, MEDIA_ROOT=str(settings.MEDIA_ROOT)),
        log=tmp_path / "daphne.log",
    ).start()
    yield server
    server.stop()


def _call_the_journalist() -> int:
    """Desk 1 (rep1) calls visitors until the journalist is at the desk."""
    try:
        desk = Desk.objects.get(number=1)
        rep = desk.center.staff.get(user__username="rep1").user
        desk_open(desk=desk, by=rep)
        while True:
            ticket = ticket_call_next(desk=desk, by=rep)
            if ticket.case.account_handle == "lin.reporter":
                ticket_start_serving(desk=desk, by=rep)
                return ticket.case_id
            ticket_no_show(desk=desk, by=rep)
    finally:
        connection.close()


def _call_the_mother_and_son() -> int:
    """The mother and her 16-year-old son check in; the specialist's desk 6 calls them."""
    try:
        desk = Desk.objects.get(number=6)
        specialist = desk.center.staff.get(user__username="specialist").user
        reception = desk.center.staff.get(user__username="reception").user
        checkin_issue_ticket(
            center=desk.center,
            checkin=CheckIn(
                full_name="Chen Hao",
                purpose="CASE",
                screening_passed=True,
                items_stored=False,
                recording_rule_acknowledged=True,
                case_type=CaseType.objects.get(code="MINOR_SPENDING"),
                complaint={"game": "Legends", "amount": "10525.00", "relationship": "Mother"},
                complaint_text="My son spent over 10,000 in a game with my bank card.",
                account_handle="chen.hao.game",
                assistance_needs=("MINOR_WITH_GUARDIAN",),
            ),
            by=reception,
        )
        desk_open(desk=desk, by=specialist)
        ticket = ticket_call_next(desk=desk, by=specialist)
        ticket_start_serving(desk=desk, by=specialist)
        return ticket.case_id
    finally:
        connection.close()


def _signed_in_page(browser: Browser, server: DaphneServer, username: str) -> Page:
    context: BrowserContext = browser.new_context(
        base_url=server.url, viewport=DESKTOP, locale="en-US"
    )
    context.set_default_timeout(TIMEOUT_MS)
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": session_cookie(username),
                "url": server.url,
            }
        ]
    )
    return context.new_page()


@pytest.fixture
def guardian_page(
    demo_center, camera_browser: Browser, media_server: DaphneServer
) -> Iterator[Page]:
    with ThreadPoolExecutor(max_workers=1) as pool:
        case_id = pool.submit(_call_the_mother_and_son).result()
    page = _signed_in_page(camera_browser, media_server, "specialist")
    page.case_id = case_id  # type: ignore[attr-defined]
    yield page
    page.context.close()


@pytest.fixture
def desk_page(demo_center, camera_browser: Browser, media_server: DaphneServer) -> Iterator[Page]:
    with ThreadPoolExecutor(max_workers=1) as pool:
        case_id = pool.submit(_call_the_journalist).result()
    page = _signed_in_page(camera_browser, media_server, "rep1")
    page.case_id = case_id  # type: ignore[attr-defined]
    yield page
    page.context.close()


def test_knowledge_face_video_and_document_at_the_desk(desk_page: Page, screenshot, tmp_path):
    page = desk_page
    page.goto("/desk/")
    page.get_by_role("link", name="Run identity checks").click()
    expect(page.get_by_role("heading", name="Identity checks · Lin Xiaoyu")).to_be_visible()
    expect(page.get_by_role("img", name="Reference photo of the account")).to_be_visible()
    screenshot(page, "identity-desk")

    # Account knowledge: the visitor answers, the representative types and ticks.
    page.get_by_label("In which year was the account registered?").fill("2011")
    for name in ("Chen Bo", "Aunt Mei", "Journalism Class 2009", "Hiking Shenzhen"):
        page.get_by_label(name, exact=True).check()
    page.get_by_label("Which digits are hidden by the stars?").fill("5734")
    page.get_by_role("button", name="Score the answers").click()
    expect(page.get_by_text("Account knowledge questions recorded: Passed.")).to_be_visible()

    # Face video from the (fake) camera: 8 frames over 3 seconds, analysed on the server.
    page.get_by_role("button", name="Start camera").click()
    page.get_by_role("button", name="Record 3 seconds").click()
    expect(page.get_by_text("A live face was found")).to_be_visible(timeout=30_000)
    expect(page.get_by_role("img", name="Captured frame")).to_be_visible()
    expect(page.locator("#face-analysis")).to_contain_text("8 / 8")
    screenshot(page, "identity-face-compare")
    page.get_by_role("button", name="Same person: confirm").click()
    expect(
        page.get_by_text("Face video against the reference photo recorded: Passed.")
    ).to_be_visible()

    # ID document: an uploaded photo with the holder's portrait on it.
    document = tmp_path / "id-card.png"
    document.write_bytes(png(astronaut_bgr()))
    page.get_by_label("Photo of the document").set_input_files(document)
    page.get_by_label("is genuine and shows the visitor").check()
    page.get_by_role("button", name="Record the document check").click()
    expect(page.get_by_text("ID document recorded: Passed.")).to_be_visible()
    states = page.locator("#check-states")
    expect(states.locator('[data-method="KNOWLEDGE"] .badge')).to_have_text("passed")
    expect(states.locator('[data-method="FACE_VIDEO"] .badge')).to_have_text("passed")
    screenshot(page, "identity-checks-passed")

    case = Case.objects.get(pk=page.case_id)  # type: ignore[attr-defined]
    results = IdentityCheck.objects.filter(case=case).order_by("pk")
    assert [(c.method, c.result) for c in results] == [
        ("KNOWLEDGE", "PASS"),
        ("FACE_VIDEO", "PASS"),
        ("ID_DOCUMENT", "PASS"),
    ]
    face_check = results[1]
    assert face_check.details["face_frames"] == face_check.details["frames"] == 8
    assert face_check.details["motion"] > 0.06
    assert IdentityMedia.objects.filter(case=case, kind="FACE_VIDEO").count() == 8

    page.goto("/desk/")
    expect(page.locator("#identity-status")).to_contain_text("All required checks passed.")
    screenshot(page, "identity-desk-after")


def test_guardian_check_with_a_camera_snapshot_of_the_document(guardian_page: Page, screenshot):
    page = guardian_page
    page.goto("/desk/identity/")
    expect(page.get_by_role("heading", name="Guardian of a minor")).to_be_visible()
    section = page.locator("section", has=page.get_by_role("heading", name="Guardian of a minor"))
    section.get_by_label("Guardian's full name").fill("Chen Li")
    section.get_by_label("Relationship to the minor").select_option(label="Mother")
    # The fake camera films the astronaut: the "document" has a face on it.
    section.get_by_role("button", name="Take a photo with the camera").click()
    expect(section.locator("[data-snapshot-status]")).to_have_text("✓")
    section.get_by_label("The guardian consents to the handling of the minor's case").check()
    screenshot(page, "identity-guardian-form")
    section.get_by_role("button", name="Record the guardian check").click()
    expect(page.get_by_text("Guardian verification recorded: Passed.")).to_be_visible()
    expect(page.locator('#check-states [data-method="GUARDIAN"] .badge')).to_have_text("passed")
    expect(page.locator('#check-states [data-method="ID_DOCUMENT"] .badge')).to_have_text("missing")
    screenshot(page, "identity-guardian-passed")
    check = IdentityCheck.objects.get(case_id=page.case_id)  # type: ignore[attr-defined]
    assert check.details == {"relationship": "MOTHER", "consent": True, "face_on_document": True}
    media = IdentityMedia.objects.get(check_record=check)
    assert media.kind == "GUARDIAN_DOCUMENT"
    assert media.content_type == "image/jpeg"
