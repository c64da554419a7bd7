"""Open-loop load of `make bench` (end to end): signatures at a fixed arrival rate, in its own process.

`python -m benchmarks.openloop --url BASE --ref REF --rate R --seconds T --run ID` starts request i at
t0 + i/R whatever became of the earlier ones (an async httpx client, up to 1,024 connections), each with
a new supporter e-mail and a fresh Idempotency-Key. A request that fails at the transport is retried with
the same key, so every action the service recorded is acknowledged. It prints one JSON object: per
request [scheduled, sent, answered (time.monotonic()), status, action id].
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time

import httpx


async def run(url: str, ref: str, rate: float, seconds: float, run_id: str) -> dict[str, object]:
    limits = httpx.Limits(max_connections=1024, max_keepalive_connections=1024)
    results: list[list[object]] = []
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:
        # Warm a few connections first so that connection set-up is not in the first samples.
        await asyncio.gather(*(client.get("/healthz") for _ in range(8)), return_exceptions=True)
        count = int(rate * seconds)
        start = time.monotonic() + 0.1

        async def one(i: int, scheduled: float) -> None:
            key = f"{run_id}-{i}"
            body = {"supporter": {"email": f"{key}@example.net", "first_name": "Bench"}}
            sent = time.monotonic()
            for attempt in range(3):
                try:
                    response = await client.post(
                        f"/v1/public/links/{ref}/signatures", json=body, headers={"Idempotency-Key": key}
                    )
                    break
                except httpx.TransportError:
                    if attempt == 2:
                        results.append([scheduled, sent, time.monotonic(), 0, None])
                        return
                    await asyncio.sleep(0.5)
            answered = time.monotonic()
            action_id = None
            if 200 <= response.status_code < 300:
                action_id = response.json().get("action", {}).get("id")
            results.append([scheduled, sent, answered, response.status_code, action_id])

        tasks = []
        for i in range(count):
            scheduled = start + i / rate
            delay = scheduled - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i, scheduled)))
        offered_for = time.monotonic() - start
        await asyncio.gather(*tasks)
    return {"rate": rate, "seconds": seconds, "offered_for": offered_for, "results": results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--ref", required=True)
    parser.add_argument("--rate", type=float, required=True)
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--run", required=True)
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    outcome = asyncio.run(run(args.url, args.ref, args.rate, args.seconds, args.run))
    json.dump(outcome, sys.stdout)


if __name__ == "__main__":
    main()
