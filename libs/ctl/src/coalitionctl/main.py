"""coalitionctl: what an operator of the coalition platform reaches for in an incident.

Exit codes: 0 done (and healthy); 1 a check found a problem (a server down, lag over the limit);
2 wrong usage; 3 not found (topic, dead letter, projection); 4 refused (needs --yes, an admin exists);
5 MongoDB or Kafka cannot be reached.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from aiokafka.errors import KafkaError
from pymongo.errors import PyMongoError

from coalitionctl import deadletters, export, health, tail
from coalitionctl.config import CtlSettings
from coalitionctl.kafka import pretty

# The commands that build a service's app (lag, projection, keys, admin) import the services when they run,
# so that `health`, `tail` and `dlq` start quickly.

OK, PROBLEM, NOT_FOUND, REFUSED, UNREACHABLE = 0, 1, 3, 4, 5
T = TypeVar("T")

app = typer.Typer(
    name="coalitionctl",
    help="Operate the coalition platform: health, topics, dead letters, lag, projections, keys, admins, exports. "
    "Defaults point at `make run`'s stack; set COALITIONCTL_* variables (or the options) for another deployment. "
    "Exit codes: 0 ok, 1 problem found, 2 usage, 3 not found, 4 refused, 5 MongoDB/Kafka unreachable.",
    no_args_is_help=True,
    add_completion=False,
)
dlq_app = typer.Typer(
    help="The dead-letter topics deadletter.<consumer>.v1: list, show, replay.", no_args_is_help=True
)
projection_app = typer.Typer(
    help="Rebuild a service's projection from its source topics.", no_args_is_help=True
)
keys_app = typer.Typer(help="identity's token-signing keys.", no_args_is_help=True)
admin_app = typer.Typer(help="Platform admins.", no_args_is_help=True)
app.add_typer(dlq_app, name="dlq")
app.add_typer(projection_app, name="projection")
app.add_typer(keys_app, name="keys")
app.add_typer(admin_app, name="admin")


class State:
    settings: CtlSettings = CtlSettings()
    environment: str | None = None

    @classmethod
    def service_overrides(cls) -> dict[str, Any]:
        return {"environment": cls.environment} if cls.environment else {}


@app.callback()
def configure(
    mongodb_url: Annotated[
        str | None, typer.Option(help="MongoDB URL [env COALITIONCTL_MONGODB_URL]")
    ] = None,
    kafka: Annotated[
        str | None, typer.Option(help="Kafka brokers [env COALITIONCTL_KAFKA_BOOTSTRAP_SERVERS]")
    ] = None,
    environment: Annotated[
        str | None,
        typer.Option(
            help="development or production, for commands that use a service's settings (keys, admin, "
            "projection); default: the service's own (e.g. IDENTITY_ENVIRONMENT). `make run` is development."
        ),
    ] = None,
) -> None:
    """Global options come before the command."""
    updates = {k: v for k, v in {"mongodb_url": mongodb_url, "kafka_bootstrap_servers": kafka}.items() if v}
    State.settings = CtlSettings().model_copy(update=updates)
    State.environment = environment


def _run(work: Coroutine[Any, Any, T]) -> T:
    try:
        return asyncio.run(work)
    except (KafkaError, PyMongoError, OSError, TimeoutError) as exc:
        typer.echo(f"error: cannot reach MongoDB or Kafka: {type(exc).__name__}: {exc}", err=True)
        raise typer.Exit(UNREACHABLE) from exc


def _print_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, ensure_ascii=False, default=str))


# ---- health ---------------------------------------------------------------------------------------------
@app.command("health")
def health_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table")] = False,
) -> None:
    """Readiness of every service (/readyz), MongoDB (primary?) and Kafka (metadata). Exit 1 if any is down."""
    checks = _run(health.check_all(State.settings))
    if as_json:
        _print_json({c.name: {"ok": c.ok, "detail": c.detail} for c in checks})
    else:
        for c in checks:
            typer.echo(f"{c.name:<14} {'ok  ' if c.ok else 'DOWN'}  {c.detail}")
    raise typer.Exit(OK if all(c.ok for c in checks) else PROBLEM)


# ---- tail -----------------------------------------------------------------------------------------------
@app.command("tail")
def tail_command(
    topic: Annotated[str, typer.Argument(help="e.g. campaigns.actions.v1, federation.campaigns.v1")],
    event_type: Annotated[
        list[str] | None,
        typer.Option("--type", help="Only this CloudEvents type (repeatable; `campaigns.*`)"),
    ] = None,
    organization: Annotated[
        str | None, typer.Option("--org", help="Only events of this organization id")
    ] = None,
    campaign: Annotated[
        str | None, typer.Option("--campaign", help="Only events of this campaign id")
    ] = None,
    from_beginning: Annotated[
        bool, typer.Option("--from-beginning", help="Start at the first record")
    ] = False,
    max_events: Annotated[
        int | None, typer.Option("--max", min=1, help="Stop after this many events")
    ] = None,
    idle: Annotated[
        float | None, typer.Option("--idle", min=0.1, help="Stop after this many seconds without a record")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One CloudEvent (JSON) per line")] = False,
) -> None:
    """Print a topic's CloudEvents as they arrive (Ctrl-C stops), pretty or as JSON lines."""
    filters = tail.Filters(tuple(event_type or ()), organization, campaign)

    async def work() -> int:
        shown = 0
        async for record in tail.follow(
            State.settings.kafka_bootstrap_servers, topic, from_beginning=from_beginning, idle_seconds=idle
        ):
            if not filters.accept(record):
                continue
            typer.echo(json.dumps(record.event(), ensure_ascii=False) if as_json else pretty(record))
            shown += 1
            if max_events is not None and shown >= max_events:
                break
        return shown

    try:
        _run(work())
    except LookupError:
        typer.echo(f"error: no topic {topic!r}", err=True)
        raise typer.Exit(NOT_FOUND) from None
    except KeyboardInterrupt:
        pass


# ---- dead letters ---------------------------------------------------------------------------------------
@dlq_app.command("list")
def dlq_list(
    consumer: Annotated[
        str | None, typer.Argument(help="A consumer group (e.g. campaigns-coalitions): list its messages")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Without a consumer: every dead-letter topic and how many messages it holds. With one: its messages."""
    servers = State.settings.kafka_bootstrap_servers
    if consumer is None:
        counts = _run(deadletters.topic_counts(servers))
        if as_json:
            _print_json(counts)
        for topic, count in counts.items():
            if not as_json:
                typer.echo(f"{topic:<48} {count:>7}  (consumer {deadletters.consumer_of(topic)})")
        if not counts and not as_json:
            typer.echo("no dead-letter topic: nothing was ever dead-lettered")
        return
    letters = _run(deadletters.messages(servers, consumer))
    if as_json:
        _print_json([letter.summary() for letter in letters])
        return
    for letter in letters:
        s = letter.summary()
        typer.echo(
            f"{s['partition']}:{s['offset']:<6} {s['at'][:19]}  {s['reason']:<16} from {s['from']}  "
            f"{s['event_type'] or '-'}  {str(s['error'])[:100]}"
        )
    if not letters:
        typer.echo(f"no dead letters for {consumer}")


def _position(value: str) -> tuple[int, int]:
    partition, _, offset = value.partition(":")
    try:
        return (int(partition), int(offset)) if offset else (0, int(partition))
    except ValueError:
        raise typer.BadParameter(f"{value!r}: give OFFSET or PARTITION:OFFSET") from None


@dlq_app.command("show")
def dlq_show(
    consumer: Annotated[str, typer.Argument(help="The consumer group, e.g. campaigns-coalitions")],
    position: Annotated[str, typer.Argument(help="OFFSET or PARTITION:OFFSET (from `dlq list CONSUMER`)")],
) -> None:
    """One dead letter in full: the error headers and the original message."""
    partition, offset = _position(position)
    letter = _run(deadletters.message(State.settings.kafka_bootstrap_servers, consumer, partition, offset))
    if letter is None:
        typer.echo(f"error: no dead letter {partition}:{offset} for {consumer}", err=True)
        raise typer.Exit(NOT_FOUND)
    typer.echo(deadletters.show(letter))


@dlq_app.command("replay")
def dlq_replay(
    consumer: Annotated[str, typer.Argument(help="The consumer group whose dead letters to replay")],
    positions: Annotated[
        list[str] | None, typer.Argument(help="OFFSET or PARTITION:OFFSET of each message; none with --all")
    ] = None,
    replay_all: Annotated[bool, typer.Option("--all", help="Replay every message of the topic")] = False,
    yes: Annotated[
        bool, typer.Option("--yes", help="Do it (without it, only say what would be replayed)")
    ] = False,
) -> None:
    """Publish dead letters again to the topic they came from (fix the cause first). Idempotent consumers skip
    what they already processed; a message that still fails is dead-lettered again."""
    if not positions and not replay_all:
        typer.echo("error: name the messages (PARTITION:OFFSET ...) or give --all", err=True)
        raise typer.Exit(2)
    servers = State.settings.kafka_bootstrap_servers
    letters = _run(deadletters.messages(servers, consumer))
    if not replay_all:
        wanted = {_position(p) for p in positions or ()}
        letters = [x for x in letters if (x.record.partition, x.record.offset) in wanted]
        if len(letters) != len(wanted):
            typer.echo(
                f"error: {len(wanted) - len(letters)} of the messages are not in the dead-letter topic",
                err=True,
            )
            raise typer.Exit(NOT_FOUND)
    if not yes:
        for letter in letters:
            typer.echo(f"would replay {letter.record.partition}:{letter.record.offset} to {letter.origin}")
        typer.echo("nothing done: add --yes to replay")
        raise typer.Exit(REFUSED)
    for line in _run(deadletters.replay(servers, letters)):
        typer.echo(f"replayed {line}")


# ---- lag ------------------------------------------------------------------------------------------------
@app.command("lag")
def lag_command(
    service: Annotated[str | None, typer.Option(help="Only this service")] = None,
    fail_above: Annotated[
        int | None, typer.Option(help="Exit 1 if an outbox backlog or a group's lag is above this")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Outbox backlog (unpublished records, age of the oldest) and consumer lag per group, for every service."""
    from coalitionctl import backlog

    outboxes = [o for o in _run(backlog.outbox_backlog(State.settings)) if service in (None, o.service)]
    lags = _run(backlog.consumer_lag(State.settings, service))
    if as_json:
        _print_json(
            {
                "outbox": {
                    o.service: {"pending": o.pending, "oldest_seconds": o.oldest_seconds} for o in outboxes
                },
                "consumers": {
                    g.group: {"service": g.service, "lag": g.lag, "topics": g.by_topic} for g in lags
                },
            }
        )
    else:
        typer.echo("outbox backlog (records not yet published)")
        for o in outboxes:
            age = "" if o.oldest_seconds is None else f"  oldest {o.oldest_seconds:.1f}s"
            typer.echo(f"  {o.service:<14} {o.pending:>7}{age}")
        typer.echo("consumer lag (messages not yet consumed)")
        for g in lags:
            topics = ", ".join(f"{t} {n}" for t, n in g.by_topic.items())
            typer.echo(f"  {g.group:<26} {g.lag:>7}  ({topics})")
    worst = max([o.pending for o in outboxes] + [g.lag for g in lags] + [0])
    raise typer.Exit(PROBLEM if fail_above is not None and worst > fail_above else OK)


# ---- projections ----------------------------------------------------------------------------------------
@projection_app.command("list")
def projection_list() -> None:
    """The projections that can be rebuilt."""
    from coalitionctl.services import PROJECTIONS

    for (service, name), p in PROJECTIONS.items():
        typer.echo(
            f"{service:<14} {name:<14} group {p.group:<24} {', '.join(p.collections)}: {p.description}"
        )


@projection_app.command("rebuild")
def projection_rebuild(
    service: Annotated[str, typer.Argument(help="coalition, campaigns or notifications")],
    name: Annotated[
        str, typer.Argument(help="e.g. access, coalitions, organizations (see `projection list`)")
    ],
    yes: Annotated[bool, typer.Option("--yes", help="Do it (it empties the projection first)")] = False,
) -> None:
    """Drop a projection and re-consume its source topics from the beginning with the service's own consumer
    code. Stop (scale to zero) the service's workers first; see docs/operations.md."""
    from coalitionctl import projections

    projection = projections.find(service, name)
    if projection is None:
        typer.echo(f"error: no projection {service} {name}; see `coalitionctl projection list`", err=True)
        raise typer.Exit(NOT_FOUND)
    if not yes:
        typer.echo(
            f"would empty {', '.join(projection.collections)} in {State.settings.database(service)} and replay "
            f"the topics of {projection.group}; stop {service}'s workers, then add --yes"
        )
        raise typer.Exit(REFUSED)
    overrides = State.service_overrides()
    settings = State.settings
    result = _run(projections.rebuild(settings, projection, overrides))
    dropped = ", ".join(f"{c} {n}" for c, n in result.dropped.items())
    typer.echo(
        f"rebuilt {service} {name}: dropped {dropped} and {result.inbox_dropped} inbox records; "
        f"replayed {result.replayed} events"
    )


# ---- keys -----------------------------------------------------------------------------------------------
@keys_app.command("rotate")
def keys_rotate() -> None:
    """Make a new current signing key. Earlier keys stay in the JWKS until every token they signed has
    expired (access-token lifetime + 5 minutes), so nobody is signed out. Needs identity's settings:
    IDENTITY_KEY_ENCRYPTION_SECRET above all."""
    from coalitionctl import identity_ops

    rotation = _run(identity_ops.rotate_signing_key(State.settings, State.service_overrides()))
    typer.echo(f"new signing key {rotation.new_kid}; published: {', '.join(rotation.published)}")


@keys_app.command("list")
def keys_list() -> None:
    """The signing keys: current and retired (never the private parts)."""
    from coalitionctl import identity_ops

    for key in _run(identity_ops.signing_keys(State.settings, State.service_overrides())):
        state = "current" if key["retired_at"] is None else f"retired {key['retired_at']}"
        typer.echo(f"{key['kid']}  created {key['created_at']}  {state}")


# ---- admin ----------------------------------------------------------------------------------------------
@admin_app.command("create")
def admin_create(
    email: Annotated[str, typer.Argument(help="The admin's e-mail address")],
    password: Annotated[
        str,
        typer.Option(
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            envvar="COALITIONCTL_ADMIN_PASSWORD",
            help="Asked for when not given [env COALITIONCTL_ADMIN_PASSWORD]",
        ),
    ],
    display_name: Annotated[str, typer.Option(help="Shown in the apps")] = "Platform admin",
    another: Annotated[bool, typer.Option("--another", help="Even if a platform admin exists")] = False,
) -> None:
    """Create the first platform admin (its e-mail address counts as verified). Refused (exit 4) if one exists."""
    from coalitionctl import identity_ops
    from common.errors import DomainError

    try:
        user_id = _run(
            identity_ops.create_first_admin(
                State.settings,
                State.service_overrides(),
                email=email,
                password=password,
                display_name=display_name,
                another=another,
            )
        )
    except identity_ops.AdminExists as exists:
        typer.echo(f"error: a platform admin exists ({exists}); give --another to add one", err=True)
        raise typer.Exit(REFUSED) from None
    except DomainError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(REFUSED) from None
    typer.echo(f"created platform admin {email} ({user_id})")


# ---- export ---------------------------------------------------------------------------------------------
@app.command("export")
def export_command(
    organization: Annotated[str, typer.Argument(help="The organization's id")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout")
    ] = None,
) -> None:
    """Everything held about one organization in every service's database, as one JSON archive (data
    portability). Secrets are left out. Exit 3 if nothing is held about it."""
    archive = _run(export.export_organization(State.settings, organization))
    text = json.dumps(archive, indent=2, ensure_ascii=False, sort_keys=True)
    if output is None:
        typer.echo(text)
    else:
        output.write_text(text + "\n")
        typer.echo(f"wrote {archive['documents']} documents to {output}", err=True)
    if archive["documents"] == 0:
        raise typer.Exit(NOT_FOUND)


def main() -> None:
    sys.exit(app())
