"""Results.groups / Results.best: which values may be compared, and which one wins."""

from __future__ import annotations

import numpy as np
import pytest

from studio.core.media import DecodedImage
from studio.engine.results import ModelResult, Results
from studio.metrics import get_metric


def row(model_id: str, size: int, error: str | None = None, **values: float | None) -> ModelResult:
    output = None if error else DecodedImage(rgb=np.zeros((size, size, 3), np.uint8))
    return ModelResult(model_id=model_id, output=output, metrics=dict(values), error=error)


def results(*rows: ModelResult, reference: int | None = None) -> Results:
    ref = None if reference is None else np.zeros((reference, reference, 3), np.uint8)
    metrics = [get_metric(m) for m in ("psnr", "lpips", "sharpness", "brisque", "colourfulness")]
    return Results(
        input=DecodedImage(rgb=np.zeros((16, 16, 3), np.uint8)), reference=ref, metrics=metrics, rows=list(rows)
    )


def test_full_reference_rows_are_grouped_by_output_size_the_reference_size_first():
    x2, x4a, x4b = row("x2", 32, psnr=40.0), row("x4a", 64, psnr=25.0), row("x4b", 64, psnr=26.0)
    res = results(x2, x4a, x4b, reference=64)
    assert res.groups("psnr") == [("64x64 outputs (reference size)", [x4a, x4b]), ("32x32 outputs", [x2])]
    assert res.best("psnr") == {"x4b"}  # x2's 40 dB was measured against a shrunken reference


def test_scale_dependent_scores_compare_within_one_size_others_across_all():
    big1, big2, small = (
        row("a", 64, sharpness=5.0, brisque=30.0, colourfulness=9.0),
        row("b", 64, sharpness=7.0, brisque=20.0, colourfulness=3.0),
        row("c", 16, sharpness=900.0, brisque=1.0, colourfulness=1.0),
    )
    res = results(big1, big2, small)
    assert get_metric("sharpness").scale_dependent and get_metric("brisque").scale_dependent
    assert not get_metric("colourfulness").scale_dependent and not get_metric("psnr").scale_dependent
    assert res.groups("sharpness") == [("64x64 outputs", [big1, big2]), ("16x16 outputs", [small])]
    assert res.best("sharpness") == {"b"} and res.best("brisque") == {"b"}  # lower is better for BRISQUE
    assert res.groups("colourfulness") == [("", [big1, big2, small])] and res.best("colourfulness") == {"a"}


def test_one_size_is_one_unlabelled_group_and_failed_rows_are_left_out():
    ok1, ok2, failed = row("a", 64, psnr=30.0), row("b", 64, psnr=30.0), row("c", 64, error="boom")
    res = results(ok1, failed, ok2, reference=64)
    assert res.groups("psnr") == [("", [ok1, ok2])] and res.best("psnr") == {"a", "b"}  # ties both win


@pytest.mark.parametrize("missing", [None, float("nan"), float("inf")])
def test_values_that_are_not_finite_never_win(missing):
    res = results(row("a", 64, lpips=missing), row("b", 64, lpips=0.3), row("c", 64, lpips=0.2), reference=64)
    assert res.best("lpips") == {"c"}
    alone = results(row("a", 64, lpips=missing), row("b", 64, lpips=0.3), reference=64)
    assert alone.best("lpips") == set()  # one finite value: nothing was compared


def test_a_group_of_one_has_no_winner_and_no_rows_no_groups_content():
    res = results(row("x2", 32, psnr=40.0), row("x4", 64, psnr=25.0), reference=64)
    assert res.best("psnr") == set()
    assert results().groups("psnr") == [("", [])] and results().best("psnr") == set()
