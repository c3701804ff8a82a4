"""The two pytest-xdist workers share one Redis; each keeps its own keys
(``_redis_keys_of_this_worker`` in tests/conftest.py)."""

from __future__ import annotations

import asyncio
import os

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from channels_redis.core import RedisChannelLayer
from django.conf import settings
from django.core.cache import cache

pytestmark = pytest.mark.skipif(
    not settings.REDIS_URL, reason="REDIS_URL unset: the in-memory layer and cache are per process"
)

RECEIVE_S = 5.0


def test_the_layer_and_the_cache_of_this_worker_are_its_own(worker_id):
    layer = get_channel_layer()
    assert layer.prefix.endswith(f"-{worker_id}:")
    assert cache.key_prefix.endswith(f"-{worker_id}")
    # What the servers a test starts read.
    assert os.environ["CHANNEL_LAYER_PREFIX"] == layer.prefix
    assert os.environ["CACHE_KEY_PREFIX"] == cache.key_prefix


def test_a_flush_by_another_worker_leaves_this_workers_messages(worker_id):
    layer = get_channel_layer()
    # A worker whose id begins this one's ("gw1" and "gw10"): its flush deletes the keys
    # its prefix begins, which the separator keeps from being this worker's. Not the id of
    # a real worker, whose keys this would delete under its tests.
    other = RedisChannelLayer(
        hosts=[settings.REDIS_URL],
        prefix=layer.prefix.removesuffix(f"-{worker_id}:") + f"-{worker_id[:-1]}:",
    )

    async def flushed_under_a_waiting_message() -> dict:
        channel = await layer.new_channel()
        await layer.group_add("flush-probe", channel)
        await layer.group_send("flush-probe", {"type": "probe"})
        await other.flush()
        try:
            return await asyncio.wait_for(layer.receive(channel), RECEIVE_S)
        finally:
            await layer.group_discard("flush-probe", channel)
            await other.close_pools()

    assert async_to_sync(flushed_under_a_waiting_message)() == {"type": "probe"}
