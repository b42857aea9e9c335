"""`studio ratings prepare|export|import` and `studio leaderboard`: a human rating study from the command line.

`prepare` runs the models on a folder of images through the same engine as
`studio compare` and stores one round (every rater sees the same items);
`export` and `import` move votes between machines (stable vote ids: files merge
without duplicates); `backup` and `restore` copy the whole store (database and
images) into one file and back; `leaderboard` fits Bradley-Terry ratings with
bootstrap intervals over the stored votes (flagged votes left out).

Exit codes: 0 done, 1 a model failed on some image (the rest still ran and were
stored), 2 bad input (nothing run, nothing stored).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from studio.cli.common import (
    add_command,
    add_model_flag,
    add_runtime_flags,
    add_set_flag,
)
from studio.cli.prepare_round import cmd_prepare
from studio.cli.tables import format_table, markdown_table
from studio.core.errors import StudioError, UsageError
from studio.core.vocabulary import TASKS

if TYPE_CHECKING:
    import pandas as pd

    from studio.services import Services

VOTE_FORMATS = ("csv", "json")  # what `ratings export` writes and `ratings import` reads (by file suffix)
BOOTSTRAP_RANGE = (1, 10_000)
DEFAULT_BOOTSTRAP = 200
COLUMNS = ("rank", "model", "rating", "95% CI", "battles", "wins", "ties", "losses")


def register(commands: argparse._SubParsersAction) -> None:
    """Add `ratings` (prepare, export, import, backup, restore) and `leaderboard` to the root parser."""
    ratings = commands.add_parser("ratings", help="prepare a rating round; export and import votes; back up, restore")
    actions = ratings.add_subparsers(dest="ratings_command", required=True, metavar="ACTION")

    prepare = add_command(
        actions, "prepare", cmd_prepare, "run models on every image of a folder and store them as one rating round"
    )
    prepare.add_argument("--images", type=Path, required=True, metavar="DIR", help="a folder of images (not recursive)")
    add_model_flag(prepare, help="a model to rate (at least two)")
    prepare.add_argument(
        "--degrade",
        metavar="RECIPE",
        help='e.g. "x4,blur=gauss:1.2": raters see the degraded image and its enhancements; metrics use the original',
    )
    prepare.add_argument("--name", help="round name (default: the folder's name and today's date)")
    prepare.add_argument("--task", choices=TASKS, help="the round's task (default: the models' shared task)")
    prepare.add_argument("--preview", type=int, default=512, help="limit the long side (px) first; 0 = full size")
    prepare.add_argument("--metrics", help="comma-separated metric ids stored with each output (default: as compare)")
    add_set_flag(prepare)
    add_runtime_flags(prepare)

    export = add_command(actions, "export", cmd_export, "write every vote (flagged ones too) as CSV or JSON")
    export.add_argument("--format", choices=VOTE_FORMATS, help="default: json for -o *.json, otherwise csv")
    export.add_argument("-o", "--out", type=Path, metavar="FILE", help="write here instead of stdout")

    load = add_command(actions, "import", cmd_import, "add the votes of a CSV or JSON file (already present: skipped)")
    load.add_argument("file", type=Path, metavar="FILE", help="needs columns item_id, model_a, model_b, winner")

    save = add_command(
        actions, "backup", cmd_backup, "copy the whole store (votes, scores, items, images) into one file, live"
    )
    save.add_argument("file", type=Path, metavar="FILE", help="the archive to write: .tar, or .tar.gz/.tgz (gzip)")
    save.add_argument("--force", action="store_true", help="replace FILE when it exists")

    back = add_command(actions, "restore", cmd_restore, "restore a backup into the configured store (an empty one)")
    back.add_argument("file", type=Path, metavar="FILE", help="a file `studio ratings backup` wrote")
    back.add_argument(
        "--force", action="store_true", help="replace what the store holds (the output names what it replaced)"
    )

    board = add_command(commands, "leaderboard", cmd_leaderboard, "Bradley-Terry ratings of the models from the votes")
    board.add_argument("--format", default="table", choices=tuple(LEADERBOARD_REPORTS))
    board.add_argument("--task", choices=TASKS, help="only votes on items of this task")
    board.add_argument("--round", metavar="NAME", help="only votes of this round")
    board.add_argument(
        "--bootstrap",
        type=int,
        default=DEFAULT_BOOTSTRAP,
        metavar="N",
        help=f"resamples for the 95%% intervals (default {DEFAULT_BOOTSTRAP})",
    )


# ---- export / import -------------------------------------------------------------------------
def _export_format(chosen: str | None, out: Path | None) -> str:
    """csv unless -o ends in .json; a format that contradicts the suffix is refused (import reads the suffix)."""
    by_suffix = "json" if out is not None and out.suffix.lower() == ".json" else "csv"
    if chosen and out is not None and chosen != by_suffix:
        raise UsageError(f"--format {chosen} does not match {out.name}: `ratings import` reads a file by its suffix")
    return chosen or by_suffix


def cmd_export(args: argparse.Namespace, services: Services) -> int:
    """All votes with their ids, so another machine can merge them; flagged votes keep their flags."""
    from studio.ratings.store_transfer import export_votes, votes_frame

    fmt = _export_format(args.format, args.out)
    db = services.ratings
    text = export_votes(db, fmt)
    text = text if text.endswith("\n") else text + "\n"
    if args.out is None:
        sys.stdout.write(text)
        return 0
    try:
        args.out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {args.out}: {exc.strerror or exc}") from None
    print(f"exported {len(votes_frame(db, include_flagged=True))} votes to {args.out}")
    return 0


def cmd_import(args: argparse.Namespace, services: Services) -> int:
    """Check the whole file, then add the votes this store lacks (unknown items become placeholders)."""
    from studio.ratings.store_items import placeholder_count
    from studio.ratings.store_transfer import import_votes

    if args.file.is_dir():
        raise UsageError(f"expected a CSV or JSON file, got a folder: {args.file}")
    if not args.file.exists():
        raise UsageError(f"no such file: {args.file}")
    db = services.ratings
    before = placeholder_count(db)
    added, present = import_votes(db, args.file)
    print(f"added {added} votes, {present} already present")
    new_placeholders = placeholder_count(db) - before
    if new_placeholders:
        print(
            f"note: {new_placeholders} item id(s) in {args.file.name} are not in this store: their votes count in "
            "the leaderboard, but their images cannot be shown (check the ids: `studio ratings prepare` prints "
            "each item's full id)",
            file=sys.stderr,
        )
    return 0


# ---- backup / restore ------------------------------------------------------------------------
def cmd_backup(args: argparse.Namespace, services: Services) -> int:
    """A consistent copy of the live store (the app may go on voting) and its images, in one file."""
    from studio.ratings.backup import backup, describe
    from studio.ratings.store_backup import KIND_NAMES

    db = services.ratings_if_any()
    if db is None:
        raise UsageError(f"nothing to back up: no ratings store in {services.settings.data_dir / 'ratings'}")
    done = backup(db, args.file, force=args.force)
    manifest = done.manifest
    size = args.file.stat().st_size / 1e6
    print(
        f"backed up {describe(done.counts)} and {done.files} files of the {KIND_NAMES[manifest['kind']]} store "
        f"to {args.file} ({size:.1f} MB)"
    )
    if manifest["missing_files"]:
        missing = manifest["missing_files"]
        print(f"note: {len(missing)} image file(s) the store names were missing ({missing[0]}, ...)", file=sys.stderr)
    return 0


def cmd_restore(args: argparse.Namespace, services: Services) -> int:
    """Check the whole file first; restore into an empty store (or --force), then check the counts."""
    from studio.ratings.backup import describe, restore
    from studio.ratings.store_backup import KIND_NAMES

    fresh = services.ratings_if_any() is None  # no store yet: a failed restore must not leave an empty one
    try:
        done = restore(services.ratings, args.file, force=args.force)
    except StudioError:
        if fresh:
            services.forget_ratings_store()
        raise
    manifest = done.manifest
    if done.replaced is not None:
        print(f"replaced what the store held: {describe(done.replaced)}")
    rest = describe(
        {**done.counts, "files": done.files}, (("rounds", "round"), ("outputs", "output"), ("files", "file"))
    )
    print(f"restored {describe(done.counts)} ({rest}) from {args.file}")
    print(
        f"the counts match the manifest of this {KIND_NAMES[manifest['kind']]} backup "
        f"(taken {manifest['created_at']} by studio {manifest['studio_version']})"
    )
    return 0


# ---- leaderboard -----------------------------------------------------------------------------
def _rows(board: pd.DataFrame) -> list[list[Any]]:
    return [
        [rank, r.model, f"{r.rating:.1f}", f"{r.ci_low:.1f} to {r.ci_high:.1f}", r.battles, r.wins, r.ties, r.losses]
        for rank, r in enumerate(board.itertuples(index=False), start=1)
    ]


def _table(board: pd.DataFrame) -> str:
    return format_table(COLUMNS, _rows(board)) + "\n"


def _markdown(board: pd.DataFrame) -> str:
    return markdown_table(COLUMNS, _rows(board)) + "\n"


def _csv(board: pd.DataFrame) -> str:
    return board.to_csv(index=False)


def _json(board: pd.DataFrame) -> str:
    records = board.astype(object).where(board.notna(), None).to_dict(orient="records")
    return json.dumps(records, indent=2) + "\n"


# `leaderboard --format` choices come from this table, so a format cannot be offered without a renderer.
LEADERBOARD_REPORTS: dict[str, Callable[[pd.DataFrame], str]] = {
    "table": _table,
    "md": _markdown,
    "csv": _csv,
    "json": _json,
}


def _no_votes_message(args: argparse.Namespace, everything: int) -> str:
    """Why the leaderboard is empty: no votes at all, none matching the filters, or only flagged ones."""
    if not everything:
        return "no votes yet: vote in the app's Arena tab (after `studio ratings prepare`) or `studio ratings import`"
    filters = [f"task '{args.task}'" if args.task else "", f"round '{args.round}'" if args.round else ""]
    wanted = " and ".join(part for part in filters if part)
    if wanted:
        return f"no counted votes for {wanted} ({everything} votes in all)"
    return f"no counted votes: all {everything} are flagged (their flags are in `studio ratings export`)"


def cmd_leaderboard(args: argparse.Namespace, services: Services) -> int:
    """Ratings with bootstrap intervals, best first; flagged votes (too fast, ...) are left out."""
    from studio.ratings.leaderboard import leaderboard
    from studio.ratings.store_transfer import votes_frame

    low, high = BOOTSTRAP_RANGE
    if not low <= args.bootstrap <= high:
        raise UsageError(f"--bootstrap must be between {low} and {high}, got {args.bootstrap}")
    db = services.ratings
    votes = votes_frame(db, task=args.task, round_name=args.round)
    render = LEADERBOARD_REPORTS[args.format]
    if votes.empty:
        message = _no_votes_message(args, len(votes_frame(db, include_flagged=True)))
        if args.format in ("table", "md"):
            print(message)
        else:  # machine-readable formats stay parseable: an empty document on stdout, the message on stderr
            print(message, file=sys.stderr)
            sys.stdout.write(render(leaderboard(votes)))
        return 0
    board = leaderboard(votes, rounds=args.bootstrap)
    sys.stdout.write(render(board))
    if args.format in ("table", "md"):
        flagged = len(votes_frame(db, task=args.task, round_name=args.round, include_flagged=True)) - len(votes)
        print(
            f"\n{len(votes)} votes, {len(board)} models; 95% intervals from {args.bootstrap} bootstrap resamples"
            + (f"; {flagged} flagged votes left out" if flagged else "")
        )
    return 0
