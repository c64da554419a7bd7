"""A partner's webhook receiver on loopback: records every request, and can be told to fail for a while."""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from common.embedded import free_port


@dataclass(frozen=True)
class Received:
    path: str
    webhook_id: str
    traceparent: str | None
    status: int  # what the receiver answered
    body: dict[str, Any]

    @property
    def subject(self) -> tuple[str, str]:
        """What the delivery is about: the action, or the campaign's milestone, or the event itself."""
        data = self.body.get("data", {})
        kind = str(self.body.get("type"))
        if "action_id" in data:
            return kind, str(data["action_id"])
        if "milestone" in data:
            return kind, f"{data.get('campaign_id')}:{data['milestone']}"
        return kind, self.webhook_id


class Receiver:
    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._failing_until = 0.0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length)
                status = 500 if time.monotonic() < receiver._failing_until else 204
                with receiver._lock:
                    receiver.received.append(
                        Received(
                            path=self.path,
                            webhook_id=self.headers.get("webhook-id", ""),
                            traceparent=self.headers.get("traceparent"),
                            status=status,
                            body=json.loads(raw or b"{}"),
                        )
                    )
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def fail_for(self, seconds: float) -> None:
        """Answer 500 to everything for `seconds`, then 204 again."""
        self._failing_until = time.monotonic() + seconds

    def accepted(self, path: str) -> list[Received]:
        """The requests to `path` that were answered 2xx (delivered)."""
        with self._lock:
            return [r for r in self.received if r.path == path and r.status < 300]

    def all(self, path: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.path == path]

    def ids_by_subject(self, path: str) -> dict[tuple[str, str], set[str]]:
        ids: dict[tuple[str, str], set[str]] = defaultdict(set)
        for r in self.accepted(path):
            ids[r.subject].add(r.webhook_id)
        return ids
