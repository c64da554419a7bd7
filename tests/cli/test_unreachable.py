"""coalitionctl says when it cannot reach Kafka, and exits 5 (scripts and probes rely on the code)."""

from __future__ import annotations

from typer.testing import CliRunner

from coalitionctl.main import UNREACHABLE, app
from common.embedded import free_port


def test_a_kafka_that_does_not_answer_exits_5_with_a_message() -> None:
    nobody = f"127.0.0.1:{free_port()}"

    result = CliRunner().invoke(app, ["--kafka", nobody, "dlq", "list"])

    assert result.exit_code == UNREACHABLE, result.output
    assert "cannot reach MongoDB or Kafka" in result.output
