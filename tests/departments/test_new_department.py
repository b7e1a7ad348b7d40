"""The acid test of the department plug-in: in a temporary checkout, scaffold a department,
fill in a small contract of its own, and run the conformance suite and a whole night that
publishes its records, with no edit outside the new package.

The contract (a toll-road works registry, 交通): a bearer token, offset/limit paging with a
day-precision `since`, one record type of its own (`toll_collection`, key `collectionId`)
that names its project by code. The test prints the lines the package took (`-s` shows them).
"""

from __future__ import annotations

import difflib
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
YIWANG = Path(sys.executable).parent / "yiwang"
PACKAGE = Path("departments") / "toll"

pytestmark = pytest.mark.slow

# ---- what the data engineer writes: the contract, file by file ---------------------------------
CONNECTOR = '''"""交通 toll-road works registry: bearer token, offset paging, one record type."""

from __future__ import annotations

import re

from connectors.core import Connector, JsonItems, Offset, StaticBearer, Stream

FIELDS = ("collectionId", "projectCode", "station", "tollAmount", "collectedOn", "lastUpdate")
LAST_UPDATE = re.compile(r"\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\+08:00")

connector = Connector(
    name="toll",
    title="交通 toll-road works registry",
    conn_id="toll_api",
    auth=StaticBearer,
    streams=(
        Stream(
            name="collections",
            record_type="toll_collection",
            path="/toll/v1/collections",
            key="collectionId",
            fields=FIELDS,
            version="lastUpdate",
            paginator=Offset(version_pattern=LAST_UPDATE, limit=100),
            format=JsonItems(items=("items",)),
        ),
    ),
)
'''

RECORDS = '''"""交通 toll collections, typed."""

from __future__ import annotations

from pandera.typing import Series

from schemas.records import Date, Money, Record, RecordType, Timestamp, optional, required


class TollCollection(Record):
    collectionId: Series[str] = required(description="collection id")
    projectCode: Series[str] = optional(description="the works' project code, as entered")
    station: Series[str] = required(description="toll station")
    tollAmount: Series[Money] = required(money_at_least={"minimum": 0}, description="元")
    collectedOn: Series[Date] = required(description="the day collected")
    lastUpdate: Series[Timestamp] = required(description="last modification")


RECORD = RecordType(
    "toll_collection",
    TollCollection,
    key="collectionId",
    parsers={
        "collectionId": "code", "projectCode": "code", "tollAmount": "money_yuan",
        "collectedOn": "date_dashed", "lastUpdate": "time_iso",
    },
)  # fmt: skip
'''

SIMULATOR = '''"""交通 toll-road works registry, simulated."""

from __future__ import annotations

from departments.toll.connector import FIELDS
from departments.toll.world import TABLE
from simulators.servers.records import RecordsServer, Resource


class Server(RecordsServer):
    system = "toll"
    auth = "bearer"
    paging = "offset"
    max_page = 200
    resources = (Resource("/toll/v1/collections", TABLE, FIELDS),)
    version = "lastUpdate"
'''

WORLD = '''"""Toll collections on the world's registered projects, with their truth."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from simulators.world import World
from simulators.world import calendar as cal

TABLE = "toll_collections"
STATIONS = ("苏州东", "苏州西", "吴江", "昆山", "太仓")


def tables(world: World) -> dict[str, pd.DataFrame]:
    seed = int.from_bytes(hashlib.sha256(f"{world.seed}/toll".encode()).digest()[:8], "big")
    rng = np.random.default_rng(seed)
    projects = world.tables["drc"].dropna(subset=["_project"]).groupby("_project")["_ts"].min()
    each = rng.poisson(2, len(projects))
    code = np.repeat(projects.index.to_numpy(dtype=object), each)
    n = len(code)
    day = np.minimum(
        np.repeat(cal.day_of_ms(projects.to_numpy()), each) + rng.integers(0, 500, n),
        cal.day(cal.WORLD_END),
    )
    bad = rng.random(n) < 0.02
    amounts = [f"{c / 100:.2f}" for c in rng.integers(100, 10**7, n)]
    rows = pd.DataFrame(
        {
            "collectionId": [f"TC{i:07d}" for i in range(1, n + 1)],
            "projectCode": np.where(rng.random(n) < 0.05, None, code),
            "station": rng.choice(STATIONS, n),
            "tollAmount": np.where(bad, "-1.00", amounts),
            "collectedOn": cal.fmt_days(day, "%Y-%m-%d"),
            "_ts": cal.epoch_ms(day, rng.integers(0, 86_400, n)),
            "_project": code,
            "_bad": np.where(bad, "tollAmount", ""),
        }
    )
    rows["_key"] = rows["collectionId"]
    local = pd.to_datetime(rows["_ts"], unit="ms", utc=True).dt.tz_convert("Asia/Shanghai")
    rows["lastUpdate"] = local.dt.strftime("%Y-%m-%dT%H:%M:%S+08:00")
    return {TABLE: rows.sort_values(["_key", "_ts"], kind="stable").reset_index(drop=True)}
'''

DEPARTMENT = '''"""交通 toll-road works registry: the department declared."""

from __future__ import annotations

from departments.declare import Department
from departments.toll.connector import connector
from departments.toll.records import RECORD
from departments.toll.simulator import Server
from departments.toll.world import TABLE, tables
from simulators.declare import Served, Simulator
from transforms.links import ProjectCode

department = Department(
    connector=connector,
    records=(RECORD,),
    links={RECORD.name: (ProjectCode("projectCode"),)},
    simulator=Simulator(
        server=Server,
        credentials=("token",),
        served=(Served("collections", TABLE, RECORD.name, version="lastUpdate"),),
        tables=tables,
    ),
)
'''

CONTRACT = {
    "connector.py": CONNECTOR,
    "records.py": RECORDS,
    "simulator.py": SIMULATOR,
    "world.py": WORLD,
    "__init__.py": DEPARTMENT,
}


def _checkout(tmp_path: Path) -> Path:
    """The repository's files as they stand (committed or not), in a git checkout of its own."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout.decode().split("\0")  # fmt: skip
    project = tmp_path / "checkout"
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file() and not name.startswith(("data/", ".venv/")):
            (project / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, project / name)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    for step in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "before"]):
        subprocess.run([*git, *step], cwd=project, check=True, capture_output=True)
    return project


def _run(args: list, project: Path, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW_CONN_")}
    environ |= {"PYTHONPATH": str(project), "YIWANG_DATA_DIR": str(project / "data"), **env}
    return subprocess.run(
        [str(a) for a in args], cwd=project, env=environ, capture_output=True, text=True
    )


def _lines(text: str) -> int:
    return sum(1 for line in text.splitlines() if line.strip())


def test_a_new_department_from_the_scaffold_publishes_its_records_with_no_edit_elsewhere(
    tmp_path,
):
    project = _checkout(tmp_path)

    made = _run(
        [YIWANG, "departments", "new", "toll", "--title", "交通 toll-road works registry"], project
    )
    assert made.returncode == 0, made.stdout + made.stderr
    scaffolded = {f: (project / PACKAGE / f).read_text() for f in CONTRACT}

    # as generated: the scaffold's own tests and the conformance suite pass at once
    kit = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly"]
    conformance = [
        *kit,
        "tests/connectors/test_conformance.py",
        "-k",
        "toll",
        "tests/departments/toll",
    ]
    first = _run(conformance, project)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert int(re.search(r"(\d+) passed", first.stdout)[1]) >= 10, first.stdout[-500:]

    # the data engineer fills in the contract, in the package and nowhere else
    for name, text in CONTRACT.items():
        (project / PACKAGE / name).write_text(text)
    status = _run(["git", "status", "--porcelain", "--untracked-files=all"], project).stdout
    touched = {line[3:] for line in status.splitlines()}
    outside = {
        p for p in touched if not p.startswith(("departments/toll/", "tests/departments/toll/"))
    }
    assert outside == set(), f"edited outside the package: {outside}"
    assert all(line.startswith("??") for line in status.splitlines())  # nothing else changed

    lint = _run(
        [
            Path(sys.executable).parent / "ruff",
            "check",
            "--config",
            ROOT / "pyproject.toml",
            PACKAGE,
        ],
        project,
    )
    assert lint.returncode == 0, lint.stdout

    # the conformance suite on the filled-in contract (the scaffold's tests speak the old one)
    filled = _run([*kit, "tests/connectors/test_conformance.py", "-k", "toll"], project)
    assert filled.returncode == 0, filled.stdout[-3000:] + filled.stderr[-3000:]
    assert int(re.search(r"(\d+) passed", filled.stdout)[1]) >= 6, filled.stdout[-500:]

    # a whole night publishes its records: linked by project code, bad ones quarantined
    night = _run([YIWANG, "demo"], project)
    assert night.returncode == 0, night.stdout[-3000:] + night.stderr[-3000:]
    with sqlite3.connect(project / "data" / "yiwang.db") as db:
        published = dict(
            db.execute(
                "SELECT link_method, count(*) FROM source_record WHERE source_system = 'toll' "
                "GROUP BY link_method"
            ).fetchall()
        )
        quarantined = db.execute(
            "SELECT count(*), min(reasons) FROM quarantine WHERE source_system = 'toll'"
        ).fetchone()
        projects = db.execute(
            "SELECT count(*) FROM project WHERE ',' || source_systems || ',' LIKE '%,toll,%'"
        ).fetchone()[0]
    linked = published.get("project_code", 0) + published.get("project_code_repaired", 0)
    assert linked > 0.9 * sum(published.values()), published
    assert quarantined[0] > 0 and "tollAmount" in quarantined[1], quarantined
    assert projects > 0

    package = sum(_lines(t) for t in CONTRACT.values())
    changed = sum(
        1
        for name, text in CONTRACT.items()
        for line in difflib.ndiff(scaffolded[name].splitlines(), text.splitlines())
        if line.startswith(("+ ", "- ")) and line[2:].strip()
    )
    print(
        f"\nthe toll department: {package} non-blank lines in {len(CONTRACT)} files, "
        f"{changed} lines added or removed against the scaffold, 0 files outside the package; "
        f"published {sum(published.values()):,} records ({linked:,} linked), "
        f"quarantined {quarantined[0]:,}, on {projects:,} projects"
    )
