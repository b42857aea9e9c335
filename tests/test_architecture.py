"""The package's import rules, checked over the source (README, "Architecture").

1. Layers: a module imports only from its own layer or the layers below it
   (core < models < metrics < engine-level packages < services < front ends).
2. Heavy dependencies live in their home modules only.
3. Heavy dependencies are imported lazily: the modules a command line or the
   engine imports load none of them.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from tests.environment import clean_env
from tests.paths import REPO_ROOT

PACKAGE = REPO_ROOT / "studio"

# Lower numbers sit lower. Packages on the same level must not import each other.
LAYERS = {
    "core": 0,
    "models": 1,
    "metrics": 2,
    "engine": 3,
    "video": 4,  # a frame is an image: video runs models through the engine's request and enhance step
    "ratings": 3,
    "batch": 4,  # runs every cell through the engine's request and compare step, like video
    "report": 5,  # reads a batch RUN_DIR with the batch's own journal and statistics
    "training": 4,  # trains our networks, then judges them through the engine's compare step
    "services": 5,
    "loadtest": 5,  # a client of a running server (its public API, /proc, its ratings database): never ui/ or service/
    "demo": 6,  # the examples, presets and their stored results: runs the engine, writes reports; cli and ui use it
    "cli": 7,
    "ui": 7,
    "service": 7,  # the web server around the app (/healthz, /readyz, /metrics): a front end, never imports ui
    "__main__": 8,
    "__init__": 8,
}

# Where each heavy dependency may be imported (path prefixes under studio/).
HOMES = {
    "gradio": ("ui/",),
    "torch": (
        "models/backends/torch.py",
        "models/backends/devices.py",
        "models/archs/",
        "models/convert/",
        "metrics/lpips.py",
        "training/",
    ),
    "torchvision": ("metrics/lpips.py", "training/losses.py"),
    "spandrel": ("models/backends/torch.py", "models/archs/", "models/convert/"),
    "safetensors": ("models/backends/torch.py", "models/convert/", "training/export.py"),
    "ncnn": ("models/backends/ncnn.py",),
    "onnxruntime": ("models/backends/onnx.py", "models/convert/quantize.py"),  # quantize: int8 (static quantization)
    "onnx": ("models/convert/",),
    "huggingface_hub": ("models/weights/",),
    "av": ("video/io.py",),
    "sqlalchemy": ("ratings/store", "ratings/schema.py"),
    "alembic": ("ratings/",),
    "ray": ("batch/ray_runner.py",),
    "prometheus_client": ("service/metrics.py",),
    "fastapi": ("service/",),
    "starlette": ("service/",),
    "uvicorn": ("service/server.py",),
    "spaces": ("ui/zerogpu.py",),  # ZeroGPU's decorator; imported before torch initialises CUDA (through ui/)
    "gradio_client": ("ui/", "loadtest/workload.py", "loadtest/outcomes.py"),
    "httpx": ("loadtest/",),
}
# Modules that may import their heavy dependency at the top: each is itself only imported lazily
# (service/ only by app.py, inside main()).
EAGER_HOMES = ("ui/", "models/archs/", "service/")


def modules(root: Path = PACKAGE) -> list[Path]:
    return sorted(root.rglob("*.py"))


def layer_of(path: Path, root: Path = PACKAGE) -> str:
    relative = path.relative_to(root)
    return relative.parts[0].removesuffix(".py") if len(relative.parts) > 1 else relative.stem


def imports(path: Path) -> list[tuple[str, int, bool]]:
    """(imported module, line, at top level) for every import in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno, id(node) in top) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "studio":
                found += [(f"studio.{alias.name}", node.lineno, id(node) in top) for alias in node.names]
            else:
                found.append((node.module, node.lineno, id(node) in top))
        elif isinstance(node, ast.ImportFrom) and node.level > 0:
            found.append(("<relative>", node.lineno, id(node) in top))
    return found


def test_every_package_has_a_layer():
    unknown = {layer_of(path) for path in modules()} - set(LAYERS)
    assert not unknown, f"give these packages a layer in LAYERS: {sorted(unknown)}"


def layer_violations(root: Path = PACKAGE) -> list[str]:
    problems = []
    for path in modules(root):
        source = layer_of(path, root)
        for name, line, _ in imports(path):
            where = f"studio/{path.relative_to(root).as_posix()}:{line}"
            if name == "<relative>":
                problems.append(f"{where} uses a relative import (write studio.<layer>...)")
                continue
            if not name.startswith("studio.") and name != "studio":
                continue
            target = name.split(".")[1] if "." in name else "__init__"
            if target == source:
                continue
            if LAYERS.get(target, 99) >= LAYERS[source]:
                problems.append(f"{where} ({source}) imports {name} ({target}): imports must point downward")
    return problems


def test_imports_point_downward_only():
    assert layer_violations() == []


def test_core_imports_nothing_else_from_studio():
    for path in (PACKAGE / "core").rglob("*.py"):
        for name, line, _ in imports(path):
            assert not name.startswith("studio.") or name.startswith("studio.core"), f"{path.name}:{line} {name}"


def home_violations(root: Path = PACKAGE) -> list[str]:
    problems = []
    for path in modules(root):
        relative = path.relative_to(root).as_posix()
        for name, line, at_top in imports(path):
            dependency = name.split(".")[0]
            if dependency not in HOMES:
                continue
            if not relative.startswith(HOMES[dependency]):
                homes = ", ".join(HOMES[dependency])
                problems.append(f"studio/{relative}:{line} imports {dependency}, whose home is {homes}")
            elif at_top and not relative.startswith(EAGER_HOMES):
                problems.append(f"studio/{relative}:{line} imports {dependency} at the top: import it where it is used")
    return problems


def test_heavy_dependencies_stay_in_their_homes_and_load_lazily():
    assert home_violations() == []


def test_the_checks_catch_violations(tmp_path):
    """The rules really fail: plant an upward import, a misplaced torch and an eager onnxruntime, see each reported."""
    root = tmp_path / "studio"
    (root / "core").mkdir(parents=True)
    (root / "models" / "backends").mkdir(parents=True)
    (root / "core" / "planted.py").write_text("import torch\nfrom studio.engine import compare\n")
    (root / "models" / "backends" / "onnx.py").write_text("import onnxruntime\n")
    layers, homes = layer_violations(root), home_violations(root)
    assert layers == ["studio/core/planted.py:2 (core) imports studio.engine (engine): imports must point downward"]
    assert any(p.startswith("studio/core/planted.py:1 imports torch, whose home is") for p in homes)
    assert "studio/models/backends/onnx.py:1 imports onnxruntime at the top: import it where it is used" in homes


@pytest.mark.parametrize(
    "module",
    [
        "studio.cli.main",
        "studio.engine.compare",
        "studio.engine.export",
        "studio.models.loader",
        "studio.services",
        "studio.video.pipeline",
    ],
)
def test_importing_the_engine_loads_no_heavy_runtime(module):
    heavy = sorted(HOMES)
    script = f"import sys, {module}; loaded = [m for m in {heavy!r} if m in sys.modules]; print(','.join(loaded))"
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO_ROOT, env=clean_env(), capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"{module} loads {result.stdout.strip()} at import"
