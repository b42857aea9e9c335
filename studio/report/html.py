"""The page's small building blocks: a table (sortable by its headers) and a list of names and values.

Every text is escaped here; numbers sort by the value behind their text (`data-sort`).
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


def table_html(table: Table) -> str:
    """The table; a row with a key carries it as `data-model`."""
    css = " ".join(part for part in ("sortable" if table.sortable else "", table.css) if part)
    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in table.headers)
    body = "".join(_row(key, cells) for key, cells in table.rows)
    return f'<table class="{css}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def value_text(value: Any) -> str:
    if value is None or value == {} or value == []:
        return "–"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def pairs_html(pairs: Sequence[tuple[str, Any]]) -> str:
    return "<dl>" + "".join(f"<dt>{escape(k)}</dt><dd>{escape(value_text(v))}</dd>" for k, v in pairs) + "</dl>"
