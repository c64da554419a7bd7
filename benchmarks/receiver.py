"""The webhook receiver of `make bench`: a small HTTP/1.1 server in its own process.

`python -m benchmarks.receiver --port P` answers every POST with 204 and keeps, per request, the arrival
time (time.monotonic(), which on Linux is one clock for every process of the machine), the path, the
`webhook-id` header and the action ids found in the body. `GET /__records?since=N` returns the records
from index N as JSON; `GET /__count` their number; `GET /__body?path=P` the last body received on path P.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import time
from urllib.parse import parse_qs, urlsplit

ACTION_ID = re.compile(rb'"action_id"\s*:\s*"([0-9a-fA-F-]{36})"')
records: list[tuple[float, str, str, list[str]]] = []
bodies: dict[str, bytes] = {}  # the last body per path


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            arrived = time.monotonic()
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    name, value = line.split(":", 1)
                    headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0") or 0)
            body = await reader.readexactly(length) if length else b""
            url = urlsplit(target)
            if method == "GET" and url.path in ("/__records", "/__count", "/__body"):
                if url.path == "/__body":
                    payload = bodies.get(parse_qs(url.query).get("path", [""])[0], b"")
                elif url.path == "/__count":
                    payload = json.dumps({"count": len(records)}).encode()
                else:
                    since = int(parse_qs(url.query).get("since", ["0"])[0])
                    payload = json.dumps(records[since:]).encode()
                writer.write(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
                    + str(len(payload)).encode()
                    + b"\r\n\r\n"
                    + payload
                )
            else:
                ids = [m.decode() for m in ACTION_ID.findall(body)]
                records.append((arrived, url.path, headers.get("webhook-id", ""), ids))
                bodies[url.path] = body
                writer.write(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
            await writer.drain()
            if headers.get("connection", "").lower() == "close":
                return
    finally:
        writer.close()


async def serve(port: int) -> None:
    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    asyncio.run(serve(args.port))


if __name__ == "__main__":
    main()
