"""Fixtures for every test: a small center with two services, desks and staff."""

import copy
import os
import weakref
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.backends.signals import connection_created
from django.test import override_settings

from center.models import Role
from queueing.services import desk_open
from tests.center.factories import (
    CaseTypeFactory,
    CenterFactory,
    PlatformAccountFactory,
    staff_user,
)
from tests.queueing.factories import DeskFactory, ServiceFactory, issue


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The order in which the two pytest-xdist workers are handed whole files
    (``--dist loadfile --no-loadscope-reorder``): browser tests last, so that Playwright's
    event loop is gone before any other test runs; before them and within them, files
    holding a test marked ``slow`` first, so that the last files to start are short ones
    and both workers finish together."""
    slow_files = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: ("e2e" in item.path.parts, item.path not in slow_files))


@pytest.fixture(scope="session", autouse=True)
def _redis_keys_of_this_worker(worker_id: str) -> Iterator[None]:
    """Each pytest-xdist worker keeps its own keys in a shared Redis: the channel layer's
    and the cache's prefixes end with the worker's id.

    The workers' databases are apart, but their centers get the same ids, so one worker's
    events would reach the other's screens; and a test that empties the channel layer
    (``layer.flush()`` deletes every key of its prefix) would empty it under the other
    worker's tests, whose messages and groups would then never come. Servers the tests
    start take the prefixes from the environment, so it says the same.
    """
    if not settings.REDIS_URL:
        yield
        return
    layers = copy.deepcopy(settings.CHANNEL_LAYERS)
    caches = copy.deepcopy(settings.CACHES)
    # The separator ends the prefix: a flush of "…-gw1:*" leaves "…-gw10:" alone.
    layers["default"]["CONFIG"]["prefix"] += f"-{worker_id}:"
    caches["default"]["KEY_PREFIX"] += f"-{worker_id}"
    environment = {
        "CHANNEL_LAYER_PREFIX": layers["default"]["CONFIG"]["prefix"],
        "CACHE_KEY_PREFIX": caches["default"]["KEY_PREFIX"],
    }
    with (
        override_settings(CHANNEL_LAYERS=layers, CACHES=caches),
        pytest.MonkeyPatch.context() as patch,
    ):
        for name, value in environment.items():
            patch.setitem(os.environ, name, value)
        yield


@pytest.fixture(scope="session", autouse=True)
def _release_the_test_database(django_db_setup, django_db_blocker):
    """Lets the test database go at the end of the run, whichever threads still hold it.

    Threads of the tests keep a connection when the session ends: the request threads of
    ``center.asgi`` and Channels' database thread keep theirs on SQLite (``CONN_MAX_AGE``),
    and on PostgreSQL the executors of ``sync_to_async`` and the live hubs can hold one.
    PostgreSQL refuses to drop a database in use, and a SQLite file deleted under open
    connections leaves its ``-wal`` and ``-shm`` files in ``var/``: every run would leave
    them behind.
    """
    opened: weakref.WeakSet = weakref.WeakSet()

    def remember(sender, connection, **kwargs) -> None:
        opened.add(connection)

    connection_created.connect(remember, weak=False)
    yield
    connection_created.disconnect(remember)
    if connection.vendor == "sqlite":
        this_threads = connections[DEFAULT_DB_ALIAS]
        for wrapper in list(opened):
            # Django opens SQLite connections that any thread may close.
            if wrapper is not this_threads and wrapper.connection is not None:
                wrapper.connection.close()
                wrapper.connection = None
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Staff logins are made by the hundred; the real hasher costs ~0.3 s each on purpose.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _no_rate_limits(settings):
    # Tests send hundreds of requests from one address and one login; tests/security
    # turns the limits (center/ratelimit.py) back on where it tests them.
    settings.RATE_LIMITS = {}


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path_factory):
    # Identity media and demo reference photos written by tests never land in var/media.
    settings.MEDIA_ROOT = tmp_path_factory.mktemp("media")


@pytest.fixture
def center(db):
    return CenterFactory(slug="test-center", name="Test Center")


@pytest.fixture
def accounts_service(center):
    return ServiceFactory(center=center, code="ACCOUNTS", name="Accounts", prefix="A")


@pytest.fixture
def wallet_service(center):
    return ServiceFactory(center=center, code="WALLET", name="Wallet", prefix="W")


@pytest.fixture
def case_type(accounts_service):
    return CaseTypeFactory()


@pytest.fixture
def wallet_case_type(wallet_service):
    return CaseTypeFactory(
        code="WALLET_FROZEN", name="Wallet frozen", skill="WALLET", intake_fields=[]
    )


@pytest.fixture
def account():
    return PlatformAccountFactory(handle="lin.reporter")


@pytest.fixture
def reception(center):
    return staff_user(center, Role.RECEPTION, "reception")


@pytest.fixture
def rep(center):
    return staff_user(center, Role.REPRESENTATIVE, "rep1")


@pytest.fixture
def rep2(center):
    return staff_user(center, Role.REPRESENTATIVE, "rep2")


@pytest.fixture
def supervisor(center):
    return staff_user(center, Role.SUPERVISOR, "supervisor")


@pytest.fixture
def desk(center, accounts_service, wallet_service):
    return DeskFactory(center=center, number=1, services=[accounts_service, wallet_service])


@pytest.fixture
def desk2(center, accounts_service):
    return DeskFactory(center=center, number=2, services=[accounts_service])


@pytest.fixture
def open_desk(desk, rep):
    return desk_open(desk=desk, by=rep)


@pytest.fixture
def issued(center, case_type, reception):
    """A visitor checked in through the real kiosk service: (ticket, token)."""
    return issue(center, case_type, by=reception, name="Lin Xiaoyu")
