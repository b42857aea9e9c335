"""`studio load-test URL`: a bounded load test of a running server on this machine, written to a markdown report.

Exit codes: 0 every target met, 1 some target failed (the report says which), 2 bad usage (not a loopback URL,
no server answering, bounds), 130 interrupted.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from studio.cli.common import add_command

if TYPE_CHECKING:
    from studio.services import Services

DEFAULT_OUT = Path("benchmarks/load.md")


def register(commands: argparse._SubParsersAction) -> None:
    from studio.loadtest.config import QUICK_MODELS, Limits, LoadConfig

    default, limits = LoadConfig(url=""), Limits()
    load = add_command(
        commands,
        "load-test",
        cmd_load_test,
        "drive a running server on this machine with concurrent clients (compare, vote, /healthz); write a report",
    )
    load.add_argument("url", metavar="URL", help="the server, on this machine: http://127.0.0.1:7860/")
    load.add_argument("--clients", type=int, default=default.clients, help="concurrent sessions (default %(default)s)")
    load.add_argument("--seconds", type=float, default=default.seconds, help="how long they run (default %(default)s)")
    load.add_argument(
        "--warmup",
        type=float,
        metavar="S",
        help="seconds before memory growth is judged (default 20, or a third of a shorter run)",
    )
    load.add_argument("--out", type=Path, default=DEFAULT_OUT, metavar="FILE", help="the report (default %(default)s)")
    load.add_argument(
        "-m",
        "--model",
        dest="models",
        action="append",
        metavar="ID",
        help=f"a model each /compare runs (repeatable; default {', '.join(QUICK_MODELS)})",
    )
    load.add_argument(
        "--compare-share",
        type=float,
        default=default.compare_share,
        metavar="P",
        help="the share of the clients' actions that are /compare; the rest vote (default %(default)s)",
    )
    load.add_argument(
        "--health-rate",
        type=float,
        default=default.health_rate,
        metavar="N",
        help="/healthz probes a second (default %(default)s)",
    )
    load.add_argument(
        "--session-actions",
        type=int,
        default=default.session_actions,
        metavar="N",
        help="a new session (a new visitor) takes over a client after N actions; 0: never (default %(default)s)",
    )
    load.add_argument("--pid", type=int, help="the server's process (default: the one listening on URL's port)")
    load.add_argument(
        "--data-dir",
        type=Path,
        metavar="DIR",
        help="the server's STUDIO_DATA_DIR, where its votes are counted (default: read from the server's process)",
    )
    load.add_argument(
        "--healthz-p95-ms",
        type=float,
        default=limits.healthz_p95_ms,
        metavar="MS",
        help="the /healthz p95 target (default %(default)s)",
    )
    load.add_argument(
        "--max-growth-mb",
        type=float,
        default=limits.max_growth_mb,
        metavar="MB",
        help="the most the server's memory may grow after the warm-up (default %(default)s)",
    )
    load.add_argument("--seed", type=int, default=default.seed, help="the clients' choices (default %(default)s)")


def cmd_load_test(args: argparse.Namespace, services: Services) -> int:
    """Run the test, write the report, print the targets; exit 1 when one failed."""
    from studio.engine.provenance import machine_info
    from studio.loadtest.config import Limits, LoadConfig, default_warmup_s, default_window_s
    from studio.loadtest.report import write_report
    from studio.loadtest.run import find_server, run_load_test

    config = LoadConfig(
        url=args.url,
        clients=args.clients,
        seconds=args.seconds,
        warmup_s=default_warmup_s(args.seconds) if args.warmup is None else args.warmup,
        window_s=default_window_s(args.seconds),
        health_rate=args.health_rate,
        models=tuple(args.models) if args.models else LoadConfig(url="").models,
        compare_share=args.compare_share,
        session_actions=args.session_actions,
        seed=args.seed,
        limits=Limits(args.healthz_p95_ms, args.max_growth_mb),
    ).checked()
    server = find_server(config, args.pid, services.settings, args.data_dir)
    result = run_load_test(
        config,
        server,
        machine_info(server.settings),
        open_store=lambda settings: type(services)(settings).ratings_if_any(),
        say=lambda line: print(line, file=sys.stderr),
    )
    command = shlex.join(["studio", *sys.argv[1:]]) if "load-test" in sys.argv[1:] else "studio load-test"
    write_report(result, args.out, command)
    for target in result.targets:
        print(f"{'PASS' if target.passed else 'FAIL'}  {target.name}: {target.detail}")
    print(f"report: {args.out}")
    return 0 if result.passed else 1
