"""Routes: users register and manage their own profile."""

from __future__ import annotations

from fastapi import APIRouter, Request, status

from common.auth import CurrentPrincipal
from common.mongo import Document
from identity.api.deps import ServiceDep
from identity.api.schemas import (
    EmailVerificationConfirm,
    EmailVerificationSent,
    MembershipSummary,
    PasswordChange,
    ProfileRead,
    UserCreate,
    UserRead,
    UserUpdate,
)
from identity.domain.users import User

router = APIRouter(prefix="/v1/users", tags=["users"])


def _profile(user: User, memberships: list[Document]) -> ProfileRead:
    return ProfileRead(
        **user.model_dump(),
        memberships=[
            MembershipSummary(
                organization_id=m["org_id"],
                organization_slug=m["org"]["slug"],
                organization_name=m["org"]["name"],
                role=m["role"],
            )
            for m in memberships
        ],
    )


@router.post("", status_code=status.HTTP_201_CREATED, response_model=UserRead, summary="Register a user")
async def register_user(body: UserCreate, service: ServiceDep) -> User:
    return await service.register_user(
        email=body.email, password=body.password, display_name=body.display_name
    )


@router.get("/me", response_model=ProfileRead, summary="The signed-in user with their memberships")
async def read_me(principal: CurrentPrincipal, service: ServiceDep) -> ProfileRead:
    return _profile(*await service.profile(principal=principal))


@router.patch("/me", response_model=ProfileRead, summary="Change the display name")
async def update_me(body: UserUpdate, principal: CurrentPrincipal, service: ServiceDep) -> ProfileRead:
    await service.update_profile(principal=principal, display_name=body.display_name)
    return _profile(*await service.profile(principal=principal))


@router.post(
    "/me/password",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Change the password (signs out every other session)",
)
async def change_password(body: PasswordChange, principal: CurrentPrincipal, service: ServiceDep) -> None:
    await service.change_password(
        principal=principal, current_password=body.current_password, new_password=body.new_password
    )


@router.post(
    "/me/email-verification",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=EmailVerificationSent,
    response_model_exclude_none=True,
    summary="Send a single-use link that proves the user owns their e-mail address",
    description=(
        "Earlier links stop working. The link's token is stored only as a hash and never travels on Kafka; "
        "in development and test the response carries it, elsewhere it reaches the user only by e-mail."
    ),
)
async def request_email_verification(
    principal: CurrentPrincipal, service: ServiceDep, request: Request
) -> EmailVerificationSent:
    doc, token = await service.request_email_verification(principal=principal)
    shown = token if request.app.state.settings.is_development else None
    return EmailVerificationSent(email=doc["email"], expires_at=doc["expires_at"], token=shown)


@router.post(
    "/email-verification/confirm",
    response_model=UserRead,
    responses={
        404: {"description": "No e-mail verification matches this token"},
        410: {"description": "The link was already used, replaced, or has expired"},
    },
    summary="Verify an e-mail address with the token of its link (single use, expires)",
)
async def confirm_email_verification(body: EmailVerificationConfirm, service: ServiceDep) -> User:
    return await service.confirm_email_verification(token=body.token)
