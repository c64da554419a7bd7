"""Letters reach decision-makers: by the supporter's location or to fixed targets, each letter queued per
target with the target's version, ordered from the notifications service with the Reply-To only on
consent, and its delivery state kept from the notifications service's reports."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from campaigns_world import CampaignsWorld, goal, problem, supporter
from coalition_world import Org
from targets_world import BRUSSELS, imported, letter_campaign, letter_details, report

from common.contracts import notifications as notes
from common.contracts import topics
from common.links import ACTION_CONFIRMATION, DEVELOPMENT_LINK_SECRET, derive_link_token
from eventually import eventually


async def deliveries(cw: CampaignsWorld, campaign_id: str, org: Org, **params: Any) -> list[dict[str, Any]]:
    response = await cw.get(f"/v1/campaigns/{campaign_id}/letters/deliveries", org, **params)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


async def dispatches(cw: CampaignsWorld, campaign_id: str) -> list[dict[str, Any]]:
    records = await cw.published(campaign_id, topics.CAMPAIGNS_ACTIONS)
    return [r.data for r in records if r.type == "campaigns.letter.dispatch_requested"]


async def test_a_letter_by_location_goes_to_every_level_representing_the_supporter(
    cw: CampaignsWorld,
) -> None:
    org = await cw.org("bylocation")
    targets = {t["name"]: t for t in await imported(cw, org, BRUSSELS)}
    campaign_id = await letter_campaign(cw, org, targeting="by_location", delivery="digest")
    ref = await cw.link_of(campaign_id, org)
    person = supporter("ana", postal_code="1000", country="BE")

    sent = await cw.act(ref, "letters", person=person, body="Please act on rare diseases.")

    assert sent.status_code == 201, sent.text
    letter_id = sent.json()["action"]["id"]
    queued = await deliveries(cw, campaign_id, org)
    expected = ["Lea Local", "Nina National", "Rui Regional", "Sam Supranational"]
    assert sorted(d["target_name"] for d in queued) == expected
    assert {(d["letter_id"], d["state"], d["target_version"]) for d in queued} == {(letter_id, "queued", 1)}
    (order,) = await dispatches(cw, campaign_id)
    assert order["letter_id"] == letter_id
    assert order["delivery"] == "digest"
    assert order["from_name"] == "Ana Doe"
    assert order["reply_to"] is None  # no consent to reply_to
    assert "Please act on rare diseases." in order["body"]
    assert sorted((t["name"], t["email"], t["target_version"]) for t in order["targets"]) == sorted(
        (n, targets[n]["email"], 1) for n in expected
    )


async def test_the_reply_to_is_the_supporters_address_only_with_their_consent(cw: CampaignsWorld) -> None:
    org = await cw.org("replyto")
    await imported(cw, org, BRUSSELS[:1])
    campaign_id = await letter_campaign(cw, org, targeting="by_location")
    ref = await cw.link_of(campaign_id, org)
    person = supporter("rita", postal_code="1000", country="BE")

    sent = await cw.act(ref, "letters", person=person, consents=await cw.consents(ref, "reply_to"))

    assert sent.status_code == 201, sent.text
    (order,) = await dispatches(cw, campaign_id)
    assert order["reply_to"] == person["email"]


async def test_a_letter_by_location_without_a_place_is_refused_and_nothing_recorded(
    cw: CampaignsWorld,
) -> None:
    org = await cw.org("placeless")
    await imported(cw, org, BRUSSELS[:1])
    campaign_id = await letter_campaign(cw, org, targeting="by_location")
    ref = await cw.link_of(campaign_id, org)

    without = await cw.act(ref, "letters", person=supporter("no"))
    nobody = await cw.act(ref, "letters", person=supporter("far", postal_code="9999", country="BE"))

    problem(without, 422)
    problem(nobody, 422)
    assert await deliveries(cw, campaign_id, org) == []
    assert (await cw.stats(campaign_id, org))["counts"] == {}


async def test_a_letter_to_fixed_targets_records_their_versions_at_the_time_of_action(
    cw: CampaignsWorld,
) -> None:
    org = await cw.org("fixed")
    first, second, *_ = await imported(cw, org, BRUSSELS[:3])
    campaign_id = await letter_campaign(cw, org, target_ids=[first["id"], second["id"]])
    ref = await cw.link_of(campaign_id, org)
    edited = await cw.campaigns.patch(
        f"/v1/targets/{first['id']}", json={"office": "New office"}, headers=org.headers
    )
    assert edited.status_code == 200, edited.text

    sent = await cw.act(ref, "letters", person=supporter("fay"))

    assert sent.status_code == 201, sent.text
    queued = {d["target_id"]: d["target_version"] for d in await deliveries(cw, campaign_id, org)}
    assert queued == {first["id"]: 2, second["id"]: 1}


async def test_fixed_targets_come_from_the_campaigns_own_directories(cw: CampaignsWorld) -> None:
    org, other = await cw.org("mine"), await cw.org("theirs")
    (foreign,) = await imported(cw, other, BRUSSELS[:1])
    body = {
        "organization_id": org.id,
        "kind": "letter",
        "title": "Letter to someone else's target",
        "details": {
            "subject": "Please",
            "body_template": "Dear representative",
            "ask": "Act.",
            "target_ids": [foreign["id"]],
        },
        "goal": {"metric": "unique_supporters", "target": 10, "deadline": "2099-01-01T00:00:00Z"},
    }

    response = await cw.campaigns.post("/v1/campaigns", json=body, headers=org.headers)

    assert problem(response, 422)["target_id"] == foreign["id"]


async def test_the_notifications_reports_move_each_delivery_on(cw: CampaignsWorld) -> None:
    org = await cw.org("reports")
    first, second, third = await imported(cw, org, BRUSSELS[:3])
    campaign_id = await letter_campaign(cw, org, target_ids=[first["id"], second["id"], third["id"]])
    ref = await cw.link_of(campaign_id, org)
    sent = await cw.act(ref, "letters", person=supporter("tom"))
    assert sent.status_code == 201, sent.text
    letter_id = uuid.UUID(sent.json()["action"]["id"])
    cid = uuid.UUID(campaign_id)
    now = datetime.now(UTC)

    await report(
        cw.campaigns_app.state.settings.kafka_bootstrap_servers,
        notes.LetterSent(campaign_id=cid, target_id=uuid.UUID(first["id"]), letter_id=letter_id, sent_at=now),
        notes.LetterFailed(
            campaign_id=cid,
            target_id=uuid.UUID(second["id"]),
            letter_id=letter_id,
            reason="smtp_unavailable",
            final=False,
        ),
        notes.LetterFailed(
            campaign_id=cid,
            target_id=uuid.UUID(third["id"]),
            letter_id=letter_id,
            reason="smtp_refused",
            final=True,
        ),
        # A late failure report of a letter already sent does not undo it.
        notes.LetterFailed(
            campaign_id=cid,
            target_id=uuid.UUID(first["id"]),
            letter_id=letter_id,
            reason="smtp_refused",
            final=True,
        ),
    )

    async def reported() -> bool:
        states = {d["target_id"]: (d["state"], d["reason"]) for d in await deliveries(cw, campaign_id, org)}
        return states == {
            first["id"]: ("sent", None),
            second["id"]: ("queued", "smtp_unavailable"),
            third["id"]: ("failed", "smtp_refused"),
        }

    await eventually(reported, within=60, message="the delivery reports to be applied")
    failed = await deliveries(cw, campaign_id, org, state="failed")
    assert [d["target_id"] for d in failed] == [third["id"]]
    page = await cw.get(f"/v1/campaigns/{campaign_id}/letters/deliveries", org, limit=2)
    rest = await cw.get(
        f"/v1/campaigns/{campaign_id}/letters/deliveries", org, limit=2, cursor=page.json()["next_cursor"]
    )
    assert len(page.json()["items"]) == 2
    assert len(rest.json()["items"]) == 1
    assert rest.json()["next_cursor"] is None


async def test_only_the_campaigns_managers_read_its_deliveries(cw: CampaignsWorld) -> None:
    org = await cw.org("readers")
    plain = await cw.identity.add_member(org.id, org.admin, role="member")
    (target,) = await imported(cw, org, BRUSSELS[:1])
    campaign_id = await letter_campaign(cw, org, target_ids=[target["id"]])

    by_member = await cw.campaigns.get(
        f"/v1/campaigns/{campaign_id}/letters/deliveries", headers=plain.headers
    )
    bad_state = await cw.get(f"/v1/campaigns/{campaign_id}/letters/deliveries", org, state="lost")

    problem(by_member, 403)
    problem(bad_state, 422)


async def test_a_letter_held_for_confirmation_is_dispatched_only_once_confirmed_to_the_targets_chosen_then(
    cw: CampaignsWorld,
) -> None:
    org = await cw.org("doubleoptin")
    targets = {t["name"]: t for t in await imported(cw, org, BRUSSELS)}
    campaign = await cw.launched(
        org,
        "letter",
        details=letter_details(targeting="by_location"),
        goal=goal("letter"),
        double_opt_in=True,
    )
    campaign_id = str(campaign["id"])
    ref = await cw.link_of(campaign_id, org)

    held = await cw.act(ref, "letters", person=supporter("hana", postal_code="1000", country="BE"))

    assert held.status_code == 202, held.text
    assert held.json()["status"] == "pending_confirmation"
    assert await deliveries(cw, campaign_id, org) == []
    records = await cw.published(campaign_id, topics.CAMPAIGNS_ACTIONS)
    assert [r.type for r in records] == ["campaigns.action.pending"]  # no dispatch for a held letter
    # The directory changes before the supporter confirms: Lea Local no longer represents 1000.
    moved = await cw.campaigns.patch(
        f"/v1/targets/{targets['Lea Local']['id']}", json={"postal_codes": ["2000"]}, headers=org.headers
    )
    assert moved.status_code == 200, moved.text

    token = derive_link_token(
        DEVELOPMENT_LINK_SECRET, ACTION_CONFIRMATION, uuid.UUID(held.json()["action"]["id"])
    )
    confirmed = await cw.campaigns.post("/v1/public/confirmations", json={"token": token})
    assert confirmed.status_code == 200, confirmed.text

    expected = ["Lea Local", "Nina National", "Rui Regional", "Sam Supranational"]
    (order,) = await dispatches(cw, campaign_id)
    letter_id = order["letter_id"]
    assert sorted((t["name"], t["target_version"]) for t in order["targets"]) == [(n, 1) for n in expected]
    queued = await deliveries(cw, campaign_id, org)
    assert sorted(d["target_name"] for d in queued) == expected
    assert {(d["letter_id"], d["state"], d["target_version"]) for d in queued} == {(letter_id, "queued", 1)}
    again = await cw.campaigns.post("/v1/public/confirmations", json={"token": token})
    assert again.status_code == 409
    assert len(await dispatches(cw, campaign_id)) == 1
