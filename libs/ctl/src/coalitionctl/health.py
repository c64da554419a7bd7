"""Is everything up: each service's /readyz, MongoDB and Kafka."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import httpx
from pymongo import AsyncMongoClient

from coalitionctl.config import SERVICES, CtlSettings
from coalitionctl.kafka import consumer


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


async def _service(settings: CtlSettings, http: httpx.AsyncClient, service: str) -> Check:
    url = f"{settings.url(service)}/readyz"
    try:
        response = await http.get(url)
    except httpx.HTTPError as exc:
        return Check(service, False, f"{url}: {type(exc).__name__}: {exc}")
    try:
        body = response.json()
    except ValueError:
        body = {}
    checks = body.get("checks", {}) if isinstance(body, dict) else {}
    detail = ", ".join(f"{k} {v}" for k, v in sorted(checks.items())) or response.text[:100]
    return Check(service, response.status_code == 200, f"{url}: {response.status_code} {detail}")


async def _mongodb(settings: CtlSettings) -> Check:
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(
        settings.mongodb_url, serverSelectionTimeoutMS=int(settings.timeout_seconds * 1000)
    )
    try:
        hello = await client.admin.command("hello")
        role = "primary" if hello.get("isWritablePrimary") else "not primary"
        return Check(
            "mongodb", bool(hello.get("isWritablePrimary")), f"{role}, replica set {hello.get('setName')}"
        )
    except Exception as exc:
        return Check("mongodb", False, f"{type(exc).__name__}: {str(exc)[:200]}")
    finally:
        await client.close()


async def _kafka(settings: CtlSettings) -> Check:
    try:
        async with asyncio.timeout(settings.timeout_seconds * 3):
            async with consumer(settings.kafka_bootstrap_servers) as client:
                topics = await client.topics()
        return Check("kafka", True, f"{settings.kafka_bootstrap_servers}: {len(topics)} topics")
    except Exception as exc:
        return Check("kafka", False, f"{settings.kafka_bootstrap_servers}: {type(exc).__name__}: {exc}")


async def check_all(settings: CtlSettings) -> list[Check]:
    async with httpx.AsyncClient(timeout=settings.timeout_seconds) as http:
        return list(
            await asyncio.gather(
                *(_service(settings, http, s) for s in SERVICES), _mongodb(settings), _kafka(settings)
            )
        )
