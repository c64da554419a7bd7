"""A tiny solver of ALTCHA (v1) challenges, for tests, benchmarks and shell walkthroughs.

`solve(challenge)` gives the base64 payload a browser's widget would send; run as a program,
`python -m common.testing.altcha http://127.0.0.1:8003` fetches a challenge from the campaigns service
and prints a payload to put in a public action's `altcha` field.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
import urllib.request
from collections.abc import Mapping
from typing import Any


def solve(challenge: Mapping[str, Any]) -> str:
    """The payload solving `challenge` (`{algorithm, challenge, maxnumber, salt, signature}`)."""
    salt, target = str(challenge["salt"]), str(challenge["challenge"])
    for number in range(int(challenge["maxnumber"]) + 1):
        if hashlib.sha256(f"{salt}{number}".encode()).hexdigest() == target:
            solution = {
                "algorithm": challenge["algorithm"],
                "challenge": target,
                "number": number,
                "salt": salt,
                "signature": challenge["signature"],
            }
            return base64.b64encode(json.dumps(solution).encode()).decode()
    raise ValueError("the challenge has no solution up to its maxnumber")


def fetch_and_solve(campaigns_url: str) -> str:
    url = f"{campaigns_url.rstrip('/')}/v1/public/challenge"
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - the URL is the caller's
        return solve(json.loads(response.read()))


if __name__ == "__main__":
    sys.stdout.write(fetch_and_solve(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8003") + "\n")
