"""Which network addresses a webhook may reach (SSRF protection), and which URLs are acceptable."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Cloud metadata services beyond 169.254.0.0/16 (already link-local): AWS IPv6, Alibaba.
METADATA_NETWORKS = (
    ipaddress.ip_network("fd00:ec2::254/128"),
    ipaddress.ip_network("100.100.100.200/32"),
)
SHARED_ADDRESS_SPACE = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT


def refusal(address: IPAddress, *, allow_loopback: bool) -> str | None:
    """Why a webhook must not be sent to `address`, or None when it may."""
    if isinstance(address, ipaddress.IPv6Address):
        mapped = address.ipv4_mapped or address.sixtofour
        if mapped is not None:
            return refusal(mapped, allow_loopback=allow_loopback)
        if address in ipaddress.ip_network("64:ff9b::/96"):  # NAT64 embeds an IPv4 address
            return refusal(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF), allow_loopback=allow_loopback)
    if any(address in net for net in METADATA_NETWORKS):
        return "a cloud metadata address"
    if address.is_loopback:
        return None if allow_loopback else "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_unspecified:
        return "an unspecified address"
    if isinstance(address, ipaddress.IPv4Address) and address in SHARED_ADDRESS_SPACE:
        return "a shared (carrier-grade NAT) address"
    if address.is_private:
        return "a private address"
    if address.is_reserved or not address.is_global:
        return "a reserved address"
    return None


def url_problem(url: str, *, require_https: bool) -> str | None:
    """Why `url` cannot be a webhook endpoint (before any name resolution), or None."""
    if len(url) > 2000:
        return "the URL is too long"
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in url):
        return "the URL contains spaces or control characters"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "the URL is malformed"
    if parts.scheme not in ("https", "http"):
        return "the URL must use https"
    if parts.scheme == "http" and require_https:
        return "the URL must use https"
    if not parts.hostname:
        return "the URL has no host"
    if parts.username or parts.password:
        return "credentials in the URL are not accepted; put them in the path or use the signature"
    if parts.fragment:
        return "the URL must not have a fragment"
    if port == 0:
        return "the URL's port is invalid"
    return None
