"""`make bench`: what users get from the platform, measured on the stack `make run` starts.

    python -m benchmarks            # the full run (about 15 minutes on 2 cores), writes docs/performance.md
    python -m benchmarks --quick    # a 3-minute smoke run (smaller sizes, shorter runs)

See docs/performance.md for what each scenario measures and how. Every process started here is stopped by
PID when the bench ends, fails or is interrupted (Ctrl-C, SIGTERM).
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
import traceback
from collections.abc import Callable
from types import FrameType

from benchmarks.loads import ensure_wrk
from benchmarks.report import markdown, plot, summary_targets, table
from benchmarks.scenarios import Bench, Options, Results
from benchmarks.stack import ROOT, BenchStack

ALL = ("a", "d", "e", "f", "g")


def parse(argv: list[str]) -> tuple[argparse.Namespace, Options]:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a 3-minute smoke run")
    parser.add_argument("--seconds", type=float, help="length of one wrk run (10; quick 3)")
    parser.add_argument("--rounds", type=int, help="alternating rounds of service and floors (3)")
    parser.add_argument("--connections", type=int, nargs="+", help="wrk connections (32 64)")
    parser.add_argument("--rates", type=float, nargs="+", help="end-to-end arrival rates (50 100 200)")
    parser.add_argument("--e2e-seconds", type=float, help="length of each open-loop run (30; quick 8)")
    parser.add_argument("--fanout-events", type=int, help="events in the fan-out scenario (10; quick 3)")
    parser.add_argument("--growth", type=int, nargs="+", help="action counts of f (1e3..1e6; quick ..1e5)")
    parser.add_argument("--endpoints", type=int, nargs="+", help="endpoint counts of f (10 1000 10000)")
    parser.add_argument("--only", nargs="+", choices=ALL, help="run only these scenarios (a covers b and c)")
    parser.add_argument(
        "--write-docs",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="write docs/performance.md and the plot (default: on for the full run, off for --quick)",
    )
    parser.add_argument("--keep-state", action="store_true", help="keep the stack's state directory and logs")
    args = parser.parse_args(argv)
    q = args.quick
    options = Options(
        quick=q,
        seconds=args.seconds or (3 if q else 10),
        rounds=args.rounds or 3,
        connections=args.connections or [32, 64],
        e2e_rates=args.rates or [50, 100, 200],
        e2e_seconds=args.e2e_seconds or (8 if q else 30),
        fanout_endpoints=100,
        fanout_events=args.fanout_events or (3 if q else 10),
        growth_sizes=args.growth or ([10**3, 10**4, 10**5] if q else [10**3, 10**4, 10**5, 10**6]),
        endpoint_sizes=args.endpoints or [10, 1000, 10000],
        stats_reads=100 if q else 300,
        entitlement_samples=3 if q else 7,
    )
    if args.write_docs is None:
        args.write_docs = not q
    return args, options


def attempt(results: Results, name: str, scenario: Callable[[], None]) -> None:
    """Run one scenario; a failure (a service misbehaving) is reported and the next scenario runs."""
    try:
        scenario()
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as exc:
        traceback.print_exc()
        results.check(f"{name} ran to the end", False, f"{type(exc).__name__}: {str(exc)[:300]}")


def main(argv: list[str]) -> int:
    args, options = parse(argv)
    ensure_wrk()
    only = set(args.only or ALL)

    def stop_on_term(signum: int, _: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop_on_term)
    started = time.monotonic()
    results = Results()
    stack = BenchStack(keep_state=args.keep_state)
    bench: Bench | None = None
    try:
        print(f"starting the platform (state and logs in {stack.state}) ...", flush=True)
        stack.start()
        print(f"platform up in {time.monotonic() - started:.0f}s; setting up over HTTP", flush=True)
        bench = Bench(stack, options, results)
        bench.api.organization()
        bench.memory("idle")
        if "a" in only:
            print("a-c. intake (wrk; service and floors alternating)", flush=True)
            attempt(results, "a-c", bench.intake)
        if "d" in only or "g" in only:
            print("d. end to end (open loop, webhook receiver)", flush=True)
            attempt(results, "d", bench.end_to_end)
        sizes = bench.memory("after d")
        for name, mib in sizes.items():
            results.row(
                "g",
                f"RSS of {name} after d",
                f"{mib:.0f} MiB",
                f"< 150 MB: {'met' if mib * 1.048576 < 150 else 'MISSED'}",
            )
        if "e" in only:
            print("e. fan-out", flush=True)
            attempt(results, "e", bench.fan_out)
        if "f" in only:
            print("f. growth", flush=True)
            attempt(results, "f (statistics)", bench.growth)
            attempt(results, "f (entitlement)", bench.entitlement)
        crashed = stack.crashed()
        if crashed:
            results.check("every service still running", False, f"{crashed} exited")
    except KeyboardInterrupt:
        print("\ninterrupted; stopping everything", flush=True)
        return 130
    finally:
        if bench is not None:
            bench.close()
        stack.stop()
    elapsed = time.monotonic() - started
    command = "make bench" if not options.quick else "python -m benchmarks --quick"
    if argv and not (options.quick and argv == ["--quick"]):
        command = "python -m benchmarks " + " ".join(argv)
    print("\n" + table(results))
    print(
        "\ntargets: "
        + ", ".join(
            f"{k} {'met' if v else 'MISSED' if v is not None else 'n/a'}"
            for k, v in summary_targets(results).items()
        )
    )
    failed = [c for c in results.checks if not c[1]]
    print(f"checks: {len(results.checks) - len(failed)} ok, {len(failed)} failed; {elapsed / 60:.1f} minutes")
    if args.write_docs:
        docs = ROOT / "docs"
        png = docs / "performance-latency.png"
        drew = plot(results, png)
        mode = "quick mode" if options.quick else "full mode"
        (docs / "performance.md").write_text(markdown(results, command, elapsed, mode, png if drew else None))
        print(f"wrote {docs / 'performance.md'}" + (f" and {png}" if drew else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
