"""The Arena, Leaderboard and MOS tabs in a real browser (Debian Chromium via Playwright).

The app runs on a fresh data folder seeded, before it starts, with a round of three fake
models whose ids are unusual words: none of them may appear anywhere in the page (HTML,
image addresses, alt text, labels) until the vote reveals them. Screenshots for the README
land in tests/artifacts/ (arena-before.png, arena-after.png, leaderboard.png, mos.png) and, as JPEGs, in docs/.
"""

from __future__ import annotations

import time

import pytest

from studio.ratings.store_arena import ArenaPolicy
from tests.ui.browser import ARTIFACTS, require_chromium, save_doc_screenshot, table_records, wait_for_text
from tests.ui.ratings import FAKE_MODELS, ROUND, open_store, seed_round, start_app

require_chromium()

MIN_VIEW_S = ArenaPolicy().min_view_s  # a faster vote is stored but kept out of the leaderboard


@pytest.fixture(scope="module")
def app_server(tmp_path_factory, photo):
    """This module's own app (named like conftest's, so the network/slow markers apply) on a seeded data dir."""
    home = tmp_path_factory.mktemp("ratings-browser")
    db = open_store(home)
    seed_round(db, photo, items=2, side=160)
    db.dispose()
    app = start_app(home)
    yield app
    app.stop()


def open_tab(page, name: str) -> None:
    page.get_by_role("tab", name=name, exact=True).click()


def images_loaded(page, selector: str, count: int) -> None:
    page.wait_for_function(
        "([selector, count]) => { const images = [...document.querySelectorAll(selector)];"
        " return images.length >= count && images.every(i => i.complete && i.naturalWidth > 0); }",
        arg=[selector, count],
        timeout=60_000,
    )


def screenshot(page, name: str) -> None:
    """The whole page once no event is pending (no progress overlay, no component greyed out): a PNG in
    tests/artifacts/ and the README's JPEG of the same name in docs/."""
    page.wait_for_function(
        "() => document.querySelectorAll('.progress-level, [data-testid=status-tracker]:not(.hide)').length === 0",
        timeout=60_000,
    )
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)
    save_doc_screenshot(page, name.replace(".png", ".jpg"), full_page=True)


def page_text_and_attributes(page) -> str:
    """The page's HTML plus every attribute value (src, alt, aria-label, title...) and input value."""
    attributes = page.evaluate(
        """() => [...document.querySelectorAll('*')].flatMap(el =>
            [...el.attributes].map(a => a.value).concat(el.value !== undefined ? [String(el.value)] : []))"""
    )
    return page.content() + "\n".join(attributes)


def leaked(text: str) -> list[str]:
    return [model for model in FAKE_MODELS if model in text]


def test_the_arena_hides_the_names_until_the_vote_and_the_leaderboard_counts_it(page):
    open_tab(page, "Leaderboard")
    wait_for_text(page, "#board-summary", ["No votes yet"])

    open_tab(page, "Arena")
    page.locator("#arena-round input").click()
    page.get_by_role("option", name=ROUND).click()  # the seeded round, offered once the page loaded
    page.click("#arena-new")
    drawn = time.monotonic()
    images_loaded(page, "#arena-a img, #arena-b img", 2)
    images_loaded(page, "#arena-slider img", 2)
    images_loaded(page, "#arena-zoom-a img, #arena-zoom-b img", 2)
    wait_for_text(page, "#arena-message", ["Which is better"])

    assert leaked(page_text_and_attributes(page)) == []
    shown = {
        selector: page.evaluate(
            "(s) => [...document.querySelectorAll(s)].map(i => [i.src.split('/').pop(), i.alt, i.naturalWidth,"
            " i.naturalHeight])",
            f"{selector} img",
        )
        for selector in ("#arena-a", "#arena-b", "#arena-slider")
    }
    everything = [image for images in shown.values() for image in images]
    assert {name for name, *_ in everything} == {"image.png"}  # Gradio's cache: a hashed folder, a neutral name
    assert [alt for _, alt, *_ in shown["#arena-a"] + shown["#arena-b"]] == ["A", "B"]
    assert {alt for _, alt, *_ in shown["#arena-slider"]} <= {"", "A", "B"}
    assert len({(width, height) for *_, width, height in everything}) == 1  # one size, whatever the model's scale
    assert page.locator("#vote-a").is_enabled()
    screenshot(page, "arena-before.png")

    page.wait_for_timeout(max(0.0, MIN_VIEW_S + 0.3 - (time.monotonic() - drawn)) * 1000)
    page.click("#vote-a")
    wait_for_text(page, "#arena-message", ["A was", "B was", "Your vote: A is better"])
    message = page.locator("#arena-message").inner_text()
    revealed = leaked(message)
    assert len(revealed) == 2 and "kept out of the leaderboard" not in message
    page.wait_for_function("() => document.querySelector('#vote-a').disabled", timeout=30_000)
    assert all(page.locator(f"#vote-{w}").is_disabled() for w in ("a", "b", "tie", "both-bad"))
    screenshot(page, "arena-after.png")

    open_tab(page, "Leaderboard")
    wait_for_text(page, "#board-summary", ["1 vote(s) between 2 model(s)"])
    records = {row["model"]: row for row in table_records(page, "#board-table")}
    assert sorted(records) == sorted(revealed)
    assert [records[m]["battles"] for m in revealed] == ["1", "1"]
    assert sorted(records[m]["wins"] for m in revealed) == ["0", "1"]
    for selector in ("#board-win-rate", "#board-counts"):
        wait_for_text(page, selector, revealed)
    screenshot(page, "leaderboard.png")


def test_a_mos_score_adds_a_vote_to_the_table(page):
    open_tab(page, "MOS")
    page.wait_for_selector("#mos-table", timeout=30_000)
    assert table_records(page, "#mos-table") == []  # this module's data folder starts with no scores
    page.click("#mos-next")
    images_loaded(page, "#mos-image img", 1)
    assert leaked(page_text_and_attributes(page)) == []  # what is rated is said only after the score
    page.wait_for_timeout(1200)  # the minimum viewing time for a score that counts
    page.get_by_label("4 Good").check()
    page.click("#mos-submit")
    wait_for_text(page, "#mos-message", ["You gave 4 (Good) to"])
    page.wait_for_function(
        "() => { const cells = [...document.querySelectorAll('#mos-table [role=gridcell][data-row]')];"
        " return cells.filter(c => c.dataset.col === '3').reduce((s, c) => s + Number(c.innerText), 0) === 1; }",
        timeout=30_000,
    )
    rated = page.locator("#mos-message").inner_text()
    rows = {row["model"]: row for row in table_records(page, "#mos-table")}
    name = next((m for m in FAKE_MODELS if m in rated), "reference (hidden input)")
    assert rows[name]["MOS"].startswith("4")
    screenshot(page, "mos.png")
