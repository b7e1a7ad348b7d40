"""Benchmark of validation: rows/s for the voucher and progress-report schemas at ≥ 1M rows.

    .venv/bin/python -m bench.schemas --rows 1000000

Rows come from the medium world (with its quirks and ~2% bad records), repeated with fresh
keys up to `--rows`, shaped as the connectors hand them over (`record_frame`). One core.
Each schema is timed over the whole batch (normalise + type + lazy pandera + quarantine rows).
Results also go to bench/results/schemas.json (or `--json PATH`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from decimal import Decimal

import numpy as np
import pandas as pd

from bench.report import json_option, peak_rss_mb, save
from connectors.core.formats import record_frame
from departments.registry import get, record
from schemas.validate import validate
from simulators.world import calendar as cal
from simulators.world.cache import load_world
from yiwang.settings import from_environment

WORLD = {"scale": "medium", "seed": 3, "as_of": "2026-11-23"}  # where the rows come from


def _repeat(frame: pd.DataFrame, rows: int, key: str, amount: str | None) -> pd.DataFrame:
    """`frame` repeated to `rows` with fresh keys; amounts made distinct per copy, since real
    amounts rarely repeat (units, dates and payees do, and keep their repetition)."""
    copies = -(-rows // len(frame))
    out = pd.concat([frame] * copies, ignore_index=True).iloc[:rows].copy()
    copy_no = pd.Series(np.repeat(np.arange(copies), len(frame))[:rows])
    out[key] = out[key].astype(str) + copy_no.map("-{:d}".format).to_numpy()
    if amount is not None:  # shift each copy's amounts by its copy number, in fen
        out[amount] = [_shift(text, n) for text, n in zip(out[amount], copy_no, strict=True)]
    return out


def _shift(text: str, fen: int) -> str:
    try:
        value = Decimal(text.replace(",", "")) + Decimal(fen).scaleb(-2)
    except ArithmeticError:
        return text  # a deliberately bad amount stays bad
    return f"{value:,.2f}"


def batches(rows: int) -> dict[str, pd.DataFrame]:
    world = load_world(WORLD["scale"], WORLD["seed"], from_environment().data_dir / "worlds")
    day = cal.day(dt.date.fromisoformat(WORLD["as_of"]))
    vouchers = world.as_of("vouchers", day)
    vouchers = vouchers.assign(_pay_date=vouchers["支付日期"])
    reports = world.as_of("reports", day).copy()
    reports["completionRate"] = reports["completionRate"].map(Decimal)  # a JSON number
    out = {}
    for record_type, stream_name, frame in (
        ("voucher", ("treasury", "vouchers"), vouchers),
        ("progress_report", ("housing", "progress_reports"), reports),
    ):
        stream = get(stream_name[0]).stream(stream_name[1])
        columns = [*stream.fields, *(["_pay_date"] if record_type == "voucher" else [])]
        amount = "金额" if record_type == "voucher" else None
        wire = _repeat(frame[columns], rows, stream.key, amount)
        out[record_type] = record_frame(
            wire, stream.fields, stream.key, stream.version, stream.epoch_ms
        )[0]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    json_option(parser, "bench/results/schemas.json")
    args = parser.parse_args()
    results = {"rows": args.rows, **WORLD, "schemas": {}}
    for record_type, frame in batches(args.rows).items():
        t0 = time.perf_counter()
        result = validate("bench", record(record_type), frame)
        seconds = time.perf_counter() - t0
        row = {
            "rows": len(frame),
            "seconds": round(seconds, 2),
            "rows_per_s": round(len(frame) / seconds),
            "quarantined": len(result.quarantine),
        }
        results["schemas"][record_type] = row
        print(
            f"{record_type:16} {row['rows']:>10,} rows  {row['seconds']:>6.2f} s  "
            f"{row['rows_per_s']:>9,} rows/s  ({row['quarantined']:,} quarantined)"
        )
    results["peak_rss_mb"] = round(peak_rss_mb())
    print(f"peak RSS {results['peak_rss_mb']:,} MB")
    save("schemas", results, args.json)


if __name__ == "__main__":
    main()
