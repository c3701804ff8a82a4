"""Browser tests: Playwright driving Debian's Chromium against pytest-django's live server.

No browser is ever downloaded: the suite uses /usr/bin/chromium, skips when it is
missing, and fails instead when WALKIN_REQUIRE_SERVICES=1 (CI) says it must be there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.db import connection
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from center.models import Center
from queueing.demo import DEMO_PASSWORD, load_demo
from tests.e2e.daphne import daphne_server, daphne_static_root  # noqa: F401 - fixtures

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-gpu",
]
E2E_DIR = Path(__file__).resolve().parent
SCREENSHOTS = E2E_DIR.parents[1] / "docs" / "screenshots"
DESKTOP = {"width": 1366, "height": 900}
TIMEOUT_MS = 10_000

expect.set_options(timeout=TIMEOUT_MS)


@pytest.fixture(autouse=True)
def _fast_password_hashing():
    """Overrides the suite's fast hasher: staff sign in through the form on a Daphne
    server that runs the real settings, so their passwords must be hashed for real."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(E2E_DIR):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="package", autouse=True)
def _allow_orm_beside_playwright_loop() -> Iterator[None]:
    """The sync Playwright API runs an event loop in the test's thread; Django would then
    refuse the ORM calls of fixtures and test bodies as "async unsafe". Only here."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture(scope="package")
def browser(_allow_orm_beside_playwright_loop) -> Iterator[Browser]:
    if not CHROMIUM.exists():
        message = f"Chromium is not installed at {CHROMIUM}"
        if os.environ.get("WALKIN_REQUIRE_SERVICES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def new_context(browser: Browser, daphne_server) -> Iterator[Callable[..., BrowserContext]]:  # noqa: F811
    """Opens browser contexts (separate cookie jars: separate people and devices) on the
    live server; all are closed after the test."""
    contexts: list[BrowserContext] = []

    def open_context(viewport: dict[str, int] | None = None) -> BrowserContext:
        context = browser.new_context(
            base_url=daphne_server.url, viewport=viewport or DESKTOP, locale="en-US"
        )
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context

    yield open_context
    for context in contexts:
        context.close()


def _load_demo_in_own_thread() -> Center:
    try:
        return load_demo()
    finally:
        connection.close()


@pytest.fixture
def demo_center(transactional_db) -> Center:
    """The demo center: services, desks, staff (password "walkin-demo"), case types,
    platform accounts and three visitors already waiting.

    Loaded off the test's thread: Playwright's event loop runs there, and the services
    push their queue events with async_to_sync, which refuses to run beside a loop.
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(_load_demo_in_own_thread).result()


def cjk_font_installed() -> bool:
    """Whether fontconfig knows a font for Chinese: without one, Chromium draws every
    Chinese character as an empty box."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return False
    fonts = subprocess.run(  # noqa: S603 - fc-list from PATH, fixed arguments
        [fc_list, ":lang=zh"], capture_output=True, text=True, check=False
    )
    return bool(fonts.stdout.strip())


@pytest.fixture(scope="session")
def screenshots_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """docs/screenshots/, kept current by every run; a machine without a Chinese font
    (`apt-get install fonts-noto-cjk`) writes to a temporary folder instead, so that the
    committed screenshots never get boxes for Chinese text."""
    if cjk_font_installed():
        return SCREENSHOTS
    return tmp_path_factory.mktemp("screenshots")


@pytest.fixture
def screenshot(screenshots_dir: Path) -> Callable[..., None]:
    """Saves <screenshots_dir>/<name>.png, overwritten on every run."""

    def save(page: Page, name: str, *, full_page: bool = True) -> None:
        screenshots_dir.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=screenshots_dir / f"{name}.png", full_page=full_page)

    return save


@pytest.fixture
def sign_in(new_context, screenshot) -> Callable[..., Page]:
    """A page of a new browser context signed in as a demo staff member, through the
    sign-in form like a person would."""

    def sign_in_as(username: str, *, next_path: str = "/", screenshot_as: str = "") -> Page:
        page = new_context().new_page()
        page.goto(f"/accounts/login/?next={next_path}")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(DEMO_PASSWORD)
        if screenshot_as:
            screenshot(page, screenshot_as)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("button", name="Sign out")).to_be_visible()
        return page

    return sign_in_as
