"""`studio report RUN_DIR -o report.html`: one self-contained HTML page from a `studio batch` run.

The page holds the per-model table (sortable), a quality-latency plot, per-image before/after sliders
(when the run saved its outputs), the human ratings of the run's models from the ratings store
(leaderboard, MOS, and how well each metric agrees with the raters; --no-ratings leaves them out) and
the recipe, machine and versions; it opens offline. No ratings store is created when there is none.
Exit codes: 0 written, 2 bad usage (no such folder, no run.json, no finished cell, cannot write).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from studio.cli.common import add_command

if TYPE_CHECKING:
    from studio.services import Services


def register(commands: argparse._SubParsersAction) -> None:
    report = add_command(
        commands, "report", cmd_report, "one self-contained HTML page from a batch run: tables, plot, image sliders"
    )
    report.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="the -o folder of a `studio batch` run")
    report.add_argument(
        "-o", "--out", type=Path, metavar="FILE", help="the HTML file to write (default RUN_DIR/report.html)"
    )
    report.add_argument(
        "--no-ratings",
        action="store_true",
        help="leave out the human ratings (leaderboard, MOS, metric agreement) of the run's models",
    )


def cmd_report(args: argparse.Namespace, services: Services) -> int:
    """Write the page and say where it is."""
    from studio.report.run_report import write_report

    out = args.out or args.run_dir / "report.html"
    open_store = None if args.no_ratings else services.ratings_if_any
    data = write_report(args.run_dir, out, services.settings.max_pixels, open_store)
    print(f"report of {len(data.images)} images × {len(data.models)} models: {out}")
    return 0
