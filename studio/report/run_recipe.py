"""What a batch RUN_DIR's run.json says about how it ran: the recipe (request, dataset, engine, machine,
versions), each session and its (Ray) cluster, and how far the run got; the report's "Recipe" part and its
state line."""

from __future__ import annotations

from typing import Any

from studio.report.run_data import RunData

CLUSTER_KEYS = (  # run.json's sessions[].cluster (ray_runner), in the order people read them
    ("address", "address"),
    ("nodes", "nodes"),
    ("cpus", "CPUs"),
    ("actors_per_model", "actors per model"),
    ("cpus_per_actor", "CPUs per actor"),
)
NO_END = "did not record its end (still running, or killed)"


def _plain(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def cluster_text(cluster: dict[str, Any]) -> str:
    """'address local, started for this run, 1 nodes, 2 CPUs, ...': what a session recorded of its cluster."""
    named = [f"{name} {_plain(cluster[key])}" for key, name in CLUSTER_KEYS if cluster.get(key) is not None]
    known = {key for key, _ in CLUSTER_KEYS}
    named += [f"{key} {_plain(value)}" for key, value in cluster.items() if key not in known]
    return ", ".join(named)


def session_text(session: dict[str, Any]) -> str:
    """One session: how it ended, the cells it ran, its engine and (Ray) cluster, when it ended."""
    state = session.get("state") or NO_END
    ran, planned = session.get("cells_run"), session.get("cells_to_run")
    if ran is not None and planned is not None:
        cells = f"{ran} of {planned} cells run"
    elif ran is not None:
        cells = f"{ran} cells run"
    else:
        cells = f"{planned if planned is not None else '?'} cells to run"
    parts = [state, cells, f"engine {session.get('engine') or '–'}"]
    if session.get("cluster"):
        parts.append(f"cluster: {cluster_text(session['cluster'])}")
    if session.get("ended"):
        parts.append(f"ended {session['ended']}")
    return "; ".join(parts)


def recipe(data: RunData) -> list[tuple[str, list[tuple[str, Any]]]]:
    """What was asked (request, dataset, ground truth), where it ran (engine, Ray cluster per session), the
    machine (the driver process when Ray ran the cells) and the versions, from run.json."""
    run = data.run
    dataset = run.get("dataset") or {}
    images = dataset.get("images") or []
    source = [("source", dataset.get("source")), ("kind", dataset.get("kind")), ("images", len(images))]
    source += [("ground truth (--pairs)", run.get("pairs")), ("outputs saved", run.get("save_outputs"))]
    machine = dict(run.get("machine") or {})
    runtimes = machine.pop("runtimes", {}) or {}
    tool = run.get("tool") or {}
    versions = [("tool", f"{tool.get('name', '?')} {tool.get('version', '?')}"), *sorted(runtimes.items())]
    recorded = run.get("sessions") or []
    sessions = [(s.get("started", "?"), session_text(s)) for s in recorded]
    engines = list(dict.fromkeys(e for e in [*(s.get("engine") for s in recorded), run.get("engine")] if e))
    where = [("engine", ", ".join(engines) or None)]
    clusters = [s["cluster"] for s in recorded if s.get("cluster")]
    if clusters:
        where.append(("Ray cluster (last session)", cluster_text(clusters[-1])))
    heading = "Machine"
    if "ray" in engines:
        heading = "Machine: the driver process (it read the images and wrote the files; the cells ran on Ray)"
    return [
        ("Recipe", list(run["request"].items())),
        ("Dataset", source),
        ("Engine", where),
        (heading, list(machine.items())),
        ("Versions", versions),
        ("Sessions", sessions),
    ]


def state_line(data: RunData) -> str:
    """'8 of 30 cells, 0 failed · run interrupted (...)': how far the run got and how it (last) ended."""
    cells = data.run.get("cells") or {}
    images = (data.run.get("dataset") or {}).get("images") or data.images
    total = cells.get("total") or len(images) * len(data.models)
    done = len(data.records)  # the journal: the truth, also of a run killed before it rewrote run.json
    failed = sum(1 for record in data.records if record.get("error"))
    state = data.run.get("state") or "?"
    text = f"{done} of {total} cells, {failed} failed · " + (f"run {NO_END}" if state == "running" else f"run {state}")
    sessions = data.run.get("sessions") or []
    if len(sessions) > 1:
        text += f" ({len(sessions)} sessions: {', '.join(s.get('state') or 'no end recorded' for s in sessions)})"
    if done < total and state != "running":
        text += " · `studio batch --resume -o RUN_DIR` runs the cells left"
    return text
