"""`yiwang extract`: one department's streams, read incrementally and landed, from the
command line; and the date option every command parses alike."""

from __future__ import annotations

import datetime as dt
import os
from contextlib import ExitStack
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

console = Console()


def parse_date(text: str) -> dt.date:
    """A `--as-of` style option as a date, or a usage error that says what is expected."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date YYYY-MM-DD") from None


def extract(
    source: Annotated[str, typer.Argument(help="a registered department, e.g. drc")],
    as_of: Annotated[str, typer.Option("--as-of", help="the business date of the night")],
    simulate: Annotated[
        str | None,
        typer.Option(help="start the simulators at this scale instead of using the connection"),
    ] = None,
    seed: Annotated[int, typer.Option(help="simulated world seed")] = 7,
    faults: Annotated[float, typer.Option(help="simulated transport fault rate")] = 0.0,
    full: Annotated[bool, typer.Option(help="ignore stored state: read everything")] = False,
    run_id: Annotated[str | None, typer.Option(help="landing folder name")] = None,
) -> None:
    """Run one source: read every stream incrementally, land its pages, print what came."""
    from connectors.core import Landing, LocalSink, SourceError, from_env
    from connectors.core.connection import ConnectionConfigError
    from departments.registry import get
    from yiwang.night.as_of import check_as_of
    from yiwang.night.extract import extract_source
    from yiwang.night.run_ids import run_id_for
    from yiwang.settings import from_environment

    day = parse_date(as_of)
    check_as_of(day)  # a day still being written is not read as final (one line, exit 1)
    try:
        connector = get(source)
    except KeyError as exc:
        raise typer.BadParameter(str(exc.args[0])) from None
    # told apart by the moment it started: a folder name, not the night's "today"
    run_id = run_id or run_id_for(day, "extract", source=source, at=dt.datetime.now())
    root = from_environment().data_dir
    state_root = root / "extract-state"
    if full:
        (state_root / source).mkdir(parents=True, exist_ok=True)
        for old in (state_root / source).glob("*.pkl"):
            old.unlink()
    with ExitStack() as stack:
        environ = dict(os.environ)
        if simulate:
            from simulators.cluster import Cluster
            from simulators.world.cache import load_world

            with console.status(f"building the {simulate} world…"):
                world = load_world(simulate, seed, root / "worlds")
            cluster = stack.enter_context(Cluster(world, day, fault_rate=faults))
            environ |= cluster.environment()
        try:
            settings = from_env(connector.conn_id, environ)
        except ConnectionConfigError as exc:
            console.print(
                f"[red]{escape(str(exc))}[/red] (or pass --simulate small)", soft_wrap=True
            )
            raise typer.Exit(2) from None
        landing = Landing(root / "landing", run_id)
        progress = stack.enter_context(
            Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.completed:,} records"),
                TimeElapsedColumn(),
                console=console,
                transient=True,
            )
        )
        tasks: dict[str, int] = {}

        def hook(stream, stats) -> None:
            if stream.name not in tasks:
                tasks[stream.name] = progress.add_task(f"{source}/{stream.name}", total=None)
            progress.update(tasks[stream.name], completed=stats.records)

        try:
            result = extract_source(
                connector, settings, LocalSink(state_root), day, run_id, landing, progress=hook
            )
        except SourceError as exc:
            console.print(f"[red]{source} failed:[/red] {exc}")
            raise typer.Exit(1) from None
    table = Table(title=f"{connector.title} as of {day}")
    for col in ("stream", "records", "pages", "MB", "seconds", "notes"):
        table.add_column(col, justify="left" if col in ("stream", "notes") else "right")
    for name, s in result.streams.items():
        notes = "; ".join(s.notes[:2])
        if s.unknown_fields:
            notes = (
                f"unknown fields kept in landing: {', '.join(sorted(s.unknown_fields))}; {notes}"
            )
        table.add_row(
            name,
            f"{s.records:,}",
            f"{s.pages:,}",
            f"{s.bytes / 1e6:.2f}",
            f"{s.seconds:.2f}",
            notes,
        )
    console.print(table)
    reasons = result.retried()
    console.print(
        f"{result.records:,} records in {result.seconds:.1f} s "
        f"({result.records / max(result.seconds, 1e-9):,.0f}/s); {result.requests:,} requests, "
        f"{result.retries} retries ({reasons}); {result.bytes / 1e6:.1f} MB; "
        f"pages landed in {landing.root / run_id / source}"
    )
