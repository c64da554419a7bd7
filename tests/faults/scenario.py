"""One fault scenario: a world of organizations, petitions and webhook endpoints; a stream of actions with
a fault injected during it; then the exact checks, and the figures for docs/reliability.md."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx

from common.contracts import topics
from eventually import eventually
from faults import checks
from faults.platform import Campaign, Organizer
from faults.poison import consumed
from faults.receiver import Receiver
from faults.stack import FaultStack
from faults.stream import ActionStream

ORGANIZATIONS = 3
ACTIONS = 2000
RATE = 50.0  # requests per second
CLIENT_TIMEOUT = 15.0  # the bound on any answer (the services' MongoDB deadline is 5 s): none may hang longer
TARGET = 400  # per petition; the stream gives each about 550, so every milestone is crossed
EVENT_TYPES = ["campaigns.action.recorded", "campaigns.goal.milestone_reached"]
SETTLE_SECONDS = 240.0


@dataclass
class Figures:
    scenario: str
    sent: int = 0
    acknowledged: int = 0
    refused: int = 0
    counted: int = 0
    stored: int = 0
    milestones: int = 0
    expected: int = 0
    delivered: int = 0
    redelivered: int = 0  # accepted again under a webhook-id already accepted
    notes: list[str] = field(default_factory=list)


@dataclass
class World:
    name: str
    organizer: Organizer
    campaigns: list[Campaign]
    paths: dict[str, str]  # campaign id -> the receiver path of its organization's endpoint


def build_world(stack: FaultStack, receiver: Receiver, name: str) -> World:
    organizer = Organizer(
        identity=stack.url("identity"),
        coalition=stack.url("coalition"),
        campaigns=stack.url("campaigns"),
        notifications=stack.url("notifications"),
    )
    campaigns: list[Campaign] = []
    paths: dict[str, str] = {}
    for number in range(ORGANIZATIONS):
        org = organizer.organization(f"{name} patients {number} {uuid.uuid4().hex[:4]}")
        campaign = organizer.petition(org, f"{name}: screen every newborn ({number})", TARGET)
        path = f"/hooks/{name.replace(' ', '-')}/{org}"
        organizer.webhook(org, receiver.url(path), campaign.id, EVENT_TYPES)
        campaigns.append(campaign)
        paths[campaign.id] = path
    if name == "poison messages":  # the coalition topics need events to model poison on
        organizer.coalition_led_by(campaigns[0].org_id)
    return World(name, organizer, campaigns, paths)


def explain(
    stream: ActionStream,
    expected: dict[str, set[str | None]],
    stored: dict[str, list[str]],
    counts: dict[str, int],
) -> str:
    """What differs between the acknowledged, stored and counted actions, for the failure message."""
    lines = []
    for cid, ids in expected.items():
        kept = set(stored.get(cid, []))
        extra, missing = kept - ids, ids - kept
        lines.append(
            f"campaign {cid}: acknowledged {len(ids)}, stored {len(kept)}, counted {counts.get(cid)}; "
            f"stored but not acknowledged {sorted(extra)[:3]}, acknowledged but not stored {sorted(map(str, missing))[:3]}"
        )
    refused = Counter(tuple(i.statuses) for i in stream.refused)
    lines.append(f"refused actions by the statuses they got: {dict(refused.most_common(5))}")
    return "\n".join(lines)


def consumer_groups() -> dict[str, set[str]]:
    """Every consumer group of the platform with the topics it reads (from the AsyncAPI documents)."""
    groups: dict[str, set[str]] = {}
    for group, topic in consumed():
        groups.setdefault(group, set()).add(topic)
    return groups


Fault = Callable[[FaultStack, ActionStream, Receiver, asyncio.Event], Awaitable[None]]


async def run_scenario(
    stack: FaultStack, receiver: Receiver, name: str, fault: Fault, *, seed: int
) -> tuple[Figures, ActionStream, World]:
    world = await asyncio.to_thread(build_world, stack, receiver, name)
    stream = ActionStream(
        stack.url("campaigns"), world.campaigns, rate=RATE, timeout=CLIENT_TIMEOUT, seed=seed
    )
    await warm_up(stream, receiver, world)
    faulted = asyncio.Event()

    async def inject() -> None:
        try:
            await fault(stack, stream, receiver, faulted)
        finally:
            faulted.set()

    injection = asyncio.create_task(inject())
    await stream.run(at_least=ACTIONS, until=faulted)
    await injection
    figures = await verify(stack, receiver, world, stream)
    world.organizer.close()
    return figures, stream, world


async def warm_up(stream: ActionStream, receiver: Receiver, world: World) -> None:
    """One action per petition, delivered, before the stream: every service knows the world by then."""
    async with httpx.AsyncClient(base_url=stream.base_url, timeout=CLIENT_TIMEOUT) as client:
        for campaign in world.campaigns:
            intent = stream.new_intent(campaign)
            await stream._attempt(client, intent)
            assert intent.state == "acknowledged", intent.statuses
    await eventually(
        lambda: all(receiver.accepted(path) for path in world.paths.values()),
        within=SETTLE_SECONDS,
        message="the warm-up actions' webhooks",
    )


async def verify(stack: FaultStack, receiver: Receiver, world: World, stream: ActionStream) -> Figures:
    figures = Figures(world.name, sent=stream.sent)
    acknowledged = stream.acknowledged
    figures.acknowledged = len(acknowledged)
    figures.refused = len(stream.refused)
    assert not stream.anomalies, stream.anomalies[:5]
    expected_ids = {
        c.id: {i.action_id for i in acknowledged if i.campaign.id == c.id} for c in world.campaigns
    }
    expected_count = {cid: len(ids) for cid, ids in expected_ids.items()}

    # Every acknowledged action counted once and stored once; nothing else (so nothing refused).
    counts: dict[str, int] = {}
    stored: dict[str, list[str]] = {}

    async def settled() -> bool:
        stored.clear()
        stored.update(checks.stored_actions(stack.mongodb_url, expected_ids))
        for campaign in world.campaigns:
            stats = await asyncio.to_thread(world.organizer.stats, campaign.id)
            counts[campaign.id] = int(stats["counts"].get("signature", 0))
        return all(counts[c] == len(stored.get(c, [])) for c in expected_ids) and counts == expected_count

    try:
        await eventually(settled, within=SETTLE_SECONDS, interval=0.5, message="the totals")
    except AssertionError:
        raise AssertionError(explain(stream, expected_ids, stored, counts)) from None
    for cid, ids in expected_ids.items():
        assert Counter(stored.get(cid, [])) == Counter(ids), explain(stream, expected_ids, stored, counts)
    unavailable = sum(1 for e in stream.errors if e.status == 503)
    if stream.no_answer or unavailable:
        figures.notes.append(
            f"{stream.no_answer} requests got no answer and {unavailable} a 503; each such action was "
            "retried with its Idempotency-Key until it got a definite answer"
        )
    figures.counted = sum(counts.values())
    figures.stored = sum(len(v) for v in stored.values())

    # Every milestone announced once.
    milestones = {(c.id, m) for c in world.campaigns for m in checks.milestones_for(counts[c.id], c.target)}
    announced: dict[tuple[str, int], set[str]] = {}

    async def all_announced() -> bool:
        events = await checks.events_of(
            stack.bootstrap_servers, topics.CAMPAIGNS_CAMPAIGNS, "campaigns.goal.milestone_reached"
        )
        announced.clear()
        announced.update({k: v for k, v in checks.milestone_ids(events).items() if k[0] in expected_ids})
        return set(announced) >= milestones

    await eventually(all_announced, within=SETTLE_SECONDS, interval=1.0, message="the milestone events")
    assert set(announced) == milestones
    assert all(len(ids) == 1 for ids in announced.values()), announced
    figures.milestones = len(milestones)

    # Every entitled delivery arrives, one webhook-id per event.
    expected: dict[str, set[tuple[str, str]]] = {}
    for campaign in world.campaigns:
        subjects = {("campaigns.action.recorded", a) for a in expected_ids[campaign.id] if a}
        subjects |= {
            ("campaigns.goal.milestone_reached", f"{campaign.id}:{m}")
            for (cid, m) in milestones
            if cid == campaign.id
        }
        expected[world.paths[campaign.id]] = subjects

    def delivered() -> bool:
        return all(set(receiver.ids_by_subject(p)) >= s for p, s in expected.items())

    try:
        await eventually(delivered, within=SETTLE_SECONDS, interval=0.5, message="the webhook deliveries")
    except AssertionError:
        missing = {p: sorted(s - set(receiver.ids_by_subject(p))) for p, s in expected.items()}
        raise AssertionError(
            "deliveries missing: " + "; ".join(f"{p}: {len(m)} e.g. {m[:3]}" for p, m in missing.items())
        ) from None
    for path, subjects in expected.items():
        by_subject = receiver.ids_by_subject(path)
        assert set(by_subject) == subjects, f"{path}: unexpected deliveries"
        twice = {s: ids for s, ids in by_subject.items() if len(ids) != 1}
        assert not twice, f"{path}: delivered under several webhook-ids: {list(twice.items())[:3]}"
        accepted = receiver.accepted(path)
        figures.expected += len(subjects)
        figures.delivered += len({r.webhook_id for r in accepted})
        figures.redelivered += len(accepted) - len({r.webhook_id for r in accepted})

    # Nothing left behind: outboxes empty, consumer groups caught up.
    pending: dict[str, int] = {}

    def outbox_empty() -> bool:
        pending.update(checks.pending_outbox(stack.mongodb_url))
        return not any(pending.values())

    await eventually(outbox_empty, within=SETTLE_SECONDS, interval=0.5, message=f"empty outboxes {pending}")
    lag: dict[str, int] = {}

    async def caught_up() -> bool:
        lag.clear()
        lag.update(await checks.consumer_lag(stack.bootstrap_servers, consumer_groups()))
        return bool(lag) and not any(lag.values())

    await eventually(
        caught_up, within=SETTLE_SECONDS, interval=1.0, message=f"consumer groups caught up {lag}"
    )
    figures.notes.append(f"{len(lag)} consumer groups caught up")
    return figures
