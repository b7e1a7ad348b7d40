"""What the tasks tell an operator in their logs: one line per stream read, per stream
validated and per publication, with the figures and where to look next."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from connectors.core import ConnectionSettings, SyncResult
from schemas.validate import Validated


def extracted(
    source: str, stream: str, result: SyncResult, connection: ConnectionSettings, pages: Path
) -> str:
    stats = result.streams[stream]
    return (
        f"{source}/{stream}: {stats.records:,} records in {stats.pages:,} page(s) from "
        f"{connection} for the night of {result.as_of}; {result.requests:,} requests, "
        f"{result.retries} retries ({result.retried()}); raw pages in {pages}"
    )


def validated(source: str, stream: str, checked: Validated) -> str:
    broken = rules_broken(checked.quarantine)
    return (
        f"{source}/{stream}: {checked.received:,} records staged tonight, "
        f"{len(checked.accepted):,} accepted, {len(checked.quarantine):,} quarantined"
        f"{f' ({broken})' if broken else ''}; the publication lists each quarantined record "
        "with its reasons in unified.quarantine"
    )


def rules_broken(quarantine: pd.DataFrame, top: int = 3) -> str:
    """The rules broken most, with how often, a record's own values left out:
    `收款人统一社会信用代码 fails its check character ×2, …`."""
    if quarantine.empty:
        return ""
    reasons = quarantine["reasons"].astype(str).str.split("; ").explode()
    rules = reasons.str.replace(r" '[^']*'", "", regex=True).str.strip()
    counted = rules[rules != ""].value_counts().head(top)
    return ", ".join(f"{rule} ×{n}" for rule, n in counted.items())


def published(as_of: dt.date, run_id: str, status: str, content_hash: str, projects: int,
              counts: dict, quality_dir: Path) -> str:  # fmt: skip
    per_stream = "; ".join(
        f"{name} {c['received']:,} received, {c['accepted']:,} accepted ({c['linked']:,} "
        f"linked), {c['quarantined']:,} quarantined"
        for name, c in counts.items()
    )
    return (
        f"night of {as_of}: run {run_id} {status}, content_hash {content_hash}, {projects:,} "
        f"projects; per stream {per_stream}; the quality report is under {quality_dir}, and "
        "`yiwang verify` checks the chain"
    )
