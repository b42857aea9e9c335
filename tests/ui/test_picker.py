"""The picker's pure parts (labels, run states, presets, examples, predictions) and the run budget, without a browser.

Machine classes are forced, so the labels and predictions do not depend on this CPU.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import gradio as gr
import pytest

from studio.core.config import PROJECT_DIR, Settings
from studio.demo import presets
from studio.demo.examples import EXAMPLES, plan_examples
from studio.demo.presets import PRESETS
from studio.engine.speed import RunPrediction
from studio.models.forms import Form
from studio.models.loader import fetch_problem, run_state
from studio.models.weights.download import url_dest
from studio.services import Services
from studio.ui.choices import SYNTHETIC
from studio.ui.compare import examples, picker
from studio.ui.compare import prediction as timing
from studio.ui.compare.handlers import describe
from studio.ui.compare.request_form import RequestForm, request_from_form, upload_size
from studio.ui.compare.wiring import build_compare_tab
from studio.ui.models_tab import model_states
from studio.ui.video.layout import build_form as build_video_form

ASTRONAUT = PROJECT_DIR / "assets" / "astronaut-lowres.jpg"  # 192x192
BY_LABEL = {preset.label: preset for preset in PRESETS}


@pytest.fixture
def services(env) -> Services:
    return Services(Settings.from_env({**env, "STUDIO_MACHINE_CLASS": "cpu", "STUDIO_THREADS": "2"}))


def all_here(services: Services, **exceptions: str) -> dict[str, str]:
    """Every model 'ready' except the given ones (id with '_' for '-'), as the picker's states."""
    states = {spec.id: "ready" for spec in services.registry}
    states.update({model_id.replace("_", "-"): state for model_id, state in exceptions.items()})
    return states


def pick(services: Services, label: str, states: dict[str, str], seconds=lambda _: None) -> list[str]:
    chosen, _ = presets.preset_models(BY_LABEL[label], list(services.registry), states, seconds)
    return chosen


# -- labels and states -------------------------------------------------------------------------


def test_a_label_has_the_name_the_id_and_the_form_that_runs(services):
    spec = services.registry.get("realesrgan-x4plus")
    label = picker.model_label(spec, "cached", Form("torch", "cpu", "bf16"))
    assert label == "Real-ESRGAN x4plus · realesrgan-x4plus (x4, torch bf16)"
    marked = picker.model_label(spec, "not downloaded", Form("ncnn", "cpu", "fp32"))
    assert marked == "Real-ESRGAN x4plus · realesrgan-x4plus (x4, ncnn fp32) — downloads on first use"
    lanczos = services.registry.get("lanczos-x4")
    assert picker.model_label(lanczos, "ready", Form("classical")) == "Lanczos x4 · lanczos-x4 (x4, classical)"


@pytest.mark.parametrize(("kind", "expected"), [("cpu", "ncnn fp32"), ("cpu-bf16", "torch bf16")])
def test_the_lists_label_the_form_of_the_forced_machine_class(env, kind, expected):
    services = Services(Settings.from_env({**env, "STUDIO_MACHINE_CLASS": kind}))
    choices = picker._choices(services, [services.registry.get("realesrgan-x4plus")], all_here(services))
    assert choices == [(f"Real-ESRGAN x4plus · realesrgan-x4plus (x4, {expected})", "realesrgan-x4plus")]
    onnx = picker._choices(services, [services.registry.get("realesrgan-x4plus")], all_here(services), "onnx")
    assert onnx[0][0].endswith("(x4, onnx fp32)")


def test_offline_models_that_nothing_can_fetch_cannot_run(env, tmp_path):
    offline = Settings.from_env(env)  # STUDIO_OFFLINE=1, no mirror
    registry = Services(offline).registry
    hub, url, wheel = (registry.get(m) for m in ("nafnet-gopro-width64", "espcn-x4", "realesrgan-x4plus"))
    for spec in (hub, url, wheel):
        assert fetch_problem(spec, offline) == "not downloaded, and STUDIO_OFFLINE=1 is set"
    hub_only = Settings.from_env({**env, "STUDIO_OFFLINE": "0", "HF_HUB_OFFLINE": "1"})
    assert fetch_problem(hub, hub_only) == "not downloaded, and HF_HUB_OFFLINE=1 is set"
    assert fetch_problem(url, hub_only) is None and fetch_problem(wheel, hub_only) is None  # network allowed
    mirror = tmp_path / "mirror"
    (mirror / "deep").mkdir(parents=True)
    (mirror / "deep" / "ESPCN_x4.pb").write_bytes(b"weights")
    mirrored = dataclasses.replace(offline, weights_mirror=str(mirror))
    assert fetch_problem(url, mirrored) is None  # the mirror holds it
    assert fetch_problem(wheel, mirrored) is not None
    assert fetch_problem(url, dataclasses.replace(offline, weights_mirror="https://mirror.example/w")) is None
    assert str(run_state(hub, Services(offline).loader.store)).startswith("unavailable: not downloaded, and ")


def test_the_picker_greys_what_cannot_run_and_keeps_the_rest(services):
    states = picker.run_states(services, model_states(services))
    assert states["lanczos-x4"] == "ready"
    assert states["nafnet-gopro-width64"] == "unavailable: not downloaded, and STUDIO_OFFLINE=1 is set"
    blocked = picker.blocked_by_reason(services, states)
    assert list(blocked) == ["not downloaded, and STUDIO_OFFLINE=1 is set"]
    assert "nafnet-gopro-width64" in [spec.id for spec in blocked["not downloaded, and STUDIO_OFFLINE=1 is set"]]
    assert "nafnet-gopro-width64" not in [spec.id for spec in picker._choosable(services, states, "deblur")]


def test_each_page_load_labels_the_models_as_their_weights_are_now(env):
    """The lists are built once per process; the start-up prefetch (or a run) may download a model's weights
    after that, and the next page load says so. Network allowed, nothing fetched: a URL model is choosable."""
    services = Services(Settings.from_env({**env, "STUDIO_OFFLINE": "0"}))
    with gr.Blocks() as demo:
        form, _ = build_compare_tab(services)
    groups = list(form.picker.groups)
    on_load = [fn for fn in demo.fns.values() if any(event == "load" for _, event in fn.targets)]
    (load,) = [fn for fn in on_load if fn.outputs == groups]

    def page_load() -> dict[str, str]:
        updates = load.fn(*[control.value for control in load.inputs])
        assert all("value" not in update for update in updates)  # the visitor's picks stay as they are
        return {model_id: label for update in updates for label, model_id in update["choices"]}

    assert page_load()["espcn-x4"] == "ESPCN x4 (OpenCV DNN) · espcn-x4 (x4, opencv-dnn fp32) — downloads on first use"
    weights = url_dest(services.registry.get("espcn-x4").source.url, services.settings)  # where a fetch puts them
    weights.parent.mkdir(parents=True)
    weights.write_bytes(b"weights")
    assert page_load()["espcn-x4"] == "ESPCN x4 (OpenCV DNN) · espcn-x4 (x4, opencv-dnn fp32)"
    assert picker.states_now(services, form.picker)["espcn-x4"] == "cached"  # the presets count it as here
    assert form.picker.states["espcn-x4"] == "not downloaded"  # as the page was built


# -- presets and examples ----------------------------------------------------------------------


def test_presets_pick_one_model_per_family_from_the_registry(services):
    states = all_here(services)
    assert pick(services, "photo x4", states) == [
        "bicubic-x4",
        "lanczos-x4",
        "realesrgan-x4plus",  # the anime networks are left out
        "espcn-x4",
        "fsrcnn-x4",
        "fsrcnn-small-x4",
    ]
    assert pick(services, "anime x2", states) == [
        "bicubic-x2",
        "lanczos-x2",
        "realesr-animevideov3-x2",
        "waifu2x-anime-x2",  # one waifu2x anime model, not its noise variants
        "realcugan-se-x2",
        "realcugan-pro-x2",
    ]
    assert pick(services, "deblur", states) == [
        "wiener-gaussian",
        "wiener-motion",
        "richardson-lucy-gaussian",
        "richardson-lucy-motion",
        "nafnet-gopro-width64",
        "studio-dmcnn-deblur",  # ours
    ]
    assert pick(services, "denoise", states) == [
        "bilateral",
        "nl-means",
        "waifu2x-cunet-denoise3",
        "scunet-color-real",
        "studio-dncnn-denoise",
    ]


def test_presets_take_what_is_here_first_and_never_what_cannot_run(services):
    states = all_here(services, realesrgan_x4plus="not downloaded", espcn_x4="unavailable: offline")
    chosen, note = presets.preset_models(BY_LABEL["photo x4"], list(services.registry), states, lambda _: None)
    assert chosen == ["bicubic-x4", "lanczos-x4", "fsrcnn-x4", "fsrcnn-small-x4", "lapsrn-x4", "edsr-x4"]
    assert note.endswith("; 1 more model not downloaded yet (Real-ESRGAN x4plus): pick it to fetch on first use.")
    states = all_here(services, realesrgan_x4plus="not downloaded")
    chosen, note = presets.preset_models(BY_LABEL["anime x2"], list(services.registry), states, lambda _: None)
    assert note == "**anime x2**: 6 models, x2 upscalers for anime and illustrations."
    few = {spec.id: "unavailable: x" for spec in services.registry} | {"lanczos-x4": "ready", "fsrcnn-x4": "cached"}
    few["realesrgan-x4plus"] = "not downloaded"
    chosen, note = presets.preset_models(BY_LABEL["photo x4"], list(services.registry), few, lambda _: None)
    assert chosen == ["lanczos-x4", "fsrcnn-x4"]  # two that run now: nothing that downloads is added


def test_offline_presets_pick_only_what_runs_now(env):
    """The tester's setup: HF_HUB_OFFLINE=1 only, so url models (ESPCN, FSRCNN) count as fetchable, but this
    machine has no network: a preset that picked them made half the run fail. It picks what runs now."""
    hub_only = Services(Settings.from_env({**env, "STUDIO_OFFLINE": "0", "STUDIO_MACHINE_CLASS": "cpu"}))
    states = picker.run_states(hub_only, model_states(hub_only))
    assert states["espcn-x4"] == states["fsrcnn-x4"] == states["fsrcnn-small-x4"] == "not downloaded"
    specs = list(hub_only.registry)
    chosen, note = presets.preset_models(BY_LABEL["photo x4"], specs, states, lambda _: None)
    assert chosen == ["bicubic-x4", "lanczos-x4", "studio-espcn-x4"]  # the baselines and our ESPCN: ready
    assert note == (
        "**photo x4**: 3 models, x4 upscalers for photos, with the classical baselines; 6 more models not downloaded "
        "yet (Real-ESRGAN x4plus, ESPCN x4 (OpenCV DNN), FSRCNN x4 (OpenCV DNN), ...): pick them to fetch on first use."
    )
    denoise, _ = presets.preset_models(BY_LABEL["denoise"], specs, states, lambda _: None)
    assert denoise == ["bilateral", "nl-means", "studio-dncnn-denoise"]  # not waifu2x-cunet-denoise3: it downloads
    states["waifu2x-cunet-denoise3"] = "cached"
    assert presets.preset_models(BY_LABEL["denoise"], specs, states, lambda _: None)[0] == [
        "bilateral",
        "nl-means",
        "waifu2x-cunet-denoise3",
        "studio-dncnn-denoise",
    ]


def test_presets_add_downloads_only_below_two_runnable_models(services):
    deblur = BY_LABEL["deblur"]
    one = {spec.id: "unavailable: x" for spec in services.registry}
    one |= {"wiener-motion": "ready", "nafnet-gopro-width64": "not downloaded"}
    chosen, note = presets.preset_models(deblur, list(services.registry), one, lambda _: None)
    assert chosen == ["wiener-motion", "nafnet-gopro-width64"]
    assert note == "**deblur**: 2 models, deconvolution filters and deblurring networks; 1 download on first use."
    none_here = {spec.id: "not downloaded" for spec in services.registry}
    chosen, note = presets.preset_models(BY_LABEL["photo x4"], list(services.registry), none_here, lambda _: None)
    assert chosen == ["bicubic-x4", "lanczos-x4"]  # two downloads at most, in registry order
    assert "; 2 downloads on first use; 10 more models not downloaded yet (Real-ESRGAN x4plus, " in note
    two = one | {"wiener-gaussian": "cached"}
    assert presets.preset_models(deblur, list(services.registry), two, lambda _: None)[0] == [
        "wiener-gaussian",
        "wiener-motion",
    ]


def test_fast_on_cpu_keeps_what_was_measured_fast_here(services):
    measured = {"realesr-animevideov3-x4": 0.4, "realesrgan-x4plus": 6.0, "bicubic-x4": 0.01}
    chosen, note = presets.preset_models(
        BY_LABEL["fast on CPU"], list(services.registry), all_here(services), measured.get
    )
    assert chosen == ["lanczos-x4", "bicubic-x4", "realesr-animevideov3-x4"]  # unmeasured classical first
    assert "not measured here yet" in note  # realcugan-se-x4, espcn-x4, ...: never a guess


def test_every_example_is_an_asset_with_a_preset(services):
    assert set(EXAMPLES.values()) <= set(BY_LABEL)
    for filename in EXAMPLES:
        assert (PROJECT_DIR / "assets" / filename).is_file(), filename


def test_example_rows_give_each_list_its_models(services):
    states = picker.run_states(services, model_states(services))
    fake = dataclasses.make_dataclass("P", ["group_tasks", "states"])(
        tuple(t for t in ("super-resolution", "denoise", "deblur") if picker._choosable(services, states, t)), states
    )
    rows, labels = examples.example_rows(services, fake, plan_examples(services, states))
    assert labels == [f"{name} · {preset}" for name, preset in EXAMPLES.items()]
    by_name = {Path(row[0]).name: row[1:] for row in rows}
    # offline: waifu2x not fetchable; our DnCNN ships with the studio
    assert by_name["coffee-noisy.png"] == [[], ["bilateral", "nl-means", "studio-dncnn-denoise"], []]
    assert by_name["text-motion-blurred.png"][2][:2] == ["wiener-gaussian", "wiener-motion"]
    assert by_name["astronaut-lowres.jpg"][0][:2] == ["bicubic-x4", "lanczos-x4"]
    assert by_name["anime-frame.png"] == [["bicubic-x2", "lanczos-x2"], [], []]  # no anime network runs offline


# -- predictions -------------------------------------------------------------------------------


def test_the_prediction_line_names_each_model_and_offers_a_preview_that_fits():
    prediction = RunPrediction({"a": 2.9, "b": 0.25}, ("c",))
    names = {"a": "Real-ESRGAN", "b": "Lanczos"}
    text = timing.prediction_text(prediction, names, (192, 192), 192, None)
    assert text == (
        "Predicted **more than 3.1 s** for a 192x192 input on this machine (Real-ESRGAN 2.9 s, Lanczos 0.2 s; "
        "1 model not measured yet)."
    )  # a sum that leaves a model out is a lower bound, and says so
    measured = timing.prediction_text(RunPrediction({"a": 2.9}, ()), names, (192, 192), 192, None)
    assert measured == "Predicted **2.9 s** for a 192x192 input on this machine (Real-ESRGAN 2.9 s)."
    over = timing.prediction_text(prediction, names, (512, 384), 512, 1.5)
    # 3.15 s over 1.5 s: time follows the pixels, so a side of 512 * sqrt(1.5 / 3.15) = 353 -> 320 px fits.
    assert over.endswith("⚠️ Over this server's budget of 1.5 s: a preview of 320 px would fit.")
    hopeless = timing.prediction_text(RunPrediction({"a": 90.0}, ()), names, (512, 512), 512, 1.0)
    assert hopeless.endswith("Over this server's budget of 1.0 s: pick fewer or faster models.")
    assert timing.prediction_text(RunPrediction({}, ("a",)), names, (9, 9), 9, None).startswith("No prediction yet")


def test_more_models_than_a_run_takes_are_said_at_once(services):
    assert timing.too_many_text(8) is None
    assert timing.too_many_text(9) == "9 models chosen: at most 8 run; remove 1."
    assert timing.too_many_text(11) == "11 models chosen: at most 8 run; remove 3."
    nine = [spec.id for spec in services.registry.by_task("super-resolution")][:9]
    alone = timing.predict(services, None, True, 512, "none", 4, "auto", "auto", "auto", nine[:5], nine[5:])
    assert alone == "⚠️ **9 models chosen: at most 8 run; remove 1.**"  # before any image is uploaded
    seed(services, {("lanczos-x4", "classical", "fp32"): 10.0})
    with_image = timing.predict(services, str(ASTRONAUT), True, 512, "none", 4, "auto", "auto", "auto", nine)
    warning, prediction = with_image.split("\n\n")
    assert warning == alone and prediction.startswith("Predicted ")
    eight = timing.predict(services, str(ASTRONAUT), True, 512, "none", 4, "auto", "auto", "auto", nine[:8])
    assert eight.startswith("Predicted ")


def test_labels_count_models_in_words(services):
    assert [presets.counted(n, "model") for n in (0, 1, 2)] == ["0 models", "1 model", "2 models"]
    states = {spec.id: "unavailable: not downloaded, and STUDIO_OFFLINE=1 is set" for spec in services.registry}
    states |= {"clahe": "ready", "bilateral": "ready", "nl-means": "ready"}
    states["nafnet-gopro-width64"] = "unavailable: no runtime"
    with gr.Blocks():
        built = picker.build_picker(services, states)
    labels = dict(zip(built.group_tasks, (group.label for group in built.groups), strict=True))
    assert labels == {"denoise": "Denoise (2 models)", "contrast": "Contrast (1 model)"}
    greyed = [box.label for box in built.unavailable]
    assert greyed[1] == "Cannot run here (1 model): no runtime"
    assert re.fullmatch(r"Cannot run here \(\d+ models\): not downloaded, and STUDIO_OFFLINE=1 is set", greyed[0])


def seed(services: Services, speeds: dict[tuple[str, str, str], float]) -> None:
    for (model_id, backend, precision), speed in speeds.items():
        services.speed.record_timing(model_id, backend, precision, 1_000_000, 1 / speed)


def test_predict_uses_the_size_the_models_will_see(services):
    seed(services, {("lanczos-x4", "classical", "fp32"): 10.0, ("realesr-animevideov3-x4", "ncnn", "fp32"): 0.5})
    chosen = (["lanczos-x4", "realesr-animevideov3-x4"],)
    text = timing.predict(services, str(ASTRONAUT), True, 512, "none", 4, "auto", "auto", "auto", *chosen)
    assert text.startswith("Predicted **1.2 s** for a 192x192 input")  # 0.59 MP out at 10 and 0.5 MP/s
    assert "(Lanczos x4 0.1 s, Real-ESRGAN animevideo v3 x4 1.2 s)" in text
    degraded = timing.predict(services, str(ASTRONAUT), True, 128, SYNTHETIC, 2, "auto", "auto", "auto", *chosen)
    assert "for a 64x64 input" in degraded  # preview 128, then the x2 degradation
    other_form = timing.predict(services, str(ASTRONAUT), True, 512, "none", 4, "torch", "auto", "auto", *chosen)
    assert "1 model not measured yet" in other_form  # the torch form was never measured
    assert timing.predict(services, None, True, 512, "none", 4, "auto", "auto", "auto", *chosen) == ""
    assert timing.predict(services, str(ASTRONAUT), True, 512, "none", 4, "auto", "auto", "auto", [], None) == ""


def test_a_device_a_model_cannot_use_shows_in_its_label_and_in_the_prediction(services):
    """Picking device vulkan relabels the lists at once and the prediction line says which pick cannot run."""
    assert picker.runs_as(services, "lanczos-x4", "auto", "auto", "vulkan") == "not on vulkan"
    assert picker.runs_as(services, "realesr-animevideov3-x2", "auto", "fp32", "cpu").describe() == "ncnn fp32"
    lanczos = services.registry.get("lanczos-x4")
    assert picker.model_label(lanczos, "ready", "not on vulkan") == "Lanczos x4 · lanczos-x4 (x4, not on vulkan)"
    chosen = (["lanczos-x4", "realesr-animevideov3-x4"],)
    text = timing.predict(services, str(ASTRONAUT), True, 512, "none", 4, "auto", "auto", "vulkan", *chosen)
    assert text == "⚠️ 'lanczos-x4' is a classical filter: it runs on the CPU, not on vulkan"


# -- the budget, in the form's parser ----------------------------------------------------------


def request_form() -> RequestForm:
    """The form's components, unrendered: the form's parser reads values keyed by them."""
    return RequestForm(
        upload=gr.File(),
        preview_on=gr.Checkbox(),
        preview=gr.Slider(),
        mode=gr.Radio(),
        scale=gr.Dropdown(),
        blur=gr.Radio(),
        sigma=gr.Slider(),
        length=gr.Slider(),
        angle=gr.Slider(),
        noise=gr.Slider(),
        jpeg=gr.Slider(),
        seed=gr.Number(),
        ground_truth=gr.File(),
        metrics=gr.CheckboxGroup(),
        params=gr.State(),
        backend=gr.Dropdown(),
        precision=gr.Dropdown(),
        device=gr.Dropdown(),
        model_groups=(gr.Dropdown(multiselect=True),),
    )


def values(form: RequestForm, models: list[str], preview: int) -> dict:
    return {
        form.upload: str(ASTRONAUT),
        form.preview_on: True,
        form.preview: preview,
        form.mode: "none",
        form.scale: 4,
        form.blur: "none",
        form.sigma: 1.2,
        form.length: 9,
        form.angle: 0,
        form.noise: 0,
        form.jpeg: 0,
        form.seed: 0,
        form.ground_truth: None,
        form.metrics: [],
        form.params: {},
        form.backend: "auto",
        form.precision: "auto",
        form.device: "auto",
        form.model_groups[0]: models,
    }


def test_a_run_over_the_budget_is_refused_before_it_starts_with_a_preview_that_fits(env):
    services = Services(Settings.from_env({**env, "STUDIO_MACHINE_CLASS": "cpu", "STUDIO_RUN_BUDGET_S": "1"}))
    seed(services, {("lanczos-x4", "classical", "fp32"): 10.0, ("realesr-animevideov3-x4", "ncnn", "fp32"): 0.5})
    form = request_form()
    with pytest.raises(gr.Error) as refused:
        request_from_form(services, form, values(form, ["lanczos-x4", "realesr-animevideov3-x4"], 512))
    assert str(refused.value.message) == (
        "This run is predicted to take 1.2 s at 192 px, over this server's budget of 1.0 s (STUDIO_RUN_BUDGET_S): "
        "set the preview long side to 128 px or less."
    )
    request = request_from_form(services, form, values(form, ["lanczos-x4", "realesr-animevideov3-x4"], 128))
    assert request.preview == 128  # 128 px: 0.26 MP out, 0.55 s predicted
    assert request_from_form(services, form, values(form, ["lanczos-x4", "bicubic-x4"], 512)).model_ids == (
        "lanczos-x4",
        "bicubic-x4",
    )  # bicubic-x4 was never measured: only measured time counts


def test_without_a_budget_or_a_time_limit_nothing_is_refused(env):
    services = Services(Settings.from_env({**env, "STUDIO_MACHINE_CLASS": "cpu", "STUDIO_RUN_TIMEOUT_S": "0"}))
    seed(services, {("realesr-animevideov3-x4", "ncnn", "fp32"): 0.001})
    form = request_form()
    assert request_from_form(services, form, values(form, ["realesr-animevideov3-x4"], 512)).model_ids
    assert upload_size(str(ASTRONAUT), services.settings.max_pixels) == (192, 192)


def test_a_model_the_time_limit_could_not_stop_is_refused_with_a_preview_that_fits(services):
    """192 px fits in one tile: the network runs in one call, which STUDIO_RUN_TIMEOUT_S (300 s) cannot cut."""
    seed(services, {("realesr-animevideov3-x4", "ncnn", "fp32"): 0.001})
    form = request_form()
    with pytest.raises(gr.Error) as refused:
        request_from_form(services, form, values(form, ["realesr-animevideov3-x4"], 512))
    assert str(refused.value.message) == (
        "realesr-animevideov3-x4 is predicted to take 590 s on a 192x192 input here and cannot stop part-way (it "
        "runs in one piece), over the 300 s this server allows per run (STUDIO_RUN_TIMEOUT_S): set the preview "
        "long side to 128 px or less"
    )
    assert request_from_form(services, form, values(form, ["realesr-animevideov3-x4"], 128)).preview == 128


def test_int8_labels_the_quantized_onnx_form_or_says_there_is_none(services):
    """int8 (#14) is the ONNX form quantized: a network without one says so; a classical filter runs as it is."""
    specs = [services.registry.get(m) for m in ("realesrgan-x4plus", "realesr-animevideov3-x2", "lanczos-x4")]
    labels = [label for label, _ in picker._choices(services, specs, all_here(services), None, "int8")]
    assert [label.rsplit(" (", 1)[1] for label in labels] == ["x4, onnx int8)", "x2, no int8)", "x4, classical)"]


def test_the_video_list_and_the_model_details_say_what_is_downloaded_now(env):
    """The Video tab's list and the Compare tab's model details, like the picker: the weights' state as it is
    when they are shown, not as it was when the page was built."""
    services = Services(Settings.from_env({**env, "STUDIO_OFFLINE": "0"}))
    with gr.Blocks() as demo:
        video_form = build_video_form(services)
    (load,) = [
        fn
        for fn in demo.fns.values()
        if any(event == "load" for _, event in fn.targets) and fn.outputs == [video_form.models]
    ]

    def video_label() -> str:
        update = load.fn()
        assert "value" not in update  # the picks stay
        return dict((model_id, label) for label, model_id in update["choices"])["espcn-x4"]

    def details() -> str:
        return describe(services, ["espcn-x4"])

    assert video_label().endswith(" — downloads on first use") and "not downloaded" in details()
    weights = url_dest(services.registry.get("espcn-x4").source.url, services.settings)
    weights.parent.mkdir(parents=True)
    weights.write_bytes(b"weights")
    assert not video_label().endswith(" — downloads on first use")
    assert "not downloaded" not in details() and "cached" in details()
