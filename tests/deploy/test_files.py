"""deploy/: the nginx site, the systemd unit, the Dockerfile and env.example checked as the tools read them
(nginx -t, systemd-analyze verify, the CLI's own parser, Settings.from_env), where those tools are here."""

from __future__ import annotations

import ast
import configparser
import re
import shlex
import shutil
import subprocess
import sys

import pytest

from studio.core.config import Settings
from tests.deploy.nginx import SITE, Nginx, find_nginx
from tests.paths import REPO_ROOT

DEPLOY = REPO_ROOT / "deploy"
UNIT = DEPLOY / "studio@.service"
DOCKERFILE = DEPLOY / "Dockerfile"
ENV_EXAMPLE = DEPLOY / "env.example"
READ_BY_LIBRARIES = {"GRADIO_ANALYTICS_ENABLED"}  # read by Gradio itself, not by studio/core/config.py


def env_example() -> dict[str, str]:
    """env.example's active settings (commented ones left out), as systemd's EnvironmentFile reads them."""
    lines = ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
    return dict(line.split("=", 1) for line in lines if line.strip() and not line.lstrip().startswith("#"))


@pytest.mark.slow  # a subprocess
@pytest.mark.skipif(find_nginx() is None, reason="no nginx: install Debian's nginx package (.ci/run does)")
def test_the_nginx_site_passes_nginx_t_as_rendered_for_the_tests(tmp_path):
    Nginx(find_nginx(), tmp_path, [7861, 7862]).check()


def test_nginx_takes_bodies_as_large_as_the_app_takes_uploads_and_its_framing():
    tree = ast.parse((REPO_ROOT / "studio" / "ui" / "app.py").read_text(encoding="utf-8"))
    [app_limit] = [
        node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "MAX_FILE_SIZE"
    ]
    app_mib = int(re.fullmatch(r"(\d+)mb", app_limit)[1])  # Gradio's "mb" is MiB, as nginx's "m" is
    [nginx_mib] = re.findall(r"^\s*client_max_body_size (\d+)m;", SITE.read_text(encoding="utf-8"), re.MULTILINE)
    assert int(nginx_mib) == app_mib + 1


def unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    parser.optionxform = str  # systemd's keys are case-sensitive
    parser.read_string(UNIT.read_text(encoding="utf-8"))
    return parser


def test_the_unit_starts_one_replica_per_port_with_the_shared_environment():
    service = unit()["Service"]
    assert service["Environment"] == "PORT=%i" and service["EnvironmentFile"] == "/etc/enhance-studio/env"
    assert service["Restart"] == "on-failure" and service["KillSignal"] == "SIGTERM"
    assert shlex.split(service["ExecStart"])[1:] == ["app.py"]
    assert "PORT" not in env_example()  # the file would win over the unit's PORT=%i


@pytest.mark.slow  # a subprocess
@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
def test_systemd_analyze_verifies_an_instance_of_the_unit(tmp_path):
    ours = UNIT.read_text(encoding="utf-8").replace("/opt/enhance-studio/venv/bin/python", sys.executable)
    (tmp_path / UNIT.name).write_text(ours, encoding="utf-8")
    (tmp_path / "studio@7861.service").symlink_to(UNIT.name)
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(tmp_path / "studio@7861.service")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr


def dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments) pairs, continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    rows = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(row.split(None, 1)[0].upper(), row.split(None, 1)[1]) for row in rows]


def test_the_dockerfile_runs_the_app_as_a_user_with_the_cli_commands_that_exist():
    from studio.cli.main import build_parser

    steps = dockerfile()
    assert steps[0] == ("FROM", "python:3.11-slim")
    assert ("RUN", "pip install -r requirements.txt") in steps
    users = [argument for instruction, argument in steps if instruction == "USER"]
    assert users and users[-1] not in ("root", "0")
    runs = " ".join(a for i, a in steps if i == "RUN")
    commands = [c.strip() for c in re.findall(r"python -m studio ([^&|()]+)", runs)]
    assert commands == ["fetch --backend ncnn", "demo build"]
    for command in commands:
        build_parser().parse_args(command.split())  # exits (SystemExit) on a command the CLI does not have
    env = dict(re.findall(r"(\w+)=(\S+)", " ".join(a for i, a in steps if i == "ENV")))
    assert ("EXPOSE", env["PORT"]) in steps and env["GRADIO_SERVER_NAME"] == "0.0.0.0"
    settings = Settings.from_env(env)
    assert settings.server_name == "0.0.0.0" and str(settings.data_dir).startswith("/data/")
    [health] = [a for i, a in steps if i == "HEALTHCHECK"]
    assert "/healthz" in health
    assert steps[-1] == ("CMD", '["python", "app.py"]')


def test_env_example_names_only_variables_the_app_reads_and_its_values_are_valid():
    config = (REPO_ROOT / "studio" / "core" / "config.py").read_text(encoding="utf-8")
    named = re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", ENV_EXAMPLE.read_text(encoding="utf-8"), re.MULTILINE)
    unknown = [name for name in named if f'"{name}"' not in config and name not in READ_BY_LIBRARIES]
    assert not unknown, f"env.example names variables nothing reads: {unknown}"
    env = env_example()
    settings = Settings.from_env(env)  # each value as the app parses it: a malformed one raises here
    assert settings.db_url and settings.db_url.startswith("postgresql")
    assert settings.trusted_proxies == ("127.0.0.1",)
    assert {"STUDIO_DATA_DIR", "STUDIO_WEIGHTS_DIR", "HF_HOME"} <= env.keys()


@pytest.mark.parametrize(
    ("env", "address"),
    [
        ({}, "127.0.0.1"),
        ({"SPACE_ID": "user/space"}, "0.0.0.0"),
        ({"GRADIO_SERVER_NAME": "0.0.0.0"}, "0.0.0.0"),
        ({"GRADIO_SERVER_NAME": " 10.0.0.5 ", "SPACE_ID": "user/space"}, "10.0.0.5"),
    ],
)
def test_gradio_server_name_sets_the_address_the_app_binds(env, address):
    assert Settings.from_env(env).server_name == address
