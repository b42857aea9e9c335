"""The Compare tab's prediction line: how long a run of the chosen models would take on this machine at the
form's sizes, over the server's budget or not, led by a warning when more models are chosen than a run takes.
Pure but for the Services it reads, so it is tested without a page."""

from __future__ import annotations

from dataclasses import dataclass

from studio.core.errors import UsageError
from studio.demo.presets import counted
from studio.engine.request import MAX_MODELS
from studio.engine.speed import RunPrediction, model_input_size, preview_that_fits
from studio.services import Services
from studio.ui.choices import SYNTHETIC
from studio.ui.compare.request_form import format_seconds, upload_size


def prediction_text(
    prediction: RunPrediction,
    names: dict[str, str],
    size: tuple[int, int],
    long_side: int,
    budget_s: float | None,
) -> str:
    """'Predicted **3.2 s** for a 192x192 input on this machine (realesr... 2.9 s, lanczos 0.1 s); 1 not measured.'

    `long_side` is the preview-limited image's long side: what a budget suggestion scales.
    """
    parts = [f"{names.get(m, m)} {format_seconds(s)}" for m, s in prediction.seconds.items()]
    if not parts:
        text = f"No prediction yet for a {size[0]}x{size[1]} input: these models were not measured on this machine."
        return text + " Run them once to learn their speed."
    total = format_seconds(prediction.total)
    if prediction.unmeasured:  # a partial sum is a lower bound, never the run's time
        count = len(prediction.unmeasured)
        text = f"Predicted **more than {total}** for a {size[0]}x{size[1]} input on this machine"
        text += f" ({', '.join(parts)}; {count} model{'s' if count > 1 else ''} not measured yet)"
    else:
        text = f"Predicted **{total}** for a {size[0]}x{size[1]} input on this machine ({', '.join(parts)})"
    text += "."
    if budget_s is not None and prediction.total > budget_s:
        side = preview_that_fits(long_side, prediction.total, budget_s)
        offer = f"a preview of {side} px would fit" if side else "pick fewer or faster models"
        text += f" ⚠️ Over this server's budget of {format_seconds(budget_s)}: {offer}."
    return text


@dataclass(frozen=True)
class Sizes:
    """The upload's size, its long side after the preview limit, and the size the models see."""

    upload: tuple[int, int]
    long_side: int
    models: tuple[int, int]


def form_sizes(services: Services, path: str | None, preview_on, preview, mode, scale) -> Sizes | None:
    """The sizes a run of the form's current values works with (None without a decodable upload)."""
    size = upload_size(path, services.settings.max_pixels) if path else None
    if size is None:
        return None
    limit = int(preview) if preview_on and preview else None
    degrade_scale = int(scale) if mode == SYNTHETIC and scale else 1
    long_side = min(max(size), limit) if limit else max(size)
    return Sizes(size, long_side, model_input_size(*size, limit, degrade_scale))


def too_many_text(count: int, limit: int = MAX_MODELS) -> str | None:
    """'9 models chosen: at most 8 run; remove 1.' when the lists hold more than a run takes, else None.

    Said in the prediction line as soon as the lists go over, not only when Run refuses them. (Not a toast: a
    Dropdown fires several change events per pick, and each would stack another copy.)
    """
    if count <= limit:
        return None
    return f"{counted(count, 'model')} chosen: at most {limit} run; remove {count - limit}."


def predict(
    services: Services, path, preview_on, preview, mode, scale, backend, precision, device, *chosen: list[str] | None
) -> str:
    """The prediction line for the form's current values ('' until there is an image and a model), led by a
    warning when more models are chosen than a run takes (with or without an image), or by why a chosen model
    cannot run on the chosen device."""
    model_ids = [model_id for group in chosen for model_id in (group or [])]
    too_many = too_many_text(len(model_ids))
    warning = f"⚠️ **{too_many}**" if too_many else ""
    sizes = form_sizes(services, path, preview_on, preview, mode, scale)
    if not model_ids or sizes is None:
        return warning
    try:
        prediction = services.speed.predict_run(model_ids, *sizes.models, backend, precision, device)
    except UsageError as exc:
        return "\n\n".join(text for text in (warning, f"⚠️ {exc}") if text)
    names = {model_id: services.registry.get(model_id).name for model_id in model_ids}
    text = prediction_text(prediction, names, sizes.models, sizes.long_side, services.settings.run_budget_s)
    return f"{warning}\n\n{text}" if warning else text
