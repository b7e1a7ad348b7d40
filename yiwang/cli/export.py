"""`yiwang export`: the published snapshot as Parquet or CSV files with a manifest."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from rich.table import Table

from yiwang.cli.night import DatabaseUrl, _engine
from yiwang.settings import from_environment

console = Console()


def export(
    directory: Annotated[Path, typer.Argument(help="a new or empty directory to write into")],
    fmt: Annotated[str, typer.Option("--format", help="parquet | csv")] = "parquet",
    changes_since: Annotated[
        str | None,
        typer.Option("--changes-since", help="also write what was published after this run"),
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Write the published snapshot (one run, read in one transaction) as one file per table
    and manifest.json: row counts, SHA-256s and each column's type and meaning. Money is an
    exact decimal, dates are dates; the same snapshot always gives the same bytes."""
    from yiwang.export import ExportError
    from yiwang.export import export as write
    from yiwang.store.changes import TooOld

    engine = _engine(database_url, from_environment())
    progress = Progress(
        TextColumn("{task.description:<16}"), BarColumn(), MofNCompleteColumn(),
        console=console, transient=True,
    )  # fmt: skip
    tasks: dict[str, TaskID] = {}

    def said(name: str, done: int, total: int) -> None:
        if not tasks:  # shown from the first table on: a refusal prints its line alone
            progress.start()
        if name not in tasks:
            tasks[name] = progress.add_task(name, total=total)
        progress.update(tasks[name], completed=done)

    try:
        manifest = write(engine, fmt, directory, changes_since, progress=said)
    except (ExportError, TooOld) as exc:
        _stop(progress, tasks)
        typer.secho(" ".join(str(exc).split()), err=True, fg="red")  # one line
        raise typer.Exit(1) from None
    finally:
        _stop(progress, tasks)
    _summary(manifest, directory)


def _stop(progress: Progress, tasks: dict) -> None:
    if tasks:  # once, and only if shown: rich prints an empty line for each other stop
        progress.stop()
        tasks.clear()


def _summary(manifest, directory: Path) -> None:
    title = f"Run {manifest.run_id} (as of {manifest.as_of_date}) exported as {manifest.format}"
    if manifest.changes_since is not None:
        title += f", with the changes since {manifest.changes_since}"
    table = Table(title=escape(title))
    for col in ("file", "rows", "size", "sha256"):
        table.add_column(col, justify="right" if col in ("rows", "size") else "left")
    for f in manifest.files:
        table.add_row(f.name, f"{f.rows:,}", _size(f.bytes), f.sha256[:16] + "…")
    console.print(table)
    console.print(f"content_hash {manifest.content_hash}\nchain_hash   {manifest.chain_hash}")
    where = directory.resolve()
    console.print(f"written to {escape(str(where))} (manifest.json lists every file's SHA-256)")
    names = [f.name for f in manifest.files]
    shown = next((n for n in names if n.startswith("project.")), names[-1])
    hint = f"SELECT * FROM '{where / shown}' LIMIT 5"
    console.print(f'[dim]read it, e.g.: duckdb -c "{escape(hint)}"[/dim]', soft_wrap=True)


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"
