"""The identity API end to end: register, organization, invite, accept, roles, tokens."""

from __future__ import annotations

import jwt as pyjwt
from identity_api import IdentityApi, assert_problem


async def test_user_registers_creates_organization_and_becomes_its_owner(api: IdentityApi) -> None:
    alice = await api.person("alice")
    org = await api.organization(alice, name="Cystic Fibrosis Europe")

    me = await api.http.get("/v1/users/me", headers=alice.headers)

    assert me.status_code == 200
    assert me.json()["memberships"] == [
        {
            "organization_id": org["id"],
            "organization_slug": org["slug"],
            "organization_name": "Cystic Fibrosis Europe",
            "role": "owner",
        }
    ]
    claims = pyjwt.decode(alice.token, options={"verify_signature": False})
    assert claims["orgs"] == {org["id"]: "owner"}


async def test_invited_person_accepts_and_appears_among_members(api: IdentityApi) -> None:
    owner = await api.person("owner")
    org = await api.organization(owner)

    organizer = await api.add_member(org["id"], owner, role="organizer", name="organizer")
    members = await api.http.get(f"/v1/organizations/{org['id']}/members", headers=organizer.headers)

    assert members.status_code == 200
    assert {(m["email"], m["role"]) for m in members.json()} == {
        (owner.email, "owner"),
        (organizer.email, "organizer"),
    }


async def test_invitation_token_is_single_use(api: IdentityApi) -> None:
    owner = await api.person("owner")
    org = await api.organization(owner)
    invitee = await api.verify_email(await api.person("invitee"))
    invited = await api.http.post(
        f"/v1/organizations/{org['id']}/invitations", json={"email": invitee.email}, headers=owner.headers
    )
    token = invited.json()["token"]
    first = await api.http.post("/v1/invitations/accept", json={"token": token}, headers=invitee.headers)

    second = await api.http.post("/v1/invitations/accept", json={"token": token}, headers=invitee.headers)

    assert first.status_code == 200
    assert_problem(second, 410)


async def test_invitation_for_another_address_is_refused(api: IdentityApi) -> None:
    owner = await api.person("owner")
    org = await api.organization(owner)
    invited = await api.http.post(
        f"/v1/organizations/{org['id']}/invitations",
        json={"email": "someone-else@example.org"},
        headers=owner.headers,
    )
    stranger = await api.person("stranger")

    response = await api.http.post(
        "/v1/invitations/accept", json={"token": invited.json()["token"]}, headers=stranger.headers
    )

    assert_problem(response, 403)


async def test_revoked_invitation_cannot_be_accepted(api: IdentityApi) -> None:
    owner = await api.person("owner")
    org = await api.organization(owner)
    invitee = await api.person("invitee")
    invited = (
        await api.http.post(
            f"/v1/organizations/{org['id']}/invitations", json={"email": invitee.email}, headers=owner.headers
        )
    ).json()
    revoked = await api.http.delete(
        f"/v1/organizations/{org['id']}/invitations/{invited['id']}", headers=owner.headers
    )

    response = await api.http.post(
        "/v1/invitations/accept", json={"token": invited["token"]}, headers=invitee.headers
    )

    assert revoked.status_code == 204
    assert_problem(response, 410)


async def test_admin_cannot_make_an_owner_but_owner_can(api: IdentityApi) -> None:
    owner = await api.person("owner")
    org = await api.organization(owner)
    admin = await api.add_member(org["id"], owner, role="admin", name="admin")
    member = await api.add_member(org["id"], owner, role="member")
    path = f"/v1/organizations/{org['id']}/members/{member.id}"

    by_admin = await api.http.patch(path, json={"role": "owner"}, headers=admin.headers)
    to_organizer = await api.http.patch(path, json={"role": "organizer"}, headers=admin.headers)
    by_owner = await api.http.patch(path, json={"role": "owner"}, headers=owner.headers)

    assert_problem(by_admin, 403)
    assert to_organizer.json()["role"] == "organizer"
    assert by_owner.json()["role"] == "owner"


async def test_last_owner_can_neither_leave_nor_be_demoted(api: IdentityApi) -> None:
    owner = await api.person("owner")
    org = await api.organization(owner)
    path = f"/v1/organizations/{org['id']}/members/{owner.id}"

    demote = await api.http.patch(path, json={"role": "admin"}, headers=owner.headers)
    leave = await api.http.delete(path, headers=owner.headers)

    assert_problem(demote, 409)
    assert_problem(leave, 409)


async def test_owner_may_leave_once_another_owner_exists(api: IdentityApi) -> None:
    owner = await api.person("owner")
    org = await api.organization(owner)
    second = await api.add_member(org["id"], owner, role="owner", name="second")

    leave = await api.http.delete(f"/v1/organizations/{org['id']}/members/{owner.id}", headers=owner.headers)
    members = await api.http.get(f"/v1/organizations/{org['id']}/members", headers=second.headers)

    assert leave.status_code == 204
    assert [m["email"] for m in members.json()] == [second.email]


async def test_platform_admin_verifies_and_owner_deactivates(api: IdentityApi) -> None:
    owner = await api.person("owner")
    org = await api.organization(owner)
    admin = await api.admin()

    by_owner = await api.http.post(f"/v1/organizations/{org['id']}/verify", headers=owner.headers)
    verified = await api.http.post(f"/v1/organizations/{org['id']}/verify", headers=admin.headers)
    deactivated = await api.http.post(
        f"/v1/organizations/{org['id']}/deactivate", json={"reason": "merged"}, headers=owner.headers
    )
    update = await api.http.patch(f"/v1/organizations/{org['id']}", json={"name": "X"}, headers=owner.headers)

    assert_problem(by_owner, 403)
    assert verified.json()["verified"] is True
    assert deactivated.json()["status"] == "deactivated"
    assert_problem(update, 409)


async def test_deactivated_organization_leaves_tokens_and_directory(api: IdentityApi) -> None:
    owner = await api.person("owner")
    org = await api.organization(owner)
    await api.http.post(f"/v1/organizations/{org['id']}/deactivate", headers=owner.headers)

    tokens = await api.login(owner.email)
    directory = await api.http.get("/v1/organizations", params={"limit": 100})

    claims = pyjwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert org["id"] not in claims["orgs"]
    assert org["id"] not in {o["id"] for o in directory.json()["items"]}


async def test_directory_pages_through_every_organization_once(api: IdentityApi) -> None:
    owner = await api.person("owner")
    created = {(await api.organization(owner, country="PT"))["id"] for _ in range(5)}

    seen: list[str] = []
    cursor: str | None = None
    while True:
        params = {"limit": 2, "country": "PT", **({"cursor": cursor} if cursor else {})}
        page = (await api.http.get("/v1/organizations", params=params)).json()
        seen += [o["id"] for o in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert created <= set(seen)
    assert len(seen) == len(set(seen))


async def test_duplicate_slug_and_email_conflict(api: IdentityApi) -> None:
    owner = await api.person("owner")
    org = await api.organization(owner)

    slug = await api.http.post(
        "/v1/organizations",
        json={"slug": org["slug"], "name": "Other", "kind": "other", "country": "FR"},
        headers=owner.headers,
    )
    email = await api.http.post(
        "/v1/users",
        json={"email": owner.email.upper(), "password": "another fine passphrase", "display_name": "Dup"},
    )

    assert_problem(slug, 409)
    assert_problem(email, 409)


async def test_weak_passwords_are_refused_with_reasons(api: IdentityApi) -> None:
    response = await api.http.post(
        "/v1/users", json={"email": "weak@example.org", "password": "password1234", "display_name": "Weak"}
    )

    body = assert_problem(response, 422)
    assert "is too common" in body["problems"]
