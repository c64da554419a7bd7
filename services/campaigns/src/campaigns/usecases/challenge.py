"""Abuse protection of the public forms without third parties: a proof-of-work and a honeypot.

Every public action carries a solved challenge (ALTCHA, `campaigns.domain.proof_of_work`) when the
service requires it (CAMPAIGNS_PUBLIC_CHALLENGE_REQUIRED, on by default). A solution is spent once:
its challenge is recorded in `used_challenges` (unique id, erased by a TTL index when the challenge
expires), so a replayed payload is refused on every replica. A form's hidden `website` field must stay
empty (people never see it; robots fill it). The per-address rate limit still applies.
"""

from __future__ import annotations

from datetime import timedelta

from campaigns.domain.proof_of_work import Challenge, ProofRefused, check_solution, make_challenge
from campaigns.usecases.base import ServiceBase
from common.errors import Conflict, DomainError
from common.events import utcnow


class ChallengeFailed(DomainError):
    status, code, title = 400, "challenge-failed", "Proof-of-work refused"


class ChallengeUsed(Conflict):
    code, title = "challenge-used", "Proof-of-work already used"


class Challenges(ServiceBase):
    def issue_challenge(self) -> Challenge:
        """A fresh challenge (nothing is stored: its expiry and signature travel inside it)."""
        expires = utcnow() + timedelta(seconds=self.settings.challenge_ttl_seconds)
        return make_challenge(
            self.settings.challenge_key, max_number=self.settings.challenge_max_number, expires=expires
        )

    async def verify_challenge(self, altcha: str | None, honeypot: str | None) -> None:
        """Refuse a filled honeypot, and (when required) a missing, wrong, expired or used solution."""
        if honeypot:
            raise ChallengeFailed("this form was filled in by a robot", field="website")
        if not self.settings.public_challenge_required:
            return
        if not altcha:
            raise ChallengeFailed(
                "solve the proof-of-work from GET /v1/public/challenge and send it as `altcha`",
                field="altcha",
            )
        try:
            solution = check_solution(self.settings.challenge_key, altcha, utcnow())
        except ProofRefused as exc:
            raise ChallengeFailed(str(exc), field="altcha") from exc
        if not await self.repo.spend_challenge(solution.challenge, solution.expires):
            raise ChallengeUsed("this proof-of-work was already used; solve a new challenge", field="altcha")
