"""The README's curl walkthrough works as written, against a real `make run` stack."""

from __future__ import annotations

import email
import email.policy
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from common.embedded import free_port
from launcher import ROOT, Launched, launch

README = ROOT / "README.md"


def _walkthrough() -> str:
    text = README.read_text()
    block = re.search(
        r"<!-- walkthrough:start -->\s*```bash\n(.*?)```\s*<!-- walkthrough:end -->", text, re.S
    )
    assert block, "the README lost its walkthrough markers"
    return block.group(1)


@pytest.fixture(scope="module")
def fresh_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Launched]:
    """A stack of its own, as a new user's `make run` is: the walkthrough is read on a fresh platform
    (the session's shared stack carries the other tests' organizations, mail and load)."""
    launched = launch(tmp_path_factory.mktemp("walkthrough"))
    yield launched
    launched.stop()


def test_readme_walkthrough_runs_as_written(fresh_stack: Launched) -> None:
    devstack = fresh_stack
    assert shutil.which("curl"), "the walkthrough needs curl"
    assert shutil.which("jq"), "the walkthrough needs jq"
    script = (
        _walkthrough()
        .replace("BASE=http://127.0.0.1:8001", f"BASE={devstack.identity_url}")
        .replace("COALITION=http://127.0.0.1:8002", f"COALITION={devstack.coalition_url}")
        .replace("CAMPAIGNS=http://127.0.0.1:8003", f"CAMPAIGNS={devstack.campaigns_url}")
        .replace("NOTIFY=http://127.0.0.1:8004", f"NOTIFY={devstack.notifications_url}")
        .replace("RECEIVER_PORT=9000", f"RECEIVER_PORT={free_port()}")
    )
    assert f"BASE={devstack.identity_url}" in script
    assert f"COALITION={devstack.coalition_url}" in script
    assert f"CAMPAIGNS={devstack.campaigns_url}" in script
    assert f"NOTIFY={devstack.notifications_url}" in script

    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script], capture_output=True, text=True, timeout=120, check=False
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert '"role": "owner"' in result.stdout
    assert '"scope": "campaigns:read webhooks:manage"' in result.stdout
    assert '"alg": "ES256"' in result.stdout
    assert '"organization_name": "Associacao Portuguesa de Fibrose Quistica"' in result.stdout
    assert result.stdout.count('"state": "active"') >= 3  # Joao's acceptance, then both members listed
    assert '"status": "active"' in result.stdout  # the campaign launched
    assert '"replayed": true' in result.stdout  # the retried signature
    assert '"signature": 3' in result.stdout  # Ana once, Rui, Ines
    assert re.search(r'"percent": 75(\.0)?\b', result.stdout)
    assert re.search(r'"milestones": \[\s*25,\s*50,\s*75\s*\]', result.stdout)
    assert '"email": "ana@example.net"' in result.stdout
    assert "rui@example.net" not in result.stdout  # Joao's supporter, under an aggregate-only agreement
    assert '"secret_prefix": "whsec_"' in result.stdout
    assert '"campaigns.action.recorded"' in result.stdout
    assert '"webhook.test"' in result.stdout
    assert '"success_rate": 1' in result.stdout
    assert re.search(r'"outcome_percent": 50(\.0)?\b', result.stdout)  # from baseline 2 to target 12
    assert '"impact_report_charts": 3' in result.stdout
    assert '"impact_report_pdf": "application/pdf"' in result.stdout
    assert '"public_report": "no supporter named"' in result.stdout

    # Joao, an admin of the invited organization, was told of the coalition's invitation by e-mail,
    # received over SMTP by the stack's sink.
    # Step 17's letter (recorded at once: its campaign has no double opt-in) reached both decision-makers
    # of postal code 1000 over SMTP, signed by the supporter. Mail is sent by the notifications worker
    # after the script's requests returned (the stack is shared with other tests' mail): wait for it.
    def received() -> list[str]:
        mails = [_readable(path) for path in (devstack.state_dir / "mail").glob("*.eml")]
        wanted = [
            lambda mail: "joao@example.org" in mail and "Cystic Fibrosis Alliance" in mail,
            lambda mail: "lea.martin@council.example" in mail and "Sofia" in mail,
            lambda mail: "nina.peeters@parliament.example" in mail and "Sofia" in mail,
        ]
        return [str(i) for i, match in enumerate(wanted) if not any(match(mail) for mail in mails)]

    deadline = time.monotonic() + 90
    while received() and time.monotonic() < deadline:
        time.sleep(0.5)
    missing = received()
    assert not missing, f"mails not received (0 Joao's invitation, 1-2 the letters): {missing}"


def _readable(path: Path) -> str:
    """A mail's headers and decoded text parts (bodies are quoted-printable: lines are soft-wrapped)."""
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    parts = [str(message["To"]), str(message["Subject"])]
    for part in message.walk():
        if part.get_content_maintype() == "text":
            parts.append(part.get_content())
    return "\n".join(parts)
