"""`make bench`: measures identity, campaigns and the outbox on real embedded MongoDB and Kafka.

HTTP calls go through the ASGI app in-process (no socket), so the figures are the service's own cost
with real database and broker round trips, not network latency. Every figure printed is measured now.
"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import httpx
from asgi_lifespan import LifespanManager
from pydantic import SecretStr

from campaigns.app import create_app as create_campaigns
from campaigns.config import Settings as CampaignsSettings
from campaigns.domain.campaigns import CampaignKind, Goal, GoalMetric, Transition
from campaigns.service import CampaignService, NewCampaign
from common import mongo
from common.auth import Principal
from common.events import EventPayload
from common.kafka import create_broker
from common.mongo import Session
from common.outbox import OUTBOX, OUTBOX_INDEXES, Outbox, OutboxRelay
from common.testing.infra import embedded_infra
from identity.app import create_app
from identity.config import Settings

PASSWORD = "violet kettle orbit 2031"


class Ticked(EventPayload):
    event_type = "bench.thing.ticked"
    topic = "bench.things.v1"
    thing_id: str
    n: int


async def _latencies(call: Callable[[], Awaitable[object]], count: int) -> list[float]:
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - started)
    return samples


def _row(name: str, samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    return (
        f"{name:<44} n={len(samples):<5} p50={statistics.median(samples) * 1000:7.2f} ms   "
        f"p95={p95 * 1000:7.2f} ms   {len(samples) / sum(samples):8.0f}/s sequential"
    )


async def bench_identity(mongodb_url: str, kafka: str) -> None:
    settings = Settings(
        environment="development",
        mongodb_url=mongodb_url,
        kafka_bootstrap_servers=kafka,
        mongodb_database=f"bench_{uuid.uuid4().hex[:6]}",
        public_url="http://identity.bench",
        bootstrap_admin_email="bench@example.org",
        bootstrap_admin_password=SecretStr(PASSWORD),
    )
    app = create_app(settings)
    async with (
        LifespanManager(app, startup_timeout=60),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://identity.bench") as http,
    ):
        form = {"grant_type": "password", "username": "bench@example.org", "password": PASSWORD}
        logins = await _latencies(lambda: http.post("/oauth/token", data=form), 20)
        token = (await http.post("/oauth/token", data=form)).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        me = await _latencies(lambda: http.get("/v1/users/me", headers=headers), 500)
        verifier = app.state.token_verifier
        verify = await _latencies(lambda: verifier.verify(token), 2000)
        print(_row("password grant (argon2id t=3, m=64 MiB)", logins))
        print(_row("GET /v1/users/me (verify token + Mongo)", me))
        print(_row("access token verification (cached key)", verify))

        async def concurrent_me() -> None:
            await asyncio.gather(*(http.get("/v1/users/me", headers=headers) for _ in range(50)))

        started = time.perf_counter()
        for _ in range(10):
            await concurrent_me()
        elapsed = time.perf_counter() - started
        print(f"{'GET /v1/users/me, 50 concurrent x 10':<44} {500 / elapsed:8.0f} requests/s")


async def bench_outbox(mongodb_url: str, kafka: str, events: int = 5000, keys: int = 100) -> None:
    client = mongo.create_client(mongodb_url, app_name="bench")
    db = client.get_database(f"bench_outbox_{uuid.uuid4().hex[:6]}", codec_options=mongo.CODEC_OPTIONS)
    await mongo.apply_indexes(db, OUTBOX_INDEXES)
    outbox = Outbox(db, source="urn:bench:outbox")

    async def stage(n: int) -> None:
        async def work(session: Session) -> None:
            await outbox.add(session, Ticked(thing_id=f"k{n % keys}", n=n), key=f"k{n % keys}", subject="s")

        await mongo.in_transaction(client, work)

    started = time.perf_counter()
    for chunk in range(0, events, 50):
        await asyncio.gather(*(stage(n) for n in range(chunk, min(chunk + 50, events))))
    staged = time.perf_counter() - started
    broker = create_broker(kafka, client_id="bench")
    await broker.start()
    relay = OutboxRelay(db, broker, batch_size=500)
    started = time.perf_counter()
    while await db[OUTBOX].count_documents({"status": "pending"}):
        await relay.publish_pending()
    relayed = time.perf_counter() - started
    await broker.stop()
    await client.close()
    print(f"{'outbox: stage event in a transaction':<44} {events / staged:8.0f} events/s (50 concurrent)")
    print(
        f"{'outbox relay: publish to Kafka + mark sent':<44} {events / relayed:8.0f} events/s ({keys} keys)"
    )


async def _launched_petition(service: CampaignService, target: int) -> str:
    """A launched petition (made through the service as a platform admin); its owner's link code."""
    admin = Principal(subject=str(uuid.uuid4()), kind="user", platform_admin=True)
    deadline = datetime.now(UTC) + timedelta(days=30)
    new = NewCampaign(
        organization_id=uuid.uuid4(),
        coalition_id=None,
        kind=CampaignKind.PETITION,
        title="Benchmark petition",
        summary="",
        details={"text": "Fund screening.", "target": {"name": "Minister of Health"}},
        goal=Goal(metric=GoalMetric.ACTIONS, action_kind="signature", target=target, deadline=deadline),
    )
    campaign = await service.create_campaign(principal=admin, new=new)
    await service.transition(principal=admin, campaign_id=campaign.id, transition=Transition.LAUNCH)
    links = await service.repo.links_of_campaign(campaign.id)
    return str(links[0]["_id"])


async def bench_campaigns(mongodb_url: str, kafka: str) -> None:
    settings = CampaignsSettings(
        environment="development",
        mongodb_url=mongodb_url,
        kafka_bootstrap_servers=kafka,
        mongodb_database=f"bench_campaigns_{uuid.uuid4().hex[:6]}",
        public_rate_limit=10**9,
    )
    app = create_campaigns(settings)
    async with (
        LifespanManager(app, startup_timeout=60, shutdown_timeout=60),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://campaigns.bench") as http,
    ):
        service: CampaignService = app.state.campaigns
        counter = iter(range(10**9))

        def sign(ref: str) -> Awaitable[httpx.Response]:
            body = {"supporter": {"email": f"s{next(counter)}@example.net", "first_name": "Sam"}}
            return http.post(f"/v1/public/links/{ref}/signatures", json=body)

        ref = await _launched_petition(service, target=100_000)
        sequential = await _latencies(lambda: sign(ref), 300)
        print(_row("signature (new supporter, 1 campaign)", sequential))
        repeat = {"supporter": {"email": "s0@example.net", "first_name": "Sam"}}
        repeats = await _latencies(lambda: http.post(f"/v1/public/links/{ref}/signatures", json=repeat), 300)
        print(_row("signature repeat (already recorded)", repeats))

        for campaigns, concurrent in ((1, 20), (10, 20)):
            refs = [await _launched_petition(service, target=100_000) for _ in range(campaigns)]
            started = time.perf_counter()
            rounds = 15
            for _ in range(rounds):
                responses = await asyncio.gather(*(sign(refs[i % campaigns]) for i in range(concurrent)))
                assert all(r.status_code == 201 for r in responses), responses[0].text
            elapsed = time.perf_counter() - started
            label = f"signatures, {concurrent} concurrent on {campaigns} campaign(s)"
            print(f"{label:<44} {concurrent * rounds / elapsed:8.0f} actions/s")


async def main() -> None:
    with embedded_infra() as infra:
        print(f"embedded MongoDB {infra.mongodb_url} and Kafka {infra.kafka_bootstrap_servers}\n")
        await bench_identity(infra.mongodb_url, infra.kafka_bootstrap_servers)
        await bench_campaigns(infra.mongodb_url, infra.kafka_bootstrap_servers)
        await bench_outbox(infra.mongodb_url, infra.kafka_bootstrap_servers)


if __name__ == "__main__":
    asyncio.run(main())
