"""The `yiwang` command."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from typer import TyperException
from typer.core import TyperGroup

from yiwang.cli.departments import departments_app
from yiwang.cli.export import export
from yiwang.cli.extract import extract
from yiwang.cli.extract import parse_date as _date
from yiwang.cli.night import airflow_night, db_app, run, serve, verify, withdraw


class OneLineErrors(TyperGroup):
    """The `yiwang` group: a command that fails with an exception prints one line naming the
    cause and what to do (`yiwang.cli.operator_errors`) and exits 1; `--debug` shows the traceback.
    Click's own errors and exits (usage errors, `typer.Exit`) pass through as they are."""

    def invoke(self, ctx: typer.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, TyperException):
            raise
        except Exception as exc:
            if ctx.params.get("debug"):
                raise
            from yiwang.cli.operator_errors import describe

            line = describe(exc, night=ctx.invoked_subcommand in ("run", "demo"))
            typer.secho(line, err=True, fg="red")
            raise typer.Exit(1) from None


app = typer.Typer(
    cls=OneLineErrors,
    help="Yiwang (一张网): one dataset of every government-entrusted project.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,  # --debug: Python's traceback (rich's shows locals: secrets)
)
world_app = typer.Typer(
    help="The simulated city behind the departmental systems.", no_args_is_help=True
)
app.add_typer(world_app, name="world")
app.add_typer(departments_app, name="departments")
schemas_app = typer.Typer(help="The shared schemas.", no_args_is_help=True)
app.add_typer(schemas_app, name="schemas")
app.command("extract")(extract)
app.command("run")(run)
app.command("airflow-night")(airflow_night)
app.command("verify")(verify)
app.command("withdraw")(withdraw)
app.command("serve")(serve)
app.command("export")(export)
app.add_typer(db_app, name="db")
console = Console()


@app.command("airflow-pools")
def airflow_pools(
    path: Annotated[Path, typer.Argument(help="where to write the pools file")],
) -> None:
    """Write every department's Airflow pool, sized from its connector's declaration, for
    `airflow pools import PATH` (a deployment runs both once, after `airflow db migrate`)."""
    from yiwang.airflow import pools

    written = pools.write(path)
    for name, pool in pools.declared().items():
        console.print(f"{name}: {pool['slots']} slot(s) — {pool['description']}")
    console.print(f"written to {written}; load it with `airflow pools import {written}`")


@app.callback()
def global_options(
    debug: Annotated[
        bool, typer.Option("--debug", help="show the traceback of a failure, not one line")
    ] = False,
) -> None:
    pass  # `OneLineErrors` reads --debug


Scale = Annotated[str, typer.Option(help="tiny | small | 5k | medium | large")]
Seed = Annotated[int, typer.Option(help="world seed: same seed and scale, same world")]
Profile = Annotated[
    str,
    typer.Option(
        help="contract: the quirks the contracts list | messy: also what real offices do "
        "(names typed otherwise, reorganised units, same-named works, bare reversals, "
        "re-filed projects)"
    ),
]
AsOf = Annotated[str, typer.Option("--as-of", help="serve the world as at the end of this day")]


def _world(scale: str, seed: int, cache: bool = True, profile: str = "contract"):
    """The world with every department's own tables (the city's are cached)."""
    from departments.registry import extend_world
    from simulators.world import SCALES
    from simulators.world.build import PROFILES
    from simulators.world.cache import load_world
    from yiwang.settings import from_environment

    if scale not in SCALES:
        raise typer.BadParameter(f"scale must be one of {', '.join(SCALES)}")
    if profile not in PROFILES:
        raise typer.BadParameter(f"profile must be one of {', '.join(PROFILES)}")
    worlds = from_environment().data_dir / "worlds" if cache else None
    with console.status(f"building the {scale} world (seed {seed}, {profile})…"):
        started = time.perf_counter()
        world = extend_world(load_world(scale, seed, worlds, profile))
    console.print(
        f"[dim]{scale} world ({profile}), seed {seed}: {world.record_count():,} source records "
        f"over all days, ready in {time.perf_counter() - started:.1f} s[/dim]"
    )
    return world


def _inventory_table(cluster) -> Table:
    table = Table(title=f"What the simulated systems serve as of {cluster.as_of}")
    for col in ("system", "connection", "url", "resource", "records"):
        table.add_column(col, justify="right" if col == "records" else "left")
    from departments.registry import get

    for system, server in cluster.servers.items():
        for i, (resource, count) in enumerate(server.inventory().items()):
            table.add_row(
                system if i == 0 else "",
                get(system).conn_id if i == 0 else "",
                server.url if i == 0 else "",
                resource,
                f"{count:,}",
            )
    return table


@app.command()
def simulate(
    scale: Scale = "small",
    seed: Seed = 7,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="serve the world as at the end of this day")
    ] = None,
    faults: Annotated[float, typer.Option(help="share of requests that fail")] = 0.0,
    fault_seed: Annotated[int, typer.Option(help="seed of the fault draws")] = 0,
    port: Annotated[int, typer.Option(help="first port, one per department; 0: any")] = 0,
    base_path: Annotated[str, typer.Option(help="path prefix, e.g. /gw")] = "",
    duration: Annotated[float, typer.Option(help="stop after seconds; 0: until Ctrl-C")] = 0,
    rate_limits: Annotated[
        bool, typer.Option(help="keep the contracts' request limits (housing: 10/s per client)")
    ] = True,
    host: Annotated[str, typer.Option(help="listen address (0.0.0.0 in a container)")] = (
        "127.0.0.1"
    ),
    advertise_host: Annotated[
        str | None, typer.Option(help="the host name the printed connections use")
    ] = None,
    env_file: Annotated[
        Path | None, typer.Option(help="also write the connections here (KEY='value' lines)")
    ] = None,
) -> None:
    """Start every department's simulator and print the connections to export."""
    from simulators.cluster import Cluster

    # a simulator (not the hub) may default to the wall clock: it serves "yesterday"
    day = _date(as_of) if as_of else dt.date.today() - dt.timedelta(days=1)
    cluster = Cluster(
        _world(scale, seed),
        day,
        fault_rate=faults,
        fault_seed=fault_seed,
        base_path=base_path,
        port=port,
        rate_limits=rate_limits,
        host=host,
        advertise=advertise_host,
    ).start()
    try:  # from here on: a Ctrl-C while the connections print still stops the servers
        lines = [f"{name}='{value}'" for name, value in cluster.environment().items()]
        for line in lines:
            print(f"export {line}", flush=True)
        if env_file:
            env_file.parent.mkdir(parents=True, exist_ok=True)
            env_file.write_text("".join(f"{line}\n" for line in lines))
        console.print(_inventory_table(cluster))
        console.print("[dim]serving; Ctrl-C stops[/dim]")
        deadline = time.monotonic() + duration if duration else None
        while deadline is None or time.monotonic() < deadline:
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        cluster.stop()


@app.command()
def demo(
    scale: Scale = "small",
    seed: Seed = 7,
    as_of: AsOf = "2026-11-23",
    database_url: Annotated[
        str | None, typer.Option(help="default $YIWANG_DATABASE_URL, else data/yiwang.db")
    ] = None,
    without: Annotated[
        list[str] | None,
        typer.Option(help="leave this department's connection unset (e.g. planning); repeatable"),
    ] = None,
) -> None:
    """The main job: a night's sync of every simulated department into the store (embedded
    SQLite by default), and a summary of what was published."""
    run(as_of=as_of, simulate=scale, seed=seed, database_url=database_url, without=without)


@app.command()
def evaluate(
    scale: Scale = "medium",
    seed: Seed = 3,
    as_of: AsOf = "2026-11-23",
    profile: Profile = "contract",
) -> None:
    """Run a night in-process against the simulators and score it against the world's ground
    truth, strictly: a link is right only to exactly the record's true project; `X-` projects
    the world does not have are counted and listed; every project's paid amount (`X-` ones
    too) is compared with the truth, to the fen."""
    import tempfile

    from connectors.core import LocalSink
    from simulators.cluster import Cluster
    from transforms.evaluate import false_x_projects, money, paid_amounts, scores
    from yiwang.night.run_ids import run_id_for
    from yiwang.night.steps import extract_all, unify_night

    day = _date(as_of)
    world = _world(scale, seed, profile=profile)
    started = time.perf_counter()
    # the evaluation is about links, not request limits: lift them on both sides
    with Cluster(world, day, rate_limits=False) as cluster:
        sink = LocalSink(Path(tempfile.mkdtemp(prefix="yiwang-eval-")), commit_every_s=600)
        with console.status("extracting every department…"):
            run_id = run_id_for(day, "evaluate")
            extract_all(cluster.environment(), day, sink, run_id, rate_limits=False)
    with console.status("validating, resolving, unifying…"):
        night = unify_night(sink, day)
    from departments.registry import ground_truth
    from simulators.world import calendar as cal

    truth = ground_truth(world, cal.day(day))
    links, projects = night.tables["source_record"], night.tables["project"]
    table = Table(
        title=f"Links against the ground truth ({scale}, {profile}, seed {seed}, as of {day})"
    )
    for col in ("record type", "links", "correct", "precision", "recall", "unlinked but linkable"):
        table.add_column(col, justify="left" if col == "record type" else "right")
    for name, row in scores(links, truth).iterrows():
        table.add_row(
            str(name), f"{int(row['links']):,}", f"{int(row['correct']):,}",
            f"{row['precision']:.4%}", f"{row['recall']:.4%}",
            f"{int(row['unlinked_but_linkable']):,}",
        )  # fmt: skip
    console.print(table)
    money_truth = world.money_truth(cal.day(day))
    false_x = false_x_projects(projects, truth)
    console.print(
        f"false X- projects: {len(false_x):,} of "
        f"{int(projects['project_id'].str.startswith('X-').sum()):,} published"
        + (f": {', '.join(false_x[:20])}" if false_x else "")
    )
    paid = paid_amounts(projects, money_truth)
    console.print(
        f"paid_amount, every project ({'X-' if paid['x_projects'] else 'no X-'} projects "
        f"included): {paid['exact']:,} of {paid['projects']:,} exact to the fen; "
        f"{paid['overstated']:,} above the truth and {paid['understated']:,} below it (a "
        f"voucher of its own left unlinked or linked elsewhere, or another project's linked "
        f"to it; an unlinked reversal puts its project above)"
        + (f"; e.g. {paid['differences']}" if paid["differences"] else "")
    )
    m = money(projects, links, truth, money_truth)
    console.print(
        f"paid_amount: {m['exact_to_the_fen']:,} of {m['correctly_linked']:,} projects whose "
        f"vouchers are all linked correctly exact to the fen ({m['projects_with_payments']:,} "
        f"projects with payments; {m['unattributed_yuan']} 元 not attributed)"
    )
    console.print(f"[dim]{time.perf_counter() - started:.1f} s[/dim]")


@app.command("evaluate-forecast")
def evaluate_forecast(
    scale: Scale = "medium",
    seed: Seed = 3,
    profile: Profile = "contract",
    out: Annotated[
        Path | None, typer.Option(help="CSV file for every scored forecast (one per row)")
    ] = None,
) -> None:
    """Backtest the forecasts over the simulated world's history: at each quarter's end every
    method is fitted on what was known then and forecasts the active projects; each is scored
    once per milestone (25/50/75 % complete) against what the world did after. MAE of the
    completion date and final cost, and P80 coverage, for the baselines and the published
    method side by side."""
    from simulators.world.trajectories import histories
    from transforms.forecast import backtest

    started = time.perf_counter()
    world = _world(scale, seed, profile=profile)
    with console.status("backtesting every origin…"):
        scored = backtest.run(histories(world))
    rows = backtest.lines(backtest.summary(scored))
    for target, unit in (("completion", "days"), ("cost", "万元")):
        table = Table(title=f"Forecast backtest, {target} ({scale}, {profile}, seed {seed})")
        table.add_column("method", no_wrap=True)
        for col in (f"MAE 25% ({unit})", "50%", "75%", "all", "below best", "P80", "rows"):
            table.add_column(col, justify="right")
        for row in rows:
            if row[0] == target:
                table.add_row(*row[1:])
        console.print(table)
    console.print(
        "[dim]MAE at 25/50/75 % complete and over all: completion in days, final cost (paid "
        "by 120 days after completion) in 万元; below best: the MAE's distance below the best "
        "baseline's; P80: the share of outcomes at or under the P80; rows: the (project, "
        "milestone) pairs every method forecast[/dim]"
    )
    if out is not None:
        scored.to_csv(out, index=False)
        console.print(f"{len(scored):,} scored forecasts → {out}")
    console.print(f"[dim]{time.perf_counter() - started:.1f} s[/dim]")


@schemas_app.command("dictionary")
def schemas_dictionary(
    out: Annotated[Path, typer.Option(help="Markdown file to write")] = Path(
        "docs/data-dictionary.md"
    ),
) -> None:
    """Render the data dictionary of the unified dataset from the schemas and the departments'
    declarations."""
    from departments.registry import dictionary

    out.write_text(dictionary())
    console.print(f"data dictionary → {out}")


@world_app.command("truth")
def world_truth(
    out: Annotated[Path, typer.Option(help="CSV file to write")],
    scale: Scale = "small",
    seed: Seed = 7,
    as_of: AsOf = "2026-11-23",
    profile: Profile = "contract",
) -> None:
    """Export the ground truth: the project every live source record truly belongs to."""
    from departments.registry import ground_truth
    from simulators.world import calendar as cal

    truth = ground_truth(_world(scale, seed, profile=profile), cal.day(_date(as_of)))
    truth.to_csv(out, index=False)
    console.print(f"{len(truth):,} records → {out}")


@world_app.command("dump")
def world_dump(
    out: Annotated[Path, typer.Option(help="directory to write the tables to")],
    scale: Scale = "small",
    seed: Seed = 7,
) -> None:
    """Write every table of the world (all versions) as CSV and print their SHA-256."""
    digests = _world(scale, seed, cache=False).dump(out)
    print(json.dumps(digests, indent=2))


if __name__ == "__main__":
    app()
