"""The public endpoints' limits: a per-address rate limit (429 with Retry-After), idempotency keys, and
one action per supporter and kind."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from campaigns_world import CampaignsWorld, problem, supporter

from campaigns.api.ratelimit import RateLimiter


@pytest.fixture
def strict_limit(cw: CampaignsWorld) -> Iterator[RateLimiter]:
    """Three public requests per address in a frozen window (1000 s into a 60 s window: 20 s left)."""
    state = cw.campaigns_app.state
    saved = state.public_rate_limiter
    state.public_rate_limiter = RateLimiter(3, 60, clock=lambda: 1000.0)
    try:
        yield state.public_rate_limiter
    finally:
        state.public_rate_limiter = saved


async def test_the_public_rate_limit_answers_429_with_retry_after(
    cw: CampaignsWorld, strict_limit: RateLimiter
) -> None:
    owner = await cw.org("limited")
    campaign = await cw.launched(owner)
    links = await cw.get(f"/v1/campaigns/{campaign['id']}/links", owner)  # not public: not limited
    ref = links.json()[0]["ref"]
    for _ in range(2):
        assert (await cw.campaigns.get(f"/v1/public/links/{ref}")).status_code == 200
    assert (await cw.act(ref)).status_code == 201
    for response in (
        await cw.campaigns.get(f"/v1/public/links/{ref}"),
        await cw.act(ref),
        await cw.campaigns.post(
            f"/v1/public/links/{ref}/signatures",
            json={"supporter": supporter(), "consents": {}},
            headers={"X-Forwarded-For": "192.0.2.77"},  # not trusted here: the address stays the same
        ),
    ):
        body = problem(response, 429)
        assert response.headers["Retry-After"] == "20", response.headers
        assert "too many" in body["detail"]
    assert (await cw.stats(campaign["id"], owner))["counts"] == {"signature": 1}

    other = httpx.ASGITransport(app=cw.campaigns_app, client=("198.51.100.23", 41000))
    async with httpx.AsyncClient(transport=other, base_url="http://campaigns.test") as elsewhere:
        assert (await elsewhere.get(f"/v1/public/links/{ref}")).status_code == 200
    # Organizers' routes are not behind the public limit.
    assert (await cw.get(f"/v1/campaigns/{campaign['id']}", owner)).status_code == 200


async def test_an_idempotency_key_replays_its_first_result_and_refuses_another_body(
    cw: CampaignsWorld,
) -> None:
    owner = await cw.org("retrier")
    campaign = await cw.launched(owner)
    ref = await cw.link_of(campaign["id"], owner)
    person = supporter("ret")
    first = await cw.act(ref, person=person, key="retry-abc-1")
    assert first.status_code == 201, first.text
    assert first.json()["replayed"] is False
    replay = await cw.act(ref, person=person, key="retry-abc-1")
    assert replay.status_code == 201
    assert first.json()["supporter_token"]
    # The first result, but never its secret: the key and the body are guessable by anyone.
    assert replay.json() == {**first.json(), "replayed": True, "supporter_token": None}
    stored = await cw.service.repo.db["idempotency"].find_one({"supporter_id": {"$exists": True}})
    assert stored is not None
    assert first.json()["supporter_token"] not in str(stored)
    other_body = problem(await cw.act(ref, person=supporter("someone-else"), key="retry-abc-1"), 422)
    assert "Idempotency-Key" in other_body["detail"]
    changed_consent = await cw.act(
        ref, person=person, consents=await cw.consents(ref, "contact_by_organization"), key="retry-abc-1"
    )
    problem(changed_consent, 422)
    stats = await cw.stats(campaign["id"], owner)
    assert stats["counts"] == {"signature": 1}
    assert stats["unique_supporters"] == 1


async def test_the_same_supporter_again_is_already_recorded_without_a_token(cw: CampaignsWorld) -> None:
    owner = await cw.org("repeater")
    campaign = await cw.launched(owner, "event")
    ref = await cw.link_of(campaign["id"], owner)
    person = supporter("rep")
    first = await cw.act(ref, "rsvps", person)
    assert first.status_code == 201
    assert first.json()["supporter_token"]
    for email in (person["email"].upper(), f"  {person['email'].title()} "):
        again = await cw.act(ref, "rsvps", {**person, "email": email})
        assert again.status_code == 200, again.text
        body = again.json()
        assert body["already_recorded"] is True
        assert body["replayed"] is False
        assert body["supporter_token"] is None
        assert body["action"]["id"] == first.json()["action"]["id"]
    # Another kind of action by the same person counts, but the person does not count twice.
    checked_in = await cw.act(ref, "checkins", {**person, "email": person["email"].upper()})
    assert checked_in.status_code == 201
    assert checked_in.json()["supporter_token"] is None
    stats = await cw.stats(campaign["id"], owner)
    assert stats["counts"] == {"rsvp": 1, "checkin": 1}
    assert stats["unique_supporters"] == 1
