"""Sending one signed webhook request to the address that was checked, over kept-alive connections.

Before every request the endpoint's host is resolved and every address checked (`ssrf.py`); the request
then goes to that address (the URL's host replaced by it, `Host` header and TLS server name kept), so
DNS rebinding between check and connection does not work. Connections are pooled by httpx per address
and port; HTTPS connections additionally per TLS server name (one client per name), so a connection
whose certificate was verified for one host name never carries a request for another.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from opentelemetry import propagate, trace

from common.events import utcnow
from common.mongo import Document
from notifications.config import Settings
from notifications.domain.addresses import IPAddress
from notifications.domain.webhooks import retry_after_seconds, signature_header, webhook_id
from notifications.service import active_secrets
from notifications.ssrf import AddressRefused, Resolver, checked_address

USER_AGENT = "CoalitionPlatform-Webhooks/1.0"
tracer = trace.get_tracer(__name__)
MAX_TLS_CLIENTS = 256  # distinct HTTPS host names with kept-alive connections; the least used are closed


@dataclass(frozen=True)
class Response:
    status: int | None
    latency_ms: int
    snippet: str | None
    error: str | None
    retry_after: float | None


def pinned_request(url: str, address: IPAddress) -> tuple[str, dict[str, str], dict[str, Any]]:
    """The URL with its host replaced by the checked address, the Host header, and the TLS server name.

    Connecting to the address that was checked (rather than resolving the name again) closes the
    DNS-rebinding gap between the check and the connection.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    literal = f"[{address}]" if isinstance(address, ipaddress.IPv6Address) else str(address)
    netloc = literal if parts.port is None else f"{literal}:{parts.port}"
    host_header = parts.netloc.rsplit("@", 1)[-1]
    extensions: dict[str, Any] = {"sni_hostname": host} if parts.scheme == "https" else {}
    return (
        urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, "")),
        {"Host": host_header},
        extensions,
    )


class WebhookClient:
    """Signs and sends webhook requests; reuses connections (keep-alive) across attempts."""

    def __init__(
        self, *, settings: Settings, resolver: Resolver, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.settings = settings
        self.resolver = resolver
        self.transport = transport
        self._plain = self._client()
        self._tls: OrderedDict[str, httpx.AsyncClient] = OrderedDict()
        self._closing: set[asyncio.Task[None]] = set()

    def _client(self) -> httpx.AsyncClient:
        size = self.settings.delivery_concurrency
        return httpx.AsyncClient(
            follow_redirects=False,
            timeout=self.settings.delivery_timeout_seconds,
            trust_env=False,
            transport=self.transport,
            headers={"User-Agent": USER_AGENT},
            limits=httpx.Limits(max_connections=size, max_keepalive_connections=size, keepalive_expiry=30),
        )

    def _client_for(self, server_name: str | None) -> httpx.AsyncClient:
        if server_name is None:
            return self._plain
        client = self._tls.get(server_name)
        if client is None:
            client = self._tls[server_name] = self._client()
            if len(self._tls) > MAX_TLS_CLIENTS:
                _, evicted = self._tls.popitem(last=False)
                closing = asyncio.create_task(self._close_later(evicted))
                self._closing.add(closing)
                closing.add_done_callback(self._closing.discard)
        self._tls.move_to_end(server_name)
        return client

    async def _close_later(self, client: httpx.AsyncClient) -> None:
        # Requests already running on it end within the timeout; closing earlier would break them.
        await asyncio.sleep(self.settings.delivery_timeout_seconds + 1)
        await client.aclose()

    async def close(self) -> None:
        for task in list(self._closing):
            task.cancel()
        clients = [self._plain, *self._tls.values()]
        self._tls.clear()
        for client in clients:
            with contextlib.suppress(Exception):
                await client.aclose()

    async def send(self, message: Document, endpoint: Document) -> Response:
        """One attempt, as a CLIENT span in the trace of the event that queued the message; the request
        carries `traceparent`, so the partner can join the trace."""
        parent = propagate.extract(message.get("trace") or {})
        with tracer.start_as_current_span(
            "POST webhook",
            context=parent,
            kind=trace.SpanKind.CLIENT,
            attributes={
                "http.request.method": "POST",
                "server.address": urlsplit(endpoint["url"]).hostname or "",
                "webhook.id": webhook_id(message["_id"]),
                "webhook.event_type": str(message.get("event_type", "")),
                "webhook.attempt": int(message.get("attempt_count", 0)) + 1,
            },
        ) as span:
            response = await self._send(message, endpoint)
            if response.status is not None:
                span.set_attribute("http.response.status_code", response.status)
            if response.error is not None or response.status is None or response.status >= 400:
                span.set_status(trace.StatusCode.ERROR, response.error or str(response.status))
            return response

    async def _send(self, message: Document, endpoint: Document) -> Response:
        started = time.perf_counter()

        def elapsed() -> int:
            return int((time.perf_counter() - started) * 1000)

        try:
            address = await checked_address(
                endpoint["url"], resolver=self.resolver, allow_loopback=self.settings.allow_loopback_endpoints
            )
        except AddressRefused as exc:
            return Response(None, elapsed(), None, f"refused: {exc}", None)
        body = json.dumps(message["payload"], separators=(",", ":"), ensure_ascii=False).encode()
        msg_id = webhook_id(message["_id"])
        timestamp = int(time.time())
        url, host, extensions = pinned_request(endpoint["url"], address)
        headers = {
            **host,
            "content-type": "application/json",
            "webhook-id": msg_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signature_header(
                active_secrets(endpoint, utcnow(), self.settings.secret_sealer),
                msg_id=msg_id,
                timestamp=timestamp,
                body=body,
            ),
        }
        propagate.inject(headers)  # traceparent (and tracestate) of the CLIENT span
        client = self._client_for(extensions.get("sni_hostname"))
        limit = self.settings.response_snippet_bytes
        try:
            async with asyncio.timeout(self.settings.delivery_timeout_seconds):
                async with client.stream(
                    "POST", url, content=body, headers=headers, extensions=extensions
                ) as response:
                    collected = b""
                    async for chunk in response.aiter_bytes():
                        collected += chunk
                        if len(collected) >= limit:
                            break
            snippet = collected[:limit].decode("utf-8", errors="replace") if limit else None
            retry_after = retry_after_seconds(response.headers.get("retry-after"), utcnow())
            return Response(response.status_code, elapsed(), snippet, None, retry_after)
        except TimeoutError:
            return Response(None, elapsed(), None, "timeout", None)
        except httpx.HTTPError as exc:
            return Response(None, elapsed(), None, f"{type(exc).__name__}: {exc}"[:500], None)
