"""The Ray engine: the same cells on a Ray cluster, one pool of actors per model (the home of `ray`).

Each actor builds its own Services (registry and loader) once, from the driver's settings, so
it loads its model once and keeps it for every image it is given. The driver reads each image
once (the dataset need only exist where `studio batch` runs), puts its bytes in Ray's object
store, and hands one cell per task to the least busy actor of the cell's model; results stream
back as they finish and are journalled by the caller, exactly as local cells are. A worker that
dies (killed, out of memory, its node gone) is restarted by Ray and its in-flight cells are
retried on it; only when the retries run out is a cell recorded as failed, and the run goes on.

Workers compute a cell with `local.run_image`, so both engines make identical records apart
from timings. Without STUDIO_RAY_ADDRESS a local cluster is started for the run (STUDIO_RAY_CPUS
CPUs, default all) and stopped after it; with one, the run joins that cluster and leaves it running.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from studio.batch.inputs import ImageInputs, read_inputs
from studio.batch.job import BatchJob, CellOutcome, Emit
from studio.batch.local import failure_text, run_image
from studio.batch.plan import Cell, by_image
from studio.batch.records import failed_record
from studio.core.errors import UsageError, first_line

if TYPE_CHECKING:
    from studio.models.loader import Loader
    from studio.models.registry import Registry

MAX_RESTARTS = 3  # per actor: a worker killed more often than this fails its remaining cells
MAX_TASK_RETRIES = 3  # per cell: retried on the restarted actor after its worker died
IN_FLIGHT_PER_ACTOR = 2  # one running, one queued: the actor never idles, and memory stays bounded


class WorkerServices(Protocol):
    registry: Registry
    loader: Loader


MakeServices = Callable[[int], WorkerServices]  # threads -> the Services a worker uses (picklable)


class CellWorker:
    """A Ray actor's body: one model's registry and loader, built once; computes cells one by one."""

    def __init__(self, make_services: MakeServices, threads: int) -> None:
        services = make_services(threads)
        self.registry, self.loader = services.registry, services.loader

    def pid(self) -> int:
        return os.getpid()

    def run_cell(
        self, job: BatchJob, image: str, model: str, inputs: ImageInputs, keep_output: bool
    ) -> tuple[list[CellOutcome], int]:
        """The cell's outcome (its output image only when the run saves outputs) and this worker's pid."""
        outcomes: list[CellOutcome] = []
        run_image(job, image, [model], self.registry, self.loader, outcomes.append, inputs)
        if not keep_output:
            for outcome in outcomes:
                outcome.output = None
        return outcomes, os.getpid()


@dataclass
class _Pool:
    """A model's actors and how many cells each has in flight."""

    actors: list[Any]
    busy: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.busy = [0] * len(self.actors)

    def least_busy(self) -> int:
        return min(range(len(self.actors)), key=self.busy.__getitem__)

    @property
    def full(self) -> bool:
        return min(self.busy) >= IN_FLIGHT_PER_ACTOR


def pool_shape(cpus: float, models: int) -> tuple[int, float]:
    """(actors per model, CPUs per actor): the cluster's CPUs shared evenly by the models' pools.

    Every model gets at least one actor; when there are more models than CPUs, actors get a
    fraction of a CPU each (they then share cores, as the local engine's models do).
    """
    actors = max(1, int(cpus // max(1, models)))
    return actors, min(1.0, cpus / (models * actors)) if cpus > 0 else 1.0


class RayRunner:
    """Runs cells on a Ray cluster; `cluster` says where (for run.json), `pids` which workers ran each model."""

    name = "ray"

    def __init__(
        self,
        make_services: MakeServices,
        address: str | None = None,
        cpus: int | None = None,
        keep_outputs: bool = False,
    ) -> None:
        self.make_services, self.address, self.cpus, self.keep_outputs = make_services, address, cpus, keep_outputs
        self.pools: dict[str, _Pool] = {}
        self.pids: dict[str, set[int]] = {}  # model -> the worker processes that returned its cells
        self.cluster: dict[str, Any] = {}
        self._started = False  # this runner started the cluster it uses (and stops it after the run)

    def check_address(self) -> None:
        """Refuse an unreachable STUDIO_RAY_ADDRESS in seconds (no address: a local cluster, nothing to check)."""
        if self.address:
            _check_reachable(self.address)

    def prepare(self) -> None:
        """Join STUDIO_RAY_ADDRESS or start a local cluster now, before the run folder is written."""
        ray = _ray()
        if not ray.is_initialized():
            self._connect(ray)
            self._started = True
        self._describe(ray)

    def run(self, job: BatchJob, cells: Sequence[Cell], emit: Emit) -> None:
        ray = _ray()
        try:
            if not cells:
                return
            if not ray.is_initialized() or not self.cluster:
                self.prepare()
            self._start_pools(ray, [cell.model for cell in cells])
            self._stream(ray, job, cells, emit)
        finally:
            for pool in self.pools.values():
                for actor in pool.actors:
                    ray.kill(actor)
            self.pools.clear()
            if self._started:  # a cluster this run started ends with it; a joined one keeps running
                ray.shutdown()
                self._started = False

    def _connect(self, ray: Any) -> None:
        options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "logging_level": "warning"}
        with _stderr_to_file() as log:
            try:
                if self.address:
                    ray.init(address=self.address, **options)
                else:
                    ray.init(num_cpus=self.cpus, **options)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise UsageError(self._failed_to_start(exc, log.read_text(errors="replace"))) from None

    def _describe(self, ray: Any) -> None:
        resources = ray.cluster_resources()
        self.cluster = {
            "address": self.address or ("local, started for this run" if self._started else "joined before the run"),
            "nodes": len([node for node in ray.nodes() if node.get("Alive")]),
            "cpus": resources.get("CPU", 0.0),
        }

    def _failed_to_start(self, exc: BaseException, log: str) -> str:
        where = f"the Ray cluster at {self.address}" if self.address else "a local Ray cluster"
        if "InvalidAuthToken" in log:
            return (
                f"{where} wants its auth token: set RAY_AUTH_MODE=token and RAY_AUTH_TOKEN "
                "(or RAY_AUTH_TOKEN_PATH; `ray get-auth-token` on the head node prints it)"
            )
        return f"cannot start or join {where}: {first_line(exc)}"

    def _start_pools(self, ray: Any, models: list[str]) -> None:
        unique = list(dict.fromkeys(models))
        actors_per_model, cpus_per_actor = pool_shape(self.cluster["cpus"], len(unique))
        remote = ray.remote(max_restarts=MAX_RESTARTS, max_task_retries=MAX_TASK_RETRIES)(CellWorker)
        threads = max(1, int(cpus_per_actor))
        self.cluster.update(actors_per_model=actors_per_model, cpus_per_actor=round(cpus_per_actor, 3))
        for model in unique:
            actors = [
                remote.options(num_cpus=cpus_per_actor).remote(self.make_services, threads)
                for _ in range(actors_per_model)
            ]
            self.pools[model] = _Pool(actors)

    def _stream(self, ray: Any, job: BatchJob, cells: Sequence[Cell], emit: Emit) -> None:
        """Submit image by image while the pools have room; emit every result the moment it is back."""
        in_flight: dict[Any, tuple[Cell, int]] = {}  # task ref -> (cell, actor index in its pool)

        def collect(block: bool) -> None:
            """Emit the finished tasks: at least one when `block`, else whatever is done already."""
            refs = list(in_flight)
            ready, _ = ray.wait(refs, num_returns=1 if block else len(refs), timeout=None if block else 0)
            for ref in ready:
                cell, index = in_flight.pop(ref)
                self.pools[cell.model].busy[index] -= 1
                self._emit_result(ray, job, cell, ref, emit)

        for image, models in by_image(cells):
            try:
                inputs = ray.put(read_inputs(job, image))
            except Exception as exc:  # the driver could not read it: its cells fail here, as locally
                for model in models:
                    emit(CellOutcome(failed_record(image, model, failure_text(exc), job.request.metric_ids)))
                continue
            for model in models:
                pool = self.pools[model]
                while pool.full:
                    collect(block=True)
                index = pool.least_busy()
                ref = pool.actors[index].run_cell.remote(job, image, model, inputs, self.keep_outputs)
                pool.busy[index] += 1
                in_flight[ref] = (Cell(image, model), index)
            del inputs  # the object store frees the bytes once the image's tasks are done
            if in_flight:
                collect(block=False)
        while in_flight:
            collect(block=True)

    def _emit_result(self, ray: Any, job: BatchJob, cell: Cell, ref: Any, emit: Emit) -> None:
        from ray.exceptions import RayError

        try:
            outcomes, pid = ray.get(ref)
        except RayError as exc:  # the worker died more often than Ray retries: this cell fails, the run goes on
            error = f"Ray worker lost after {MAX_TASK_RETRIES} retries: {failure_text(exc)}"
            emit(CellOutcome(failed_record(cell.image, cell.model, error, job.request.metric_ids)))
            return
        self.pids.setdefault(cell.model, set()).add(pid)
        for outcome in outcomes:
            emit(outcome)

    def worker_pids(self, model: str) -> list[int]:
        """The live pids of a model's actors (tests kill one mid-run)."""
        ray = _ray()
        return ray.get([actor.pid.remote() for actor in self.pools[model].actors])


@contextmanager
def _stderr_to_file() -> Iterator[Path]:
    """Ray's C++ client logs a line a second to fd 2 while it retries: keep them for the error, not the user."""
    import sys
    import tempfile

    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryDirectory(prefix="studio-ray-") as folder:
        log = Path(folder) / "ray-init.log"
        with log.open("wb") as handle:
            os.dup2(handle.fileno(), 2)
            try:
                yield log
            finally:
                sys.stderr.flush()
                os.dup2(saved, 2)
                os.close(saved)


def _check_reachable(address: str, timeout_s: float = 5.0) -> None:
    """Refuse an address nobody answers at in seconds: Ray itself waits minutes for a missing head node."""
    import socket

    if address == "auto":
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise UsageError(f"STUDIO_RAY_ADDRESS={address!r} is not host:port, ray://host:port or auto")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s).close()
    except OSError as exc:
        raise UsageError(
            f"cannot reach the Ray cluster at {address} ({exc.strerror or exc}): start it with `ray start --head` "
            "or unset STUDIO_RAY_ADDRESS to run on a local one"
        ) from None


def _ray() -> Any:
    try:
        import ray
    except ImportError:  # pragma: no cover - ray is in requirements.txt
        raise UsageError("--engine ray needs the ray package: pip install ray") from None
    return ray
