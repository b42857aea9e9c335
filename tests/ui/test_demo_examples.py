"""An example's click in the Compare tab (ui/compare/examples.py), without a browser: a fresh entry gives the
whole page from the stored files (copied into Gradio's cache, none encoded, no model loaded); a stale or
missing one leaves the results as they are."""

from __future__ import annotations

import time

import numpy as np
import pytest

from studio.core.config import Settings
from studio.core.media import png_name
from studio.demo.build import build_cache
from studio.demo.examples import current_states, plan_examples
from studio.services import Services
from studio.ui.compare import examples
from studio.ui.compare.viewer import png_path

ANIME = "anime-frame.png"


@pytest.fixture
def services(env, tmp_path, monkeypatch) -> Services:
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio"))  # Gradio's cache folder: what a click fills
    return Services(Settings.from_env(env))


def test_the_display_names_are_the_pages_own(tmp_path):
    """A stored picture is found by the page only under the name viewer.png_path gives it."""
    picture = np.arange(5 * 7 * 3, dtype=np.uint8).reshape(5, 7, 3)
    assert png_path(picture, tmp_path).name == png_name(picture)


def test_a_fresh_entry_shows_the_whole_comparison_from_files(services, tmp_path, monkeypatch):
    build_cache(services, names=[ANIME])
    plans = tuple(plan_examples(services, current_states(services)))
    index = [plan.name for plan in plans].index(ANIME)
    cache = services.loader.cache  # the process's load-once cache: the build above used it too
    before = (list(cache.loaded_keys()), cache.hits, cache.misses)
    encoded = []
    monkeypatch.setattr("PIL.Image.Image.save", lambda *args, **kwargs: encoded.append(args))  # no PNG encoding
    started = time.perf_counter()
    values = examples.show_example(services, examples.StoredResults(), plans, 48, index)
    print(f"\nthe click's handler took {1000 * (time.perf_counter() - started):.0f} ms")
    rows = [[str(plan.path), list(plan.models)] for plan in plans]  # the image, and one list of models
    image, models = examples.fill_form(plans, rows, index)  # the click's second step
    from studio.ui.compare.handlers import free

    free(values[1], "input", "lanczos-x2")  # what the page asks next (its picks changed): the default free pair
    assert encoded == []
    assert image.startswith(str(tmp_path / "gradio")) and image.endswith(ANIME)  # the example, in Gradio's cache
    assert models == ["bicubic-x2", "lanczos-x2"]
    assert (list(cache.loaded_keys()), cache.hits, cache.misses) == before  # and no model was asked for
    status, results = values[0], values[1]
    first, marker = status.split("  \n")
    assert first == "Input **anime-frame.png** · 200x150"
    assert marker.startswith("**Precomputed results**, built ") and marker.endswith("Press Run to run it live.")
    assert [row.model_id for row in results.rows] == ["bicubic-x2", "lanczos-x2"]
    outputs, csv, zipped, report, progress = values[-5:]
    gradio = str(tmp_path / "gradio")
    assert all(path.startswith(gradio) for path in [*outputs, csv, zipped, report["value"]])  # never the data dir
    assert [path.rsplit("/", 1)[1] for path in outputs] == ["bicubic-x2.png", "lanczos-x2.png"]
    assert report["interactive"] is True and progress == ""
    slider = values[2 + 2]  # slot 0: column, header, slider, error
    before, after = slider["value"]
    assert before.startswith(gradio) and after.startswith(gradio)


def test_a_stale_or_missing_entry_leaves_the_results_alone(services, env, tmp_path):
    plans = tuple(plan_examples(services, current_states(services)))
    index = [plan.name for plan in plans].index(ANIME)
    untouched = examples.show_example(services, examples.StoredResults(), plans, 3, index)
    assert untouched == [{"__type__": "update"}] * 3  # gr.skip(): the results stay; the second step fills the form
    build_cache(services, names=[ANIME])
    other = Services(Settings.from_env({**env, "STUDIO_MAX_PIXELS": "1000"}))  # the same key: still fresh
    assert examples.stored_view(other, examples.StoredResults(), plans[index]) is not None
    (tmp_path / "user.yaml").write_text("models: []\n", encoding="utf-8")
    changed = Services(Settings.from_env({**env, "STUDIO_REGISTRY": str(tmp_path / "user.yaml")}))
    stale = tuple(plan_examples(changed, current_states(changed)))
    assert examples.stored_view(changed, examples.StoredResults(), stale[index]) is None


def test_a_run_of_the_form_as_the_click_leaves_it_is_the_stored_request(services):
    """Run on a clicked example makes the very request its entry was built with: the form's defaults (metrics,
    preview, reference mode, runtime, parameters) are the ones studio/demo assumes."""
    import gradio as gr

    from studio.demo.examples import demo_request
    from studio.ui.compare.layout import build_form
    from studio.ui.compare.request_form import parse_form

    plan = next(plan for plan in plan_examples(services, current_states(services)) if plan.name == ANIME)
    with gr.Blocks():
        form = build_form(services, current_states(services)).request
    values = {component: component.value for component in form.inputs()}
    values |= {group: [] for group in form.model_groups} | {form.upload: str(plan.path)}
    values[form.model_groups[0]] = list(plan.models)  # the super-resolution list, as the click fills it
    assert parse_form(services.registry, form, values) == demo_request(services, plan.models) == plan.request
