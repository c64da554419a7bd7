"""Verified actions (double opt-in): a new supporter's action is held, not counted, delivered or exported,
until the link e-mailed to them confirms it; it then counts exactly once. The token of the link is derived
(common.links) from ids that travel on Kafka, never the token itself."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

from campaigns_world import CampaignsWorld, Org, goal, problem, supporter

from common.contracts import topics
from common.events import utcnow
from common.links import ACTION_CONFIRMATION, DEVELOPMENT_LINK_SECRET, SUPPORTER_PAGES, derive_link_token
from eventually import eventually


def confirmation_token(action_id: str) -> str:
    """What the mailer puts in the confirmation link (the tests' services share the development secret)."""
    return derive_link_token(DEVELOPMENT_LINK_SECRET, ACTION_CONFIRMATION, uuid.UUID(action_id))


async def verified_petition(cw: CampaignsWorld, owner: Org, target: int = 100) -> tuple[dict[str, Any], str]:
    campaign = await cw.launched(owner, double_opt_in=True, goal=goal("petition", target))
    return campaign, await cw.link_of(campaign["id"], owner)


async def held(cw: CampaignsWorld, ref: str, person: dict[str, Any], **fields: Any) -> str:
    consents = await cw.consents(ref, "contact_by_organization")
    response = await cw.act(ref, person=person, consents=consents, **fields)
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] == "pending_confirmation"
    assert body["supporter_token"] is None
    return str(body["action"]["id"])


async def confirm(cw: CampaignsWorld, token: str) -> Any:
    return await cw.campaigns.post("/v1/public/confirmations", json={"token": token})


async def exported(cw: CampaignsWorld, campaign_id: str, org: Org) -> str:
    response = await cw.get(f"/v1/campaigns/{campaign_id}/supporters.csv", org, organization_id=org.id)
    assert response.status_code == 200, response.text
    return response.text


async def test_a_held_action_is_not_counted_delivered_or_exported_until_confirmed_then_counts_once(
    cw: CampaignsWorld,
) -> None:
    owner = await cw.org("owner")
    campaign, ref = await verified_petition(cw, owner, target=1)
    person = supporter("nadia")
    action_id = await held(cw, ref, person)

    stats = await cw.stats(campaign["id"], owner)
    assert stats["counts"] == {}
    assert stats["unique_supporters"] == 0
    assert stats["milestones"] == []
    assert person["email"] not in await exported(cw, campaign["id"], owner)
    records = await cw.published(campaign["id"], topics.CAMPAIGNS_ACTIONS)
    assert [r.type for r in records] == ["campaigns.action.pending"]
    assert records[0].data["action_id"] == action_id
    assert records[0].data["language"] == "en"
    token = confirmation_token(action_id)

    wrong_method = await cw.campaigns.get("/v1/public/confirmations", params={"token": token})
    assert wrong_method.status_code == 405  # no GET confirms: a mail scanner's prefetch changes nothing
    confirmed = await confirm(cw, token)
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "confirmed"
    assert confirmed.json()["link_ref"] == ref
    again = problem(await confirm(cw, token), 409)
    assert again["type"].endswith("/already-confirmed")

    stats = await cw.stats(campaign["id"], owner)
    assert stats["counts"] == {"signature": 1}
    assert stats["unique_supporters"] == 1
    assert [m["milestone"] for m in stats["milestones"]] == [25, 50, 75, 100]
    assert person["email"] in await exported(cw, campaign["id"], owner)
    records = await cw.published(campaign["id"], topics.CAMPAIGNS_ACTIONS, topics.CAMPAIGNS_CAMPAIGNS)
    assert sum(r.type == "campaigns.action.recorded" for r in records) == 1
    everything = await cw.published(
        campaign["id"], topics.CAMPAIGNS_ACTIONS, topics.CAMPAIGNS_CAMPAIGNS, topics.FEDERATION_CAMPAIGNS
    )
    pages = next(r.data["supporter_ref"] for r in records if r.type == "campaigns.action.pending")
    for secret in (token, derive_link_token(DEVELOPMENT_LINK_SECRET, SUPPORTER_PAGES, uuid.UUID(pages))):
        assert not [r for r in everything if secret.encode() in r.raw], "a link token travelled on Kafka"


async def test_two_confirmations_at_once_count_the_action_once(cw: CampaignsWorld) -> None:
    owner = await cw.org("owner")
    campaign, ref = await verified_petition(cw, owner)
    token = confirmation_token(await held(cw, ref, supporter()))

    answers = await asyncio.gather(*(confirm(cw, token) for _ in range(4)))

    assert sorted(a.status_code for a in answers) == [200, 409, 409, 409], [a.text for a in answers]
    assert (await cw.stats(campaign["id"], owner))["counts"] == {"signature": 1}


async def test_an_address_confirmed_for_the_organization_is_not_asked_again(cw: CampaignsWorld) -> None:
    owner, other = await cw.org("owner"), await cw.org("other")
    _, ref = await verified_petition(cw, owner)
    person = supporter("olga")
    assert (await confirm(cw, confirmation_token(await held(cw, ref, person)))).status_code == 200

    second, second_ref = await verified_petition(cw, owner)
    spelled = {**person, "email": person["email"].upper()}
    signed = await cw.act(second_ref, person=spelled)
    assert signed.status_code == 201, signed.text
    assert signed.json()["status"] == "recorded"
    _, elsewhere_ref = await verified_petition(cw, other)
    assert (await cw.act(elsewhere_ref, person=person)).status_code == 202  # another organization asks
    assert (await cw.stats(second["id"], owner))["counts"] == {"signature": 1}


async def test_asking_again_before_confirming_sends_no_second_mail_and_replays_are_held_too(
    cw: CampaignsWorld,
) -> None:
    owner = await cw.org("owner")
    campaign, ref = await verified_petition(cw, owner)
    person = supporter()
    first = await held(cw, ref, person, key="k-1")
    replay = await cw.act(
        ref, person=person, consents=await cw.consents(ref, "contact_by_organization"), key="k-1"
    )
    assert replay.status_code == 202
    assert replay.json()["replayed"] is True
    assert await held(cw, ref, person) == first
    records = await cw.published(campaign["id"], topics.CAMPAIGNS_ACTIONS)
    assert [r.type for r in records] == ["campaigns.action.pending"]


async def test_unconfirmed_actions_expire_and_the_worker_erases_them(cw: CampaignsWorld) -> None:
    owner = await cw.org("owner")
    campaign, ref = await verified_petition(cw, owner)
    person = supporter()
    action_id = await held(cw, ref, person)
    pending = cw.campaigns_app.state.runtime.db["pending_actions"]
    # Arrange an expired link (the time to confirm is hours; the test does not wait for it).
    await pending.update_one(
        {"_id": uuid.UUID(action_id)}, {"$set": {"expires_at": utcnow() - timedelta(seconds=1)}}
    )

    problem(await confirm(cw, confirmation_token(action_id)), 410)

    async def erased() -> bool:
        return await pending.find_one({"_id": uuid.UUID(action_id)}) is None

    await eventually(erased, within=30, message="the worker to erase the expired pending action")
    problem(await confirm(cw, confirmation_token(action_id)), 404)
    assert (await cw.stats(campaign["id"], owner))["counts"] == {}
    assert await cw.service.repo.db["supporters"].count_documents({"email": person["email"]}) == 0


async def test_the_pages_token_from_the_mail_reads_and_erases_the_supporter_once_confirmed(
    cw: CampaignsWorld,
) -> None:
    owner = await cw.org("owner")
    campaign, ref = await verified_petition(cw, owner)
    person = supporter()
    action_id = await held(cw, ref, person)
    records = await cw.published(campaign["id"], topics.CAMPAIGNS_ACTIONS)
    ref_id = uuid.UUID(records[0].data["supporter_ref"])
    pages_token = derive_link_token(DEVELOPMENT_LINK_SECRET, SUPPORTER_PAGES, ref_id)
    problem(await cw.token_post("", pages_token), 404)  # nothing held as a supporter before confirmation

    assert (await confirm(cw, confirmation_token(action_id))).status_code == 200
    mine = await cw.token_post("", pages_token)
    assert mine.status_code == 200, mine.text
    assert mine.json()["email"] == person["email"]
    withdrawn = await cw.token_post("/consent-withdrawals", pages_token, purposes=["contact_by_organization"])
    assert withdrawn.status_code == 200
    assert withdrawn.json()["consents"] == []
    assert (await cw.token_post("/erasure", pages_token)).status_code == 204
    problem(await cw.token_post("", pages_token), 410)
    signed = await cw.act(ref, person=person)  # erased: the address is asked to confirm again
    assert signed.status_code == 202, signed.text


async def test_confirmation_refuses_malformed_and_unknown_tokens(cw: CampaignsWorld) -> None:
    for body in (
        {},
        {"token": "ac_short"},
        {"token": "x" * 46},
        {"token": None},
        {"token": "ac_" + "a" * 43, "x": 1},
    ):
        problem(await cw.campaigns.post("/v1/public/confirmations", json=body), 422)
    problem(await confirm(cw, "ac_" + "A" * 43), 404)
    problem(await confirm(cw, confirmation_token(str(uuid.uuid4()))), 404)
