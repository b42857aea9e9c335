"""`studio ratings prepare|export|import` and `studio leaderboard` as an operator runs them: real processes, SQLite."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import func, select

from studio.core.config import Settings
from studio.ratings.store import Database
from studio.ratings.store_arena import ArenaPolicy, cast_vote, draw_battle
from studio.ratings.store_items import find_round
from studio.ratings.store_transfer import votes_frame
from studio.services import Services
from tests.cli.helpers import save_image, stderr_lines, studio

EXPORT_HEADER = "vote_id,item_id,model_a,model_b,winner,rater,round,task,shown_at,voted_at,flags,ip"
LEADERBOARD_KEYS = {"model", "rating", "ci_low", "ci_high", "battles", "wins", "ties", "losses"}
NO_VOTES = "no votes yet: vote in the app's Arena tab (after `studio ratings prepare`) or `studio ratings import`"
# Known strengths on the Elo-like scale, centred on 1000 (the leaderboard's anchor).
TRUE_RATINGS = {"alpha": 1200.0, "bravo": 1100.0, "charlie": 1000.0, "delta": 900.0, "echo": 800.0}


# ---- helpers ---------------------------------------------------------------------------------
def _env(tmp_path: Path, env: dict[str, str], name: str) -> dict[str, str]:
    """The test's offline environment with its own data dir: one "machine" of a study."""
    return {**env, "STUDIO_DATA_DIR": str(tmp_path / name)}


@pytest.fixture
def open_stores():
    """Open a data dir's ratings store in the test process (as the app would); closed at the end."""
    opened: list[Database] = []

    def open_store(env: dict[str, str]) -> Database:
        db = Services(Settings.from_env(env)).ratings
        opened.append(db)
        return db

    yield open_store
    for db in opened:
        db.dispose()


@pytest.fixture
def images(tmp_path) -> Path:
    """A folder "photos" of three small, different images (48x40), plus a file that is not an image."""
    folder = tmp_path / "photos"
    folder.mkdir()
    rng = np.random.default_rng(7)
    y, x = np.mgrid[0:40, 0:48]
    for index, name in enumerate(("a.png", "b.png", "c.png")):
        base = np.stack([x * 5 + index * 40, y * 6, (x + y) * 3], axis=-1)
        noisy = np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)
        save_image(folder / name, noisy)
    (folder / "notes.txt").write_text("not an image", encoding="utf-8")
    return folder


def _rows(db: Database, table: str, **where) -> list:
    t = db.tables[table]
    query = select(t).where(*(t.c[k] == v for k, v in where.items()))
    with db.engine.connect() as connection:
        return connection.execute(query).all()


def _count(db: Database, table: str) -> int:
    with db.engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(db.tables[table])).scalar_one()


def _png_size(db: Database, relative: str) -> tuple[int, int]:
    with Image.open(db.file_path(relative)) as image:
        return image.size


def _write_votes(path: Path, rows: list[dict], columns: list[str] | None = None) -> Path:
    columns = columns or list(rows[0])
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def _simulate(ratings: dict[str, float], count: int, seed: int) -> list[dict]:
    """Votes drawn from the Bradley-Terry model: P(i beats j) = 1 / (1 + 10^((Rj - Ri) / 400)); no ties."""
    rng = np.random.default_rng(seed)
    models = list(ratings)
    votes = []
    for n in range(count):
        i, j = rng.choice(len(models), size=2, replace=False)
        a, b = models[i], models[j]
        p_a = 1.0 / (1.0 + 10 ** ((ratings[b] - ratings[a]) / 400.0))
        votes.append(
            {
                "vote_id": f"sim-{n:05d}",
                "item_id": f"item-{n % 25}",
                "model_a": a,
                "model_b": b,
                "winner": "a" if rng.random() < p_a else "b",
                "rater": f"rater-{n % 40}",
                "round": "simulated",
                "task": "super-resolution",
            }
        )
    return votes


def _arena_votes(db: Database, round_name: str, rater: str, count: int) -> None:
    """Votes cast the way the Arena tab casts them: draw a battle, vote after the minimum viewing time."""
    policy = ArenaPolicy()
    for n in range(count):
        battle = draw_battle(db, rater, "10.0.0.1", policy, round_name=round_name)
        cast_vote(db, battle.id, rater, ("a", "b", "tie")[n % 3], policy, ip="10.0.0.1", now=battle.shown_at + 5)


def _leaderboard(env: dict[str, str], *args: str) -> list[dict]:
    result = studio("leaderboard", "--format", "json", *args, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _prepare(env: dict[str, str], folder: Path, *args: str):
    return studio("ratings", "prepare", "--images", str(folder), *args, env=env)


# ---- prepare ---------------------------------------------------------------------------------
def test_prepare_stores_a_round_of_degraded_inputs_with_every_output_and_metric(env, images, open_stores):
    args = ("-m", "bicubic-x2", "-m", "lanczos-x2", "--degrade", "x2", "--metrics", "psnr_y,sharpness")
    result = _prepare(env, images, *args, "--name", "study-1")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert [line.split(":")[0] for line in lines[:3]] == ["a.png", "b.png", "c.png"]  # notes.txt is not an image
    assert all("24x20, 2/2 outputs" in line for line in lines[:3])
    assert lines[-1].startswith("round 'study-1': 3 items, 6 outputs, 0 failures (task super-resolution, recipe x2")

    db = open_stores(env)
    round_ = find_round(db, "study-1")
    assert (round_["task"], round_["recipe"]) == ("super-resolution", "x2,seed=0")
    assert round_["models"] == ["bicubic-x2", "lanczos-x2"]
    items = _rows(db, "items", round_id=round_["id"])
    assert sorted(item.name for item in items) == ["a.png", "b.png", "c.png"]
    for item in items:
        assert not item.placeholder and item.task == "super-resolution"
        assert _png_size(db, item.input_path) == (24, 20)  # raters see the degraded image
        outputs = _rows(db, "outputs", item_id=item.id)
        assert sorted(o.model_id for o in outputs) == ["bicubic-x2", "lanczos-x2"]
        for output in outputs:
            assert _png_size(db, output.path) == (48, 40)
            metrics = json.loads(output.metrics)
            assert set(metrics) == {"psnr_y", "sharpness"} and 10 < metrics["psnr_y"] < 60  # scored vs the original

    rerun = _prepare(env, images, "-m", "lanczos-x2", "-m", "bicubic-x2", "--degrade", "x2", "--name", "study-1")
    assert rerun.returncode == 0, rerun.stderr
    assert "exists with these settings: adding to it" in rerun.stdout
    assert (_count(db, "items"), _count(db, "outputs")) == (3, 6)  # the same content is stored once


def test_prepare_without_degrade_stores_the_images_themselves_under_a_default_name(env, images, open_stores):
    result = _prepare(env, images, "-m", "bicubic-x2", "-m", "unsharp-mask", "--metrics", "sharpness")
    assert result.returncode == 0, result.stderr
    name = f"photos-{date.today().isoformat()}"
    assert f"round '{name}': 3 items, 6 outputs, 0 failures (task -" in result.stdout  # two tasks: none assumed
    db = open_stores(env)
    round_ = find_round(db, name)
    assert round_["task"] is None and round_["recipe"] is None
    for item in _rows(db, "items", round_id=round_["id"]):
        with Image.open(images / item.name) as original, Image.open(db.file_path(item.input_path)) as stored:
            assert np.array_equal(np.asarray(stored.convert("RGB")), np.asarray(original.convert("RGB")))
        sizes = {o.model_id: _png_size(db, o.path) for o in _rows(db, "outputs", item_id=item.id)}
        assert sizes == {"bicubic-x2": (96, 80), "unsharp-mask": (48, 40)}


def test_prepare_reports_a_failed_model_per_image_and_stores_the_rest(env, images, open_stores):
    """fsrcnn-x2's weights are not downloaded and the run is offline: it fails on every image, the others run."""
    result = _prepare(env, images, "-m", "bicubic-x2", "-m", "lanczos-x2", "-m", "fsrcnn-x2", "--name", "partial")
    assert result.returncode == 1
    errors = [line for line in stderr_lines(result) if line.startswith("error:")]
    assert [line.split(": ")[1:3] for line in errors] == [[name, "fsrcnn-x2"] for name in ("a.png", "b.png", "c.png")]
    assert "round 'partial': 3 items, 6 outputs, 3 failures" in result.stdout
    db = open_stores(env)
    assert sorted({o.model_id for o in _rows(db, "outputs")}) == ["bicubic-x2", "lanczos-x2"]


def test_prepare_refuses_to_change_an_existing_rounds_settings(env, images, open_stores):
    assert _prepare(env, images, "-m", "bicubic-x2", "-m", "lanczos-x2", "--name", "r").returncode == 0
    result = _prepare(env, images, "-m", "bicubic-x2", "-m", "unsharp-mask", "--name", "r")
    assert result.returncode == 2
    assert stderr_lines(result) == [
        "error: round 'r' already exists with task super-resolution; models bicubic-x2, lanczos-x2: "
        "choose another --name"
    ]
    assert _count(open_stores(env), "outputs") == 6  # nothing ran, nothing added


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-m", "bicubic-x2"], "a rating round needs at least 2 different models"),
        (["-m", "bicubic-x2", "-m", "bicubic-x2"], "a rating round needs at least 2 different models"),
        (["-m", "bicubic-x2", "-m", "no-such-model"], "no-such-model"),
        (["-m", "bicubic-x2", "-m", "lanczos-x2", "--degrade", "x5"], "degradation scale must be"),
        (["-m", "bicubic-x2", "-m", "lanczos-x2", "--name", " "], "--name must not be empty"),
        (["-m", "bicubic-x2", "-m", "lanczos-x2", "--preview", "3"], "preview must be between"),
        (["-m", "bicubic-x2", "-m", "lanczos-x2", "{missing}"], "no such folder"),
        (["-m", "bicubic-x2", "-m", "lanczos-x2", "{empty}"], "no images in"),
        (["-m", "bicubic-x2", "-m", "lanczos-x2", "{corrupt}"], "z-broken.png: not a supported image"),
    ],
)
def test_prepare_refuses_bad_input_with_one_line_and_stores_nothing(env, images, tmp_path, open_stores, args, message):
    folder = images
    if args[-1] == "{missing}":
        folder, args = tmp_path / "nowhere", args[:-1]
    elif args[-1] == "{empty}":
        folder, args = tmp_path / "empty", args[:-1]
        folder.mkdir()
    elif args[-1] == "{corrupt}":
        args = args[:-1]
        (images / "z-broken.png").write_bytes(b"\x89PNG not really")
    result = _prepare(env, folder, *args)
    assert result.returncode == 2
    lines = stderr_lines(result)
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], lines
    db = open_stores(env)
    assert (_count(db, "rounds"), _count(db, "items"), _count(db, "outputs")) == (0, 0, 0)


# ---- export / import -------------------------------------------------------------------------
def test_export_import_round_trip_keeps_every_vote_and_field(env, tmp_path, images, open_stores):
    machine_a, machine_b = _env(tmp_path, env, "a"), _env(tmp_path, env, "b")
    assert _prepare(machine_a, images, "-m", "bicubic-x2", "-m", "lanczos-x2", "--name", "r1").returncode == 0
    db_a = open_stores(machine_a)
    _arena_votes(db_a, "r1", "rater-1", 4)
    exported = studio("ratings", "export", env=machine_a)
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout.splitlines()[0] == EXPORT_HEADER and len(exported.stdout.splitlines()) == 5

    votes_csv = tmp_path / "votes.csv"
    written = studio("ratings", "export", "-o", str(votes_csv), env=machine_a)
    assert written.stdout.strip() == f"exported 4 votes to {votes_csv}"
    assert votes_csv.read_text(encoding="utf-8") == exported.stdout
    imported = studio("ratings", "import", str(votes_csv), env=machine_b)
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.strip() == "added 4 votes, 0 already present"
    assert re.fullmatch(r"note: \d+ item id\(s\) in votes.csv are not in this store: .*", imported.stderr.strip())

    columns = ["vote_id", "item_id", "model_a", "model_b", "winner", "rater", "round", "task", "flags"]
    a_votes, b_votes = votes_frame(db_a), votes_frame(open_stores(machine_b))
    assert a_votes[columns].to_dict("records") == b_votes[columns].to_dict("records")
    assert np.allclose(a_votes[["shown_at", "voted_at"]], b_votes[["shown_at", "voted_at"]])
    assert set(a_votes["round"]) == {"r1"} and set(a_votes["task"]) == {"super-resolution"}


def test_export_json_round_trips_and_the_format_follows_the_suffix(env, tmp_path, open_stores):
    machine_a, machine_b = _env(tmp_path, env, "a"), _env(tmp_path, env, "b")
    source = _write_votes(tmp_path / "in.csv", _simulate(TRUE_RATINGS, 30, seed=1))
    assert studio("ratings", "import", str(source), env=machine_a).returncode == 0
    printed = studio("ratings", "export", "--format", "json", env=machine_a)
    records = json.loads(printed.stdout)
    assert len(records) == 30 and set(records[0]) == set(EXPORT_HEADER.split(","))

    votes_json = tmp_path / "votes.json"
    assert studio("ratings", "export", "-o", str(votes_json), env=machine_a).returncode == 0  # json by suffix
    assert json.loads(votes_json.read_text(encoding="utf-8")) == records
    assert (
        studio("ratings", "import", str(votes_json), env=machine_b).stdout.strip()
        == "added 30 votes, 0 already present"
    )
    assert votes_frame(open_stores(machine_b))["vote_id"].tolist() == [r["vote_id"] for r in records]

    clash = studio("ratings", "export", "--format", "csv", "-o", str(tmp_path / "x.json"), env=machine_a)
    assert clash.returncode == 2 and stderr_lines(clash) == [
        "error: --format csv does not match x.json: `ratings import` reads a file by its suffix"
    ]
    assert not (tmp_path / "x.json").exists()


@pytest.mark.parametrize("with_ids", [True, False], ids=["vote_ids", "no_vote_ids"])
def test_importing_the_same_file_twice_adds_nothing(env, tmp_path, open_stores, with_ids):
    """With vote ids (an export) or without (ids derived from each row's content), the second import adds nothing."""
    votes = _simulate(TRUE_RATINGS, 50, seed=2)
    columns = list(votes[0]) if with_ids else [c for c in votes[0] if c != "vote_id"]
    source = _write_votes(tmp_path / "votes.csv", votes, columns)
    assert studio("ratings", "import", str(source), env=env).stdout.strip() == "added 50 votes, 0 already present"
    again = studio("ratings", "import", str(source), env=env)
    assert again.returncode == 0 and again.stdout.strip() == "added 0 votes, 50 already present"
    assert again.stderr == ""  # its unknown items were noted the first time
    assert len(votes_frame(open_stores(env))) == 50


def test_exports_from_two_data_dirs_merge_without_duplicates(env, tmp_path, images, open_stores):
    """Two machines ran the same round; a third merges their exports (in any order, any number of times)."""
    machines = {name: _env(tmp_path, env, name) for name in ("a", "b", "merged")}
    files = {}
    for name, fmt in (("a", "csv"), ("b", "json")):
        assert _prepare(machines[name], images, "-m", "bicubic-x2", "-m", "lanczos-x2", "--name", "r1").returncode == 0
        _arena_votes(open_stores(machines[name]), "r1", f"rater-{name}", 5)
        files[name] = tmp_path / f"{name}.{fmt}"
        assert studio("ratings", "export", "-o", str(files[name]), env=machines[name]).returncode == 0

    merged = machines["merged"]
    assert studio("ratings", "import", str(files["a"]), env=merged).stdout.strip() == "added 5 votes, 0 already present"
    assert studio("ratings", "import", str(files["b"]), env=merged).stdout.strip() == "added 5 votes, 0 already present"
    assert studio("ratings", "import", str(files["a"]), env=merged).stdout.strip() == "added 0 votes, 5 already present"
    # Machine a takes b's votes, then its export (now all ten) merges into the merged store without duplicates.
    assert studio("ratings", "import", str(files["b"]), env=machines["a"]).stdout.strip() == (
        "added 5 votes, 0 already present"
    )
    both = tmp_path / "both.csv"
    assert studio("ratings", "export", "-o", str(both), env=machines["a"]).returncode == 0
    assert studio("ratings", "import", str(both), env=merged).stdout.strip() == "added 0 votes, 10 already present"
    votes = votes_frame(open_stores(merged))
    assert len(votes) == 10 and votes["vote_id"].is_unique and set(votes["rater"]) == {"rater-a", "rater-b"}
    board = _leaderboard(merged)
    assert sum(row["battles"] for row in board) == 20


def test_a_minimal_four_column_csv_creates_placeholder_items(env, tmp_path, open_stores):
    source = tmp_path / "minimal.csv"
    source.write_text(
        "item_id,model_a,model_b,winner\n"
        "photo-1,bicubic-x2,lanczos-x2,b\n"
        "photo-1,bicubic-x2,lanczos-x2,b\n"  # a second rater agreeing: a second vote, not a duplicate
        "photo-1,bicubic-x2,lanczos-x2,b\n"
        "photo-2,lanczos-x2,bicubic-x2,tie\n"
        "photo-2,bicubic-x2,lanczos-x2,a\n",
        encoding="utf-8",
    )
    result = studio("ratings", "import", str(source), env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "added 5 votes, 0 already present"
    assert studio("ratings", "import", str(source), env=env).stdout.strip() == "added 0 votes, 5 already present"
    db = open_stores(env)
    items = {item.id: item for item in _rows(db, "items")}
    assert set(items) == {"photo-1", "photo-2"}
    assert all(item.placeholder and item.input_path is None for item in items.values())
    board = {row["model"]: row for row in _leaderboard(env)}
    assert (board["lanczos-x2"]["wins"], board["lanczos-x2"]["ties"], board["lanczos-x2"]["losses"]) == (3, 1, 1)
    assert board["lanczos-x2"]["rating"] > board["bicubic-x2"]["rating"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "item_id,model_a,model_b,winner\nx,m1,m2,a\nx,m1,m2,left\n",
            "votes.csv line 3: winner must be one of a, b, tie, both_bad, not 'left'",
        ),
        ("item_id,model_a,model_b\nx,m1,m2\n", "votes.csv: missing column(s) winner"),
        ("item_id,winner\nx,a\n", "votes.csv: missing column(s) model_a, model_b"),
        ("item_id,model_a,model_b,winner\nx,m1,m2,a\nx,m1,,b\n", "votes.csv line 3: model_b is empty"),
        ("item_id,model_a,model_b,winner\nx,m1,m2,a\nx,m1,m1,b\n", "model_a and model_b are the same model"),
        (
            "item_id,model_a,model_b,winner,voted_at\nx,m1,m2,a,1\nx,m1,m2,b,yesterday\n",
            "voted_at must be seconds since the epoch",
        ),
        ("", "votes.csv: cannot read votes"),
    ],
)
def test_a_bad_vote_file_is_refused_with_one_line_and_nothing_stored(env, tmp_path, open_stores, content, message):
    source = tmp_path / "votes.csv"
    source.write_text(content, encoding="utf-8")
    result = studio("ratings", "import", str(source), env=env)
    assert result.returncode == 2
    lines = stderr_lines(result)
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], lines
    db = open_stores(env)
    assert (_count(db, "votes"), _count(db, "items")) == (0, 0)


@pytest.mark.parametrize(("target", "message"), [("nothing.csv", "no such file"), (".", "got a folder")])
def test_import_of_a_missing_file_or_a_folder_is_one_line(env, tmp_path, target, message):
    result = studio("ratings", "import", str(tmp_path / target), env=env)
    assert result.returncode == 2 and len(stderr_lines(result)) == 1 and message in result.stderr


# ---- leaderboard -----------------------------------------------------------------------------
def test_the_leaderboard_recovers_known_strengths_from_simulated_votes(env, tmp_path):
    """1500 votes drawn from known Bradley-Terry ratings: the order comes back and each true rating lies in its
    interval (or within a few points of it: 5 intervals at 95 % may miss once)."""
    votes = tmp_path / "simulated.csv"
    _write_votes(votes, _simulate(TRUE_RATINGS, 1500, seed=11))
    imported = studio("ratings", "import", str(votes), env=env)
    assert imported.stdout.strip() == "added 1500 votes, 0 already present", imported.stderr

    board = _leaderboard(env)
    assert [row["model"] for row in board] == list(TRUE_RATINGS)  # best first, as simulated
    assert all(set(row) >= LEADERBOARD_KEYS for row in board)
    assert sum(row["battles"] for row in board) == 3000 and all(row["ties"] == 0 for row in board)
    assert all(row["wins"] + row["losses"] == row["battles"] for row in board)
    assert abs(sum(row["rating"] for row in board) / len(board) - 1000) < 0.5
    for row in board:
        truth = TRUE_RATINGS[row["model"]]
        assert row["ci_low"] < row["rating"] < row["ci_high"] and row["ci_high"] - row["ci_low"] < 120, row
        assert row["ci_low"] - 10 <= truth <= row["ci_high"] + 10, (row, truth)
        assert abs(row["rating"] - truth) < 50, (row, truth)


def test_the_leaderboard_filters_by_task_and_round(env, tmp_path):
    rows = [
        {"vote_id": f"v{n}", "item_id": "x", "model_a": "m1", "model_b": "m2", "winner": "a", "round": "r1",
         "task": "super-resolution"}
        for n in range(6)
    ] + [
        {"vote_id": f"w{n}", "item_id": "y", "model_a": "m1", "model_b": "m2", "winner": "b", "round": "r2",
         "task": "denoise"}
        for n in range(4)
    ]  # fmt: skip
    assert studio("ratings", "import", str(_write_votes(tmp_path / "v.csv", rows)), env=env).returncode == 0

    everything = {row["model"]: row for row in _leaderboard(env)}
    assert (everything["m1"]["battles"], everything["m1"]["wins"]) == (10, 6)
    first = _leaderboard(env, "--round", "r1")
    assert [(r["model"], r["battles"], r["wins"]) for r in first] == [("m1", 6, 6), ("m2", 6, 0)]
    denoise = _leaderboard(env, "--task", "denoise")
    assert [(r["model"], r["battles"], r["wins"]) for r in denoise] == [("m2", 4, 4), ("m1", 4, 0)]
    assert _leaderboard(env, "--task", "denoise", "--round", "r2") == denoise

    none = studio("leaderboard", "--task", "denoise", "--round", "r1", env=env)
    assert none.returncode == 0
    assert none.stdout.strip() == "no counted votes for task 'denoise' and round 'r1' (10 votes in all)"


def test_the_leaderboard_leaves_flagged_votes_out_and_says_so(env, tmp_path):
    rows = [{"vote_id": f"v{n}", "item_id": "x", "model_a": "m1", "model_b": "m2", "winner": "a", "flags": ""}
            for n in range(3)]  # fmt: skip
    rows += [{"vote_id": f"f{n}", "item_id": "x", "model_a": "m1", "model_b": "m2", "winner": "b",
              "flags": "too_fast"} for n in range(5)]  # fmt: skip
    assert studio("ratings", "import", str(_write_votes(tmp_path / "v.csv", rows)), env=env).returncode == 0
    board = {row["model"]: row for row in _leaderboard(env)}
    assert (board["m1"]["battles"], board["m1"]["wins"]) == (3, 3)
    table = studio("leaderboard", env=env)
    assert table.stdout.strip().splitlines()[-1] == (
        "3 votes, 2 models; 95% intervals from 200 bootstrap resamples; 5 flagged votes left out"
    )
    exported = studio("ratings", "export", env=env).stdout
    assert exported.count("too_fast") == 5  # kept and exported, only left out of the ratings


def test_the_leaderboard_formats(env, tmp_path):
    rows = [
        {"item_id": "x", "model_a": "m1", "model_b": "m2", "winner": w, "rater": f"r{n}"}
        for n, w in enumerate(["a", "a", "a", "b", "tie", "both_bad"])
    ]
    assert studio("ratings", "import", str(_write_votes(tmp_path / "v.csv", rows)), env=env).returncode == 0

    table = studio("leaderboard", "--bootstrap", "50", env=env)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["rank", "model", "rating", "95%", "CI", "battles", "wins", "ties", "losses"]
    assert lines[2].split()[:2] == ["1", "m1"] and lines[2].split()[-4:] == ["6", "3", "2", "1"]
    assert lines[-1] == "6 votes, 2 models; 95% intervals from 50 bootstrap resamples"

    markdown = studio("leaderboard", "--format", "md", env=env).stdout.splitlines()
    assert markdown[0] == "| rank | model | rating | 95% CI | battles | wins | ties | losses |"
    assert markdown[1] == "|---|---|---|---|---|---|---|---|" and markdown[2].startswith("| 1 | m1 | ")

    frame = list(csv.DictReader(io.StringIO(studio("leaderboard", "--format", "csv", env=env).stdout)))
    assert list(frame[0]) == ["model", "rating", "ci_low", "ci_high", "battles", "wins", "ties", "losses"]
    assert [(r["model"], r["wins"], r["ties"], r["losses"]) for r in frame] == [
        ("m1", "3", "2", "1"),
        ("m2", "1", "2", "3"),
    ]

    board = _leaderboard(env)
    assert [row["model"] for row in board] == ["m1", "m2"] and board[0]["rating"] == float(frame[0]["rating"])


@pytest.mark.parametrize(
    ("fmt", "stdout"),
    [
        ("table", NO_VOTES),
        ("md", NO_VOTES),
        ("json", "[]"),
        ("csv", "model,rating,ci_low,ci_high,battles,wins,ties,losses"),
    ],
)
def test_the_leaderboard_with_no_votes_says_so_and_exits_0(env, fmt, stdout):
    result = studio("leaderboard", "--format", fmt, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == stdout
    if fmt in ("json", "csv"):  # the document stays parseable; the message goes to stderr
        assert stderr_lines(result) == [NO_VOTES]


@pytest.mark.parametrize("bootstrap", ["0", "20000"])
def test_a_bootstrap_out_of_range_is_one_line(env, bootstrap):
    result = studio("leaderboard", "--bootstrap", bootstrap, env=env)
    assert result.returncode == 2
    assert stderr_lines(result) == [f"error: --bootstrap must be between 1 and 10000, got {bootstrap}"]
