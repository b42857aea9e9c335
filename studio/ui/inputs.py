"""A request that sends fewer values than an event takes gets one line naming what is missing.

Gradio checks the count itself (Blocks.validate_inputs) with a ValueError that lists every input component
as a Python object, addresses included, and that its error handling shows raw or not at all. gradio_client
fills trailing defaults itself; a caller over plain HTTP (curl, another language) sends what it sends, and
needs to read which values are missing, in the order the endpoint takes them.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

CHECKED = "__studio_counts_inputs__"


def input_name(component: Any, index: int) -> str:
    """How the API page names an input: its label, else its position."""
    label = getattr(component, "label", None)
    return f"'{label}'" if label else f"value {index + 1}"


def missing_inputs_message(endpoint: str | None, expected: list[Any], received: int) -> str:
    missing = [input_name(component, index) for index, component in enumerate(expected) if index >= received]
    name = f"/{endpoint}" if endpoint else "this event"
    return (
        f"{name} takes {len(expected)} values and got {received}: {', '.join(missing)} "
        f"{'is' if len(missing) == 1 else 'are'} missing (send every value, in order)"
    )


def refuse_missing_inputs(blocks: gr.Blocks) -> None:
    """Make `blocks` refuse a short list of input values with gr.Error (one line), before Gradio's own check."""
    if getattr(blocks, CHECKED, False):
        return
    gradio_check = blocks.validate_inputs

    def validate_inputs(block_fn: Any, inputs: list[Any]) -> None:
        expected = list(block_fn.inputs)
        if len(inputs) < len(expected):
            raise gr.Error(missing_inputs_message(block_fn.api_name, expected, len(inputs)))
        gradio_check(block_fn, inputs)

    blocks.validate_inputs = validate_inputs  # Gradio calls self.validate_inputs(block_fn, inputs)
    setattr(blocks, CHECKED, True)
