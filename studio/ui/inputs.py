"""A request that sends fewer values than an event takes gets one line naming what is missing.

Gradio checks the count itself (Blocks.validate_inputs) with a ValueError that lists every input component
as a Python object, addresses included, and that its error handling shows raw or not at all. gradio_client
fills trailing defaults itself; a caller over plain HTTP (curl, another language) sends what it sends, and
needs to read which values are missing, in the order the endpoint takes them. An argument an endpoint gained
later (marked with `optional_input`) may be left out at the end: its default is used, so older callers keep
working.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

CHECKED = "__studio_counts_inputs__"
OPTIONAL = "__studio_optional_input__"


def optional_input(component: Any) -> Any:
    """Mark a trailing input that a caller may leave out (its default value is used); returns `component`."""
    setattr(component, OPTIONAL, True)
    return component


def input_name(component: Any, index: int) -> str:
    """How the API page names an input: its label, else its position."""
    label = getattr(component, "label", None)
    return f"'{label}'" if label else f"value {index + 1}"


def required_count(expected: list[Any]) -> int:
    """How many values a caller must send: all but the optional ones at the end."""
    required = len(expected)
    while required and getattr(expected[required - 1], OPTIONAL, False):
        required -= 1
    return required


def missing_inputs_message(endpoint: str | None, expected: list[Any], received: int) -> str:
    required = required_count(expected)
    missing = [input_name(component, index) for index, component in enumerate(expected[:required]) if index >= received]
    name = f"/{endpoint}" if endpoint else "this event"
    optional = [input_name(component, index) for index, component in enumerate(expected) if index >= required]
    takes = f"{required} values" + (f" (and optionally {', '.join(optional)})" if optional else "")
    return (
        f"{name} takes {takes} and got {received}: {', '.join(missing)} "
        f"{'is' if len(missing) == 1 else 'are'} missing (send every value, in order)"
    )


def refuse_missing_inputs(blocks: gr.Blocks) -> None:
    """Make `blocks` refuse a short list of input values with gr.Error (one line), before Gradio's own check,
    and fill in the defaults of optional trailing inputs left out."""
    if getattr(blocks, CHECKED, False):
        return
    gradio_check = blocks.validate_inputs

    def validate_inputs(block_fn: Any, inputs: list[Any]) -> None:
        expected = list(block_fn.inputs)
        if len(inputs) < required_count(expected):
            raise gr.Error(missing_inputs_message(block_fn.api_name, expected, len(inputs)))
        # Gradio goes on with this same list (Blocks.preprocess_data), so the defaults are added in place.
        inputs.extend(component.value for component in expected[len(inputs) :])
        gradio_check(block_fn, inputs)

    blocks.validate_inputs = validate_inputs  # Gradio calls self.validate_inputs(block_fn, inputs)
    setattr(blocks, CHECKED, True)
