"""The Docker deployment: docker-compose.yml, Dockerfile, .dockerignore, .env.example, Caddyfile.

Docker itself does not run here, so these tests read the files the way Docker, Compose and
Caddy would and check that they agree with each other and with atqb (its CLI and settings).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from service.settings import ENV_PREFIX, Settings

REPO = Path(__file__).resolve().parents[1]
ASSIGNMENT = re.compile(r"^(?P<comment>#\s*)?(?P<name>[A-Z][A-Z0-9_]*)=(?P<value>.*)$")
INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)")


def compose() -> dict[str, Any]:
    data = yaml.safe_load((REPO / "docker-compose.yml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def services() -> dict[str, dict[str, Any]]:
    found = compose()["services"]
    assert isinstance(found, dict)
    return found


def atqb_services() -> dict[str, dict[str, Any]]:
    """The services that run the atqb image (built from this repository)."""
    return {name: svc for name, svc in services().items() if "build" in svc}


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = (REPO / "Dockerfile").read_text(encoding="utf-8")
    logical = re.sub(r"\\\n", " ", text)
    pairs = []
    for line in logical.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            instruction, _, rest = line.partition(" ")
            pairs.append((instruction.upper(), rest.strip()))
    return pairs


def instruction(name: str) -> list[str]:
    return [rest for inst, rest in dockerfile() if inst == name]


def env_example() -> list[tuple[str, str, bool]]:
    """(name, value, commented out) for every assignment in .env.example."""
    found = []
    for line in (REPO / ".env.example").read_text(encoding="utf-8").splitlines():
        match = ASSIGNMENT.match(line)
        if match:
            found.append((match["name"], match["value"], match["comment"] is not None))
    return found


def settings_variables() -> dict[str, Any]:
    """Environment variable name -> default, for every field of Settings."""
    return {
        ENV_PREFIX + name.upper(): field.default for name, field in Settings.model_fields.items()
    }


def compose_variables() -> set[str]:
    return set(INTERPOLATION.findall((REPO / "docker-compose.yml").read_text(encoding="utf-8")))


def parse_cli(argv: list[str]) -> None:
    from service.cli import build_parser

    try:
        build_parser().parse_args(argv)
    except SystemExit as exc:
        pytest.fail(f"`atqb {shlex.join(argv)}` does not parse (exit {exc.code})")


# --- docker-compose.yml ---------------------------------------------------------------------


def test_compose_names_the_services_of_a_deployment() -> None:
    assert {"postgres", "migrate", "service", "poller", "proxy"} <= set(services())
    assert set(atqb_services()) == {"migrate", "service", "poller"}


def test_postgres_keeps_its_data_in_a_named_volume_and_reports_health() -> None:
    postgres = services()["postgres"]
    assert postgres["image"] == "postgres:15"
    volume = next(v.split(":")[0] for v in postgres["volumes"] if v.endswith("/data"))
    assert volume in compose()["volumes"], "the data volume must be a named volume"
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])


def test_services_start_in_order_migration_first() -> None:
    svcs = services()
    assert svcs["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert svcs["migrate"]["restart"] == "no", "a one-shot migration must not restart"
    for name in ("service", "poller"):
        condition = svcs[name]["depends_on"]["migrate"]["condition"]
        assert condition == "service_completed_successfully", name


def test_each_atqb_service_runs_the_documented_command() -> None:
    svcs = atqb_services()
    assert svcs["migrate"]["command"] == ["db", "upgrade"]
    assert svcs["service"]["command"] == ["serve", "--host", "0.0.0.0", "--port", "8080"]
    assert svcs["poller"]["command"] == ["poll"]


@pytest.mark.parametrize("name", ["migrate", "service", "poller"])
def test_compose_commands_parse_with_the_atqb_cli(name: str) -> None:
    parse_cli(atqb_services()[name]["command"])


def test_dockerfile_default_command_parses_with_the_atqb_cli() -> None:
    (cmd,) = instruction("CMD")
    parse_cli(json.loads(cmd))


def documented_commands() -> list[list[str]]:
    """The `atqb ...` and `docker compose run ... service ...` commands the deployment docs show:
    code blocks of qwc/README.md and comments of docker-compose.yml."""
    lines = []
    fenced = False
    for line in (REPO / "qwc" / "README.md").read_text(encoding="utf-8").splitlines():
        if line.strip().startswith("```"):
            fenced = not fenced
        elif fenced:
            lines.append(line.strip())
    for line in (REPO / "docker-compose.yml").read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("#"):
            lines.append(line.strip().lstrip("#").strip())
    found = []
    for line in lines:
        command = line.split(" > ")[0]
        if command.startswith("atqb "):
            found.append(shlex.split(command)[1:])
        elif command.startswith("docker compose run "):
            words = shlex.split(command)
            found.append(words[words.index("service") + 1 :])
    return found


def test_documented_commands_parse_with_the_atqb_cli() -> None:
    commands = documented_commands()
    assert any(argv[:1] == ["qwc"] for argv in commands)
    assert any(argv[:2] == ["users", "add"] for argv in commands)
    for argv in commands:
        parse_cli(argv)


def test_atqb_services_read_their_settings_from_dot_env() -> None:
    for name, svc in atqb_services().items():
        assert svc["env_file"] == ".env", name


def test_database_url_points_at_the_postgres_service_with_psycopg3() -> None:
    postgres = services()["postgres"]["environment"]
    values = {name: value for name, value, _ in env_example()}
    url = values["ATQB_DATABASE_URL"]
    match = re.fullmatch(r"postgresql\+psycopg://([^:@/]+):([^@/]*)@([^/:]+)/(\w+)", url)
    assert match, url
    user, password, host, database = match.groups()
    assert host == "postgres"
    assert user == postgres["POSTGRES_USER"]
    assert database == postgres["POSTGRES_DB"]
    assert password == values["POSTGRES_PASSWORD"], "the two passwords must be the same"


def test_service_listens_where_the_proxy_and_healthcheck_look() -> None:
    service = services()["service"]
    command = service["command"]
    assert command[command.index("--host") + 1] == "0.0.0.0", "the proxy is another container"
    port = command[command.index("--port") + 1]
    assert f"127.0.0.1:{port}/healthz" in " ".join(service["healthcheck"]["test"])


def test_service_believes_the_forwarded_client_address_only_from_inside_the_network() -> None:
    service = services()["service"]
    trusted = service["environment"]["ATQB_TRUSTED_PROXY"]
    Settings(trusted_proxy=trusted)  # accepted by atqb
    if trusted == "*":
        assert "ports" not in service, "with * anyone reaching a published port picks its address"


# --- deploy/Caddyfile and the proxy -----------------------------------------------------------


def test_caddyfile_proxies_to_the_service_port() -> None:
    caddyfile = (REPO / "deploy" / "Caddyfile").read_text(encoding="utf-8")
    upstreams = re.findall(r"^\s*reverse_proxy\s+(?:http://)?(\S+)\s*$", caddyfile, re.MULTILINE)
    command = services()["service"]["command"]
    assert upstreams == [f"service:{command[command.index('--port') + 1]}"]
    # The site address comes from the environment, so one Caddyfile serves every install.
    assert re.search(r"^\{\$PUBLIC_HOST\}\s*\{", caddyfile, re.MULTILINE)


def test_proxy_serves_https_with_the_caddyfile() -> None:
    proxy = services()["proxy"]
    assert proxy["image"].startswith("caddy:2")
    assert "./deploy/Caddyfile:/etc/caddy/Caddyfile:ro" in proxy["volumes"]
    assert "443:443" in proxy["ports"]
    assert "PUBLIC_HOST" in proxy["environment"]
    # Certificates survive a container being recreated.
    assert any(v.split(":")[0] in compose()["volumes"] for v in proxy["volumes"] if "/data" in v)


# --- Dockerfile and .dockerignore -----------------------------------------------------------


def test_dockerfile_builds_on_python_3_11_slim_and_installs_the_package() -> None:
    assert instruction("FROM") == ["python:3.11-slim"]
    assert any(
        re.search(r"\bpip install -c constraints\.txt \.(\s|$)", run) for run in instruction("RUN")
    ), "the image installs atqb with the versions CI tested (constraints.txt)"


def constraints() -> dict[str, str]:
    """constraints.txt as {normalised project name: pinned version}."""
    pins: dict[str, str] = {}
    for raw in (REPO / "constraints.txt").read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            name, sep, version = line.partition("==")
            assert sep, f"constraints.txt: {raw!r} is not an exact pin (name==version)"
            pins[canonicalize_name(name)] = version
    return pins


def test_the_suite_and_the_image_install_the_same_pinned_versions() -> None:
    test_script = (REPO / "scripts" / "test").read_text(encoding="utf-8")
    assert "pip install --quiet -c constraints.txt -e '.[dev]'" in test_script
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    project = pyproject["project"]
    pins = constraints()
    for spec in [*project["dependencies"], *project["optional-dependencies"]["dev"]]:
        requirement = Requirement(spec)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"constraints.txt pins no version of {requirement.name}"
        assert requirement.specifier.contains(pins[name]), (
            f"constraints.txt pins {requirement.name}=={pins[name]}, outside pyproject's "
            f"{requirement.specifier}"
        )


def test_dockerfile_runs_as_a_non_root_user() -> None:
    users = instruction("USER")
    assert users, "the image must switch to an unprivileged user"
    assert users[-1].split(":")[0] not in ("root", "0")


def test_dockerfile_entrypoint_is_the_console_script() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    scripts = pyproject["project"]["scripts"]
    (entrypoint,) = instruction("ENTRYPOINT")
    assert json.loads(entrypoint) == list(scripts), "ENTRYPOINT must be the one console script"


def dockerignore_excludes(path: str) -> bool:
    """Whether .dockerignore keeps `path` out of the build context (last matching rule wins)."""
    excluded = False
    for raw in (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines():
        rule = raw.strip()
        if not rule or rule.startswith("#"):
            continue
        negated = rule.startswith("!")
        pattern = rule.lstrip("!").strip("/")
        regex = re.escape(pattern).replace(r"\*\*/", "(?:.*/)?").replace(r"\*", "[^/]*")
        regex = regex.replace(r"\?", "[^/]").replace(r"\[", "[").replace(r"\]", "]")
        parts = path.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        if any(re.fullmatch(regex, prefix) for prefix in prefixes):
            excluded = not negated
    return excluded


def test_build_context_has_what_the_dockerfile_copies_and_nothing_secret() -> None:
    for copy in instruction("COPY"):
        *sources, _ = copy.split()
        for source in sources:
            assert (REPO / source).exists(), f"COPY {source}: no such file in the repository"
            assert not dockerignore_excludes(source), f"COPY {source} is excluded by .dockerignore"
    for path in ("service/webconnector/qwc_file.py", "migrations/env.py"):
        assert not dockerignore_excludes(path), path
    for path in (".env", ".venv/bin/python", "atqb.db", ".git/config", "tests/test_qwc.py"):
        assert dockerignore_excludes(path), path
    assert dockerignore_excludes("service/webconnector/__pycache__/qwc_file.cpython-311.pyc")


# --- .env.example ---------------------------------------------------------------------------


def test_env_example_names_every_setting_and_nothing_unknown() -> None:
    names = [name for name, _, _ in env_example()]
    assert len(names) == len(set(names)), "a variable is listed twice"
    known = set(settings_variables()) | compose_variables()
    assert set(settings_variables()) <= set(names), "settings missing from .env.example"
    assert set(names) <= known, "variables neither atqb nor docker-compose.yml reads"
    assert compose_variables() <= set(names), "docker-compose.yml needs these from .env"


def shown(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return str(getattr(value, "value", value))


def test_env_example_shows_each_default() -> None:
    defaults = settings_variables()
    for name, value, commented in env_example():
        if commented and defaults.get(name) is not None:
            assert value == shown(defaults[name]), name


def load_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lines: list[str]) -> Settings:
    for name in list(os.environ):
        if name.startswith(ENV_PREFIX):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    env = tmp_path / "example.env"
    env.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return Settings(_env_file=env)  # type: ignore[call-arg]


def test_env_example_as_copied_is_accepted_by_atqb(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    active = [f"{name}={value}" for name, value, commented in env_example() if not commented]
    settings = load_env(tmp_path, monkeypatch, active)
    assert settings.database_url.startswith("postgresql+psycopg://atqb:")


def test_every_example_value_is_accepted_by_atqb(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    every = [f"{name}={value}" for name, value, _ in env_example() if value]
    settings = load_env(tmp_path, monkeypatch, every)
    assert settings.autotask_username == "api-user@example.com"
    assert settings.max_body_bytes == 64 * 1024 * 1024


@pytest.mark.parametrize(
    "database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_env_example_serves_a_plain_install_as_the_docs_say(
    database: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """docs/install-linux.md (plain) and docs/install-windows.md: copy .env.example to the
    working directory as .env, point ATQB_DATABASE_URL at PostgreSQL on this machine (or delete
    it for SQLite), set ATQB_TRUSTED_PROXY=127.0.0.1; the real program then reads it."""
    if database == "postgres":
        url: str = request.getfixturevalue("postgres_database_url")
        replacement = [f"ATQB_DATABASE_URL={url}"]
    else:
        replacement = []
    lines = []
    for line in (REPO / ".env.example").read_text(encoding="utf-8").splitlines():
        if line.startswith("ATQB_DATABASE_URL="):
            lines += replacement
        elif line == "# ATQB_TRUSTED_PROXY=127.0.0.1":
            lines.append("ATQB_TRUSTED_PROXY=127.0.0.1")
        else:
            lines.append(line)
    assert "ATQB_TRUSTED_PROXY=127.0.0.1" in lines
    (tmp_path / ".env").write_text("\n".join(lines) + "\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIX)}
    for command, expected in (
        ("db upgrade", "database is at the newest schema"),
        ("users list", "no Web Connector users"),
    ):
        done = subprocess.run(
            [sys.executable, "-m", "service", *command.split()],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        assert expected in done.stdout
    assert (tmp_path / "atqb.db").exists() == (database == "sqlite")


def test_proxy_starts_once_the_service_is_healthy() -> None:
    proxy = services()["proxy"]
    assert proxy["depends_on"]["service"]["condition"] == "service_healthy"
    assert "healthcheck" in services()["service"]


def test_caddy_keeps_metrics_off_the_internet() -> None:
    caddyfile = (REPO / "deploy" / "Caddyfile").read_text(encoding="utf-8")
    directives = [
        line.strip() for line in caddyfile.splitlines() if not line.strip().startswith("#")
    ]
    respond = directives.index("respond /metrics* 404")
    assert respond < directives.index("reverse_proxy service:8080")


# --- deploy/systemd (a plain install, docs/install-linux.md) -------------------------------


def unit(name: str) -> dict[str, dict[str, str]]:
    import configparser

    parser = configparser.ConfigParser(strict=True, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string((REPO / "deploy" / "systemd" / name).read_text(encoding="utf-8"))
    return {section: dict(parser[section]) for section in parser.sections()}


@pytest.mark.parametrize(
    ("name", "command"),
    [("atqb-serve.service", ["serve"]), ("atqb-poll.service", ["poll"])],
)
def test_systemd_units_run_atqb_as_its_own_user(name: str, command: list[str]) -> None:
    found = unit(name)
    service = found["Service"]
    program, *argv = shlex.split(service["ExecStart"])
    assert program == "/opt/atqb/venv/bin/atqb"
    assert argv[: len(command)] == command
    parse_cli(argv)
    assert service["User"] == "atqb"
    assert service["Group"] == "atqb"
    # atqb reads .env from its working directory; the service may write only there.
    assert service["WorkingDirectory"] == "/var/lib/atqb"
    assert service["ReadWritePaths"] == service["WorkingDirectory"]
    assert service["ProtectSystem"] == "strict"
    assert service["Restart"] == "on-failure"
    assert found["Install"]["WantedBy"] == "multi-user.target"


def test_systemd_serve_listens_on_loopback_only() -> None:
    argv = shlex.split(unit("atqb-serve.service")["Service"]["ExecStart"])
    assert argv[argv.index("--host") + 1] == "127.0.0.1", "the TLS proxy is the way in"


def test_the_image_works_in_the_directory_the_units_use() -> None:
    workdirs = instruction("WORKDIR")
    assert workdirs[-1] == "/var/lib/atqb"
    assert any("--home-dir /var/lib/atqb" in run for run in instruction("RUN"))


def test_pre_commit_runs_the_lint_steps_of_ci() -> None:
    config = yaml.safe_load((REPO / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    (repo,) = config["repos"]
    entries = [hook["entry"] for hook in repo["hooks"]]
    ci_lines = (REPO / "scripts" / "test").read_text(encoding="utf-8").splitlines()
    assert entries == [".venv/bin/ruff check", ".venv/bin/ruff format --check", ".venv/bin/mypy"]
    for entry in entries:
        assert any(line in (entry, f"{entry} .") for line in ci_lines), (
            f"scripts/test (CI) no longer runs {entry}"
        )
