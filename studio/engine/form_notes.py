"""What a result row says about the form it ran: how auto-tuning chose it, and how faithful it is to fp32.

A bf16 or int8 latency is only worth comparing with its fidelity beside it (issue #14's policy: a default
form stays within STUDIO_MIN_FIDELITY_DB of the model's fp32 output), so every non-fp32 row carries the PSNR
measured against fp32 when tuning measured it on this machine.
"""

from __future__ import annotations

from studio.engine.results import ModelResult
from studio.models.forms import Form
from studio.models.loader import Loader
from studio.models.schema import ModelSpec

EXACT = ("fp32", "")  # forms whose output is the model's own: no fidelity figure


def describe_form(
    row: ModelResult, spec: ModelSpec, loader: Loader, planned: Form, measured: float | None = None
) -> None:
    """Add the tuning note and the fidelity figure to `row` (after its backend and precision are set).

    `measured`: the figure the enhancer itself carries (an int8 form measures its own when it is quantized).
    """
    ran_as_planned = (row.backend, row.precision) == (planned.backend, planned.precision)
    if ran_as_planned and planned.why:
        row.notes.append(f"{planned.describe()} ({planned.why})")
    if row.precision in EXACT or row.backend == "classical":
        return
    if measured is not None:
        row.fidelity_db = measured
    elif ran_as_planned and planned.fidelity_db is not None:
        row.fidelity_db = planned.fidelity_db
    else:
        row.fidelity_db = loader.tuner.fidelity(spec, row.backend, row.precision, row.device)
