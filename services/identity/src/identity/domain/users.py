"""Users and the password policy (NIST SP 800-63B style: length and a deny-list, no composition rules)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 128

# The most common passwords of at least the minimum length; a longer list would live in a data file.
COMMON_PASSWORDS = frozenset(
    {
        "123456789012",
        "1234567890123",
        "qwertyuiopas",
        "password1234",
        "passwordpassword",
        "iloveyou1234",
        "qwerty123456",
        "111111111111",
        "000000000000",
        "aaaaaaaaaaaa",
        "abcdefghijkl",
        "letmein12345",
        "welcome12345",
        "administrator",
        "changeme1234",
        "qwertyuiop123",
        "1q2w3e4r5t6y",
        "football1234",
        "baseball1234",
        "sunshine1234",
        "princess1234",
        "trustno11234",
        "superman1234",
        "monkey123456",
        "dragon123456",
        "correcthorsebatterystaple",
        "p@ssw0rd1234",
        "passw0rd1234",
        "zaq12wsxcde3",
    }
)


def normalize_email(email: str) -> str:
    return email.strip().lower()


def password_problems(password: str, *, email: str, display_name: str = "") -> list[str]:
    """What is wrong with a proposed password; empty when it is acceptable."""
    problems: list[str] = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"must be at least {MIN_PASSWORD_LENGTH} characters long")
    if len(password) > MAX_PASSWORD_LENGTH:
        problems.append(f"must be at most {MAX_PASSWORD_LENGTH} characters long")
    if not password.strip():
        problems.append("must not be only white space")
    lowered = password.lower()
    if lowered in COMMON_PASSWORDS:
        problems.append("is too common")
    if len(set(password)) < 4:
        problems.append("must use more than three different characters")
    local_part = normalize_email(email).split("@", 1)[0]
    if lowered == normalize_email(email) or (len(local_part) >= 4 and local_part in lowered):
        problems.append("must not contain the e-mail address")
    if display_name and len(display_name) >= 4 and display_name.lower() in lowered:
        problems.append("must not contain the display name")
    return problems


class User(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: UUID
    email: str
    display_name: str
    platform_admin: bool = False
    created_at: datetime
    email_verified_at: datetime | None = None

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None
