"""`yiwang departments list|new`: the registered departments from the command line."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

departments_app = typer.Typer(help="The registered departments.", no_args_is_help=True)
console = Console()


@departments_app.command("list")
def list_departments() -> None:
    """Every registered department: its connection, whether it is configured, its streams
    and what its records are linked by."""
    from departments.registry import all_departments, configured

    table = Table(title="Registered departments")
    for col in ("name", "connection", "configured", "auth", "streams", "simulated"):
        table.add_column(col)
    on, _ = configured(os.environ)
    for d in all_departments().values():
        c = d.connector
        auth = getattr(c.auth, "__name__", str(c.auth))
        streams = ", ".join(s.name for s in c.streams)
        table.add_row(
            c.name, c.conn_id, "yes" if c.name in on else "no", auth, streams,
            "yes" if d.simulator else "no",
        )  # fmt: skip
    console.print(table)


@departments_app.command("new")
def new_department(
    name: Annotated[str, typer.Argument(help="package name, lower case, e.g. natres")],
    title: Annotated[str, typer.Option(help="the system's name")] = "",
    root: Annotated[Path, typer.Option(help="project root")] = Path("."),
) -> None:
    """Scaffold `departments/NAME/` and its tests (guide: docs/adding-a-department.md)."""
    from departments.scaffold import scaffold

    try:
        made = scaffold(name, title or name, root)
    except (ValueError, FileExistsError) as exc:
        raise typer.BadParameter(str(exc)) from None
    for path in made:
        console.print(f"created {path}")
    console.print(
        f"next: make departments/{name}/ say what its contract says "
        f"(docs/adding-a-department.md), then `bin/dev test tests/departments/{name}` and "
        f"`bin/dev demo`; for real nights set AIRFLOW_CONN_{name.upper()}_API"
    )
