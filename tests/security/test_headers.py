"""Content Security Policy on every response, no inline code in any template, and the
production settings (HTTPS-only cookies, HSTS, redirect) checked in a child process with
a production environment, the way a deployment starts."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "SECRET_KEY": "production-" + "k" * 60,
    "ALLOWED_HOSTS": "walkin.example.org",
}
NONCE = re.compile(r"'nonce-([\w-]+)'")


def _policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {
        directive.split()[0]: directive.split()[1:]
        for directive in header.split(";")
        if directive.strip()
    }


@pytest.mark.parametrize(
    "path", ["/", "/accounts/login/", "/board/?center=test-center", "/t/unknown/"]
)
def test_every_page_carries_a_strict_content_security_policy(client, center, path):
    first, second = client.get(path), client.get(path)

    policy = _policy(first)
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"][0] == "'self'"
    assert policy["style-src"] == ["'self'"]
    assert policy["connect-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    header = first["Content-Security-Policy"]
    assert "unsafe-inline" not in header
    assert "unsafe-eval" not in header
    # A nonce, when there is one, is new on every response.
    assert NONCE.findall(header) != NONCE.findall(second["Content-Security-Policy"]) or (
        not NONCE.findall(header)
    )


def test_staff_pages_carry_the_policy_too(client, supervisor):
    client.force_login(supervisor)
    for path in ("/kiosk/", "/reception/", "/desk/", "/supervisor/", "/admin/"):
        response = client.get(path)
        assert "script-src 'self'" in response["Content-Security-Policy"], path


def test_htmx_runs_without_eval_or_inline_styles(client, db):
    page = client.get("/accounts/login/").content.decode()
    config = json.loads(re.search(r'name="htmx-config" content=\'([^\']+)\'', page)[1])
    assert config["allowEval"] is False
    assert config["includeIndicatorStyles"] is False


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
INLINE_CODE = re.compile(r"<style\b|\sstyle=|\son[a-z]+=|javascript:", re.IGNORECASE)


# Documents that are never served as pages, so the policy does not apply to them.
STANDALONE = {
    "templates/queueing/report/simulation.html": "a self-contained file (manage.py simulate)",
}


def test_no_template_has_inline_code_the_policy_would_block():
    files = [
        path
        for path in sorted((ROOT / "templates").rglob("*.html"))
        if str(path.relative_to(ROOT)) not in STANDALONE
    ]
    assert files
    offenders = []
    for path in files:
        source = path.read_text()
        for pattern in (INLINE_SCRIPT, INLINE_CODE):
            for found in pattern.finditer(source):
                if "nonce=" not in source[found.start() : found.start() + 200]:
                    offenders.append(f"{path.relative_to(ROOT)}: {found[0]}")
    assert not offenders, "inline code needs a nonce or a static file:\n" + "\n".join(offenders)


PROBE = """
import json, django
django.setup()
from django.conf import settings
from django.core.management import call_command
from django.test import Client
call_command("check", deploy=True, fail_level="WARNING")
client = Client(HTTP_HOST="walkin.example.org")
plain = client.get("/accounts/login/")
secure = client.get("/accounts/login/", secure=True)
print(json.dumps({
    "debug": settings.DEBUG,
    "session_secure": settings.SESSION_COOKIE_SECURE,
    "csrf_secure": settings.CSRF_COOKIE_SECURE,
    "hsts": settings.SECURE_HSTS_SECONDS,
    "plain_status": plain.status_code,
    "plain_location": plain.get("Location", ""),
    "secure_status": secure.status_code,
    "hsts_header": secure.get("Strict-Transport-Security", ""),
    "csrf_cookie": secure.cookies[settings.CSRF_COOKIE_NAME].output(),
}))
"""


def _child_database(tmp_path: Path) -> dict[str, str]:
    """The run's database server if it has one, else a SQLite file of the test's own: a
    child left to the default would open (and create) the demo's database in var/."""
    return {
        "DATABASE_URL": os.environ.get("DATABASE_URL") or f"sqlite:///{tmp_path / 'probe.sqlite3'}"
    }


def _child(extra_env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in {"SECRET_KEY", "DEBUG", "ALLOWED_HOSTS", "SECURE_SSL_REDIRECT"}
    }
    env.update(
        {"DJANGO_SETTINGS_MODULE": "center.settings", **_child_database(tmp_path), **extra_env}
    )
    return subprocess.run(  # noqa: S603 - this interpreter and a constant script
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_production_settings_pass_check_deploy_and_send_secure_cookies(tmp_path):
    result = _child(PRODUCTION_ENV, tmp_path)

    assert result.returncode == 0, result.stderr[-3000:]
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["debug"] is False
    assert seen["session_secure"] is True
    assert seen["csrf_secure"] is True
    assert seen["hsts"] >= 31_536_000
    assert seen["plain_status"] == 301
    assert seen["plain_location"] == "https://walkin.example.org/accounts/login/"
    assert seen["secure_status"] == 200
    assert "max-age=31536000" in seen["hsts_header"]
    assert "Secure" in seen["csrf_cookie"]


def test_check_deploy_fails_when_production_forgets_https(tmp_path):
    """The check is not a rubber stamp: cookies without Secure are reported."""
    result = _child({**PRODUCTION_ENV, "SECURE_COOKIES": "0"}, tmp_path)

    assert result.returncode != 0
    assert "security.W012" in result.stderr
    assert "security.W016" in result.stderr


def test_the_embedded_default_and_the_demo_stay_on_plain_http(tmp_path):
    # No SECRET_KEY in the environment: tests, local runs and `manage.py demo`.
    assert settings.SESSION_COOKIE_SECURE is False
    assert settings.SECURE_SSL_REDIRECT is False
    assert settings.SECURE_HSTS_SECONDS == 0
    # Even with a SECRET_KEY set, `manage.py demo` serves http://127.0.0.1:8000.
    demo = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; sys.argv = ['manage.py', 'demo']; import django; django.setup();"
            "from django.conf import settings;"
            "print(settings.SESSION_COOKIE_SECURE, settings.SECURE_SSL_REDIRECT)",
        ],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "center.settings",
            **_child_database(tmp_path),
            **PRODUCTION_ENV,
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert demo.returncode == 0, demo.stderr[-2000:]
    assert demo.stdout.split()[-2:] == ["False", "False"]
