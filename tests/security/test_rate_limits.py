"""Sign-in lockout (django-axes), the kiosk's check-in limit and the limit on unknown
visitor tokens: each refuses with 429 and a clear page, and only who it should."""

from __future__ import annotations

import os
import time
import uuid
from types import SimpleNamespace

import pytest
import redis
from channels.db import database_sync_to_async
from django.conf import settings as django_settings
from django.test import Client

from center import ratelimit
from center.models import Role
from queueing.consumers import CLOSE_NOT_FOUND, CLOSE_TOO_MANY
from queueing.models import Ticket
from tests.center.factories import staff_user
from tests.queueing.test_consumers import (
    _hubs_stop_with_the_test,  # noqa: F401 - autouse: no hub outlives its test
    close_code,
    next_push,
    watching,
)
from tests.queueing.web import kiosk_data, text

PASSWORD = "correct horse battery"
REDIS_URL = os.environ.get("WALKIN_TEST_REDIS_URL", "redis://127.0.0.1:6379/11")


@pytest.fixture
def limits(settings, monkeypatch):
    """Turns the limits on (the suite runs without them) with counters of this test only.

    The windows are fixed (they start at multiples of their length): the clock the
    limits read stands still in the middle of an hour, so a test is never split across
    two windows by a slow machine."""
    default = dict(django_settings.CACHES["default"])
    settings.CACHES = {"default": {**default, "KEY_PREFIX": f"test-{uuid.uuid4().hex}"}}
    now = (int(time.time()) // 3600) * 3600 + 1800
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(time=lambda: now))

    def set_limits(**configured: tuple[int, int]) -> None:
        settings.RATE_LIMITS = {name.replace("_", "-"): value for name, value in configured.items()}

    return set_limits


# --- sign-in ------------------------------------------------------------------------------


@pytest.fixture
def staff_member(center):
    user = staff_user(center, Role.REPRESENTATIVE, "rep-lockout")
    user.set_password(PASSWORD)
    user.save()
    return user


def _sign_in(client, username: str, password: str, ip: str = "203.0.113.7"):
    return client.post(
        "/accounts/login/",
        {"username": username, "password": password},
        REMOTE_ADDR=ip,
    )


def test_five_wrong_passwords_lock_that_login_on_that_address(client, staff_member):
    for _ in range(django_settings.AXES_FAILURE_LIMIT - 1):
        assert _sign_in(client, "rep-lockout", "wrong").status_code == 200

    locked = _sign_in(client, "rep-lockout", "wrong")
    still_locked = _sign_in(client, "rep-lockout", PASSWORD)

    assert locked.status_code == 429
    assert still_locked.status_code == 429
    assert "_auth_user_id" not in client.session
    page = text(still_locked)
    assert "Sign-in locked for a while" in page
    assert "after 5 wrong passwords in a row" in page
    assert "for 15 minutes" in page
    assert still_locked["Retry-After"] == "900"
    assert "script-src 'self'" in still_locked["Content-Security-Policy"]


def test_a_lockout_does_not_lock_out_the_rest_of_the_center(client, center, staff_member):
    for _ in range(django_settings.AXES_FAILURE_LIMIT):
        _sign_in(client, "rep-lockout", "wrong")
    colleague = staff_user(center, Role.RECEPTION, "reception-2")
    colleague.set_password(PASSWORD)
    colleague.save()

    # The same network: another login still signs in; the same login elsewhere too.
    assert _sign_in(client, "reception-2", PASSWORD).status_code == 302
    client.logout()
    assert _sign_in(client, "rep-lockout", PASSWORD, ip="198.51.100.9").status_code == 302


def test_a_success_resets_the_count(client, staff_member):
    for _ in range(django_settings.AXES_FAILURE_LIMIT - 1):
        _sign_in(client, "rep-lockout", "wrong")
    assert _sign_in(client, "rep-lockout", PASSWORD).status_code == 302
    client.logout()

    for _ in range(django_settings.AXES_FAILURE_LIMIT - 1):
        assert _sign_in(client, "rep-lockout", "wrong").status_code == 200
    assert _sign_in(client, "rep-lockout", PASSWORD).status_code == 302


# --- kiosk --------------------------------------------------------------------------------


def test_the_kiosk_refuses_check_ins_beyond_its_limit(client, limits, center, reception, case_type):
    limits(kiosk_checkin=(3, 60))
    client.force_login(reception)

    accepted = [
        client.post("/kiosk/", kiosk_data(case_type, full_name=f"Visitor {n}")) for n in range(3)
    ]
    refused = client.post("/kiosk/", kiosk_data(case_type, full_name="One Too Many"))

    assert [response.status_code for response in accepted] == [302, 302, 302]
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert "Too many requests" in text(refused)
    assert Ticket.objects.count() == 3
    # The page itself still opens, and another kiosk login has its own budget.
    assert client.get("/kiosk/").status_code == 200
    client.force_login(staff_user(center, Role.RECEPTION, "kiosk-2"))
    assert client.post("/kiosk/", kiosk_data(case_type, full_name="Next")).status_code == 302


# --- visitor tokens -----------------------------------------------------------------------


def test_unknown_tokens_from_one_address_are_refused_after_the_limit(client, limits, issued):
    limits(visitor_token=(3, 600))
    attacker, neighbour = "203.0.113.50", "198.51.100.20"

    misses = [client.get(f"/t/guess-{n}/", REMOTE_ADDR=attacker) for n in range(3)]
    refused = client.get(f"/t/{issued.token}/", REMOTE_ADDR=attacker)
    refused_post = client.post(f"/t/{issued.token}/cancel/", REMOTE_ADDR=attacker)

    assert [response.status_code for response in misses] == [404, 404, 404]
    assert refused.status_code == 429
    assert refused_post.status_code == 429
    assert "Too many requests" in text(refused)
    assert 1 <= int(refused["Retry-After"]) <= 600
    assert Ticket.objects.get(pk=issued.ticket.pk).status == Ticket.Status.WAITING
    # Another address is not affected.
    assert client.get(f"/t/{issued.token}/", REMOTE_ADDR=neighbour).status_code == 200


def test_a_visitor_opening_a_valid_link_never_uses_the_budget(client, limits, issued):
    limits(visitor_token=(3, 600))

    statuses = [
        client.get(f"/t/{issued.token}/", REMOTE_ADDR="192.0.2.1").status_code for _ in range(10)
    ]

    assert statuses == [200] * 10


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_guessing_tokens_through_the_status_socket_spends_the_same_budget(limits, issued):
    limits(visitor_token=(3, 600))
    attacker, neighbour = "203.0.113.51", "198.51.100.21"

    misses = [await close_code(f"/ws/t/guess-{n}/", client=attacker) for n in range(3)]
    # The budget is spent: the attacker's next socket is refused even with a real token,
    # and so is the page; another address still watches its ticket.
    refused = await close_code(f"/ws/t/{issued.token}/", client=attacker)
    page = await database_sync_to_async(Client().get)(f"/t/{issued.token}/", REMOTE_ADDR=attacker)
    async with watching(f"/ws/t/{issued.token}/", client=neighbour) as phone:
        assert issued.ticket.code in (await next_push(phone)).text

    assert misses == [CLOSE_NOT_FOUND] * 3
    assert refused == CLOSE_TOO_MANY
    assert page.status_code == 429


# --- client address -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "1.1.1.1", "10.0.0.5"),  # no proxy trusted: the header is the client's own
        (1, "6.6.6.6, 203.0.113.9", "203.0.113.9"),  # the balancer appended the real one
        (2, "6.6.6.6, 203.0.113.9, 10.0.0.2", "203.0.113.9"),
        (1, "", "10.0.0.5"),
        (1, "not-an-address", None),  # garbage never reaches the lockout table
    ],
)
def test_the_client_address_is_the_one_the_trusted_proxy_saw(
    rf, settings, proxies, forwarded, expected
):
    settings.TRUSTED_PROXY_COUNT = proxies
    request = rf.get("/", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR=forwarded)

    assert ratelimit.client_ip(request) == expected


def test_with_redis_the_counts_are_shared_by_every_worker(settings):
    """Workers count in one Redis: a window filled through one cache connection is full
    for another (a second worker's)."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as error:
        if os.environ.get("WALKIN_REQUIRE_SERVICES") == "1":
            pytest.fail(f"Redis is not reachable at {REDIS_URL}: {error}")
        pytest.skip(f"Redis is not reachable at {REDIS_URL}: {error}")
    prefix = f"test-{uuid.uuid4().hex}"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": prefix,
        }
    }
    settings.RATE_LIMITS = {ratelimit.KIOSK_CHECKIN: (2, 60)}
    try:
        first = ratelimit.Window(ratelimit.KIOSK_CHECKIN, "user-1")
        assert [first.hit(), first.hit()] == [1, 2]
        assert ratelimit.Window(ratelimit.KIOSK_CHECKIN, "user-1").spent()
        assert not ratelimit.Window(ratelimit.KIOSK_CHECKIN, "user-2").spent()
        assert client.keys(f"{prefix}:*ratelimit:kiosk-checkin:user-1:*")
    finally:
        for key in client.scan_iter(match=f"{prefix}:*"):
            client.delete(key)
        client.close()


def test_with_redis_url_the_cache_is_redis():
    backend = django_settings.CACHES["default"]["BACKEND"]
    if os.environ.get("REDIS_URL"):
        assert backend == "django.core.cache.backends.redis.RedisCache"
    else:
        assert backend == "django.core.cache.backends.locmem.LocMemCache"
