"""The ledger's head kept outside the database: a rewritten latest row or a deleted ledger
passes the chain's own check (whoever rewrites it can recompute every hash), but not a
comparison with a head written down elsewhere when it was published.

Every publish (and withdrawal) appends its head, `{"seq", "run_id", "chain_hash",
"content_hash", "row_hash"}`, as one JSON line to the file the operator chooses
(`YIWANG_LEDGER_HEADS`), after its transaction commits, flushed to disk before the night
reports success. `yiwang
verify --heads FILE` checks that every head in it is still in the ledger unchanged; `yiwang
verify --expect CHAIN_HASH` that the ledger's latest row ends the chain there.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

HEAD = ("seq", "run_id", "chain_hash", "content_hash", "row_hash")  # row_hash: any field edited


class AnchorError(Exception):
    """The head could not be written down (the run itself is published)."""


def head_of(row: dict) -> dict:
    return {k: int(row[k]) if k == "seq" else str(row[k]) for k in HEAD}


def append_head(path: Path | None, row: dict) -> None:
    """Append the run's head to `path` (nothing when None) and flush it to disk."""
    if path is None:
        return
    line = json.dumps(head_of(row), sort_keys=True) + "\n"
    try:
        with open(path, "a", encoding="utf-8") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())
    except OSError as exc:
        raise AnchorError(
            f"run {row['run_id']!r} is published but its head could not be appended to {path} "
            f"({exc.strerror or exc}); append this line to it by hand: {line.strip()}"
        ) from None


def read_heads(path: Path) -> list[dict]:
    """The heads written to `path`, oldest first (a line that is not a head is an error)."""
    heads = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            head = json.loads(line)
            heads.append(head_of(head))
        except (ValueError, KeyError, TypeError):
            raise ValueError(f"{path} line {number} is not a ledger head: {line[:80]!r}") from None
    return heads


def head_problems(runs: pd.DataFrame, heads: list[dict], where: str) -> list[str]:
    """What in the ledger `runs` differs from the heads written down in `where`."""
    by_seq = {int(r["seq"]): head_of(r) for r in runs.to_dict("records")}
    problems = []
    for head in heads:
        found = by_seq.get(head["seq"])
        if found is None:
            problems.append(
                f"run {head['run_id']!r} (seq {head['seq']}) in {where} is not in the ledger: "
                "ledger rows were deleted"
            )
        elif found != head:
            fields = ", ".join(k for k in HEAD if found[k] != head[k])
            problems.append(
                f"the ledger's seq {head['seq']} differs from {where} in {fields}: the ledger "
                f"row (run {found['run_id']!r}) was rewritten"
            )
    return problems


def expect_problems(runs: pd.DataFrame, expect: str) -> list[str]:
    """What is wrong when the ledger's latest row should have chain hash `expect`."""
    if runs.empty:
        return [f"the ledger is empty; its head should have chain_hash {expect}"]
    latest = runs.iloc[-1]
    if latest["chain_hash"] == expect:
        return []
    if expect in set(runs["chain_hash"]):
        at = runs[runs["chain_hash"] == expect].iloc[0]
        return [
            f"the ledger's head is run {latest['run_id']!r} (seq {latest['seq']}), not the "
            f"expected run {at['run_id']!r} (seq {at['seq']}): later rows were appended"
        ]
    return [
        f"the ledger's head, run {latest['run_id']!r} (seq {latest['seq']}), has chain_hash "
        f"{latest['chain_hash']}, not the expected {expect}: the ledger was rewritten"
    ]
