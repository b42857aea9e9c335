"""`studio demo build` and `studio demo assets`: the examples' precomputed results, and the drawn examples.

`build` runs each example's models once (those its preset picks here, as the Compare tab does) and stores
what the page shows under STUDIO_DATA_DIR/demo, so a click on an example shows its comparison at once.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from studio.cli.common import add_command, report_error

if TYPE_CHECKING:
    from studio.services import Services


def register(commands: argparse._SubParsersAction) -> None:
    """Add `demo` (build, assets) to the root parser."""
    demo = commands.add_parser("demo", help="the Compare tab's examples: precompute their results, draw them")
    actions = demo.add_subparsers(dest="demo_command", required=True, metavar="ACTION")
    build = add_command(
        actions, "build", cmd_build, "run each example's models once and store the results the page shows"
    )
    build.add_argument("--force", action="store_true", help="rebuild entries that are up to date too")
    build.add_argument(
        "--example", dest="examples", action="append", metavar="FILE", help="only this example (repeatable)"
    )
    assets = add_command(actions, "assets", cmd_assets, "draw the anime frame and the motion-blurred text chart again")
    assets.add_argument("--out", type=Path, help="folder to write them to (default: the clone's assets/)")


def cmd_build(args: argparse.Namespace, services: Services) -> int:
    """One line per example (built / up to date / skipped, its models, seconds); a failed one is an error line."""
    from studio.demo.build import build_cache
    from studio.demo.examples import ASSETS_DIR

    outcomes = build_cache(services, force=args.force, names=args.examples)
    if not outcomes:  # an installed package, or a clone without assets/: nothing to build, nothing wrong
        print(f"no example images in {ASSETS_DIR}: nothing to build")
    failed = False
    for outcome in outcomes:
        if outcome.status == "failed":
            report_error(f"demo: {outcome.line()}")
            failed = True
        else:
            print(outcome.line())
    return 2 if failed else 0


def cmd_assets(args: argparse.Namespace, services: Services) -> int:
    from studio.demo.drawn import write_drawn
    from studio.demo.examples import ASSETS_DIR

    try:
        written = write_drawn(args.out or ASSETS_DIR)
    except OSError as exc:
        from studio.core.errors import UsageError

        raise UsageError(f"cannot write the drawn examples: {exc.strerror or exc}") from None
    for path in written:
        print(path)
    return 0
