"""What `studio compare --format` prints: one renderer per format, each the text of one Results."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from studio.engine.results import Results


def _table_report(results: Results) -> str:
    """The terminal table: name, notes, parameters and provenance are left to the files (too wide), and so is
    the device when every model ran on the CPU (a GPU run shows which: 'vulkan (NVIDIA ...)')."""
    from studio.engine.export import PROVENANCE_COLUMNS, results_frame

    frame = results_frame(results)
    on_cpu = "device" in frame.columns and frame["device"].isin(["cpu", ""]).all()
    hidden = ("name", *(("device",) if on_cpu else ()), "notes", "params", *PROVENANCE_COLUMNS)
    shown = frame.drop(columns=[c for c in hidden if c in frame.columns]).astype(object).fillna("-")
    return shown.to_string(index=False) + "\n"


def _csv_report(results: Results) -> str:
    """The same CSV `-o` writes as results.csv, for piping into other tools."""
    from studio.engine.export import results_frame

    return results_frame(results).to_csv(index=False)


def _json_report(results: Results) -> str:
    """The same JSON `-o` writes as results.json (sizes, recipe, metric definitions, rows)."""
    from studio.engine.export import results_json

    return results_json(results) + "\n"


def _markdown_report(results: Results) -> str:
    """The same table `-o` writes as results.md, ready to paste into a README or an issue."""
    from studio.engine.export import results_markdown

    return results_markdown(results) + "\n"


# `compare --format` choices come from this table, so a format cannot be offered without a renderer.
REPORTS: dict[str, Callable[[Results], str]] = {
    "table": _table_report,
    "csv": _csv_report,
    "json": _json_report,
    "md": _markdown_report,
}
