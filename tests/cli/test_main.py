"""The root command: dispatch, the one Services, flag choices from the vocabulary, and errors and exit codes."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from studio.cli import catalogue
from studio.cli.main import main
from studio.core.vocabulary import FORMS, OUTPUT_FORMATS, PRECISIONS, TASKS
from studio.services import Services
from tests.cli.helpers import hub_entry, save_image, stderr_lines, studio, write_registry
from tests.paths import REPO_ROOT

CLI_SOURCES = sorted((REPO_ROOT / "studio" / "cli").glob("*.py"))


@pytest.fixture
def photo_file(tmp_path, photo) -> Path:
    return save_image(tmp_path / "astronaut.jpg", photo[:200, :240], quality=92)


# ---- dispatch and shared objects -------------------------------------------------------------
def test_the_command_gets_the_one_services_built_from_the_flags(monkeypatch, tmp_path):
    seen: list[Services] = []
    monkeypatch.setattr(catalogue, "cmd_models", lambda args, services: seen.append(services) or 0)
    user = write_registry(tmp_path / "user.yaml", hub_entry())
    assert main(["--registry", str(user), "models"]) == 0
    (services,) = seen
    assert isinstance(services, Services) and services.settings.registry_files[-1] == user.resolve()
    assert services.registry.get("acme-net").source.hf.repo_id == "acme/sr-net"


def test_commands_never_build_their_own_long_lived_objects():
    """Registry, loader and weight store come from Services, built once in main."""
    for path in CLI_SOURCES:
        text = path.read_text(encoding="utf-8")
        for constructor in ("Loader(", "WeightStore(", "load_registry(", "Settings.from_env("):
            assert constructor not in text or (path.name, constructor) == ("main.py", "Settings.from_env("), path


def test_flag_choices_are_never_written_as_literals():
    """Every `choices=` in the CLI is a name (from the vocabulary or a renderer table), never a literal list."""
    found = 0
    for path in CLI_SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            for keyword in getattr(node, "keywords", []) if isinstance(node, ast.Call) else []:
                if keyword.arg == "choices":
                    found += 1
                    assert not isinstance(keyword.value, (ast.Tuple, ast.List, ast.Set)), f"{path.name}:{node.lineno}"
    assert found >= 6


@pytest.mark.parametrize(
    ("args", "choices"),
    [
        (["compare", "{photo}", "-m", "clahe", "--backend", "nope"], FORMS),
        (["enhance", "{photo}", "-m", "clahe", "-o", "{out}", "--precision", "nope"], PRECISIONS),
        (["enhance", "{photo}", "-m", "clahe", "-o", "{out}", "--format", "nope"], OUTPUT_FORMATS),
        (["models", "--task", "nope"], TASKS),
    ],
)
def test_bad_choices_exit_2_and_list_the_vocabulary(env, photo_file, tmp_path, args, choices):
    result = studio(*[a.format(photo=photo_file, out=tmp_path / "o") for a in args], env=env)
    assert result.returncode == 2
    assert "invalid choice: 'nope'" in stderr_lines(result)[-1]
    assert all(f"'{word}'" in result.stderr for word in choices)


def test_reference_and_degrade_together_exit_2(env, photo_file):
    result = studio(
        "compare", str(photo_file), "-m", "clahe", "--degrade", "x2", "--reference", str(photo_file), env=env
    )
    assert result.returncode == 2
    assert stderr_lines(result)[-1].endswith("argument --reference: not allowed with argument --degrade")


# ---- errors ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["enhance", "{photo}", "-m", "lanczos-4x", "-o", "{out}"], "did you mean 'lanczos-x4'"),
        (["enhance", "{photo}", "-m", "clahe", "--set", "clahe.clip_limit=99", "-o", "{out}"], "outside"),
        (["enhance", "{photo}", "-m", "clahe", "--set", "clahe-clip", "-o", "{out}"], "ID.PARAM=VALUE"),
        (["enhance", "{missing}", "-m", "clahe", "-o", "{out}"], "no such file"),
        (["enhance", "{truncated}", "-m", "clahe", "-o", "{out}"], "truncated or corrupt"),
        (["fetch", "nope"], "unknown model 'nope'"),
        (["compare", "{photo}", "-m", "clahe", "--reference", "{missing}"], "no such file"),
        (["compare", "{photo}", "-m", "clahe", "--preview", "5"], "preview must be between"),
        (["compare", "{photo}", "-m", "clahe", "--set", "lanczos-x4.x=1"], "not among the chosen models"),
        (["export-onnx", "nope", "-o", "{out}"], "unknown model 'nope'"),
        (["bench", "-m", "nope"], "unknown model 'nope'"),
    ],
)
def test_input_errors_are_one_line_and_exit_2(env, photo_file, tmp_path, args, message):
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(photo_file.read_bytes()[:2000])
    names = {"photo": photo_file, "out": tmp_path / "o", "missing": tmp_path / "missing.png", "truncated": truncated}
    result = studio(*[a.format(**names) for a in args], env=env)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]


def test_bad_user_registry_is_one_line(env, tmp_path):
    bad = tmp_path / "user.yaml"
    bad.write_text("models:\n  - id: x\n    colour: red\n")
    result = studio("--registry", str(bad), "models", env=env)
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error: user.yaml: model 'x': field")
    assert len(stderr_lines(result)) == 1


def test_compare_rejects_a_bad_recipe_and_a_bad_metric(env, photo_file):
    bad_recipe = studio("compare", str(photo_file), "--degrade", "x5", "-m", "clahe", env=env)
    assert bad_recipe.returncode == 2 and "scale must be" in bad_recipe.stderr
    bad_metric = studio("compare", str(photo_file), "--metrics", "vmaf", "-m", "clahe", env=env)
    assert bad_metric.returncode == 2 and "unknown metric 'vmaf'" in bad_metric.stderr
    assert len(stderr_lines(bad_recipe)) == len(stderr_lines(bad_metric)) == 1


def test_debug_shows_the_traceback(env, tmp_path):
    result = studio("--debug", "enhance", str(tmp_path / "missing.png"), "-m", "clahe", "-o", str(tmp_path), env=env)
    assert "Traceback" in result.stderr and "studio.core.errors.MediaError" in result.stderr
    assert result.returncode == 2  # the traceback is extra; the exit code stays the one the README promises
    assert stderr_lines(result)[-1] == f"error: no such file: {tmp_path / 'missing.png'}"


def test_an_unexpected_error_is_one_line_with_a_hint(monkeypatch, capsys):
    def broken(args, services) -> int:
        raise ValueError("a bug of ours")

    monkeypatch.setattr(catalogue, "cmd_models", broken)
    assert main(["models"]) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line == "error: unexpected ValueError: a bug of ours (run with --debug for details)"
    assert main(["--debug", "models"]) == 1
    debug = capsys.readouterr().err
    assert "Traceback" in debug and debug.splitlines()[-1].startswith("error: unexpected ValueError: a bug of ours")


def test_an_interrupt_exits_130_with_one_line(monkeypatch, capsys):
    def interrupted(args, services) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(catalogue, "cmd_models", interrupted)
    assert main(["models"]) == 130
    assert capsys.readouterr().err == "error: interrupted\n"


def test_a_model_error_inside_a_command_keeps_its_exit_code(monkeypatch, capsys):
    """StudioError subclasses carry their own exit code (here a weights error: 1) through main."""
    from studio.core.errors import WeightsNotAvailableError

    def missing(args, services) -> int:
        raise WeightsNotAvailableError("weights for 'm' are not here")

    monkeypatch.setattr(catalogue, "cmd_models", missing)
    assert main(["models"]) == 1
    assert capsys.readouterr().err == "error: weights for 'm' are not here\n"


def test_main_runs_without_arguments_to_a_usage_error(env):
    result = studio(env=env)
    assert result.returncode == 2 and "the following arguments are required: COMMAND" in result.stderr
