"""`yiwang run`, `verify`, `serve` and `db`: the night against the store, and reading it."""

from __future__ import annotations

import os
import secrets
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from yiwang.cli.extract import parse_date
from yiwang.settings import Settings, from_environment

console = Console()
db_app = typer.Typer(help="The store: migrations.", no_args_is_help=True)

DatabaseUrl = Annotated[
    str | None,
    typer.Option(help="SQLAlchemy URL (default $YIWANG_DATABASE_URL, else data/yiwang.db)"),
]


def _conn_var(department: str) -> str:
    """The connection variable of a department named on the command line (one line if none)."""
    from connectors.core.connection import env_var
    from departments.registry import all_departments

    known = all_departments()
    if department not in known:
        raise typer.BadParameter(
            f"no department {department!r}; registered: {', '.join(known)}", param_hint="--without"
        )
    return env_var(known[department].connector.conn_id)


def run(
    as_of: Annotated[str, typer.Option("--as-of", help="the business date of the night")],
    simulate: Annotated[
        str | None, typer.Option(help="start the simulators at this scale (tiny…large)")
    ] = None,
    seed: Annotated[int, typer.Option(help="simulated world seed")] = 7,
    faults: Annotated[float, typer.Option(help="simulated transport fault rate")] = 0.0,
    database_url: DatabaseUrl = None,
    fast: Annotated[
        bool, typer.Option(help="simulated housing without its 10 requests/s limit")
    ] = False,
    without: Annotated[
        list[str] | None,
        typer.Option(help="simulate without this department (its connection unset); repeatable"),
    ] = None,
) -> None:
    """One whole night in-process: extract all → validate → stage → unify → gate → publish."""
    from connectors.core import Landing, SourceError
    from departments.registry import configured, skipped_line
    from yiwang.night.run import run_night
    from yiwang.night.run_ids import run_id_for
    from yiwang.store.publish import PublishError

    day = parse_date(as_of)
    _runnable(day)
    if not simulate:
        _configured(day)
    settings = from_environment()
    engine = _engine(database_url, settings)
    with ExitStack() as stack:
        environ = dict(os.environ)
        if simulate:
            environ |= _simulators(stack, settings, simulate, seed, day, faults, fast).environment()
        for name in without or ():
            environ.pop(_conn_var(name), None)
        for name in configured(environ)[1]:  # said before the night starts, however it ends
            console.print(f"[yellow]{escape(skipped_line(name))}[/yellow]", soft_wrap=True)
        progress = stack.enter_context(
            Progress(
                SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                console=console, transient=True,
            )
        )  # fmt: skip
        task = progress.add_task("starting", total=None)
        try:
            result = run_night(
                engine, environ, day, Landing(settings.landing_dir, run_id_for(day)),
                rate_limits=not (simulate and fast), quality_dir=settings.quality_dir,
                progress=lambda what: progress.update(task, description=what),
                options=settings.night_options(),
            )  # fmt: skip
        except (SourceError, PublishError) as exc:
            progress.stop()
            console.print(
                f"[red]the night of {day} did not publish[/red] (the store is as it was, "
                f"its latest snapshot, if any, still served): {escape(str(exc))}",
                soft_wrap=True,
            )
            raise typer.Exit(1) from None
    print_summary(result, engine)


def _runnable(day) -> None:
    """A night whose as-of date cannot run is refused before anything starts."""
    from yiwang.night.as_of import AsOfError, check_as_of

    try:
        check_as_of(day)
    except AsOfError as exc:
        console.print(f"[red]the night of {day} cannot run:[/red] {exc}", soft_wrap=True)
        raise typer.Exit(1) from None


def _configured(day) -> None:
    """Before anything starts: every connection that is set is well-formed, and at least one
    is set, or one line names what to fix. A department whose connection is not set is
    skipped by the night, with one line saying so."""
    from connectors.core.connection import ConnectionConfigError, from_env_all
    from departments.registry import configured, get, registry

    on, _ = configured(os.environ)
    try:
        if not on:  # nothing to run: name them all
            from_env_all(c.conn_id for c in registry().values())
        from_env_all(get(name).conn_id for name in on)
    except ConnectionConfigError as exc:
        console.print(
            f"[red]the night of {day} cannot run:[/red] {escape(str(exc))}; or pass "
            "--simulate tiny to run against the simulators",
            soft_wrap=True,
        )
        raise typer.Exit(2) from None


def _engine(database_url: str | None, settings: Settings):
    """The store's engine (`--database-url`, else the settings'); its errors name its
    database, for the line an operator reads."""
    from sqlalchemy import event

    from yiwang.cli.operator_errors import name_the_database
    from yiwang.store.db import engine_for

    engine = engine_for(database_url or settings.store_url)
    event.listen(engine, "handle_error", name_the_database)
    return engine


def _simulators(
    stack: ExitStack, settings: Settings, scale: str, seed: int, day, faults: float, fast: bool
):
    from simulators.cluster import Cluster
    from simulators.world.cache import load_world

    with console.status(f"building the {scale} world…"):
        world = load_world(scale, seed, settings.data_dir / "worlds")
    return stack.enter_context(Cluster(world, day, fault_rate=faults, rate_limits=not fast))


def print_summary(result, engine) -> None:
    p = result.published
    table = Table(title=f"The night of {p.as_of}: {p.status} as run {p.run_id}")
    for col in ("source", "record type", "received", "accepted", "quarantined", "linked"):
        table.add_column(col, justify="right" if col not in ("source", "record type") else "left")
    for stream, c in sorted(p.counts.items()):
        source, record_type = stream.split("/")
        table.add_row(
            source, record_type, f"{c['received']:,}", f"{c['accepted']:,}",
            f"{c['quarantined']:,}", f"{c['linked']:,}",
        )  # fmt: skip
    console.print(table)
    extracted = ", ".join(
        f"{name} {r.records:,} records/{r.requests:,} requests/{r.retries} retries"
        for name, r in result.extracted.items()
    )
    console.print(f"extracted: {extracted}")
    risks = ", ".join(f"{k} {v:,}" for k, v in p.risks.items()) or "none"
    console.print(f"{p.projects:,} projects; risks: {risks}")
    if p.changes:
        touched = sum(c["inserted"] + c["deleted"] for c in p.changes.values())
        kept = sum(c["kept"] for c in p.changes.values())
        console.print(f"published rows: {touched:,} inserted or deleted, {kept:,} unchanged")
    console.print(f"content_hash {p.content_hash}\nchain_hash   {p.chain_hash}")
    console.print(f"{result.seconds:.1f} s in all")
    url = engine.url.render_as_string(hide_password=True)
    console.print(f"\n[bold]Where to look next[/bold]\n  the dataset: {url}")
    if p.gate and p.gate.docs:
        console.print(f"  quality report (Data Docs): {p.gate.docs}")
    console.print("  the read API: yiwang serve  (then /docs, /projects, /ledger)")
    console.print("  the console:  yiwang serve, then /console (sign in with an API token)")
    console.print("  the ledger's proof: yiwang verify")


def verify(
    database_url: DatabaseUrl = None,
    expect: Annotated[
        str | None,
        typer.Option(help="the chain_hash the ledger's latest row must have (kept elsewhere)"),
    ] = None,
    heads: Annotated[
        Path | None,
        typer.Option(help="a file of published heads (YIWANG_LEDGER_HEADS): each must be intact"),
    ] = None,
) -> None:
    """Recompute the ledger's hash chain and the latest snapshot's hashes; name what broke.
    With --expect or --heads, also compare the ledger's head with one kept outside it."""
    from yiwang.store.publish import verify as check

    if heads and not heads.is_file():
        console.print(
            f"[red]✗[/red] no heads file at {heads}; give the YIWANG_LEDGER_HEADS path",
            soft_wrap=True,
        )
        raise typer.Exit(1)
    engine = _engine(database_url, from_environment())
    try:
        verdict = check(engine, expect=expect, heads=heads)
    except ValueError as exc:  # a heads file that is not one
        console.print(f"[red]✗[/red] {exc}", soft_wrap=True)
        raise typer.Exit(1) from None
    if verdict.ok:
        anchored = " and anchored head" if expect or heads else ""
        console.print(
            f"[green]ok[/green]: {verdict.runs} runs, chain{anchored} and latest snapshot intact"
        )
        return
    for problem in verdict.problems:
        console.print(f"[red]✗[/red] {problem}", soft_wrap=True)
    raise typer.Exit(1)


def withdraw(
    run_id: Annotated[str, typer.Argument(help="the latest published run, e.g. 2026-12-05")],
    database_url: DatabaseUrl = None,
) -> None:
    """Withdraw the latest snapshot of a mistaken night, recorded in the ledger: the published
    tables are emptied (earlier months' draws stay) and staging is reset, so the right night
    extracts afresh and publishes next."""
    from yiwang.night.withdraw import WithdrawError
    from yiwang.night.withdraw import withdraw as withdraw_run

    settings = from_environment()
    try:
        row = withdraw_run(_engine(database_url, settings), run_id, settings.night_options())
    except WithdrawError as exc:
        console.print(f"[red]✗[/red] {exc}", soft_wrap=True)
        raise typer.Exit(1) from None
    console.print(
        f"withdrew run {run_id} as {row['run_id']} (seq {row['seq']}); chain_hash "
        f"{row['chain_hash']}. Staging is reset: the next night may be of {row['as_of_date']} "
        "or later and extracts every source afresh"
    )


def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port")] = 8000,
    database_url: DatabaseUrl = None,
    workers: Annotated[int, typer.Option(help="server processes (one per core)")] = 1,
    access_log: Annotated[bool, typer.Option(help="log every request")] = True,
) -> None:
    """The read-only HTTP API over the published dataset (tokens: YIWANG_API_TOKEN_SHA256)."""
    import uvicorn

    if database_url:
        os.environ["YIWANG_DATABASE_URL"] = database_url  # the workers build their own app
    # one key for every worker, so a console session signed by one is good at the others
    os.environ.setdefault("YIWANG_SESSION_SECRET", secrets.token_hex(32))
    uvicorn.run(
        "yiwang.api.app:app_from_env", factory=True, host=host, port=port, workers=workers,
        log_level="info", access_log=access_log,
    )  # fmt: skip


@db_app.command("upgrade")
def db_upgrade(database_url: DatabaseUrl = None) -> None:
    """Create or migrate the store's tables (Alembic `upgrade head`); on PostgreSQL, give the
    reader role the password in YIWANG_READER_PASSWORD when it is set."""
    from yiwang.store.db import is_postgres, migrate, set_reader_password

    settings = from_environment()
    engine = _engine(database_url, settings)
    started = time.perf_counter()
    migrate(engine)
    reader = settings.reader_password.get_secret_value() if settings.reader_password else ""
    if reader and is_postgres(engine):
        set_reader_password(engine, reader)
    console.print(
        f"{engine.url.render_as_string(hide_password=True)} is at the newest schema "
        f"({time.perf_counter() - started:.1f} s)"
    )


def airflow_night(
    as_of: Annotated[str, typer.Option("--as-of", help="the business date of the night")],
    scale: Annotated[
        str, typer.Option(help="simulated world: tiny | small | medium | large")
    ] = "small",
    seed: Annotated[int, typer.Option(help="simulated world seed")] = 7,
    database_url: DatabaseUrl = None,
) -> None:
    """The same night as `run`, run by Airflow: `airflow dags test` of every sync DAG and of
    publish_unified, against the simulators, whose connections are stored in Airflow's own
    metadata database (under data/airflow; an AIRFLOW_CONN_* variable still wins, as in
    Airflow). Exits non-zero naming every DAG run that did not succeed."""
    from yiwang.airflow.local import (
        AirflowRunFailed,
        AirflowSetupFailed,
        airflow_env,
        dags_test_night,
    )
    from yiwang.store.publish import latest_run

    day = parse_date(as_of)
    settings = from_environment()
    url = database_url or settings.store_url
    airflow_home = settings.data_dir / "airflow"
    started = time.perf_counter()
    with ExitStack() as stack:
        cluster = _simulators(stack, settings, scale, seed, day, 0.0, fast=False)
        try:
            with console.status("preparing Airflow's metadata database…"):
                env = airflow_env(airflow_home, {"YIWANG_DATABASE_URL": url}, cluster.connections())
            status = stack.enter_context(console.status("starting"))
            runs = dags_test_night(
                env, day, lambda dag: status.update(f"airflow dags test {dag} {day}")
            )
        except (AirflowRunFailed, AirflowSetupFailed) as exc:
            stack.close()
            console.print(f"[red]The night of {day} failed under Airflow:[/red]")
            console.print(escape(f"{exc}"), soft_wrap=True)
            raise typer.Exit(1) from None
    with _engine(url, settings).connect() as conn:
        run = latest_run(conn)
    console.print(
        f"Airflow ran the night of {day}: {len(runs)} DAG runs succeeded; run {run['run_id']}, "
        f"content_hash {run['content_hash']} ({time.perf_counter() - started:.0f} s). `yiwang "
        f"verify` checks it; the task logs are in {runs[0].log.parent}"
    )
