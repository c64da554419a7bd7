"""Use cases of the identity service: organizations, users, memberships, invitations, clients, tokens."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from pymongo import AsyncMongoClient
from pymongo.errors import DuplicateKeyError

from common.auth import Principal
from common.contracts import identity as ev
from common.errors import Conflict, Forbidden, Gone, InvalidInput, NotFound
from common.events import EventPayload, utcnow
from common.links import EMAIL_VERIFICATION, derive_link_token
from common.mongo import Document, Session, in_transaction
from common.outbox import Outbox
from common.scopes import CLIENT_SCOPES, ORGANIZATIONS_READ
from identity.config import Settings
from identity.domain import memberships as rules
from identity.domain.disclosures import Funder, check_declaration
from identity.domain.emails import canonical_email, legacy_form, sign_in_name
from identity.domain.memberships import OrgRole
from identity.domain.oauth import ClientCredentials, OAuthError, OAuthErrorCode
from identity.domain.organizations import EDITABLE_FIELDS, Organization, OrgKind, OrgStatus, slug_is_allowed
from identity.domain.throttle import LoginThrottlePolicy, account_key, pair_key, source_of
from identity.domain.tokens import (
    DEFAULT_USER_SCOPE,
    USER_SCOPES,
    narrow_scopes,
    org_roles_claim,
    validate_client_scopes,
)
from identity.domain.users import User, password_problems
from identity.keys import SigningKeys, token_times
from identity.repository import IdentityRepository
from identity.security import Hasher, new_token, token_digest


@dataclass(frozen=True)
class TokenGrant:
    access_token: str
    expires_in: int
    scope: str
    refresh_token: str | None = None
    token_type: str = "Bearer"  # noqa: S105 - the OAuth token type, not a secret


@dataclass(frozen=True)
class NewOrganization:
    slug: str
    name: str
    kind: OrgKind
    country: str
    website: str | None = None
    description: str | None = None
    logo_url: str | None = None
    privacy_notice_url: str | None = None
    embed_origins: list[str] = field(default_factory=list)


class IdentityService:
    def __init__(
        self,
        *,
        client: AsyncMongoClient[Document],
        repo: IdentityRepository,
        outbox: Outbox,
        keys: SigningKeys,
        hasher: Hasher,
        settings: Settings,
    ) -> None:
        self.client = client
        self.repo = repo
        self.outbox = outbox
        self.keys = keys
        self.hasher = hasher
        self.settings = settings
        self.throttle = LoginThrottlePolicy(
            free_failures=settings.login_free_failures,
            base_lockout=timedelta(seconds=settings.login_base_lockout_seconds),
            max_lockout=timedelta(seconds=settings.login_max_lockout_seconds),
            account_ceiling=settings.login_account_ceiling,
            account_window=timedelta(seconds=settings.login_account_window_seconds),
        )

    # ---- helpers ---------------------------------------------------------------------------------

    @staticmethod
    def _require_user(principal: Principal) -> UUID:
        if principal.user_id is None:
            raise Forbidden("this needs a signed-in user, not an API client")
        return principal.user_id

    async def _org_or_404(self, org_id: UUID, session: Session | None = None) -> Organization:
        org = await self.repo.get_organization(org_id, session)
        if org is None:
            raise NotFound("no such organization", organization_id=str(org_id))
        return org

    async def _actor_role(
        self, principal: Principal, org_id: UUID, session: Session | None = None
    ) -> OrgRole | None:
        """The caller's current role, read from the database rather than the (older) token."""
        user_id = self._require_user(principal)
        return await self.repo.role_of(org_id, user_id, session)

    async def _require_own_active_client(self, principal: Principal, org_id: UUID) -> None:
        """An API client reads only its own organization, and only while it is active: identity holds
        the client itself, so a revoked client is refused at once rather than when its token expires."""
        if principal.client_org != org_id:
            raise Forbidden("an API client reads only its own organization")
        client = await self.repo.get_client(principal.subject)
        if client is None or client["status"] != "active" or client["org_id"] != org_id:
            raise Forbidden("the API client was revoked")
        if not (await self._org_or_404(org_id)).is_active:
            raise Forbidden("the API client's organization is deactivated")

    async def _require_member(self, principal: Principal, org_id: UUID) -> OrgRole | None:
        role = await self._actor_role(principal, org_id)
        if role is None and not principal.platform_admin:
            raise Forbidden("only the organization's members can see this")
        return role

    async def _require_admin(self, principal: Principal, org_id: UUID, session: Session) -> OrgRole | None:
        role = await self._actor_role(principal, org_id, session)
        if not principal.platform_admin and (role is None or not role.at_least(OrgRole.ADMIN)):
            raise Forbidden("only the organization's admins and owners can do this")
        return role

    async def _emit(
        self, session: Session, payload: EventPayload, *, org_id: UUID | None = None, key: str, subject: str
    ) -> None:
        await self.outbox.add(
            session, payload, key=key, subject=subject, orgid=str(org_id) if org_id else None
        )

    async def _emit_org(self, session: Session, payload: EventPayload, org_id: UUID) -> None:
        await self._emit(session, payload, org_id=org_id, key=str(org_id), subject=f"organizations/{org_id}")

    # ---- users -----------------------------------------------------------------------------------

    async def register_user(
        self, *, email: str, password: str, display_name: str, platform_admin: bool = False
    ) -> User:
        email = canonical_email(email)
        problems = password_problems(password, email=email, display_name=display_name)
        if problems:
            raise InvalidInput("the password " + "; ".join(problems), field="password", problems=problems)
        password_hash = await self.hasher.hash(password)
        now = utcnow()
        user_id = uuid.uuid4()
        doc = {
            "_id": user_id,
            "email": email,
            "display_name": display_name.strip(),
            "password_hash": password_hash,
            "platform_admin": platform_admin,
            "created_at": now,
            "password_changed_at": now,
            # The operator vouches for the bootstrap admin's address; everybody else proves theirs.
            "email_verified_at": now if platform_admin else None,
        }

        async def work(session: Session) -> None:
            await self.repo.insert_user(doc, session)
            payload = ev.UserRegistered(user_id=user_id, email=email, display_name=doc["display_name"])
            await self._emit(session, payload, key=str(user_id), subject=f"users/{user_id}")

        try:
            await in_transaction(self.client, work)
        except DuplicateKeyError as exc:
            raise Conflict("a user with this e-mail address already exists", field="email") from exc
        return User.model_validate({**doc, "id": user_id})

    async def bootstrap_admin(self) -> User | None:
        """Create the first platform admin from configuration, once."""
        email, password = self.settings.bootstrap_admin_email, self.settings.bootstrap_admin_password
        if not email or password is None:
            return None
        existing = await self.repo.find_user_by_email(canonical_email(email))
        if existing is not None:
            if not existing.get("platform_admin") or existing.get("email_verified_at") is None:
                vouched = existing.get("email_verified_at") or utcnow()
                await self.repo.update_user(
                    existing["_id"], {"platform_admin": True, "email_verified_at": vouched}
                )
            return None
        try:
            return await self.register_user(
                email=email,
                password=password.get_secret_value(),
                display_name="Platform admin",
                platform_admin=True,
            )
        except Conflict:
            return None  # another replica created it first

    async def profile(self, *, principal: Principal) -> tuple[User, list[Document]]:
        user_id = self._require_user(principal)
        user = await self.repo.get_user(user_id)
        if user is None:
            raise NotFound("the user no longer exists")
        return user, await self.repo.memberships_of_user(user_id)

    async def update_profile(self, *, principal: Principal, display_name: str) -> User:
        user_id = self._require_user(principal)
        user = await self.repo.update_user(user_id, {"display_name": display_name.strip()})
        if user is None:
            raise NotFound("the user no longer exists")
        return user

    async def change_password(
        self, *, principal: Principal, current_password: str, new_password: str
    ) -> None:
        user_id = self._require_user(principal)
        doc = await self.repo.get_user_doc(user_id)
        if doc is None:
            raise NotFound("the user no longer exists")
        if not await self.hasher.verify(doc["password_hash"], current_password):
            raise Forbidden("the current password is wrong")
        problems = password_problems(new_password, email=doc["email"], display_name=doc["display_name"])
        if problems:
            raise InvalidInput("the password " + "; ".join(problems), field="new_password", problems=problems)
        now = utcnow()
        await self.repo.update_user(
            user_id, {"password_hash": await self.hasher.hash(new_password), "password_changed_at": now}
        )
        await self.repo.revoke_user_tokens(user_id, now)

    # ---- e-mail verification ---------------------------------------------------------------------

    async def request_email_verification(self, *, principal: Principal) -> tuple[Document, str]:
        """A new single-use link for the user's address (earlier ones stop working); only its hash is kept.

        The token is derived from the verification's id under the secret shared with notifications
        (common.links), so the event carries the id and notifications can mail the link.
        """
        user_id = self._require_user(principal)
        verification_id = uuid.uuid4()
        token = derive_link_token(self.settings.link_secret, EMAIL_VERIFICATION, verification_id)
        now = utcnow()

        async def work(session: Session) -> Document:
            user = await self.repo.get_user_doc(user_id, session)
            if user is None:
                raise NotFound("the user no longer exists")
            if user.get("email_verified_at") is not None:
                raise Conflict("the e-mail address is already verified")
            doc: Document = {
                "_id": verification_id,
                "user_id": user_id,
                "email": user["email"],
                "token_hash": token_digest(token),
                "status": "pending",
                "created_at": now,
                "expires_at": now + timedelta(hours=self.settings.email_verification_ttl_hours),
            }
            await self.repo.insert_email_verification(doc, session)
            payload = ev.EmailVerificationRequested(
                user_id=user_id, verification_id=doc["_id"], email=doc["email"], expires_at=doc["expires_at"]
            )
            await self._emit(session, payload, key=str(user_id), subject=f"users/{user_id}")
            return doc

        return await in_transaction(self.client, work), token

    async def confirm_email_verification(self, *, token: str) -> User:
        """Use a verification link: once, before it expires, for the address it was sent to."""

        async def work(session: Session) -> User:
            verification = await self.repo.find_email_verification(token_digest(token), session)
            if verification is None:
                raise NotFound("no e-mail verification matches this token")
            now = utcnow()
            if verification["status"] != "pending":
                raise Gone(f"the verification link was already {verification['status']}")
            if verification["expires_at"] <= now:
                raise Gone("the verification link has expired; ask for a new one")
            user = await self.repo.get_user_doc(verification["user_id"], session)
            if user is None or user["email"] != verification["email"]:
                raise Gone("the verification link was for another address")
            if not await self.repo.use_email_verification(verification["_id"], now, session):
                raise Gone("the verification link was already used")
            updated = await self.repo.update_user(user["_id"], {"email_verified_at": now}, session)
            assert updated is not None
            payload = ev.EmailVerified(user_id=user["_id"], email=user["email"])
            await self._emit(session, payload, key=str(user["_id"]), subject=f"users/{user['_id']}")
            return updated

        return await in_transaction(self.client, work)

    # ---- organizations ---------------------------------------------------------------------------

    async def register_organization(self, *, principal: Principal, new: NewOrganization) -> Organization:
        # Owning a new organization is a role in an organization: like joining one (accept_invitation),
        # it needs a verified e-mail address (issue 10 item 11). The bootstrap admin counts as verified.
        user_id = self._require_user(principal)
        if not slug_is_allowed(new.slug):
            raise InvalidInput("the slug is reserved or malformed", field="slug")
        if self.settings.require_verified_email:
            creator = await self.repo.get_user_doc(user_id)
            if creator is None or creator.get("email_verified_at") is None:
                raise Forbidden(
                    "verify your e-mail address before you register an organization",
                    reason="email-unverified",
                )
        now = utcnow()
        org = Organization(
            id=uuid.uuid4(),
            slug=new.slug,
            name=new.name.strip(),
            kind=new.kind,
            country=new.country,
            website=new.website,
            description=new.description,
            logo_url=new.logo_url,
            privacy_notice_url=new.privacy_notice_url,
            embed_origins=new.embed_origins,
            created_at=now,
            updated_at=now,
            created_by=user_id,
        )

        async def work(session: Session) -> None:
            await self.repo.insert_organization(org, session)
            await self.repo.insert_membership(
                {
                    "_id": uuid.uuid4(),
                    "org_id": org.id,
                    "user_id": user_id,
                    "role": OrgRole.OWNER.value,
                    "created_at": now,
                },
                session,
            )
            await self._emit_org(
                session,
                ev.OrganizationRegistered(
                    organization_id=org.id,
                    slug=org.slug,
                    name=org.name,
                    kind=org.kind.value,
                    country=org.country,
                    website=org.website,
                    logo_url=org.logo_url,
                    privacy_notice_url=org.privacy_notice_url,
                    embed_origins=org.embed_origins,
                    registered_by=user_id,
                ),
                org.id,
            )
            await self._emit_org(
                session, ev.MembershipGranted(organization_id=org.id, user_id=user_id, role="owner"), org.id
            )

        try:
            await in_transaction(self.client, work)
        except DuplicateKeyError as exc:
            raise Conflict("an organization with this slug already exists", field="slug") from exc
        return org

    async def get_organization(self, *, org_id: UUID) -> Organization:
        return await self._org_or_404(org_id)

    async def list_organizations(
        self, *, after: UUID | None, limit: int, kind: str | None = None, country: str | None = None
    ) -> list[Organization]:
        return await self.repo.list_organizations(after=after, limit=limit, kind=kind, country=country)

    async def update_organization(
        self, *, principal: Principal, org_id: UUID, changes: dict[str, Any]
    ) -> Organization:
        self._require_user(principal)  # API clients are refused before anything is looked up
        changes = {k: v for k, v in changes.items() if k in EDITABLE_FIELDS}

        async def work(session: Session) -> Organization:
            org = await self._org_or_404(org_id, session)
            await self._require_admin(principal, org_id, session)
            org.require_active()
            changed = {k: v for k, v in changes.items() if getattr(org, k) != v}
            if not changed:
                return org
            updated = await self.repo.update_organization(
                org_id, {**changed, "updated_at": utcnow()}, session
            )
            assert updated is not None
            await self._emit_org(
                session,
                ev.OrganizationUpdated(
                    organization_id=org_id,
                    slug=updated.slug,
                    name=updated.name,
                    kind=updated.kind.value,
                    country=updated.country,
                    website=updated.website,
                    logo_url=updated.logo_url,
                    privacy_notice_url=updated.privacy_notice_url,
                    embed_origins=updated.embed_origins,
                    changed_fields=sorted(changed),
                ),
                org_id,
            )
            return updated

        return await in_transaction(self.client, work)

    async def deactivate_organization(
        self, *, principal: Principal, org_id: UUID, reason: str | None
    ) -> Organization:
        actor = self._require_user(principal)

        async def work(session: Session) -> Organization:
            org = await self._org_or_404(org_id, session)
            role = await self._actor_role(principal, org_id, session)
            if not principal.platform_admin and role is not OrgRole.OWNER:
                raise Forbidden("only an owner or a platform admin can deactivate an organization")
            org.require_active()
            updated = await self.repo.update_organization(
                org_id, {"status": OrgStatus.DEACTIVATED.value, "updated_at": utcnow()}, session
            )
            assert updated is not None
            await self._emit_org(
                session,
                ev.OrganizationDeactivated(organization_id=org_id, deactivated_by=actor, reason=reason),
                org_id,
            )
            return updated

        return await in_transaction(self.client, work)

    async def verify_organization(self, *, principal: Principal, org_id: UUID) -> Organization:
        actor = self._require_user(principal)
        if not principal.platform_admin:
            raise Forbidden("only a platform admin can verify an organization")

        async def work(session: Session) -> Organization:
            org = await self._org_or_404(org_id, session)
            org.require_active()
            if org.verified:
                return org
            now = utcnow()
            updated = await self.repo.update_organization(
                org_id, {"verified": True, "verified_at": now, "updated_at": now}, session
            )
            assert updated is not None
            await self._emit_org(
                session, ev.OrganizationVerified(organization_id=org_id, verified_by=actor), org_id
            )
            return updated

        return await in_transaction(self.client, work)

    # ---- funding disclosures ---------------------------------------------------------------------

    async def declare_funding(
        self, *, principal: Principal, org_id: UUID, funders: list[Funder], declared_at: datetime | None
    ) -> Document:
        """Replace the organization's funding declaration (its owners and admins, in person)."""
        actor = self._require_user(principal)  # API clients are refused before anything is looked up
        now = utcnow()
        when = declared_at or now
        check_declaration(funders, when, now)

        async def work(session: Session) -> Document:
            org = await self._org_or_404(org_id, session)
            await self._require_admin(principal, org_id, session)
            org.require_active()
            stored = [f.model_dump(mode="json") for f in funders]
            doc = await self.repo.put_disclosures(
                org_id,
                {"funders": stored, "declared_at": when, "declared_by": actor, "updated_at": now},
                session,
            )
            await self._emit_org(
                session,
                ev.OrganizationDisclosuresUpdated(
                    organization_id=org_id,
                    funders=[ev.Funder.model_validate(f) for f in stored],
                    declared_at=when,
                    updated_by=actor,
                ),
                org_id,
            )
            return doc

        return await in_transaction(self.client, work)

    async def funding_declaration(self, *, principal: Principal, org_id: UUID) -> Document:
        """The current declaration: for the organization's members, and its API clients with
        `organizations:read` (the public sees it on campaigns, from the event)."""
        if principal.kind == "client":
            principal.require_scope(ORGANIZATIONS_READ)
            await self._require_own_active_client(principal, org_id)
        else:
            await self._org_or_404(org_id)
            await self._require_member(principal, org_id)
        return await self.repo.get_disclosures(org_id) or {
            "_id": org_id,
            "funders": [],
            "declared_at": None,
            "declared_by": None,
            "updated_at": None,
        }

    # ---- memberships -----------------------------------------------------------------------------

    async def list_members(self, *, principal: Principal, org_id: UUID) -> list[Document]:
        """The members and their roles: for the organization's members, and its API clients with
        `organizations:read` (the scope checked before anything is looked up)."""
        if principal.kind == "client":
            principal.require_scope(ORGANIZATIONS_READ)
            await self._require_own_active_client(principal, org_id)
        else:
            await self._org_or_404(org_id)
            await self._require_member(principal, org_id)
        return await self.repo.members_of(org_id)

    async def change_member_role(
        self, *, principal: Principal, org_id: UUID, user_id: UUID, role: OrgRole
    ) -> Document:
        actor = self._require_user(principal)

        async def work(session: Session) -> Document:
            org = await self._org_or_404(org_id, session)
            actor_role = await self._actor_role(principal, org_id, session)
            if actor_role is None and not principal.platform_admin:
                raise Forbidden("only the organization's admins and owners manage its members")
            membership = await self.repo.get_membership(org_id, user_id, session)
            if membership is None:
                raise NotFound("that user is not a member of the organization")
            org.require_active()
            current = OrgRole(membership["role"])
            if current is role:
                return {**membership, "user": await self.repo.get_user_doc(user_id, session)}
            rules.check_role_change(
                actor_role,
                current=current,
                new=role,
                owner_count=await self.repo.count_owners(org_id, session),
                platform_admin=principal.platform_admin,
            )
            await self.repo.set_role(org_id, user_id, role, utcnow(), session)
            await self._emit_org(
                session,
                ev.MembershipRoleChanged(
                    organization_id=org_id,
                    user_id=user_id,
                    previous_role=current.value,
                    role=role.value,
                    changed_by=actor,
                ),
                org_id,
            )
            return {**membership, "role": role.value, "user": await self.repo.get_user_doc(user_id, session)}

        return await in_transaction(self.client, work)

    async def remove_member(self, *, principal: Principal, org_id: UUID, user_id: UUID) -> None:
        actor = self._require_user(principal)

        async def work(session: Session) -> None:
            await self._org_or_404(org_id, session)
            actor_role = await self._actor_role(principal, org_id, session)
            membership = await self.repo.get_membership(org_id, user_id, session)
            if membership is None:
                if actor_role is None and not principal.platform_admin:
                    raise Forbidden("only the organization's members can do this")
                raise NotFound("that user is not a member of the organization")
            rules.check_removal(
                actor_role,
                target=OrgRole(membership["role"]),
                owner_count=await self.repo.count_owners(org_id, session),
                is_self=actor == user_id,
                platform_admin=principal.platform_admin,
            )
            await self.repo.delete_membership(org_id, user_id, session)
            await self._emit_org(
                session,
                ev.MembershipRevoked(organization_id=org_id, user_id=user_id, revoked_by=actor),
                org_id,
            )

        await in_transaction(self.client, work)

    # ---- invitations -----------------------------------------------------------------------------

    async def invite(
        self, *, principal: Principal, org_id: UUID, email: str, role: OrgRole
    ) -> tuple[Document, str]:
        actor = self._require_user(principal)
        token = new_token("inv")
        now = utcnow()
        doc: Document = {
            "_id": uuid.uuid4(),
            "org_id": org_id,
            "email": canonical_email(email),
            "role": role.value,
            "token_hash": token_digest(token),
            "status": "pending",
            "created_at": now,
            "created_by": actor,
            "expires_at": now + timedelta(hours=self.settings.invitation_ttl_hours),
        }

        async def work(session: Session) -> None:
            org = await self._org_or_404(org_id, session)
            actor_role = await self._actor_role(principal, org_id, session)
            rules.check_can_grant(actor_role, role, platform_admin=principal.platform_admin)
            org.require_active()
            await self.repo.insert_invitation(doc, session)
            await self._emit_org(
                session,
                ev.InvitationCreated(
                    organization_id=org_id,
                    invitation_id=doc["_id"],
                    email=doc["email"],
                    role=role.value,
                    expires_at=doc["expires_at"],
                    invited_by=actor,
                ),
                org_id,
            )

        await in_transaction(self.client, work)
        return doc, token

    async def list_invitations(self, *, principal: Principal, org_id: UUID) -> list[Document]:
        self._require_user(principal)
        await self._org_or_404(org_id)
        role = await self._actor_role(principal, org_id)
        if not principal.platform_admin and (role is None or not role.at_least(OrgRole.ADMIN)):
            raise Forbidden("only the organization's admins and owners can see its invitations")
        return await self.repo.invitations_of(org_id)

    async def revoke_invitation(self, *, principal: Principal, org_id: UUID, invitation_id: UUID) -> None:
        self._require_user(principal)

        async def work(session: Session) -> None:
            await self._org_or_404(org_id, session)
            await self._require_admin(principal, org_id, session)
            invitation = await self.repo.get_invitation(org_id, invitation_id, session)
            if invitation is None:
                raise NotFound("no such invitation")
            if invitation["status"] != "pending":
                raise Conflict(f"the invitation is already {invitation['status']}")
            await self.repo.set_invitation(
                invitation_id, {"status": "revoked", "revoked_at": utcnow()}, session
            )

        await in_transaction(self.client, work)

    async def accept_invitation(self, *, principal: Principal, token: str) -> Document:
        user_id = self._require_user(principal)

        async def work(session: Session) -> Document:
            invitation = await self.repo.find_invitation_by_token(token_digest(token), session)
            if invitation is None:
                raise NotFound("no invitation matches this token")
            user = await self.repo.get_user_doc(user_id, session)
            if user is None or user["email"] != invitation["email"]:
                raise Forbidden("this invitation was sent to another e-mail address")
            if invitation["status"] != "pending":
                raise Gone(f"the invitation was already {invitation['status']}")
            now = utcnow()
            if invitation["expires_at"] <= now:
                raise Gone("the invitation has expired")
            if self.settings.require_verified_email and user.get("email_verified_at") is None:
                raise Forbidden(
                    "verify your e-mail address before you join an organization",
                    reason="email-unverified",
                )
            org = await self._org_or_404(invitation["org_id"], session)
            org.require_active()
            org_id, role = invitation["org_id"], OrgRole(invitation["role"])
            await self.repo.set_invitation(
                invitation["_id"], {"status": "accepted", "accepted_at": now, "accepted_by": user_id}, session
            )
            existing = await self.repo.get_membership(org_id, user_id, session)
            if existing is not None:
                if not OrgRole(existing["role"]).at_least(role):
                    await self.repo.set_role(org_id, user_id, role, now, session)
                    await self._emit_org(
                        session,
                        ev.MembershipRoleChanged(
                            organization_id=org_id,
                            user_id=user_id,
                            previous_role=existing["role"],
                            role=role.value,
                            changed_by=invitation["created_by"],
                        ),
                        org_id,
                    )
            else:
                await self.repo.insert_membership(
                    {
                        "_id": uuid.uuid4(),
                        "org_id": org_id,
                        "user_id": user_id,
                        "role": role.value,
                        "created_at": now,
                    },
                    session,
                )
                await self._emit_org(
                    session,
                    ev.MembershipGranted(organization_id=org_id, user_id=user_id, role=role.value),
                    org_id,
                )
            await self._emit_org(
                session,
                ev.InvitationAccepted(
                    organization_id=org_id, invitation_id=invitation["_id"], user_id=user_id
                ),
                org_id,
            )
            membership = await self.repo.get_membership(org_id, user_id, session)
            assert membership is not None
            return {**membership, "user": user}

        return await in_transaction(self.client, work)

    # ---- API clients -----------------------------------------------------------------------------

    async def create_client(
        self, *, principal: Principal, org_id: UUID, name: str, scopes: list[str]
    ) -> tuple[Document, str]:
        actor = self._require_user(principal)
        granted = validate_client_scopes(scopes)
        client_id = f"cli_{secrets.token_hex(12)}"
        secret = new_token("cs")
        doc: Document = {
            "_id": client_id,
            "org_id": org_id,
            "name": name.strip(),
            "scopes": granted,
            "secret_hash": await self.hasher.hash(secret),
            "status": "active",
            "created_at": utcnow(),
            "created_by": actor,
        }

        async def work(session: Session) -> None:
            org = await self._org_or_404(org_id, session)
            await self._require_admin(principal, org_id, session)
            org.require_active()
            await self.repo.insert_client(doc, session)
            await self._emit_org(
                session,
                ev.ApiClientCreated(
                    organization_id=org_id,
                    client_id=client_id,
                    name=doc["name"],
                    scopes=granted,
                    created_by=actor,
                ),
                org_id,
            )

        await in_transaction(self.client, work)
        return doc, secret

    async def list_clients(self, *, principal: Principal, org_id: UUID) -> list[Document]:
        self._require_user(principal)
        await self._org_or_404(org_id)
        role = await self._actor_role(principal, org_id)
        if not principal.platform_admin and (role is None or not role.at_least(OrgRole.ADMIN)):
            raise Forbidden("only the organization's admins and owners can see its API clients")
        return await self.repo.clients_of(org_id)

    async def revoke_client(self, *, principal: Principal, org_id: UUID, client_id: str) -> None:
        actor = self._require_user(principal)

        async def work(session: Session) -> None:
            await self._org_or_404(org_id, session)
            await self._require_admin(principal, org_id, session)
            client = await self.repo.get_client(client_id, session)
            if client is None or client["org_id"] != org_id:
                raise NotFound("no such API client")
            if client["status"] == "revoked":
                return
            await self.repo.set_client(client_id, {"status": "revoked", "revoked_at": utcnow()}, session)
            await self._emit_org(
                session,
                ev.ApiClientRevoked(organization_id=org_id, client_id=client_id, revoked_by=actor),
                org_id,
            )

        await in_transaction(self.client, work)

    # ---- tokens ----------------------------------------------------------------------------------

    async def _access_token(self, claims: dict[str, Any], now: datetime) -> str:
        ttl = timedelta(seconds=self.settings.access_token_ttl_seconds)
        return await self.keys.sign(
            {
                "iss": self.settings.token_issuer,
                "aud": self.settings.audience,
                "jti": str(uuid.uuid4()),
                **token_times(now, ttl),
                **claims,
            }
        )

    async def _user_grant(self, user: Document, *, family_id: str, scope: str, client_id: str) -> TokenGrant:
        now = utcnow()
        memberships = await self.repo.memberships_of_user(user["_id"])
        claims: dict[str, Any] = {
            "sub": str(user["_id"]),
            "client_id": client_id,
            "orgs": org_roles_claim((m["org_id"], m["role"]) for m in memberships),
            "scope": scope,
        }
        if user.get("platform_admin"):
            claims["padm"] = True
        refresh = new_token("rt")
        await self.repo.insert_refresh_token(
            {
                "_id": token_digest(refresh),
                "family_id": family_id,
                "user_id": user["_id"],
                "client_id": client_id,
                "status": "active",
                "scope": scope,
                "created_at": now,
                "expires_at": now + timedelta(days=self.settings.refresh_token_ttl_days),
            }
        )
        return TokenGrant(
            access_token=await self._access_token(claims, now),
            expires_in=self.settings.access_token_ttl_seconds,
            scope=scope,
            refresh_token=refresh,
        )

    async def _reserve_login(self, account: str, source: str) -> tuple[str, str]:
        """Count this attempt before any password is checked, or refuse it (429) when over a limit."""
        now, policy = utcnow(), self.throttle
        pair, whole = pair_key(account, source), account_key(account)
        counted = await self.repo.reserve_pair_attempt(
            pair, now=now, limit=policy.free_failures, forget_at=now + policy.forget_after
        )
        if not counted.granted:
            # Locked, or the last free attempts are still being verified (their lock is moments away).
            until = counted.locked_until or now + policy.base_lockout
            raise self._too_many(until - now)
        ceiling = await self.repo.reserve_account_attempt(
            whole, now=now, ceiling=policy.account_ceiling, window_ends=now + policy.account_window
        )
        if not ceiling.granted:
            await self.repo.release_attempt(pair)
            raise self._too_many(ceiling.expires_at - now)
        return pair, whole

    @staticmethod
    def _too_many(wait: timedelta) -> OAuthError:
        seconds = max(1, int(wait.total_seconds()) + 1)
        return OAuthError(
            OAuthErrorCode.INVALID_GRANT,
            f"too many failed sign-ins; try again in {seconds} seconds",
            retry_after=seconds,
        )

    async def _login_failed(self, pair: str) -> None:
        """After a wrong password: lock the pair once its free attempts are used up, longer each time."""
        now, policy = utcnow(), self.throttle
        strikes = await self.repo.strikes_of(pair)
        await self.repo.lock_pair(
            pair,
            at_least=policy.free_failures,
            until=now + policy.lockout(strikes),
            keep=policy.free_failures - 1,
        )

    async def _authenticate_client(self, credentials: ClientCredentials) -> Document:
        """The API client whose secret this is; invalid_client (401) for anything else."""
        if credentials.secret is None:
            raise OAuthError(OAuthErrorCode.INVALID_CLIENT, "the client must authenticate with its secret")
        client = await self.repo.get_client(credentials.client_id)
        valid = await self.hasher.verify(client["secret_hash"] if client else None, credentials.secret)
        if client is None or not valid or client["status"] != "active":
            raise OAuthError(
                OAuthErrorCode.INVALID_CLIENT, "the client is unknown, revoked, or its secret is wrong"
            )
        return client

    async def _user_token_client(self, credentials: ClientCredentials | None) -> str:
        """The client a user's token is issued to: the platform's own public client.

        API clients are confidential and belong to an organization; they may not act as users.
        """
        public = self.settings.public_client_id
        if credentials is None:
            return public
        if credentials.client_id == public:
            if credentials.secret is not None:
                raise OAuthError(
                    OAuthErrorCode.INVALID_CLIENT, f"{public!r} is a public client without a secret"
                )
            return public
        await self._authenticate_client(credentials)
        raise OAuthError(
            OAuthErrorCode.UNAUTHORIZED_CLIENT, "API clients may only use the client_credentials grant"
        )

    @staticmethod
    def _user_scope(requested: str | None, *, granted: str | None = None) -> str:
        allowed = granted.split() if granted is not None else list(USER_SCOPES)
        try:
            scopes = narrow_scopes(allowed, requested)
        except InvalidInput as exc:
            raise OAuthError(OAuthErrorCode.INVALID_SCOPE, exc.detail, known_scopes=allowed) from exc
        return " ".join(scopes)

    async def password_grant(
        self,
        *,
        username: str,
        password: str,
        scope: str | None,
        source: str,
        client: ClientCredentials | None = None,
    ) -> TokenGrant:
        client_id = await self._user_token_client(client)
        granted_scope = self._user_scope(scope)
        email = sign_in_name(username)
        pair, whole = await self._reserve_login(email, source_of(source))
        user = await self.repo.find_user_signing_in([email, legacy_form(username)])
        if not await self.hasher.verify(user["password_hash"] if user else None, password) or user is None:
            await self._login_failed(pair)
            raise OAuthError(OAuthErrorCode.INVALID_GRANT, "the e-mail address or password is wrong")
        await self.repo.forget(pair)
        await self.repo.release_attempt(whole)
        if self.hasher.needs_rehash(user["password_hash"]):
            await self.repo.update_user(user["_id"], {"password_hash": await self.hasher.hash(password)})
        return await self._user_grant(
            user, family_id=str(uuid.uuid4()), scope=granted_scope, client_id=client_id
        )

    async def refresh_grant(
        self, *, refresh_token: str, scope: str | None = None, client: ClientCredentials | None = None
    ) -> TokenGrant:
        client_id = await self._user_token_client(client)
        digest = token_digest(refresh_token)
        now = utcnow()
        known = await self.repo.find_refresh_token(digest)
        if known is not None and known["status"] == "active":
            # Refuse a wrong request before the token is spent, so the session survives it.
            if known.get("client_id", self.settings.public_client_id) != client_id:
                raise OAuthError(
                    OAuthErrorCode.INVALID_GRANT, "the refresh token was issued to another client"
                )
            # An old session's scope may name scopes that no longer exist; it keeps those that still do.
            kept = [s for s in str(known.get("scope", "")).split() if s in USER_SCOPES]
            granted_scope = self._user_scope(scope, granted=" ".join(kept) or DEFAULT_USER_SCOPE)
        record = await self.repo.consume_refresh_token(digest, now)
        if record is None:
            if known is not None and known["status"] in ("used", "revoked"):
                # A rotated token came back: it was stolen or replayed. End the whole family.
                await self.repo.revoke_family(known["family_id"], now)
                raise OAuthError(
                    OAuthErrorCode.INVALID_GRANT, "the refresh token was already used; the session is revoked"
                )
            raise OAuthError(OAuthErrorCode.INVALID_GRANT, "the refresh token is unknown or expired")
        user = await self.repo.get_user_doc(record["user_id"])
        if user is None:
            raise OAuthError(OAuthErrorCode.INVALID_GRANT, "the user no longer exists")
        return await self._user_grant(
            user, family_id=record["family_id"], scope=granted_scope, client_id=client_id
        )

    async def revoke_refresh_token(self, *, token: str) -> None:
        known = await self.repo.find_refresh_token(token_digest(token))
        if known is not None:
            await self.repo.revoke_family(known["family_id"], utcnow())

    async def client_credentials_grant(
        self, *, client: ClientCredentials | None, scope: str | None
    ) -> TokenGrant:
        if client is None:
            raise OAuthError(OAuthErrorCode.INVALID_CLIENT, "client authentication is required")
        record = await self._authenticate_client(client)
        org = await self.repo.get_organization(record["org_id"])
        if org is None or not org.is_active:
            raise OAuthError(OAuthErrorCode.INVALID_CLIENT, "the client's organization is deactivated")
        try:
            scopes = narrow_scopes(record["scopes"], scope)
        except InvalidInput as exc:
            raise OAuthError(OAuthErrorCode.INVALID_SCOPE, exc.detail) from exc
        now = utcnow()
        client_id = record["_id"]
        claims = {
            "sub": client_id,
            "client_id": client_id,
            "cid": client_id,
            "org": str(record["org_id"]),
            "scope": " ".join(scopes),
        }
        return TokenGrant(
            access_token=await self._access_token(claims, now),
            expires_in=self.settings.access_token_ttl_seconds,
            scope=" ".join(scopes),
        )

    async def rotate_signing_key(self, *, principal: Principal) -> str:
        self._require_user(principal)
        if not principal.platform_admin:
            raise Forbidden("only a platform admin can rotate signing keys")
        return await self.keys.rotate()

    @staticmethod
    def scopes_supported() -> list[str]:
        """Every scope a token can carry: the user scope, then the scopes API clients may hold."""
        return [*sorted(USER_SCOPES), *sorted(CLIENT_SCOPES)]
