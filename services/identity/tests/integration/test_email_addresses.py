"""E-mail addresses: one user per mailbox whatever its spelling, look-alikes refused, ownership verified."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from fastapi import FastAPI
from identity_api import PASSWORD, IdentityApi, Person, assert_problem

from common.events import utcnow

CYRILLIC_A, DOTLESS_I = "\u0430", "\u0131"


def _fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" and c != "@" else c for c in text)


async def _register(api: IdentityApi, email: str) -> tuple[int, dict[str, object]]:
    response = await api.http.post(
        "/v1/users", json={"email": email, "password": PASSWORD, "display_name": "Look Alike"}
    )
    return response.status_code, response.json()


async def test_fullwidth_and_upper_case_spellings_are_the_same_user(api: IdentityApi) -> None:
    person = await api.person("maria")

    fullwidth_status, _ = await _register(api, _fullwidth(person.email))
    upper_status, _ = await _register(api, person.email.upper())
    signed_in = await api.login(_fullwidth(person.email.upper()))

    assert fullwidth_status == upper_status == 409
    assert signed_in["access_token"]


@pytest.mark.parametrize(
    ("spell", "kind"),
    [
        (lambda local, domain: f"{local.replace('a', CYRILLIC_A, 1)}@{domain}", "a Cyrillic letter"),
        (lambda local, domain: f"{local}{DOTLESS_I}@{domain}", "a dotless i"),
        (lambda local, domain: f"{local}@{domain.replace('a', CYRILLIC_A, 1)}", "an IDN look-alike domain"),
        (lambda local, domain: f"{local}@xn--exmple-4nf.org", "a look-alike domain as its A-label"),
    ],
)
async def test_lookalikes_of_an_address_are_refused(api: IdentityApi, spell, kind: str) -> None:  # type: ignore[no-untyped-def]
    person = await api.person("maria")
    local, domain = person.email.split("@")

    status, body = await _register(api, spell(local, domain))

    assert status == 422, (kind, body)
    assert body["field"] == "email"


async def test_invitations_to_lookalike_addresses_are_refused(api: IdentityApi) -> None:
    owner = await api.person("owner")
    org = await api.organization(owner)

    response = await api.http.post(
        f"/v1/organizations/{org['id']}/invitations",
        json={"email": f"m{CYRILLIC_A}ria@example.org"},
        headers=owner.headers,
    )

    assert_problem(response, 422)


async def _invite(api: IdentityApi, owner: Person, org_id: str, invitee: Person) -> str:
    invited = await api.http.post(
        f"/v1/organizations/{org_id}/invitations", json={"email": invitee.email}, headers=owner.headers
    )
    assert invited.status_code == 201, invited.text
    return str(invited.json()["token"])


async def test_an_unverified_address_cannot_join_an_organization_until_verified(api: IdentityApi) -> None:
    owner = await api.person("owner")
    org = await api.organization(owner)
    invitee = await api.person("invitee")
    token = await _invite(api, owner, org["id"], invitee)

    refused = await api.http.post("/v1/invitations/accept", json={"token": token}, headers=invitee.headers)
    await api.verify_email(invitee)
    accepted = await api.http.post("/v1/invitations/accept", json={"token": token}, headers=invitee.headers)

    assert assert_problem(refused, 403)["reason"] == "email-unverified"
    assert accepted.status_code == 200, accepted.text


def _new_org() -> dict[str, str]:
    return {"slug": f"org-{uuid.uuid4().hex[:10]}", "name": "New Alliance", "kind": "other", "country": "DE"}


async def test_an_unverified_address_cannot_register_an_organization_until_verified(api: IdentityApi) -> None:
    creator = await api.person("creator")

    refused = await api.http.post("/v1/organizations", json=_new_org(), headers=creator.headers)
    await api.verify_email(creator)
    created = await api.http.post("/v1/organizations", json=_new_org(), headers=creator.headers)
    me = (await api.http.get("/v1/users/me", headers=(await api.relogin(creator)).headers)).json()

    assert assert_problem(refused, 403)["reason"] == "email-unverified"
    assert created.status_code == 201, created.text
    assert [(m["organization_id"], m["role"]) for m in me["memberships"]] == [(created.json()["id"], "owner")]


async def test_the_creator_rule_can_be_switched_off(
    api: IdentityApi, identity_app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(identity_app.state.identity.settings, "require_verified_email", False)
    creator = await api.person("creator")

    created = await api.http.post("/v1/organizations", json=_new_org(), headers=creator.headers)

    assert created.status_code == 201, created.text


async def test_the_rule_can_be_switched_off(
    api: IdentityApi, identity_app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(identity_app.state.identity.settings, "require_verified_email", False)
    owner = await api.person("owner")
    org = await api.organization(owner)
    invitee = await api.person("invitee")
    token = await _invite(api, owner, org["id"], invitee)

    accepted = await api.http.post("/v1/invitations/accept", json={"token": token}, headers=invitee.headers)

    assert accepted.status_code == 200, accepted.text


async def test_a_verification_link_works_once(api: IdentityApi) -> None:
    person = await api.person()
    token = await api.verification_token(person)

    first = await api.http.post("/v1/users/email-verification/confirm", json={"token": token})
    second = await api.http.post("/v1/users/email-verification/confirm", json={"token": token})
    me = (await api.http.get("/v1/users/me", headers=person.headers)).json()

    assert first.status_code == 200
    assert first.json()["email_verified_at"] == me["email_verified_at"] is not None
    assert_problem(second, 410)


async def test_an_expired_verification_link_is_refused(api: IdentityApi, identity_app: FastAPI) -> None:
    person = await api.person()
    token = await api.verification_token(person)
    await identity_app.state.runtime.db["email_verifications"].update_many(
        {"status": "pending"}, {"$set": {"expires_at": utcnow() - timedelta(seconds=1)}}
    )

    response = await api.http.post("/v1/users/email-verification/confirm", json={"token": token})

    assert_problem(response, 410)
    me = (await api.http.get("/v1/users/me", headers=person.headers)).json()
    assert me["email_verified_at"] is None


async def test_a_new_link_replaces_the_previous_one(api: IdentityApi) -> None:
    person = await api.person()
    old = await api.verification_token(person)
    new = await api.verification_token(person)

    old_used = await api.http.post("/v1/users/email-verification/confirm", json={"token": old})
    new_used = await api.http.post("/v1/users/email-verification/confirm", json={"token": new})

    assert_problem(old_used, 410)
    assert new_used.status_code == 200


async def test_unknown_verification_tokens_are_404(api: IdentityApi) -> None:
    response = await api.http.post("/v1/users/email-verification/confirm", json={"token": "ev_" + "x" * 43})

    assert_problem(response, 404)


async def test_a_verified_address_needs_no_second_link(api: IdentityApi) -> None:
    person = await api.verify_email(await api.person())

    response = await api.http.post("/v1/users/me/email-verification", headers=person.headers)

    assert_problem(response, 409)


async def test_the_token_is_kept_only_as_a_hash_and_never_in_an_event(
    api: IdentityApi, identity_app: FastAPI
) -> None:
    person = await api.person()
    token = await api.verification_token(person)
    db = identity_app.state.runtime.db

    stored = await db["email_verifications"].find({"user_id": {"$exists": True}}).to_list()
    outbox = await db["outbox"].find({}).to_list()

    assert token not in json.dumps(stored, default=str)
    assert token not in json.dumps(outbox, default=str)
    requested = [
        r for r in outbox if "identity.user.email_verification_requested" in json.dumps(r, default=str)
    ]
    assert requested
    assert person.email in json.dumps(requested, default=str)
