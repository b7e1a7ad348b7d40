"""Withdrawing the latest snapshot of a mistaken night (`yiwang withdraw RUN_ID`).

A night run for the wrong day (a typo'd as-of date) publishes, and leaves staging holding the
records and incremental state of that day: the right night, of an earlier day, would be
refused as going back in time, and would mix in what was extracted for the later day. A
withdrawal, in one transaction:

- appends a ledger row `<run>.withdrawn` (chained and hashed like every row, so `verify` covers
  it) whose `record_counts` name the run withdrawn and whose `as_of_date` is that of the run
  still standing before it (or the sources' first day): the next night may be of that day or
  later;
- replaces the published tables with what good nights published and the next night builds
  on: the months' 双随机 draws up to the standing run's month (a draw, once published, never
  changes) and the quarantine rows first seen by a standing run (their first sighting is
  carried forward). The project, record and scorecard tables are left empty until the next
  night: the withdrawn snapshot is gone, and the one before it cannot be rebuilt (only the
  latest snapshot and the latest staged records are kept), so readers see an empty dataset,
  never the withdrawn one, and the ledger's head says which run that is;
- empties staging (staged records, incremental state, the tokens of the kept validated
  streams), so the next night extracts and validates every source afresh as of its own day.
"""

from __future__ import annotations

import datetime as dt
import shutil

import pandas as pd
from sqlalchemy import Connection, Engine, delete, select

from yiwang.night.as_of import sources_first_day
from yiwang.night.options import DEFAULTS, NightOptions
from yiwang.night.run_ids import withdrawal_of
from yiwang.store.db import is_postgres, migrate
from yiwang.store.lock import store_lock
from yiwang.store.publish import (
    Publication,
    PublishError,
    Snapshot,
    latest_run,
    ledger,
    live_runs,
    read_table,
    snapshot_table,
    withdraws,
)
from yiwang.store.tables import (
    DATA_TABLES,
    details,
    kept_stream,
    staged_record,
    store,
    stream_state,
)

# what rests on the staged records the withdrawal resets: none of it stays
EMPTIED = ("project", "source_record", "unit_scorecard", *details)


class WithdrawError(PublishError):
    """The run cannot be withdrawn (and nothing was)."""


def withdraw(engine: Engine, run_id: str, options: NightOptions = DEFAULTS) -> dict:
    """Withdraw run `run_id`, the latest run still standing; returns the withdrawal's ledger
    row. `options.kept`: the kept validated streams' root, whose files for this store are
    removed once the withdrawal commits (the store already disowns them); its head goes to
    `options.ledger_heads`, as a publication's does."""
    migrate(engine)  # a store never migrated has no run to withdraw: said as such
    with engine.connect() as conn:
        latest = latest_run(conn)
    night = latest["as_of_date"] if latest else dt.date.min
    # alone on the store: not under a night staging or publishing (it would publish over us)
    with (
        store_lock(engine, night, whole_night=True, wait=options.lock_wait_s),
        Publication(engine, options.ledger_heads) as publication,
    ):
        conn = publication.conn
        runs = ledger(conn)
        live = live_runs(runs)
        _check_withdrawable(runs, live, run_id)
        standing = live[-2] if len(live) > 1 else None
        as_of = _standing_day(runs, standing)
        tables = _what_stays(conn, standing, {r["run_id"] for r in live[:-1]})
        store_id = conn.execute(select(store.c.id)).scalar() if is_postgres(engine) else None
        row = publication.commit(
            Snapshot.of(tables), withdrawal_of(run_id), as_of, {"withdraws": run_id},
            before_commit=lambda: _reset_staging(conn),
        )  # fmt: skip
    if options.kept and store_id:  # a cache; its tokens are gone
        shutil.rmtree(options.kept / str(store_id), ignore_errors=True)
    return row


def _check_withdrawable(runs: pd.DataFrame, live: list[dict], run_id: str) -> None:
    rows = runs.to_dict("records")
    if run_id not in {r["run_id"] for r in rows}:
        raise WithdrawError(f"there is no run {run_id!r} in the ledger; `yiwang verify` lists none")
    if any(withdraws(r) == run_id for r in rows):
        raise WithdrawError(f"run {run_id!r} is already withdrawn")
    if any(r["run_id"] == run_id and withdraws(r) for r in rows):
        raise WithdrawError(f"{run_id!r} is a withdrawal, not a published run")
    if live[-1]["run_id"] != run_id:
        raise WithdrawError(
            f"run {run_id!r} is not the latest published run ({live[-1]['run_id']!r} is): only "
            "the latest can be withdrawn; withdraw that one first"
        )


def _standing_day(runs: pd.DataFrame, standing: dict | None) -> dt.date:
    """The as-of date the store is left at: the standing run's, else the sources' first day
    (else the ledger's earliest), so the next night may be of any day a night may be run."""
    if standing:
        return standing["as_of_date"]
    first = sources_first_day()
    return first[0] if first else min(runs["as_of_date"])


def _what_stays(conn: Connection, standing: dict | None, kept_runs: set[str]) -> dict:
    tables = {name: read_table(conn, name) for name in DATA_TABLES}
    for name in EMPTIED:
        tables[name] = tables[name].iloc[0:0]
    quarantine = tables["quarantine"]
    tables["quarantine"] = quarantine[quarantine["first_seen_run"].isin(kept_runs)]
    tables["snapshot"] = (
        snapshot_table(standing["run_id"], standing["as_of_date"])
        if standing
        else tables["snapshot"].iloc[0:0]
    )
    draws = tables["spot_check"]
    month = f"{standing['as_of_date']:%Y-%m}" if standing else ""
    tables["spot_check"] = draws[draws["period"] <= month] if standing else draws.iloc[0:0]
    return {name: frame.reset_index(drop=True) for name, frame in tables.items()}


def _reset_staging(conn: Connection) -> None:
    """Staged records and incremental state gone: the next night reads every source afresh."""
    conn.execute(delete(staged_record))
    conn.execute(delete(stream_state))
    if is_postgres(conn.engine):
        conn.execute(delete(kept_stream))  # the kept parts no longer match the store's tokens
