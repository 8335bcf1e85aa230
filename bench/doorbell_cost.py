"""What one doorbell costs the worker: CPU and wall time per `group_send`, in-process.

Compares channels-redis's RedisChannelLayer with chatportal's pipelined
layer, and a doorbell sent from the database thread (`async_to_sync`, as
`send_now` does outside a socket's hop) with one handed back and awaited on
the loop (`collecting_doorbells` + `ring`). Each round is one thread hop,
like a chat message's write, then one doorbell to a group of two member
channels, received by both. Needs Redis (REDIS_URL, default db 15 of
127.0.0.1 with a private key prefix). Contention skews wall times more
than CPU times; the load average is printed with the numbers.

    .venv/bin/python bench/doorbell_cost.py --rounds 2000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
import uuid

from asgiref.sync import async_to_sync, sync_to_async
from channels_redis.core import RedisChannelLayer

from chatportal.channel_layer import PipelinedRedisChannelLayer

MESSAGE = {"type": "conversation.event_appended", "conversation": str(uuid.uuid4()), "seq": 1}


async def measure(layer_cls, *, from_thread: bool, rounds: int, redis_url: str) -> dict:
    layer = layer_cls(
        hosts=[{"address": redis_url}], prefix=f"bench-{uuid.uuid4().hex[:8]}", capacity=rounds + 10
    )
    members = [await layer.new_channel(), await layer.new_channel()]
    for channel in members:
        await layer.group_add("conv.bench", channel)

    def write_and_ring():
        async_to_sync(layer.group_send)("conv.bench", MESSAGE)

    def write_only():
        return None

    hop_with_bell = sync_to_async(write_and_ring, thread_sensitive=False)
    hop = sync_to_async(write_only, thread_sensitive=False)
    for _ in range(50):  # warm the pools and the script cache
        await hop()
        await layer.group_send("conv.bench", MESSAGE)
    for channel in members:
        for _ in range(50):
            await layer.receive(channel)

    cpu0, wall0 = time.process_time(), time.perf_counter()
    for _ in range(rounds):
        if from_thread:
            await hop_with_bell()
        else:
            await hop()
            await layer.group_send("conv.bench", MESSAGE)
        for channel in members:
            await layer.receive(channel)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    await layer.flush()
    return {
        "layer": layer_cls.__name__,
        "doorbell_sent_from": "database thread (async_to_sync)" if from_thread else "event loop",
        "cpu_us_per_round": round(cpu / rounds * 1e6, 1),
        "wall_us_per_round": round(wall / rounds * 1e6, 1),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2000)
    args = parser.parse_args()
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")
    results = []
    for layer_cls in (RedisChannelLayer, PipelinedRedisChannelLayer):
        for from_thread in (True, False):
            results.append(
                await measure(
                    layer_cls, from_thread=from_thread, rounds=args.rounds, redis_url=redis_url
                )
            )
    print(
        json.dumps(
            {"rounds": args.rounds, "loadavg": os.getloadavg(), "results": results}, indent=2
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
