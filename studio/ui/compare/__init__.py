"""The Compare tab: layout.py (components), request_form.py (form -> CompareRequest),
handlers.py (plain functions), params.py (live parameter controls), wiring.py (events)."""

from studio.ui.compare.wiring import build_compare_tab

__all__ = ["build_compare_tab"]
