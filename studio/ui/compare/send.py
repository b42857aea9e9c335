"""Send to arena: the Compare tab's latest run becomes an item raters can vote on (input + outputs)."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from studio.engine.results import Results
from studio.ratings.store_items import add_item
from studio.services import Services
from studio.ui.raters import refusing
from studio.ui.ratings_views import comparison_item

MIN_OUTPUTS = 2  # a battle needs two outputs of one input


def build_send_row() -> tuple[gr.Button, gr.Markdown]:
    with gr.Row():
        button = gr.Button("Send to arena", scale=1, elem_id="send-to-arena")
        message = gr.Markdown(
            "Store this run's input and outputs (with their scores) for blind voting in the **Arena** tab.",
            elem_id="send-message",
        )
    return button, message


def send_to_arena(services: Services, results: Results | None, upload: str | None) -> str:
    """Store the run as an item (task: the models' task when they share one); says what was stored."""
    if results is None:
        raise gr.Error("Run a comparison first, then send it to the arena.")
    done = sum(row.ok for row in results.rows)
    if done < MIN_OUTPUTS:
        raise gr.Error(f"Send to arena needs at least {MIN_OUTPUTS} successful outputs; this run has {done}.")
    item = refusing(lambda: comparison_item(results, lambda model_id: services.registry.get(model_id).task))
    name = Path(upload).name if upload else "comparison"
    item_id = refusing(
        lambda: add_item(services.ratings, item.input_png, item.outputs, item.task, name, None, item.metrics)
    )
    return f"sent: item {item_id} with {len(item.outputs)} outputs"
