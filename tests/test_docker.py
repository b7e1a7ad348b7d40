"""The compose stack is wired the way the tests run Yiwang: every Airflow process shares one
configuration, the workers scale out, and the commands it runs exist with those options.
(Images cannot be pulled here, so the stack itself is not started; see docker/README.md.)"""

from __future__ import annotations

from pathlib import Path

import yaml
from typer.testing import CliRunner

from yiwang.cli.main import app

COMPOSE = yaml.safe_load((Path(__file__).parents[1] / "docker" / "compose.yaml").read_text())
AIRFLOW = (
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
)


def test_given_the_compose_file_then_it_runs_the_production_topology():
    services = COMPOSE["services"]
    assert {"postgres", "redis", "simulators", "api", *AIRFLOW} <= set(services)
    assert services["airflow-worker"]["deploy"]["replicas"] >= 2
    envs = [services[s]["environment"] for s in AIRFLOW]
    assert all(e == envs[0] for e in envs)  # one configuration for every Airflow process
    assert envs[0]["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert envs[0]["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://redis:")
    for s in AIRFLOW:  # the departmental connections reach every Airflow process
        assert "/run/yiwang/connections.env" in " ".join(services[s]["entrypoint"])
    assert "yiwang_reader" in services["api"]["command"]
    assert "AIRFLOW__CORE__FERNET_KEY" in envs[0]  # connections stored encrypted
    init = " ".join(services["airflow-init"]["command"])  # the departments' pools loaded once
    assert "yiwang airflow-pools /tmp/pools.json && airflow pools import /tmp/pools.json" in init


def test_given_the_commands_the_stack_runs_then_their_options_exist():
    runner = CliRunner()
    simulate = runner.invoke(app, ["simulate", "--help"], env={"COLUMNS": "200"}).output
    for option in ("--host", "--advertise-host", "--env-file", "--port", "--as-of"):
        assert option in simulate
    serve = runner.invoke(app, ["serve", "--help"], env={"COLUMNS": "200"}).output
    assert "--database-url" in serve and "--host" in serve
    assert runner.invoke(app, ["db", "upgrade", "--help"]).exit_code == 0
    assert runner.invoke(app, ["airflow-pools", "--help"]).exit_code == 0
