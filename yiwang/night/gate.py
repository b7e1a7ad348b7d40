"""The quality gate: a Great Expectations suite over the unified tables, passed before publishing.

Keys unique, reconciliation (received = linked + unlinked + quarantined per stream), money
non-negative where the contract says so, enumerations, referential integrity, risk flags
only from the contract's list. A failed gate publishes nothing and says which expectation
failed on which table, with examples. Every run writes Data Docs (HTML) under
`<data dir>/quality/`, where the CLI and the API point. `yiwang.night.run` runs it in a process
beside the snapshot and publishing, and commits only once it passed.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from departments.registry import flags, record_types, systems
from schemas.unified import ROLES, TABLES
from yiwang.night.offline_docs import make_offline
from yiwang.store.canonical import mostly_distinct

log = logging.getLogger(__name__)

# nothing may call out at run time: GX's usage analytics stay off
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")


def _comma_list(words) -> str:
    one = "|".join(re.escape(w) for w in sorted(words))
    return rf"^(?:(?:{one})(?:,(?:{one}))*)?$"


def _bounds_and_sets(e, table: str) -> list:
    """The published model's own bounds and enumerations (`schemas.unified`), as expectations:
    a column a department adds is gated by the checks it declares."""
    found = []
    for column, spec in TABLES[table].to_schema().columns.items():
        for check in spec.checks:
            stats = check.statistics
            if check.name in ("at_least", "money_at_least"):
                found.append(
                    e.ExpectColumnValuesToBeBetween(column=column, min_value=stats["minimum"])
                )
            elif check.name == "within":
                found.append(
                    e.ExpectColumnValuesToBeBetween(
                        column=column, min_value=stats["low"], max_value=stats["high"]
                    )
                )
            elif check.name == "one_of":
                found.append(
                    e.ExpectColumnValuesToBeInSet(column=column, value_set=list(stats["values"]))
                )
    return found


def _expectations() -> dict[str, list]:
    import great_expectations as gx

    e = gx.expectations
    return {
        "project": [
            e.ExpectColumnValuesToNotBeNull(column="project_id"),
            e.ExpectColumnValuesToBeUnique(column="project_id"),
            *_bounds_and_sets(e, "project"),
            e.ExpectColumnValuesToMatchRegex(column="risk_flags", regex=_comma_list(flags())),
            e.ExpectColumnValuesToMatchRegex(column="source_systems", regex=_comma_list(systems())),
        ],
        "source_record": [
            e.ExpectCompoundColumnsToBeUnique(
                column_list=["source_system", "record_type", "record_key"]
            ),
            e.ExpectColumnValuesToBeInSet(column="source_system", value_set=list(systems())),
            e.ExpectColumnValuesToBeInSet(column="record_type", value_set=list(record_types())),
            e.ExpectColumnValuesToBeBetween(column="link_confidence", min_value=0, max_value=1),
            # referential integrity: a link names a published project (nulls are "unlinked");
            # `UNKNOWN_PROJECT` is the project_id a link names that no project has
            e.ExpectColumnValuesToBeNull(column=UNKNOWN_PROJECT),
        ],
        "quarantine": [
            e.ExpectColumnValuesToNotBeNull(column="reasons"),
            e.ExpectColumnValuesToBeInSet(column="source_system", value_set=list(systems())),
        ],
        "unit_scorecard": [
            e.ExpectColumnValuesToBeUnique(column="unit_code"),
            e.ExpectColumnValuesToBeInSet(column="list", value_set=["red", "black"]),
            e.ExpectColumnValuesToMatchRegex(column="roles", regex=_comma_list(ROLES)),
        ],
        "spot_check": [
            e.ExpectCompoundColumnsToBeUnique(column_list=["period", "project_id"]),
            e.ExpectColumnValuesToBeBetween(column="draw_rank", min_value=1),
        ],
        # Version 1.1: each row names a published project; the orders hold no personal datum
        "project_geometry": [
            e.ExpectColumnValuesToBeUnique(column="project_id"),
            e.ExpectColumnValuesToBeNull(column=UNKNOWN_PROJECT),
            e.ExpectColumnValuesToMatchRegex(column="geometry", regex=r'^\{"type":"MultiPolygon"'),
            *_bounds_and_sets(e, "project_geometry"),
        ],
        "work_order": [
            e.ExpectColumnValuesToBeUnique(column="order_no"),
            e.ExpectColumnValuesToBeNull(column=UNKNOWN_PROJECT),
            e.ExpectColumnValuesToMatchRegex(column="topic", regex=r"^城乡建设/建筑施工/"),
            e.ExpectColumnValuesToNotMatchRegex(column="title", regex=PERSONAL_NUMBER),
        ],
        "reconciliation": [
            # every record received is published (linked or not) or quarantined
            e.ExpectColumnPairValuesToBeEqual(column_A="received", column_B="accounted_for"),
        ],
    }


UNKNOWN_PROJECT = "unpublished_project_id"
# a phone number or resident ID number (hotline.md, "Personal data") in clear
PERSONAL_NUMBER = r"(?<!\d)(1\d{10}|\d{17}[\dXx])(?!\d)"


def _with_referents(links: pd.DataFrame, projects: pd.DataFrame) -> pd.DataFrame:
    """`links` plus the project_id of each link whose project is not published (else null).

    Checked as a column rather than as a set of every project_id: GX copies and serialises
    an expectation's value set several times per run, a cost that grows with the projects.
    """
    known = links["project_id"].isna() | links["project_id"].isin(projects["project_id"])
    return links.assign(**{UNKNOWN_PROJECT: links["project_id"].where(~known)})


def reconciliation(received: dict[tuple[str, str], int], tables: dict[str, pd.DataFrame]):
    """Per stream: received, linked, unlinked, quarantined, and their sum."""
    stream = ["source_system", "record_type"]
    links = tables["source_record"]
    per_stream = links.assign(linked=links["project_id"].notna()).groupby(stream)
    link_counts = per_stream["linked"].agg(["size", "sum"])  # one pass, not a mask per stream
    quarantined = tables["quarantine"].groupby(stream).size()
    rows = []
    for (source, record_type), n in sorted(received.items()):
        mine, linked = (
            link_counts.loc[(source, record_type)]
            if (source, record_type) in link_counts.index
            else (0, 0)
        )
        q = quarantined.get((source, record_type), 0)
        rows.append(
            {
                "source_system": source,
                "record_type": record_type,
                "received": n,
                "linked": int(linked),
                "unlinked": int(mine - linked),
                "quarantined": int(q),
                "accounted_for": int(mine + q),
            }
        )
    return pd.DataFrame(rows)


@dataclass
class GateResult:
    success: bool
    failures: list[str] = field(default_factory=list)
    docs: Path | None = None


def run_gate(tables: dict[str, pd.DataFrame], reconcile: pd.DataFrame, where: Path, run: str):
    """Validate every table with its suite; Data Docs are rebuilt either way."""
    import great_expectations as gx
    from great_expectations.execution_engine import pandas_execution_engine

    # GX fingerprints every batch under this many bytes by hashing all of it, only to label
    # the result; the snapshot's content_hash already names it
    pandas_execution_engine.HASH_THRESHOLD = 0
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    context = _context(gx, where)
    try:  # kept from the last night: adding it again would drop its assets, added below
        source = context.data_sources.get("yiwang")
    except KeyError:
        source = context.data_sources.add_pandas("yiwang")
    referring = {
        name: _with_referents(tables[name], tables["project"])
        for name in ("source_record", "project_geometry", "work_order")
    }
    frames = {**tables, **referring, "reconciliation": reconcile}
    failures, results = [], []
    for name, expectations in _expectations().items():
        asset = source.get_asset(name) if name in source.get_asset_names() else None
        asset = asset or source.add_dataframe_asset(name=name)
        batch = next(
            iter(asset.batch_definitions), None
        ) or asset.add_batch_definition_whole_dataframe("snapshot")
        stored = Path(where) / "gx"
        suite = _written(
            context.suites.add_or_update,
            gx.ExpectationSuite(name=name, expectations=expectations),
            stored / "expectations" / f"{name}.json",
        )
        definition = _written(
            context.validation_definitions.add_or_update,
            gx.ValidationDefinition(name=name, data=batch, suite=suite),
            stored / "validation_definitions" / f"{name}.json",
        )
        checkpoint = _written(
            context.checkpoints.add_or_update,
            gx.Checkpoint(
                name=f"gate-{name}",
                validation_definitions=[definition],
                result_format={"result_format": "SUMMARY"},
            ),
            stored / "checkpoints" / f"gate-{name}.json",
        )
        frame = _plain(frames[name][_checked_columns(expectations)])
        result = checkpoint.run(
            batch_parameters={"dataframe": frame}, run_id=gx.RunIdentifier(run_name=run)
        )
        results.extend(result.run_results)
        for outcome in result.run_results.values():
            for r in outcome.results:
                if not r.success:
                    failures.append(_say(name, r, frames[name]))
    # once for the whole gate, not once per table: each build renders the site's index
    context.build_data_docs(resource_identifiers=results)
    docs = Path(where) / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"
    make_offline(docs.parent)  # its CDN assets vendored, its beacon and outside links gone
    return GateResult(not failures, failures, docs)


def _written(add_or_update, item, stored: Path):
    """`add_or_update` of a GX definition; one that a night killed while GX wrote it in place
    (an empty or partial file) is dropped and written anew: the definitions are this module's
    code, the stored copy only GX's cache of it."""
    return _anew_if_unreadable(lambda: add_or_update(item), stored)


def _anew_if_unreadable(make, stored: Path):
    """`make()`; when it fails on a file GX keeps (`stored`), the file is dropped and `make`
    tried once more."""
    try:
        return make()
    except Exception:
        if not stored.exists():
            raise
        log.warning(
            "quality gate: %s was unreadable (a night killed mid-write?); rewritten", stored
        )
        stored.unlink()
        return make()


def _checked_columns(expectations: list) -> list[str]:
    """The columns a table's expectations read, in the order first named: GX's row filters
    copy and scan the whole batch for each expectation, so the batch holds only these."""
    names: dict[str, None] = {}
    for expectation in expectations:
        for attribute in ("column", "column_A", "column_B"):
            if isinstance(named := getattr(expectation, attribute, None), str):
                names[named] = None
        names.update(dict.fromkeys(getattr(expectation, "column_list", None) or ()))
    return list(names)


def _context(gx, where: Path):
    """The file context under `where`, its progress bars off and without a config-variables
    file: the gate uses none, and while one is named GX re-parses it at every lookup of a
    variable, which a gate does hundreds of times. A config a night killed while GX wrote
    it in place is written anew: like the definitions (`_written`), what it holds is this
    module's (the data source and its assets are added again when missing)."""
    context = _anew_if_unreadable(
        lambda: gx.get_context(mode="file", project_root_dir=str(where)),
        Path(where) / "gx" / "great_expectations.yml",
    )
    if context.variables.config_variables_file_path or context.variables.progress_bars is None:
        context.variables.config_variables_file_path = None
        context.variables.progress_bars = {"globally": False}
        context.variables.save()
        context = gx.get_context(mode="file", project_root_dir=str(where))
    return context


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Repetitive text columns as categoricals for GX: its checks test a column for nulls
    once per expectation, which over millions of Python strings is slow, while a
    categorical's nulls are its code -1; the values and the examples GX reports
    are the same strings. A column of nearly distinct values (record keys) stays text:
    factorizing it costs more than the tests. (GX fails on pandas' string dtype.)"""
    out = frame.copy(deep=False)  # copy-on-write: only the columns converted are new
    for c in out.columns:
        if pd.api.types.is_string_dtype(out[c]):
            values = out[c].astype(object).where(out[c].notna(), None)
            out[c] = values if mostly_distinct(values) else values.astype("category")
    return out


def _say(table: str, result, frame: pd.DataFrame) -> str:
    config = result.expectation_config
    if table == "reconciliation":  # name the streams: pairs of counts alone say nothing
        off = frame[frame["received"] != frame["accounted_for"]]
        return f"{table}: {config.type}(received, accounted_for) failed: " + "; ".join(
            f"{r.source_system}/{r.record_type} received {r.received:,} but published "
            f"{r.linked + r.unlinked:,} (linked {r.linked:,}, unlinked {r.unlinked:,}) and "
            f"quarantined {r.quarantined:,}"
            for r in off.itertuples()
        )
    column = config.kwargs.get("column") or config.kwargs.get("column_list") or ""
    examples = result.result.get("partial_unexpected_list") or []
    count = result.result.get("unexpected_count")
    said = f"{table}: {config.type}({column}) failed"
    if count is not None:
        said += f" for {count:,} rows"
    if examples:
        said += f", e.g. {examples[:3]}"
    return said
