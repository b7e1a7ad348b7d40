"""`yiwang export` and /exports over a published small night, on both stores: files DuckDB and
pandas read with exact money and real dates, totals to the fen as the API gives them, a
manifest that matches its files, the same bytes every time, and one line for each mistake."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import time
import zipfile
from decimal import Decimal
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select
from typer.testing import CliRunner

from yiwang.api.app import create_app
from yiwang.api.auth import digest
from yiwang.cli.main import app as cli
from yiwang.export import MANIFEST, ExportError, Manifest, export
from yiwang.store.db import engine_for, migrate
from yiwang.store.tables import DATA_TABLES, published

TOKEN = "export-reader-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
MONEY = ("paid_amount", "contract_amount", "approved_investment", "finding_amount")
runner = CliRunner()


def query(text: str) -> list[tuple]:
    with duckdb.connect() as db:
        return db.execute(text).fetchall()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def store(request, published_small, tmp_path_factory):
    """A published store, exported once in each format: (url, {format: folder})."""
    url, _ = published_small[request.param]
    root = tmp_path_factory.mktemp(f"export-{request.param}")
    engine = engine_for(url)
    folders = {fmt: root / fmt for fmt in ("parquet", "csv")}
    for fmt, folder in folders.items():
        export(engine, fmt, folder)
    engine.dispose()
    return url, folders


@pytest.fixture(scope="module")
def api(store, tmp_path_factory):
    url, _ = store
    quality = tmp_path_factory.mktemp("api") / "quality"  # the export cache goes beside it
    return TestClient(create_app(engine_for(url), {digest(TOKEN)}, docs_dir=quality))


def api_totals(api: TestClient) -> tuple[int, dict[str, Decimal]]:
    """Every project over all /projects pages: how many, and each money column's sum."""
    count, sums, after = 0, dict.fromkeys(MONEY, Decimal(0)), None
    while True:
        params = {"limit": 500, **({"after": after} if after else {})}
        page = api.get("/projects", params=params, headers=AUTH).json()
        for project in page["items"]:
            count += 1
            for column in MONEY:
                sums[column] += Decimal(project[column] or 0)
        if (after := page["next"]) is None:
            return count, sums


def store_counts(url: str) -> dict[str, int]:
    engine = engine_for(url)
    with engine.connect() as conn:
        counts = {
            name: conn.execute(select(func.count()).select_from(published[name])).scalar_one()
            for name in DATA_TABLES
        }
    engine.dispose()
    return counts


# ---- what the files hold --------------------------------------------------------------------
def test_given_parquet_then_duckdb_reads_exact_money_and_dates_and_the_apis_totals(store, api):
    _, folders = store
    project = str(folders["parquet"] / "project.parquet")
    types = {row[0]: row[1] for row in query(f"DESCRIBE SELECT * FROM '{project}'")}
    assert all(types[c] == "DECIMAL(18,2)" for c in MONEY), types
    assert types["approval_date"] == types["as_of_date"] == "DATE"
    sums = ", ".join(f"sum({c})" for c in MONEY)
    (found,) = query(f"SELECT count(*), {sums} FROM '{project}'")
    count, expected = api_totals(api)
    assert found[0] == count > 0
    assert dict(zip(MONEY, (v or Decimal(0) for v in found[1:]), strict=True)) == expected


def test_given_csv_then_pandas_reads_money_as_exact_text_and_iso_dates(store, api):
    _, folders = store
    manifest = Manifest.load(folders["csv"] / MANIFEST)
    frame = pd.read_csv(folders["csv"] / "project.csv", dtype=str, keep_default_na=False)
    columns = manifest.tables["project"]["columns"]
    money = [c["column"] for c in columns if c["type"] == "decimal128(18, 2)"]
    dates = [c["column"] for c in columns if c["type"] == "date32[day]"]
    assert set(MONEY) <= set(money) and "as_of_date" in dates
    for column in money:
        assert frame[column].str.fullmatch(r"(-?\d+\.\d{2})?").all(), column
    for column in dates:
        assert frame[column].str.fullmatch(r"(\d{4}-\d{2}-\d{2})?").all(), column
    count, expected = api_totals(api)
    assert len(frame) == count
    assert {c: sum((Decimal(v) for v in frame[c] if v), Decimal(0)) for c in MONEY} == expected


def test_given_an_export_then_its_row_counts_are_the_stores_and_the_apis(store, api):
    url, folders = store
    counts = store_counts(url)
    units, after = 0, None
    while True:
        params = {"limit": 500, **({"after": after} if after else {})}
        page = api.get("/units", params=params, headers=AUTH).json()
        units += len(page["items"])
        if (after := page["next"]) is None:
            break
    draws = len(api.get("/spot-checks", headers=AUTH).json()["items"])
    assert (counts["unit_scorecard"], counts["spot_check"]) == (units, draws)
    for fmt, folder in folders.items():
        manifest = Manifest.load(folder / MANIFEST)
        assert {f.table: f.rows for f in manifest.files} == counts
        for f in manifest.files:
            read = f"read_{fmt}('{folder / f.name}')"
            assert query(f"SELECT count(*) FROM {read}") == [(f.rows,)], f.name


def test_given_a_manifest_then_it_names_the_snapshot_and_matches_its_files(store):
    url, folders = store
    engine = engine_for(url)
    with engine.connect() as conn:
        from yiwang.store.publish import latest_run

        head = latest_run(conn)
    engine.dispose()
    for fmt, folder in folders.items():
        manifest = Manifest.load(folder / MANIFEST)
        assert (manifest.run_id, manifest.content_hash, manifest.chain_hash) == (
            head["run_id"], head["content_hash"], head["chain_hash"],
        )  # fmt: skip
        assert manifest.format == fmt and manifest.as_of_date == head["as_of_date"].isoformat()
        assert sorted(p.name for p in folder.iterdir()) == sorted(
            [MANIFEST, *(f.name for f in manifest.files)]
        )
        for f in manifest.files:
            path = folder / f.name
            assert (f.bytes, f.sha256) == (path.stat().st_size, sha256(path)), f.name
        paid = next(
            c for c in manifest.tables["project"]["columns"] if c["column"] == "paid_amount"
        )
        assert paid["type"] == "decimal128(18, 2)" and not paid["nullable"]
        assert "元" in paid["description"]
        assert manifest.tables["project"]["order"][0] == "project_id"


def test_given_the_same_snapshot_then_every_export_is_the_same_bytes(store, tmp_path):
    url, folders = store
    engine = engine_for(url)
    for fmt, folder in folders.items():
        again = export(engine, fmt, tmp_path / fmt)
        assert (tmp_path / fmt / MANIFEST).read_bytes() == (folder / MANIFEST).read_bytes()
        assert all(sha256(tmp_path / fmt / f.name) == f.sha256 for f in again.files)
    engine.dispose()


def test_given_both_stores_hold_the_same_night_then_their_tables_export_alike(
    published_small, tmp_path
):
    """Rows in the same order with the same types on SQLite and PostgreSQL (nulls first)."""
    manifests = {}
    for backend in ("sqlite", "postgres"):
        engine = engine_for(published_small[backend][0])
        manifests[backend] = export(engine, "parquet", tmp_path / backend)
        engine.dispose()
    lite, pg = manifests["sqlite"], manifests["postgres"]
    if lite.content_hash != pg.content_hash:
        pytest.skip("the two stores published different snapshots")
    assert [(f.name, f.sha256) for f in lite.files] == [(f.name, f.sha256) for f in pg.files]


# ---- one snapshot, or nothing ---------------------------------------------------------------
def test_given_a_write_while_exporting_then_the_export_still_shows_one_snapshot(
    store_copy, tmp_path
):
    engine, writer = engine_for(store_copy), engine_for(store_copy)
    last = DATA_TABLES[-1]
    before = store_counts(store_copy)[last]
    emptied = []

    def meanwhile(name: str, done: int, total: int) -> None:
        if not emptied:  # another transaction empties the last table and commits
            with writer.begin() as conn:
                emptied.append(conn.execute(delete(published[last])).rowcount)

    manifest = export(engine, "parquet", tmp_path / "out", progress=meanwhile)
    assert emptied == [before] and store_counts(store_copy)[last] == 0
    assert {f.table: f.rows for f in manifest.files}[last] == before > 0
    engine.dispose()
    writer.dispose()


def test_given_a_failure_midway_then_no_folder_is_left(store, tmp_path, monkeypatch):
    import yiwang.export as module

    url, _ = store
    calls = []

    def failing(rows, schema):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("disk full")
        return real(rows, schema)

    real = module._batch
    monkeypatch.setattr(module, "_batch", failing)
    engine = engine_for(url)
    with pytest.raises(RuntimeError, match="disk full"):
        export(engine, "csv", tmp_path / "out")
    engine.dispose()
    assert list(tmp_path.iterdir()) == []


# ---- the change feed ------------------------------------------------------------------------
FEED = pd.DataFrame(
    {
        "seq": [2, 2],
        "ordinal": [1, 2],
        "run_id": ["2026-11-24", "2026-11-24"],
        "table_name": ["project", "spot_check"],
        "change_type": ["update", "delete"],
        "key": [{"project_id": "P-1"}, '{"period": "2026-11", "project_id": "P-2"}'],
        "row_hash": ["a" * 64, None],
        "previous_row_hash": ["b" * 64, "c" * 64],
        "row": ['{"paid_amount": "12.30"}', None],
    }
)


def test_given_changes_since_then_the_feed_is_written_beside_the_snapshot(
    store, tmp_path, monkeypatch
):
    url, _ = store
    asked = []

    def read_changes(conn, since):
        asked.append(since)
        return FEED

    monkeypatch.setattr("yiwang.store.changes.read_changes", read_changes)
    out = tmp_path / "out"
    result = runner.invoke(
        cli, ["export", str(out), "--changes-since", "2026-11-23", "--database-url", url],
        env={"COLUMNS": "200"},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert asked == ["2026-11-23"] and "changes since 2026-11-23" in " ".join(result.output.split())
    manifest = Manifest.load(out / MANIFEST)
    assert manifest.changes_since == "2026-11-23"
    assert {f.table: f.rows for f in manifest.files}["changes"] == 2
    rows = query(f"SELECT * FROM '{out / 'changes.parquet'}' ORDER BY ordinal")
    assert rows[0][:5] == (2, 1, "2026-11-24", "project", "update")
    assert json.loads(rows[0][5]) == {"project_id": "P-1"} and rows[1][6] is None


# ---- the API download -----------------------------------------------------------------------
def test_given_a_download_then_it_is_the_export_with_the_snapshot_as_its_etag(store, api):
    _, folders = store
    for fmt, folder in folders.items():
        manifest = Manifest.load(folder / MANIFEST)
        assert api.get(f"/exports/{fmt}").status_code == 401
        got = api.get(f"/exports/{fmt}", headers=AUTH)
        assert got.status_code == 200 and got.headers["content-type"] == "application/zip"
        assert got.headers["etag"] == f'W/"{manifest.content_hash}"'
        with zipfile.ZipFile(io.BytesIO(got.content)) as archive:
            assert archive.read(MANIFEST) == (folder / MANIFEST).read_bytes()
            for f in manifest.files:
                assert hashlib.sha256(archive.read(f.name)).hexdigest() == f.sha256
        again = api.get(f"/exports/{fmt}", headers={**AUTH, "If-None-Match": got.headers["etag"]})
        assert again.status_code == 304
        assert api.get(f"/exports/{fmt}", headers=AUTH).content == got.content  # built once
        one = api.get(f"/exports/{fmt}/project", headers=AUTH)
        assert one.status_code == 200 and one.headers["etag"] == f'"{manifest.content_hash}"'
        assert one.content == (folder / f"project.{fmt}").read_bytes()
    assert api.get("/exports/parquet/nope", headers=AUTH).status_code == 404
    assert api.get("/exports/xlsx", headers=AUTH).status_code == 422


def test_given_two_server_processes_asking_at_once_then_the_export_is_built_once(
    store, tmp_path, monkeypatch
):
    """`yiwang serve --workers 2`: both processes ask for the same new export together; one
    builds it, the other waits and serves what it built."""
    import multiprocessing

    import yiwang.api.routes.exports as routes

    url, _ = store
    builds = tmp_path / "builds.log"
    real = routes.export

    def counted(*args, **kwargs):
        with builds.open("a") as log:
            log.write(f"{os.getpid()}\n")
        time.sleep(0.5)  # long enough for the other process to ask meanwhile
        return real(*args, **kwargs)

    monkeypatch.setattr(routes, "export", counted)
    app = create_app(engine_for(url), {digest(TOKEN)}, docs_dir=tmp_path / "quality")
    context = multiprocessing.get_context("fork")  # the children keep the patched export

    def ask(answers) -> None:
        answers.put(TestClient(app).get("/exports/csv", headers=AUTH).content)

    answers = context.Queue()
    workers = [context.Process(target=ask, args=(answers,)) for _ in range(2)]
    for worker in workers:
        worker.start()
    bodies = [answers.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(30)
    assert len(builds.read_text().split()) == 1, builds.read_text()
    assert bodies[0] == bodies[1] and bodies[0][:2] == b"PK"


# ---- the command ----------------------------------------------------------------------------
def test_given_the_command_then_it_writes_what_the_library_does(store, tmp_path):
    url, folders = store
    out = tmp_path / "csv"
    result = runner.invoke(
        cli, ["export", str(out), "--format", "csv", "--database-url", url], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    assert re.search(r"content_hash [0-9a-f]{64}", result.output)
    assert "project.csv" in result.output
    assert (out / MANIFEST).read_bytes() == (folders["csv"] / MANIFEST).read_bytes()


def one_line(args: list[str]) -> str:
    result = runner.invoke(cli, ["export", *args], env={"COLUMNS": "80"})
    text = result.output
    assert result.exit_code == 1, text
    assert "Traceback" not in text and "╭" not in text, text
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    return lines[0]


def test_given_operator_mistakes_then_each_is_one_line_with_its_fix(store, tmp_path, monkeypatch):
    url, _ = store
    lite = f"sqlite:///{tmp_path / 'missing.db'}"
    assert "give --format parquet or --format csv" in one_line(
        [str(tmp_path / "a"), "--format", "xlsx", "--database-url", url]
    )
    full = tmp_path / "full"
    full.mkdir()
    (full / "keep.txt").write_text("mine")
    assert "is not empty; give a new or empty directory" in one_line(
        [str(full), "--database-url", url]
    )
    assert "no store at" in one_line([str(tmp_path / "b"), "--database-url", lite])
    assert not (tmp_path / "missing.db").exists()  # looking did not create one
    unreachable = one_line([str(tmp_path / "c"), "--database-url", "postgresql://u@127.0.0.1:1/x"])
    assert "cannot reach the database at 127.0.0.1:1" in unreachable
    bare = tmp_path / "bare.db"
    bare.touch()
    assert "holds no Yiwang store" in one_line(
        [str(tmp_path / "d"), "--database-url", f"sqlite:///{bare}"]
    )
    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    migrate(engine_for(empty))
    assert "nothing is published" in one_line([str(tmp_path / "e"), "--database-url", empty])

    from yiwang.store.changes import TooOld

    def too_old(conn, since):
        raise TooOld(f"the feed no longer reaches run {since!r};\nexport the snapshot again")

    monkeypatch.setattr("yiwang.store.changes.read_changes", too_old)
    line = one_line([str(tmp_path / "f"), "--changes-since", "2020-01-01", "--database-url", url])
    assert line == "the feed no longer reaches run '2020-01-01'; export the snapshot again"
    left = {p.name for p in tmp_path.iterdir()}
    assert not left & set("abcdef") and not [n for n in left if n.endswith(".partial")], left


def test_given_an_unknown_format_then_the_library_refuses_before_reading(tmp_path):
    with pytest.raises(ExportError, match="unknown export format"):
        export(engine_for(f"sqlite:///{tmp_path / 'x.db'}"), "xlsx", tmp_path / "out")
