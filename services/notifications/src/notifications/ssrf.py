"""Resolving a webhook's host and refusing addresses it must not reach, at registration and per attempt."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from notifications.domain.addresses import IPAddress, refusal

Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]


class AddressRefused(Exception):
    """The endpoint's host is, or resolves to, an address webhooks must not reach."""


async def system_resolver(host: str, port: int) -> list[IPAddress]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


def default_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)


async def checked_address(url: str, *, resolver: Resolver, allow_loopback: bool) -> IPAddress:
    """The address to connect to for `url`, after checking every address its host resolves to."""
    host, port = default_port(url)
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [literal]
    else:
        try:
            addresses = await resolver(host, port)
        except (OSError, UnicodeError) as exc:
            raise AddressRefused(f"the host {host!r} does not resolve") from exc
    if not addresses:
        raise AddressRefused(f"the host {host!r} does not resolve")
    for address in addresses:
        reason = refusal(address, allow_loopback=allow_loopback)
        if reason is not None:
            raise AddressRefused(f"the host {host!r} resolves to {reason}")
    return addresses[0]
