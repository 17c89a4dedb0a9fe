"""Static checks of the deployment files: compose, Dockerfile, .env.example, Dagster config."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import click
import pytest
import yaml

from wog_cli import main

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
ENV_EXAMPLE = (ROOT / ".env.example").read_text()
BIN = Path(sys.executable).parent


def test_compose_has_every_role() -> None:
    assert set(COMPOSE["services"]) == {"postgres", "migrate", "code", "webserver", "daemon", "bot"}
    for name, service in COMPOSE["services"].items():
        assert service.get("restart") in ("unless-stopped", "no"), name
    assert "pgdata" in COMPOSE["volumes"]
    assert COMPOSE["services"]["postgres"]["healthcheck"]["test"][0] == "CMD-SHELL"


@pytest.mark.parametrize("service", ["migrate", "code", "webserver", "daemon", "bot"])
def test_every_command_names_an_entry_point_that_exists(service: str) -> None:
    command = COMPOSE["services"][service]["command"]
    program = command[0]
    assert (BIN / program).exists(), f"{service}: {program} is not installed"
    if program == "wog":
        ctx = click.Context(main)
        cmd: click.Command = main
        for word in command[1:]:
            if word.startswith("-") or not isinstance(cmd, click.Group):
                break
            sub = cmd.get_command(ctx, word)
            assert sub is not None, f"{service}: 'wog {word}' does not exist"
            cmd = sub
    if "-m" in command:
        module = command[command.index("-m") + 1]
        __import__(module)


def test_services_start_in_order() -> None:
    services = COMPOSE["services"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("code", "webserver", "daemon", "bot"):
        assert (
            services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        )
    for name in ("webserver", "daemon"):
        assert services[name]["depends_on"]["code"]["condition"] == "service_healthy"


def test_every_compose_variable_is_documented_in_env_example() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    used = set(re.findall(r"(?<!\$)\$\{([A-Z0-9_]+)", text))
    assert used, "the compose file uses variables"
    documented = set(re.findall(r"^#?\s*([A-Z0-9_]+)=", ENV_EXAMPLE, re.MULTILINE))
    assert used <= documented, used - documented


def test_every_setting_the_code_reads_is_documented() -> None:
    names: set[str] = set()
    for folder in ("wog_assets", "wog_bot", "dbschema"):
        for path in (ROOT / folder).rglob("*.py"):
            names |= set(re.findall(r"\b((?:WOG|DISCORD|TWITCH)_[A-Z0-9_]+)\b", path.read_text()))
    names -= {"WOG_TEST_DATABASE_URL", "TWITCH_PURPLE"}  # a test-only setting; a colour constant
    documented = set(re.findall(r"^#?\s*([A-Z0-9_]+)=", ENV_EXAMPLE, re.MULTILINE))
    assert names <= documented, sorted(names - documented)


def test_env_example_holds_no_secrets() -> None:
    values = dict(re.findall(r"^([A-Z0-9_]+)=(.*)$", ENV_EXAMPLE, re.MULTILINE))
    for secret in ("DISCORD_TOKEN", "TWITCH_CLIENT_SECRET", "WOG_DISCORD_WEBHOOK_URL"):
        assert values[secret] == "", secret


def test_dagster_yaml_is_a_valid_postgres_instance_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dagster._core.instance.config import dagster_instance_config

    (tmp_path / "dagster.yaml").write_text((ROOT / "dagster.yaml").read_text())
    monkeypatch.setenv("DAGSTER_POSTGRES_URL", "postgresql://u:p@db:5432/dagster")
    config, _ = dagster_instance_config(str(tmp_path))
    assert "postgres" in config["storage"]
    assert config["run_coordinator"]["class"] == "QueuedRunCoordinator"
    assert config["concurrency"]["pools"]["default_limit"] == 1
    assert config["nux"] == {"enabled": False}  # the UI greets a maintainer with no dialog


def test_workspace_points_at_the_code_server() -> None:
    workspace = yaml.safe_load((ROOT / "workspace.yaml").read_text())
    (location,) = workspace["load_from"]
    grpc = location["grpc_server"]
    assert grpc["host"] == {"env": "DAGSTER_CODE_HOST"} and grpc["port"] == {
        "env": "DAGSTER_CODE_PORT"
    }
    env = COMPOSE["services"]["webserver"]["environment"]
    assert env["DAGSTER_CODE_HOST"] == "code"
    code_command = COMPOSE["services"]["code"]["command"]
    assert code_command[code_command.index("-p") + 1] == env["DAGSTER_CODE_PORT"]
    for service in ("webserver", "daemon"):
        command = COMPOSE["services"][service]["command"]
        assert command[command.index("-w") + 1] == "/app/workspace.yaml"


def test_dockerfile_is_multi_stage_non_root_with_a_healthcheck() -> None:
    text = (ROOT / "Dockerfile").read_text()
    stages = re.findall(r"^FROM .+ AS (\w+)$", text, re.MULTILINE)
    assert stages == ["build", "runtime"]
    runtime = text.split("AS runtime", 1)[1]
    assert re.search(r"^USER wog$", runtime, re.MULTILINE)
    assert "HEALTHCHECK" in runtime and '"wog", "healthcheck"' in runtime
    assert "uv" not in re.findall(r"pip install[^\n]*", runtime)
    assert "gcc" not in runtime and "build-essential" not in runtime
    for source in re.findall(r"^COPY (?!--from)(?:--chown=\S+ )?(.+) \S+$", text, re.MULTILINE):
        for item in source.split():
            assert (ROOT / item).exists(), f"Dockerfile copies {item}, which does not exist"
    assert (ROOT / "uv.lock").exists()


def test_secrets_reach_only_the_services_that_use_them() -> None:
    services = COMPOSE["services"]
    for name, service in services.items():
        assert "env_file" not in service, f"{name} would receive every setting of .env"
    secrets = ("DISCORD_TOKEN", "TWITCH_CLIENT_SECRET")
    for secret in secrets:
        holders = [n for n, s in services.items() if secret in (s.get("environment") or {})]
        assert holders == ["bot"], (secret, holders)
    webserver = services["webserver"]["environment"]
    assert not [k for k in webserver if k.startswith(("WOG_DISCORD", "WOG_ADMIN", "TWITCH"))]


def test_the_ui_listens_on_loopback_and_required_settings_are_guarded() -> None:
    (port,) = COMPOSE["services"]["webserver"]["ports"]
    assert port.startswith("${DAGSTER_UI_BIND:-127.0.0.1}:${DAGSTER_UI_PORT:-3000}:")
    text = (ROOT / "docker-compose.yml").read_text()
    assert "${POSTGRES_PASSWORD:?" in text and "${POSTGRES_PASSWORD}" not in text
    for name, service in COMPOSE["services"].items():
        assert service["logging"]["options"]["max-size"], name
        assert service.get("mem_limit"), name


def test_run_containers_get_the_pipeline_settings_and_the_image_builds_their_instance() -> None:
    launcher = yaml.safe_load((ROOT / "deploy" / "docker-run-launcher.yaml").read_text())
    config = launcher["run_launcher"]["config"]
    assert launcher["run_launcher"]["class"] == "DockerRunLauncher"
    pipeline = set(COMPOSE["x-pipeline-env"]) - {"DAGSTER_CODE_HOST", "DAGSTER_CODE_PORT"}
    assert set(config["env_vars"]) == pipeline
    assert not set(yaml.safe_load((ROOT / "dagster.yaml").read_text())) & set(launcher)
    runs = yaml.safe_load((ROOT / "docker-compose.docker-runs.yml").read_text())["services"]
    for name in ("daemon", "webserver"):
        assert runs[name]["environment"]["DAGSTER_HOME"] == "/opt/dagster/docker-runs"
        assert "/var/run/docker.sock:/var/run/docker.sock" in runs[name]["volumes"]
    assert "DAGSTER_CURRENT_IMAGE" in runs["code"]["environment"]
    assert "bot" not in runs  # the bot never gets the Docker socket
    assert "/opt/dagster/docker-runs/dagster.yaml" in (ROOT / "Dockerfile").read_text()
