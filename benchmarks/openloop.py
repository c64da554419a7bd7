"""Open-loop load of `make bench` (end to end): signatures at a fixed arrival rate, in its own process.

`python -m benchmarks.openloop --url BASE --ref REF --rate R --seconds T --run ID` starts request i at
t0 + i/R whatever became of the earlier ones, each with a new supporter e-mail and a fresh
Idempotency-Key. A request that fails at the transport is retried with the same key, so every action the
service recorded is acknowledged. It prints one JSON object: per request [scheduled, sent, answered
(time.monotonic()), status, action id].

The client is a small HTTP/1.1 one on asyncio streams (kept-alive connections, a new one whenever none is
free, up to 1,024), not httpx: the generator shares the machine with the platform, and at 70 requests/s
async httpx alone took 58 % of a core (8 ms of CPU per request), so the generator's own cost was being
measured as the platform's. This one costs well under a millisecond per request. A request still waiting
after --patience seconds counts as failed (status 0) and its connection is dropped.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
import urllib.parse

MAX_CONNECTIONS = 1024


class TransportError(Exception):
    """The connection failed or closed before a whole response came back."""


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    async def request(self, head: bytes, body: bytes) -> tuple[int, bytes, bool]:
        """Send one request; its status, body, and whether the connection may be used again."""
        self.writer.write(head + body)
        try:
            await self.writer.drain()
            status_line = await self.reader.readline()
            if not status_line:
                raise TransportError("connection closed")
            status = int(status_line.split(b" ", 2)[1])
            length, chunked, keep = 0, False, True
            while True:
                line = await self.reader.readline()
                if line in (b"\r\n", b""):
                    break
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"transfer-encoding" and b"chunked" in value.lower():
                    chunked = True
                elif name == b"connection" and b"close" in value.lower():
                    keep = False
            if chunked:
                parts = []
                while True:
                    size = int((await self.reader.readline()).split(b";")[0], 16)
                    chunk = await self.reader.readexactly(size + 2)
                    if size == 0:
                        break
                    parts.append(chunk[:-2])
                content = b"".join(parts)
            else:
                content = await self.reader.readexactly(length)
        except (OSError, ValueError, IndexError, asyncio.IncompleteReadError) as exc:
            raise TransportError(str(exc)) from exc
        return status, content, keep

    def close(self) -> None:
        self.writer.close()


class Pool:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.idle: list[Connection] = []
        self.open = 0

    async def request(self, head: bytes, body: bytes) -> tuple[int, bytes]:
        if self.idle:
            connection = self.idle.pop()
        else:
            if self.open >= MAX_CONNECTIONS:
                raise TransportError("connection limit reached")
            try:
                reader, writer = await asyncio.open_connection(self.host, self.port)
            except OSError as exc:
                raise TransportError(str(exc)) from exc
            self.open += 1
            connection = Connection(reader, writer)
        keep = False
        try:
            status, content, keep = await connection.request(head, body)
        finally:
            if keep:
                self.idle.append(connection)
            else:
                self.open -= 1
                connection.close()
        return status, content

    def close(self) -> None:
        for connection in self.idle:
            connection.close()


async def run(
    url: str, ref: str, rate: float, seconds: float, run_id: str, patience: float
) -> dict[str, object]:
    parsed = urllib.parse.urlsplit(url)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or 80
    path = f"/v1/public/links/{ref}/signatures"
    pool = Pool(host, port)
    results: list[list[object]] = []
    count = int(rate * seconds)
    start = time.monotonic() + 0.1

    async def one(i: int, scheduled: float) -> None:
        key = f"{run_id}-{i}"
        body = json.dumps({"supporter": {"email": f"{key}@example.net", "first_name": "Bench"}}).encode()
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
            f"Idempotency-Key: {key}\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        sent = time.monotonic()
        status, content = 0, b""
        for attempt in range(3):
            try:
                async with asyncio.timeout(max(0.1, sent + patience - time.monotonic())):
                    status, content = await pool.request(head, body)
                break
            except TimeoutError:
                break  # counted as failed (status 0); the half-used connection was dropped
            except TransportError:
                if attempt < 2:
                    await asyncio.sleep(0.5)
        answered = time.monotonic()
        action_id = None
        if 200 <= status < 300:
            with contextlib.suppress(ValueError, AttributeError):
                action_id = json.loads(content).get("action", {}).get("id")
        results.append([scheduled, sent, answered, status, action_id])

    tasks = []
    for i in range(count):
        scheduled = start + i / rate
        delay = scheduled - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i, scheduled)))
    offered_for = time.monotonic() - start
    await asyncio.gather(*tasks)
    pool.close()
    return {"rate": rate, "seconds": seconds, "offered_for": offered_for, "results": results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--ref", required=True)
    parser.add_argument("--rate", type=float, required=True)
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--run", required=True)
    parser.add_argument("--patience", type=float, default=60.0, help="seconds a request may take in all (60)")
    args = parser.parse_args()
    outcome = asyncio.run(run(args.url, args.ref, args.rate, args.seconds, args.run, args.patience))
    json.dump(outcome, sys.stdout)


if __name__ == "__main__":
    main()
