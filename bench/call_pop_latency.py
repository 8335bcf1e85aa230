"""How long from a PBX's `ringing` post to the `call` frame on the agent's console.

Starts one embedded worker (SQLite, in-memory layer, the demo data), opens
Boris's agent socket with an API token, and posts N ringing calls for Maria's
number (each with its own call_id), timing each from the POST until the
frame with that call's id arrives. Loopback only; bounded in count.

    python -m bench.call_pop_latency [--calls 50]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
import urllib.request
from pathlib import Path

from websockets.asyncio.client import connect

from tests.live_server import DaphneWorker, agent_token, embedded_env, prepare_database


def post_ringing(url: str, token: str, call_id: str) -> str:
    body = {
        "call_id": call_id,
        "phone": "0721 234 567",
        "direction": "inbound",
        "state": "ringing",
        "agent": "boris",
    }
    request = urllib.request.Request(
        f"{url}/api/v1/calls",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=15) as response:
        return json.loads(response.read())["call"]["id"]


async def measure(worker: DaphneWorker, token: str, calls: int) -> list[float]:
    latencies = []
    async with connect(worker.ws_url("/ws/agent/"), origin=worker.origin) as socket:
        await socket.send(json.dumps({"type": "hello", "token": token}))
        while json.loads(await socket.recv())["type"] != "welcome":
            pass
        for n in range(calls):
            started = time.perf_counter()
            call_id = await asyncio.to_thread(post_ringing, worker.url, token, f"bench-{n}")
            while True:
                frame = json.loads(await asyncio.wait_for(socket.recv(), 10))
                if frame.get("type") == "call" and frame["call"]["id"] == call_id:
                    break
            latencies.append((time.perf_counter() - started) * 1000)
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="chatportal-callbench-") as tmp:
        env = embedded_env(Path(tmp) / "data")
        prepare_database(env)
        token = agent_token(env, "boris")
        worker = DaphneWorker(env, Path(tmp) / "worker.log")
        worker.start()
        try:
            latencies = asyncio.run(measure(worker, token, min(args.calls, 500)))
        finally:
            worker.stop()
    latencies.sort()
    print(
        f"{len(latencies)} ringing posts → call frame (ms, POST included): "
        f"median {statistics.median(latencies):.1f}, "
        f"p95 {latencies[int(len(latencies) * 0.95) - 1]:.1f}, max {latencies[-1]:.1f}"
    )


if __name__ == "__main__":
    main()
