"""`--engine ray` on a real local Ray cluster (2 CPUs, started here): the same tables as local, workers killed mid-run.

Ray is a real dependency: the cluster is started by the `ray_cluster` fixture, the runner's actors
are real worker processes, and the kill is a real SIGKILL of one of them.
"""

from __future__ import annotations

import os
import signal
from functools import partial

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from studio.batch.dataset import ground_truths, load_dataset
from studio.batch.job import BatchJob, runner_for
from studio.batch.ray_runner import RayRunner, pool_shape
from studio.batch.run import run_batch, run_settings
from studio.core.config import Settings
from studio.core.errors import UsageError
from studio.engine.request import CompareRequest
from studio.services import Services
from tests.batch.data import CROPS, make_pairs, not_an_image
from tests.cli.helpers import studio

NETWORK = "realesr-animevideov3-x2"  # a real ncnn network: thread counts differ between engines
MODELS = ("bicubic-x2", "lanczos-x2", NETWORK)
METRICS = "psnr_y,ssim_y,sharpness"
TIMINGS = ["latency_ms", "mp_s", "load_ms"]  # the only columns allowed to differ between engines


@pytest.fixture(scope="module")
def ray_cluster():
    """A local two-CPU Ray cluster for this module; yields its address (what STUDIO_RAY_ADDRESS takes)."""
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="warning")
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


def _request(services: Services, models=MODELS) -> CompareRequest:
    """Full size, fp32 (named: `auto` would pick bf16 on AVX-512 BF16 CPUs), scored against ground truth."""
    return CompareRequest.build(
        services.registry,
        models,
        metrics=METRICS,
        with_reference=True,
        preview=0,
        backend="ncnn",
        precision="fp32",
    )


def _batch(services: Services, engine: str, inputs, truths, run_dir, on_cell=None, models=MODELS):
    dataset = load_dataset(inputs)
    job = BatchJob(_request(services, models), dataset.images, ground_truths(dataset, truths), 16_000_000)
    runner = runner_for(
        engine,
        services.registry,
        services.loader,
        make_services=partial(Services.with_threads, services.settings),
        settings=services.settings,
    )
    if on_cell is not None:
        on_cell.runner = runner
        real_run = runner.run
        runner.run = lambda job, cells, emit: real_run(job, cells, lambda outcome: (emit(outcome), on_cell(outcome)))
    run = run_batch(
        job, dataset.describe(), run_dir, runner, run_settings(job, truths, False), machine=lambda: {"class": "test"}
    )
    return run, runner


def _table(run_dir) -> pd.DataFrame:
    return pd.read_parquet(run_dir / "cells.parquet").drop(columns=TIMINGS)


@pytest.fixture(scope="module")
def services(model_settings) -> Services:
    return Services(model_settings)


def test_pool_shape_shares_the_cpus_between_the_models():
    assert pool_shape(2, 3) == (1, pytest.approx(2 / 3))  # more models than CPUs: fractions of a CPU
    assert pool_shape(8, 2) == (4, 1.0)
    assert pool_shape(32, 10) == (3, 1.0)
    assert pool_shape(1, 1) == (1, 1.0)


def test_ray_gives_the_local_tables(ray_cluster, services, tmp_path):
    """Every column but the timings is identical: metrics, sizes, errors (a broken image, a missing truth), notes."""
    make_pairs(tmp_path / "in", tmp_path / "gt")
    not_an_image(tmp_path / "in" / "broken.png")
    Image.fromarray(np.zeros((32, 48, 3), np.uint8)).save(tmp_path / "in" / "no-truth.png")
    local, _ = _batch(services, "local", tmp_path / "in", tmp_path / "gt", tmp_path / "local")
    ray_run, runner = _batch(services, "ray", tmp_path / "in", tmp_path / "gt", tmp_path / "ray")
    expected = _table(tmp_path / "local")
    assert len(expected) == (len(CROPS) + 2) * len(MODELS)
    assert expected["error"].notna().sum() == 2 * len(MODELS)  # the broken image and the one without truth
    pd.testing.assert_frame_equal(_table(tmp_path / "ray"), expected, check_exact=True)
    assert [r["error"] for r in ray_run.records] == [r["error"] for r in local.records]
    assert runner.cluster["cpus"] == 2 and runner.cluster["nodes"] == 1
    import json

    session = json.loads((tmp_path / "ray" / "run.json").read_text())["sessions"][-1]
    assert session["engine"] == "ray" and session["cluster"]["actors_per_model"] == 1


def test_a_killed_worker_costs_only_its_in_flight_cells_which_are_retried(ray_cluster, services, tmp_path):
    """SIGKILL the network's worker right after its first cell: Ray restarts it, its cells run again, all finish."""
    make_pairs(tmp_path / "in", tmp_path / "gt")
    killed: list[int] = []

    def kill_once(outcome) -> None:
        if killed or outcome.record["model"] != NETWORK:
            return
        (pid,) = kill_once.runner.worker_pids(NETWORK)
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)

    run, runner = _batch(services, "ray", tmp_path / "in", tmp_path / "gt", tmp_path / "ray", on_cell=kill_once)
    assert killed, "the kill never happened"
    assert not run.failed and run.ran == run.total == len(CROPS) * len(MODELS)
    survivors = runner.pids[NETWORK] - set(killed)
    assert survivors, f"no cell of {NETWORK} ran on a restarted worker: {runner.pids[NETWORK]}"
    _batch(services, "local", tmp_path / "in", tmp_path / "gt", tmp_path / "local")
    pd.testing.assert_frame_equal(_table(tmp_path / "ray"), _table(tmp_path / "local"), check_exact=True)


def test_studio_batch_joins_the_cluster_at_studio_ray_address(ray_cluster, model_settings, tmp_path):
    make_pairs(tmp_path / "in", tmp_path / "gt")
    env = {
        "STUDIO_RAY_ADDRESS": ray_cluster,
        "RAY_AUTH_MODE": "token",  # Ray 2.59+ protects a cluster ray.init started with a token (~/.ray/auth_token)
        "STUDIO_WEIGHTS_MIRROR": model_settings.weights_mirror,
        "STUDIO_WEIGHTS_DIR": str(model_settings.weights_dir),
        "HF_HOME": str(tmp_path / "hf"),
        "STUDIO_DATA_DIR": str(tmp_path / "data"),
    }
    result = studio(
        "batch", str(tmp_path / "in"), "--pairs", str(tmp_path / "gt"), "-m", "bicubic-x2", "-m", "lanczos-x2",
        "--metrics", METRICS, "--engine", "ray", "-o", str(tmp_path / "run"), env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert f"{len(CROPS) * 2} cells ({len(CROPS) * 2} run now), 0 failed" in result.stdout
    assert len(pd.read_parquet(tmp_path / "run" / "cells.parquet")) == len(CROPS) * 2


def test_a_cluster_that_wants_a_token_is_one_line_that_says_how(ray_cluster, tmp_path):
    """Ray 2.59+ protects a cluster ray.init started; without RAY_AUTH_MODE=token the client is refused (~20 s)."""
    make_pairs(tmp_path / "in", tmp_path / "gt", names=("chelsea.png",))
    result = studio(
        "batch", str(tmp_path / "in"), "-m", "bicubic-x2", "--engine", "ray", "-o", str(tmp_path / "run"),
        env={"STUDIO_RAY_ADDRESS": ray_cluster},
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"note: joining the Ray cluster at {ray_cluster}",
        f"error: the Ray cluster at {ray_cluster} wants its auth token: set RAY_AUTH_MODE=token and RAY_AUTH_TOKEN "
        "(or RAY_AUTH_TOKEN_PATH; `ray get-auth-token` on the head node prints it)",
    ]
    assert not (tmp_path / "run").exists()


def test_an_unreachable_cluster_is_one_line_before_anything_is_written(tmp_path):
    make_pairs(tmp_path / "in", tmp_path / "gt", names=("chelsea.png",))
    for address, says in (("127.0.0.1:9", "cannot reach the Ray cluster at 127.0.0.1:9"), ("nowhere", "not host:port")):
        result = studio(
            "batch", str(tmp_path / "in"), "-m", "bicubic-x2", "--engine", "ray", "-o", str(tmp_path / "run"),
            env={"STUDIO_RAY_ADDRESS": address},
        )  # fmt: skip
        assert result.returncode == 2
        assert len(result.stderr.strip().splitlines()) == 1 and says in result.stderr
        assert not (tmp_path / "run").exists()


def test_the_runner_refuses_a_bad_address_without_starting_ray():
    runner = RayRunner(partial(Services.with_threads, Settings()), address="[::1]:x")
    with pytest.raises(UsageError, match="not host:port"):
        runner.check_address()
