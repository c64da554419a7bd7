"""The access projection on a real MongoDB: identity's events decide a principal's roles and scopes, not the
token's snapshot; what the projection never heard of is trusted only while the token is fresh."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from uuid import UUID

import pytest

from common import mongo
from common.access import ACCESS_INDEXES, AccessProjection
from common.auth import Principal
from common.contracts import identity as idn
from common.errors import Unauthenticated
from common.events import EventPayload
from common.mongo import Session, in_transaction
from common.testing.infra import Infra

ACTOR = uuid.uuid4()
OLD = time.time() - 600  # a token issued ten minutes ago, long past the grace


@dataclass
class Projection:
    access: AccessProjection

    async def apply(self, *events: EventPayload) -> None:
        for event in events:

            async def work(session: Session, event: EventPayload = event) -> None:
                await self.access.apply(event, session)

            await in_transaction(self.access.db.client, work)


@pytest.fixture
async def projection(infra: Infra) -> AsyncIterator[Projection]:
    client = mongo.create_client(infra.mongodb_url, app_name="access-test")
    db = client.get_database(f"access_{uuid.uuid4().hex[:8]}", codec_options=mongo.CODEC_OPTIONS)
    await mongo.apply_indexes(db, ACCESS_INDEXES)
    yield Projection(AccessProjection(db, grace_seconds=30))
    await client.drop_database(db.name)
    await client.close()


def user(roles: dict[UUID, str], *, issued_at: float = OLD) -> Principal:
    return Principal.model_validate(
        {"subject": str(uuid.uuid4()), "kind": "user", "org_roles": roles, "issued_at": issued_at}
    )


def client(org: UUID, scopes: set[str], *, issued_at: float = OLD, client_id: str | None = None) -> Principal:
    return Principal(
        subject=client_id or f"cli_{uuid.uuid4().hex[:24]}",
        kind="client",
        client_org=org,
        scopes=frozenset(scopes),
        issued_at=issued_at,
    )


def granted(org: UUID, who: Principal, role: str) -> idn.MembershipGranted:
    return idn.MembershipGranted(organization_id=org, user_id=UUID(who.subject), role=role)  # type: ignore[arg-type]


async def test_a_removed_member_keeps_no_role_from_the_token(projection: Projection) -> None:
    org = uuid.uuid4()
    admin = user({org: "admin"})
    await projection.apply(
        granted(org, admin, "admin"),
        idn.MembershipRevoked(organization_id=org, user_id=UUID(admin.subject), revoked_by=ACTOR),
    )
    assert (await projection.access.resolve(admin)).org_roles == {}


async def test_a_removed_member_is_refused_even_with_a_fresh_token(projection: Projection) -> None:
    org = uuid.uuid4()
    admin = user({org: "admin"}, issued_at=time.time())
    await projection.apply(
        granted(org, admin, "admin"),
        idn.MembershipRevoked(organization_id=org, user_id=UUID(admin.subject), revoked_by=ACTOR),
    )
    assert (await projection.access.resolve(admin)).org_roles == {}


async def test_a_demoted_admin_has_the_current_role(projection: Projection) -> None:
    org = uuid.uuid4()
    admin = user({org: "admin"})
    await projection.apply(
        granted(org, admin, "admin"),
        idn.MembershipRoleChanged(
            organization_id=org,
            user_id=UUID(admin.subject),
            previous_role="admin",
            role="member",
            changed_by=ACTOR,
        ),
    )
    resolved = await projection.access.resolve(admin)
    assert resolved.org_roles == {org: "member"}
    assert not resolved.has_role(org, "admin")


async def test_a_promotion_counts_before_the_next_token(projection: Projection) -> None:
    org = uuid.uuid4()
    member = user({org: "member"})
    await projection.apply(granted(org, member, "member"))
    await projection.apply(
        idn.MembershipRoleChanged(
            organization_id=org,
            user_id=UUID(member.subject),
            previous_role="member",
            role="admin",
            changed_by=ACTOR,
        )
    )
    assert (await projection.access.resolve(member)).has_role(org, "admin")


async def test_a_deactivated_organization_voids_its_roles(projection: Projection) -> None:
    org, other = uuid.uuid4(), uuid.uuid4()
    owner = user({org: "owner", other: "member"})
    await projection.apply(
        idn.OrganizationRegistered(
            organization_id=org, slug="s", name="N", kind="other", country="DE", registered_by=ACTOR
        ),
        granted(org, owner, "owner"),
        granted(other, owner, "member"),
        idn.OrganizationDeactivated(organization_id=org, deactivated_by=ACTOR),
    )
    assert (await projection.access.resolve(owner)).org_roles == {other: "member"}


async def test_an_unheard_of_membership_is_trusted_only_while_the_token_is_fresh(
    projection: Projection,
) -> None:
    org = uuid.uuid4()
    assert (await projection.access.resolve(user({org: "admin"}, issued_at=time.time()))).org_roles == {
        org: "admin"
    }
    assert (await projection.access.resolve(user({org: "admin"}))).org_roles == {}


async def test_a_revoked_client_is_refused(projection: Projection) -> None:
    org = uuid.uuid4()
    caller = client(org, {"campaigns:read"}, issued_at=time.time())
    await projection.apply(
        idn.ApiClientCreated(
            organization_id=org,
            client_id=caller.subject,
            name="x",
            scopes=["campaigns:read"],
            created_by=ACTOR,
        ),
        idn.ApiClientRevoked(organization_id=org, client_id=caller.subject, revoked_by=ACTOR),
    )
    with pytest.raises(Unauthenticated, match="revoked"):
        await projection.access.resolve(caller)


async def test_a_client_has_only_the_scopes_both_token_and_projection_hold(projection: Projection) -> None:
    org = uuid.uuid4()
    caller = client(org, {"campaigns:read", "campaigns:write"})
    await projection.apply(
        idn.ApiClientCreated(
            organization_id=org,
            client_id=caller.subject,
            name="x",
            scopes=["campaigns:read"],
            created_by=ACTOR,
        )
    )
    assert (await projection.access.resolve(caller)).scopes == {"campaigns:read"}


async def test_an_unheard_of_client_is_refused_once_its_token_is_not_fresh(projection: Projection) -> None:
    org = uuid.uuid4()
    fresh = client(org, {"campaigns:read"}, issued_at=time.time())
    assert (await projection.access.resolve(fresh)).scopes == {"campaigns:read"}
    with pytest.raises(Unauthenticated, match="not known"):
        await projection.access.resolve(client(org, {"campaigns:read"}))


async def test_a_client_of_a_deactivated_organization_is_refused(projection: Projection) -> None:
    org = uuid.uuid4()
    caller = client(org, {"campaigns:read"})
    await projection.apply(
        idn.ApiClientCreated(
            organization_id=org,
            client_id=caller.subject,
            name="x",
            scopes=["campaigns:read"],
            created_by=ACTOR,
        ),
        idn.OrganizationDeactivated(organization_id=org, deactivated_by=ACTOR),
    )
    with pytest.raises(Unauthenticated, match="deactivated"):
        await projection.access.resolve(caller)
