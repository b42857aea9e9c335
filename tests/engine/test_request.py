"""CompareRequest.build: every malformed value is one line, whichever front end sent it (#13)."""

from __future__ import annotations

import time

import pytest

from studio.core.errors import ParameterError, UsageError
from studio.engine.request import MAX_MODELS, CompareRequest
from studio.models.registry import load_registry


@pytest.fixture(scope="module")
def registry():
    from studio.core.config import Settings

    return load_registry(Settings.from_env({}))


def build(registry, models=("clahe",), **fields):
    return CompareRequest.build(registry, list(models) if not isinstance(models, str) else models, **fields)


@pytest.mark.parametrize(
    "models",
    [[f"model-{i}" for i in range(1000)], ["clahe"] * 1000, ["clahe", "lanczos-x2"] * 5],
    ids=["1000 unknown", "1000 repeats", "10 entries"],
)
def test_more_ids_than_the_limit_are_refused_before_any_lookup(registry, models):
    started = time.perf_counter()
    with pytest.raises(UsageError, match=f"^pick at most {MAX_MODELS} models \\(got {len(models)}\\)$"):
        build(registry, models, max_models=MAX_MODELS)
    assert time.perf_counter() - started < 0.5


def test_the_cli_limit_is_lifted_and_repeats_run_once(registry):
    assert build(registry, ["clahe"] * 20, max_models=None).model_ids == ("clahe",)


def test_one_id_as_text_is_one_model_not_its_letters(registry):
    assert build(registry, "clahe").model_ids == ("clahe",)


@pytest.mark.parametrize(
    ("preview", "message"),
    [
        (float("nan"), "preview must be a whole number, got nan"),
        (float("inf"), "preview must be a whole number, got inf"),
        (-5, "preview must be between 16 and 16384 \\(0 = off\\), got -5"),
        (10**400, "preview must be a whole number, got 1000000000000000000000000000000000000..."),
        (True, "preview must be a whole number, got True"),
        ("abc", "preview must be a whole number, got 'abc'"),
        (12.5, "preview must be a whole number, got 12.5"),
    ],
)
def test_bad_previews_are_one_line(registry, preview, message):
    with pytest.raises(UsageError, match=f"^{message}$"):
        build(registry, preview=preview)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ('{"unsharp-mask": 5}', "parameters for 'unsharp-mask' must be an object, like"),
        ({"unsharp-mask": 5}, "parameters for 'unsharp-mask' must be an object, like"),
        ("{'unsharp-mask': {'amount': 2}}", "parameters are not valid JSON \\(Expecting property name"),
        ('{"unsharp-mask": {"amount": NaN}}', "parameters may not contain NaN: give finite numbers"),
        ('{"unsharp-mask": {"amount": -Infinity}}', "parameters may not contain -Infinity"),
        ({"unsharp-mask": {"amount": float("nan")}}, "unsharp-mask.amount=nan is not a valid float"),
        ({"unsharp-mask": {"amount": 10**400}}, "unsharp-mask.amount=1000000000.* is not a valid float"),
        ({"nl-means": {"template_window": float("inf")}}, "nl-means.template_window=inf is not a valid int"),
        ('{"unsharp-mask": {"amount": true}}', "unsharp-mask.amount=True is not a valid float"),
        ("[" * 100_000, "parameters are (nested too deeply|not valid JSON)"),
    ],
)
def test_bad_parameters_are_one_line(registry, params, message):
    models = ["nl-means"] if "nl-means" in str(params) else ["unsharp-mask"]
    with pytest.raises(UsageError, match=message) as caught:
        build(registry, models, params=params)
    assert "\n" not in str(caught.value)


def test_finite_parameters_still_pass(registry):
    request = build(registry, ["unsharp-mask"], params='{"unsharp-mask": {"amount": 2.5}}')
    assert request.params["unsharp-mask"]["amount"] == 2.5
    with pytest.raises(ParameterError, match="outside"):
        build(registry, ["unsharp-mask"], params={"unsharp-mask": {"amount": 1e9}})


def test_a_recipe_out_of_bounds_is_refused_by_the_request(registry):
    with pytest.raises(UsageError, match="^blur sigma must be between 0.1 and 10, got 2000$"):
        build(registry, degrade="x4,blur=gauss:2000")
    with pytest.raises(UsageError, match="^seed must be a whole number between 0 and 4294967295"):
        build(registry, degrade="x2,seed=" + "9" * 30)
