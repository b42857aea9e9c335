"""The report page, for a batch run and a single comparison alike: the per-model table (sortable), the
failed cells (when any), the quality-latency plot, per-image sliders, human ratings (when asked for), then
the recipe.

Every text put into the page is escaped; every picture is a data URI; the style and script are
inline. `write_page` writes the file under a hidden name and renames it into place.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from html import escape
from pathlib import Path

from studio.core.errors import UsageError
from studio.report.assets import SCRIPT, STYLE
from studio.report.gallery import image_section
from studio.report.html import pairs_html, table_html
from studio.report.model import Plot, RatingsView, Report, Table
from studio.report.plot import points_svg


def _lines(lines: list[str] | tuple[str, ...], css: str = "") -> str:
    attribute = f' class="{css}"' if css else ""
    return "".join(f"<p{attribute}>{escape(line)}</p>" for line in lines if line)


def summary_section(report: Report) -> str:
    return (
        f'<section id="summary"><h2>{escape(report.summary_heading)}</h2>'
        "<p>Click a header (or Tab to it and press Enter) to sort: the first press puts the best first.</p>"
        f"{table_html(report.summary)}{_lines(list(report.summary_lines))}</section>"
    )


def plot_section(plot: Plot) -> str:
    heading = '<section id="plot"><h2>Quality and latency</h2>'
    if plot.metric_id is None:
        return f'{heading}<p class="note">No metric was scored.</p></section>'
    points = [(p.model, p.latency_ms, p.value) for p in plot.points]
    flags = {p.model: p.flag for p in plot.points if p.flag}
    svg, left_out = points_svg(points, plot.metric_id, plot.latency_name, plot.value_name, flags)
    notes = [f"Not plotted (no value or latency): {', '.join(left_out)}" if left_out else "", *plot.notes]
    return f"{heading}{svg or '<p class=note>Nothing to plot.</p>'}{_lines(notes, 'note')}</section>"


def failures_section(table: Table) -> str:
    return (
        '<section id="failures"><h2>Failed cells</h2>'
        "<p>Each image and the models that failed on it, with the error (one row when one error covers them).</p>"
        f"{table_html(table)}</section>"
    )


def images_section(report: Report) -> str:
    if report.images is None:
        body = f'<p class="note">{escape(report.images_note)}</p>'
    else:
        body = _lines([report.images_note]) + "\n".join(
            image_section(entry, index) for index, entry in enumerate(report.images, 1)
        )
    return f'<section id="images"><h2>Images</h2>{body}</section>'


def ratings_section(view: RatingsView) -> str:
    parts = ['<section id="ratings"><h2>Human ratings</h2>', _lines(list(view.lines))]
    if view.leaderboard is not None:
        parts.append(f"<h3>Leaderboard (arena votes)</h3>{table_html(view.leaderboard)}")
    if view.mos is not None:
        parts.append(f"<h3>Mean opinion scores</h3>{_lines(list(view.mos_lines))}{table_html(view.mos)}")
    if view.agreement is not None or view.agreement_lines:
        parts.append("<h3>Do the metrics agree with the raters?</h3>")
        parts.append(_lines(list(view.agreement_lines)))
        if view.agreement is not None:
            parts.append(table_html(view.agreement))
    parts.append("</section>")
    return "".join(parts)


def recipe_section(report: Report) -> str:
    """What was asked, the machine and the versions: one list of names and values per heading."""
    parts = ['<section id="recipe"><h2>Recipe</h2>']
    for index, (heading, pairs) in enumerate(report.recipe):
        parts.append(("" if index == 0 else f"<h3>{escape(heading)}</h3>") + pairs_html(list(pairs)))
    parts.append("</section>")
    return "".join(parts)


def made_at() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def render(report: Report) -> str:
    """The report's HTML text."""
    sections = [summary_section(report)]
    if report.failures is not None and report.failures.rows:
        sections.append(failures_section(report.failures))
    sections += [plot_section(report.plot), images_section(report)]
    if report.ratings is not None:
        sections.append(ratings_section(report.ratings))
    sections.append(recipe_section(report))
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(report.title)}</title><style>{STYLE}</style></head><body>"
        f"<h1>{escape(report.title)}</h1><p>{escape(report.line)}</p>"
        + "\n".join(sections)
        + f"<script>{SCRIPT}</script></body></html>\n"
    )


def write_page(text: str, out: Path) -> None:
    """Write the page atomically: a hidden temporary file beside `out`, renamed over it."""
    temporary = out.with_name(f".{out.name}.partial")
    try:
        temporary.write_text(text, encoding="utf-8")
        with temporary.open("rb") as handle:
            os.fsync(handle.fileno())
        temporary.replace(out)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise UsageError(f"cannot write {out}: {exc.strerror or exc}") from None
