"""The table printed at the end, docs/performance.md and docs/performance-latency.png."""

from __future__ import annotations

import os
import platform
import statistics
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.scenarios import Results


def machine() -> str:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        kib = next(
            int(x.split()[1])
            for x in Path("/proc/meminfo").read_text().splitlines()
            if x.startswith("MemTotal")
        )
        memory = f"{kib / 1024 / 1024:.0f} GiB"
    except (OSError, StopIteration):
        memory = "unknown memory"
    return f"{os.cpu_count()} cores ({model or platform.processor() or 'unknown CPU'}), {memory}, {platform.system()} {platform.release()}"


def table(results: Results) -> str:
    lines = ["| | measurement | result | target / note |", "|---|---|---|---|"]
    for scenario, measure, result, target in results.rows:
        lines.append(f"| {scenario} | {measure.strip()} | {result} | {target} |")
    return "\n".join(lines)


def checks(results: Results) -> str:
    lines = ["| check | outcome | detail |", "|---|---|---|"]
    for what, ok, detail in results.checks:
        lines.append(f"| {what} | {'ok' if ok else '**FAILED**'} | {detail} |")
    return "\n".join(lines)


def plot(results: Results, path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    curve = results.data.get("e2e", [])
    if curve:
        rates = [p["rate"] for p in curve]
        for key, style in (("p50", "o-"), ("p95", "s--"), ("p99", "^:")):
            left.plot(rates, [p[key] * 1000 for p in curve], style, label=key)
        left.axhline(500, color="grey", linewidth=0.8)
        left.set_xlabel("offered actions/s (open loop)")
        left.set_ylabel("ms from 2xx to webhook arrival")
        left.set_title("d. end to end")
        left.set_yscale("log")
        left.legend()
    intake: dict[int, dict[str, list[tuple[float, float, float]]]] = results.data.get("intake", {})
    for name, marker in (("service", "o"), ("insert floor", "s"), ("action+outbox floor", "^")):
        xs, ys = [], []
        for _, runs in sorted(intake.items()):
            for rps, _, p99 in runs.get(name, []):
                xs.append(rps)
                ys.append(p99)
        if xs:
            right.scatter(xs, ys, marker=marker, label=name)
    if intake:
        right.set_xlabel("requests/s (wrk, 32 and 64 connections)")
        right.set_ylabel("p99 ms")
        right.set_title("a. intake and its floors")
        right.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return True


def markdown(results: Results, command: str, elapsed: float, mode: str, png: Path | None) -> str:
    rss = results.data.get("rss", {})
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    failed = [c for c in results.checks if not c[1]]
    parts = [
        "# Performance",
        "",
        "What users get from the platform as `make run` starts it: every service its own process "
        "(`python -m <service> serve`, uvicorn with the h11 parser, as every service is served), embedded MongoDB 6.0.5 "
        "(single-node replica set) and Tansu 0.6.0 on loopback, the load from other processes (wrk, a "
        "small asyncio HTTP/1.1 open-loop generator), webhooks to a real HTTP receiver. The figures are a baseline to "
        "compare against, not a promise; no test asserts on time. How each scenario is measured is "
        "described below the tables; the code is `benchmarks/`.",
        "",
        f"- command: `{command}` ({mode}; {elapsed / 60:.1f} minutes)",
        f"- date: {when}",
        f"- machine: {machine()}; the load generators, the services, MongoDB and Tansu share it",
        "",
        "## Results",
        "",
        table(results),
        "",
    ]
    if rss:
        names = sorted({n for sizes in rss.values() for n in sizes})
        parts += [
            "### g. resident memory (VmRSS of each service process, MiB)",
            "",
            "| service | " + " | ".join(rss) + " | target |",
            "|---|" + "---|" * (len(rss) + 1),
        ]
        for name in names:
            after = rss.get("after d", {}).get(name)
            verdict = (
                "" if after is None else ("< 150 MB: met" if after * 1.048576 < 150 else "< 150 MB: MISSED")
            )
            parts.append(
                f"| {name} | "
                + " | ".join(f"{sizes.get(name, 0):.0f}" for sizes in rss.values())
                + f" | {verdict} |"
            )
        parts.append("")
    if png is not None:
        parts += [f"![latency versus rate]({png.name})", ""]
    parts += [
        "## Correctness checks of this run",
        "",
        (
            f"{len(failed)} of {len(results.checks)} checks FAILED."
            if failed
            else f"All {len(results.checks)} checks passed."
        ),
        "",
        checks(results),
        "",
        METHOD,
    ]
    analysis = Path(__file__).with_name("analysis.md")
    if analysis.exists():  # the profile and what stands in the way: written by people, kept with the bench
        parts += ["", analysis.read_text().strip(), ""]
    return "\n".join(parts)


def summary_targets(results: Results) -> dict[str, Any]:
    rss_after = results.data.get("rss", {}).get("after d", {})
    return {
        "a": results.data.get("target_a"),
        "d": results.data.get("target_d"),
        "e": results.data.get("target_e"),
        "f stats": results.data.get("target_f_stats"),
        "f entitlement": results.data.get("target_f_entitlement"),
        "g": all(v * 1.048576 < 150 for v in rss_after.values()) if rss_after else None,
    }


def median_or_nan(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


METHOD = """## How each scenario is measured

The stack: `benchmarks/stack.py` starts `common.devstack.DevStack` (the code behind `make run`) on free
ports with a temporary state directory, so a running `make run` is not disturbed. Three settings differ, set
through the environment the services read: `CAMPAIGNS_PUBLIC_RATE_LIMIT=1000000000` (all load comes from one
loopback address), `CAMPAIGNS_PUBLIC_CHALLENGE_REQUIRED=false` (scripted load solves no proof-of-work; the
petitions are created with `"double_opt_in": false`, since the bench measures counted actions) and `NOTIFICATIONS_ALLOW_LOOPBACK_ENDPOINTS=true` (the receiver is on loopback; `make run`
sets it too). Services log at WARNING. The platform is set up over HTTP like the README walkthrough (a user,
an organization, launched petitions, webhook endpoints of the organization restricted by `campaign_ids` to
the scenario's campaign, with `rate_per_second` 1000). Every process the bench starts is stopped by PID.

- **a. intake, one hot campaign.** `wrk` (Debian's package; `benchmarks/intake.lua`) posts
  `POST /v1/public/links/{ref}/signatures` with a new supporter e-mail and a fresh `Idempotency-Key` per
  request, at 32 and 64 connections. In the same run and on the same MongoDB, the floors
  (`benchmarks/floor.py`, their own uvicorn process with the services' uvicorn settings): a bare FastAPI
  endpoint validating the same body and inserting one document, and one writing an action document and
  staging its event with the platform's outbox (`common.outbox.Outbox.add`, keyed by the action id) in one
  transaction. Service, insert floor and action floor alternate, N rounds each; the table gives medians of
  2xx responses per second and of wrk's p50/p99, and service/floor ratios.
- **b.** The same load spread over 10 campaigns (round robin), alternating with the hot campaign.
- **c.** One versus two campaigns API processes (`python -m campaigns api` on another port for the second)
  on the hot campaign: two wrk processes of half the connections each, both on the first process or one on
  each; alternating; summed requests/s, the mean p50 and the larger p99 of the two.
- **d. end to end.** `benchmarks/openloop.py` (its own process, a small HTTP/1.1 client on asyncio
  streams with kept-alive connections: async httpx cost 8 ms of CPU per request on the machine it measures)
  starts signatures at a fixed rate whatever the earlier ones became (open loop). `benchmarks/receiver.py` (its own process, raw asyncio
  HTTP) records the arrival of each webhook (`time.monotonic()`, one clock for all processes on Linux), its
  `webhook-id` and the action id in the body. Latency is from the 2xx of the action to the webhook's
  arrival. Lag counts as bounded when every request got a 2xx, every acknowledged action was delivered within
  30 s of the end and the
  p95 of the last quarter of the actions is within twice the second quarter's (+250 ms).
- **e. fan-out.** 100 endpoints (distinct paths on the receiver) for one campaign; a few actions, each one
  event to 100 endpoints; deliveries per second from the first to the last arrival. Against: plain httpx in
  the bench process posting the same number of requests with a real delivered body to the same receiver,
  as many at once as the notifications delivery worker runs (`NOTIFICATIONS_DELIVERY_CONCURRENCY`'s default).
- **f. growth.** Statistics (`GET /v1/campaigns/{id}/stats`, sequential reads with keep-alive) of a
  campaign with 10^3, 10^4, 10^5 (and 10^6 in the full run) recorded actions. The first 200 are recorded
  over HTTP; the rest are bulk-inserted into the campaigns database: copies of those real `actions`
  documents with new ids, each with a copy of its `supporters` document (new id, new e-mail and e-mail
  key), then their effect: every numeric leaf of the campaign's `stats` document (`counts`, `by_org`,
  `daily`, `unique_supporters`, `supporters_by_org`) grows in proportion (skipped if the service's own
  aggregator counts the copies by itself); the table says which happened, and a check confirms the total
  read over HTTP. Entitlement: time from an action's 2xx to the first delivery to the one entitled endpoint
  with 10, 1,000 and 10,000 endpoints in the notifications database (the others are copies of the real
  endpoint document belonging to other organizations, inserted directly).
- **g.** VmRSS from `/proc/PID/status` of each service process, idle after set-up and after d.

Correctness after every scenario: the campaign's totals (statistics) equal the acknowledged actions
exactly, polled until equal or 10 s pass (acknowledged: 2xx answers; the total may exceed them by the
requests wrk had written when it stopped, which the service completes, and by its 5xx answers other than
`busy`, after which the action may have been committed, as the 503 says: a client retries with the same
key; the open-loop generator retries transport failures with the same Idempotency-Key); unique supporters equal the total; each milestone due is listed once; every entitled
message arrived, and deliveries are unique by `webhook-id`.
"""
