"""The page's small building blocks: a table (sortable by its headers) and a list of names and values.

Every text is escaped here; numbers sort by the value behind their text (`data-sort`). A sortable table's
headers are buttons (Tab reaches them, Enter or Space sorts) and carry their column's better direction
(`data-better`), so the first press puts the best rows first; `aria-sort` says how the table is sorted.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from html import escape
from typing import Any

from studio.report.model import Cell, Table


def _cell(cell: Cell) -> str:
    classes = " ".join(name for name, on in (("num", cell.numeric), ("best", cell.best)) if on)
    attributes = f' class="{classes}"' if classes else ""
    if cell.numeric:  # no number: an empty key, which the script sorts last
        attributes += f' data-sort="{"" if cell.sort is None else repr(float(cell.sort))}"'
    return f"<td{attributes}>{escape(cell.text)}</td>"


def _row(key: str, cells: Sequence[Cell]) -> str:
    attribute = f' data-model="{escape(key)}"' if key else ""
    return f"<tr{attribute}>{''.join(_cell(cell) for cell in cells)}</tr>"


def _header(text: str, better: str | None, sortable: bool) -> str:
    if not sortable:
        return f'<th scope="col">{escape(text)}</th>'
    direction = f' data-better="{better}"' if better in ("higher", "lower") else ""
    hint = {"higher": "highest first", "lower": "lowest first"}.get(better or "", "")
    label = f' title="sort by {escape(text)}{f", {hint}" if hint else ""}"'
    return f'<th scope="col"{direction}><button type="button"{label}>{escape(text)}</button></th>'


def table_html(table: Table) -> str:
    """The table; a row with a key carries it as `data-model`."""
    css = " ".join(part for part in ("sortable" if table.sortable else "", table.css) if part)
    better = list(table.better) + [None] * (len(table.headers) - len(table.better))
    head = "".join(_header(h, b, table.sortable) for h, b in zip(table.headers, better, strict=False))
    body = "".join(_row(key, cells) for key, cells in table.rows)
    return f'<table class="{css}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def value_text(value: Any) -> str:
    """A recipe value for people: yes/no for a flag, JSON for a list or mapping, "–" for nothing."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None or value == {} or value == []:
        return "–"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def pairs_html(pairs: Sequence[tuple[str, Any]]) -> str:
    return "<dl>" + "".join(f"<dt>{escape(k)}</dt><dd>{escape(value_text(v))}</dd>" for k, v in pairs) + "</dl>"
