"""The `studio` command: the root parser, dispatch to one command module per group, and error handling.

Errors print one line on stderr: exit 2 for usage and input errors, 1 when a
model fails, 130 when interrupted. A traceback appears only with --debug.
"""

from __future__ import annotations

import argparse
import logging
import sys
import traceback
from collections.abc import Sequence

from studio.cli import batch, catalogue, demo, load, ratings, report, run, score, tools, train, tune, video
from studio.cli.common import report_error
from studio.core.errors import StudioError

COMMAND_GROUPS = (
    catalogue,
    run,
    video,
    batch,
    report,
    score,
    ratings,
    train,
    tune,
    tools,
    load,
    demo,
)  # the order here is the order `studio --help` lists commands


def build_parser() -> argparse.ArgumentParser:
    """The root parser (global --registry, --debug) with every group's subcommands registered on it."""
    parser = argparse.ArgumentParser(prog="studio", description="Compare image and video enhancement models.")
    parser.add_argument("--registry", help="a user registry YAML merged over the built-in one")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in COMMAND_GROUPS:
        group.register(commands)
    return parser


def quiet_logs(debug: bool) -> None:
    """The log records our code writes for servers (an unexpected model failure's traceback under its error id)
    stay out of the terminal, where the one-line error says enough; --debug shows them."""
    if debug:
        logging.basicConfig(level=logging.DEBUG, format="%(levelname)s %(name)s: %(message)s")
    else:
        logging.getLogger("studio").addHandler(logging.NullHandler())


def main(argv: Sequence[str] | None = None) -> int:
    """Parse, build the process's Services once, run the command; turn every failure into one line and an exit code."""
    args = build_parser().parse_args(argv)
    quiet_logs(args.debug)
    try:  # imported here so `--help` and usage errors need neither pydantic nor numpy
        from studio.core.config import Settings, use_persistent_storage
        from studio.services import Services

        use_persistent_storage()  # on a Space with persistent storage: HF_HOME there, before huggingface_hub loads
        services = Services(Settings.from_env(registry=args.registry))
        return args.handler(args, services)
    except StudioError as exc:
        if args.debug:
            traceback.print_exc()
        report_error(str(exc))
        return exc.exit_code
    except KeyboardInterrupt as exc:  # a command may say what was kept (studio train during its evaluation)
        report_error(str(exc) or "interrupted")
        return 130
    except Exception as exc:
        if args.debug:
            traceback.print_exc()
        report_error(f"unexpected {type(exc).__name__}: {exc} (run with --debug for details)")
        return 1


if __name__ == "__main__":
    sys.exit(main())
