"""The rating tabs' pure view logic (studio/ui/ratings_views.py, studio/ui/heatmap.py): no server."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from studio.core.media import DecodedImage, decode
from studio.engine.results import ModelResult, Results
from studio.ui import heatmap
from studio.ui.ratings_views import (
    comparison_item,
    display_pair,
    leaderboard_view,
    metric_means,
    mos_view,
    reveal_text,
    same_crop,
    score_text,
)


def ramp(width: int, height: int, offset: int = 0) -> np.ndarray:
    x = np.linspace(0, 255, width)[None, :, None] + np.zeros((height, 1, 3))
    return ((x + offset) % 256).astype(np.uint8)


def test_the_pair_is_shown_at_one_size_whatever_the_models_scales():
    small, big = ramp(48, 32), ramp(96, 64)
    left, right = display_pair(small, big)
    assert left.shape == right.shape == (64, 96, 3)
    assert right is big  # the larger one is shown as it is
    same_a, same_b = display_pair(big, big.copy())
    assert same_a is big and same_a.shape == same_b.shape


def test_the_zoom_shows_the_same_region_of_both_at_one_to_one():
    left, right = ramp(200, 100), ramp(200, 100, offset=7)
    a, b = same_crop(left, right, 0.5, 0.5, 40)
    assert a.shape == b.shape == (40, 40, 3)
    assert np.array_equal(a, left[30:70, 80:120]) and np.array_equal(b, right[30:70, 80:120])
    a, _ = same_crop(left, right, 1.0, 0.0, 40)  # clamped to the corner, never cut short
    assert np.array_equal(a, left[0:40, 160:200])
    a, _ = same_crop(left, right, 0.5, 0.5, 512)  # larger than the image: the largest square there is
    assert a.shape == (100, 100, 3)


def test_the_reveal_names_both_models_and_the_vote():
    names = {"lanczos-x4": "Lanczos x4"}
    text = reveal_text("lanczos-x4", "mystery-net", "both_bad", "", names, 2.0)
    assert text.startswith("A was **Lanczos x4** (`lanczos-x4`), B was `mystery-net`.")
    assert "Your vote: Both bad." in text and "kept out" not in text
    assert "Voted within 2 s" in reveal_text("a", "b", "a", "too_fast", {}, 2.0)
    assert score_text("reference", 4, "", {}).startswith("You gave 4 (Good) to the hidden reference")


def hex_colour(rgb: tuple[int, int, int]) -> str:
    return "#" + "".join(f"{channel:02x}" for channel in rgb)


def test_win_rate_colours_run_from_red_through_white_to_green():
    assert heatmap.rate_colour(0.5) == "#ffffff"
    assert heatmap.rate_colour(1.0) == hex_colour(heatmap.GREEN)
    assert heatmap.rate_colour(0.0) == hex_colour(heatmap.RED)
    assert heatmap.rate_colour(0.75) == hex_colour(tuple(round((255 + c) / 2) for c in heatmap.GREEN))
    assert heatmap.rate_colour(float("nan")) == heatmap.EMPTY
    assert heatmap.count_colour(0, 5) == heatmap.EMPTY
    assert heatmap.count_colour(5, 5) == hex_colour(heatmap.BLUE)


def test_the_heatmaps_are_tables_with_escaped_names_and_coloured_cells():
    models = ["m<1>", "m2"]
    counts = pd.DataFrame([[0, 3], [3, 0]], index=models, columns=models)
    rate = pd.DataFrame([[np.nan, 2 / 3], [1 / 3, np.nan]], index=models, columns=models)
    page = heatmap.win_rate_html(rate, counts)
    assert "m&lt;1&gt;" in page and "m<1>" not in page
    assert f"background:{heatmap.rate_colour(2 / 3)}" in page and ">0.67</td>" in page and ">0.33</td>" in page
    assert page.count(">–</td>") == 2  # the diagonal
    battles = heatmap.counts_html(counts)
    assert battles.count(f"background:{heatmap.count_colour(3, 3)}") == 2
    assert "no votes yet" in heatmap.win_rate_html(pd.DataFrame(), pd.DataFrame())


def test_metric_means_average_known_metrics_over_the_rated_items():
    rows = [
        {"item_id": "i1", "model": "a", "task": "sr", "sharpness": 10.0, "lpips": 0.2, "made_up": 1.0},
        {"item_id": "i2", "model": "a", "task": "sr", "sharpness": 20.0, "lpips": None},
        {"item_id": "i1", "model": "b", "task": "sr", "sharpness": 4.0, "lpips": 0.4},
        {"item_id": "i3", "model": "b", "task": "sr", "sharpness": 100.0, "lpips": 0.9},
    ]
    means = metric_means(rows, ["i1", "i2"])
    assert list(means.columns) == ["sharpness", "lpips"]  # unknown metrics left out
    assert means.loc["a", "sharpness"] == 15.0 and means.loc["a", "lpips"] == pytest.approx(0.2)
    assert means.loc["b", "sharpness"] == 4.0  # item i3 was not rated
    assert metric_means([]).empty


def test_tables_show_intervals_as_one_column():
    board = pd.DataFrame(
        [{"model": "a", "rating": 1010.4, "ci_low": 990.2, "ci_high": 1030.7, "battles": 4, "wins": 3, "ties": 0,
          "losses": 1}]
    )  # fmt: skip
    view = leaderboard_view(board)
    assert view.iloc[0].to_dict() == {
        "rank": 1, "model": "a", "rating": 1010.4, "95 % interval": "990 – 1031", "battles": 4, "wins": 3,
        "ties": 0, "losses": 1,
    }  # fmt: skip
    summary = pd.DataFrame([{"model": "reference", "mos": 4.0, "ci_low": np.nan, "ci_high": np.nan, "votes": 1}])
    assert mos_view(summary).iloc[0].to_dict() == {
        "model": "reference (hidden input)", "MOS": 4.0, "95 % interval": "–", "votes": 1,
    }  # fmt: skip


def results_with(*rows: ModelResult) -> Results:
    return Results(input=DecodedImage(rgb=ramp(16, 8)), reference=None, metrics=[], rows=list(rows))


def test_a_comparison_becomes_an_item_of_its_successful_outputs():
    ok_a = ModelResult("lanczos-x2", output=DecodedImage(rgb=ramp(32, 16)), metrics={"sharpness": 3.0})
    ok_b = ModelResult("bicubic-x2", output=DecodedImage(rgb=ramp(32, 16, 9)), metrics={"sharpness": None})
    failed = ModelResult("nafnet-gopro-width64", error="not downloaded")
    tasks = {"lanczos-x2": "super-resolution", "bicubic-x2": "super-resolution", "unsharp-mask": "sharpen"}
    item = comparison_item(results_with(ok_a, failed, ok_b), tasks.__getitem__)
    assert sorted(item.outputs) == ["bicubic-x2", "lanczos-x2"] and item.task == "super-resolution"
    assert np.array_equal(decode(item.outputs["bicubic-x2"], 10**6).rgb, ok_b.output.rgb)  # lossless PNG
    assert np.array_equal(decode(item.input_png, 10**6).rgb, ramp(16, 8))
    assert item.metrics == {"lanczos-x2": {"sharpness": 3.0}, "bicubic-x2": {"sharpness": None}}
    other = ModelResult("unsharp-mask", output=DecodedImage(rgb=ramp(16, 8)))
    assert comparison_item(results_with(ok_a, other), tasks.__getitem__).task is None  # no shared task


def test_the_leaderboard_summary_names_doubtful_mos_raters():
    from studio.ui.leaderboard_tab import summary_text

    assert "hidden reference" not in summary_text(4, 1, 3)
    assert summary_text(4, 1, 3, doubtful_raters=2).startswith("4 vote(s) between 3 model(s) counted")
    assert "2 MOS rater(s) scored the hidden reference" in summary_text(4, 1, 3, doubtful_raters=2)
    assert "1 MOS rater(s)" in summary_text(0, 0, 0, doubtful_raters=1)
