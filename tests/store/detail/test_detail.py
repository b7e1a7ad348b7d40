"""The detail tables: built from the registry, loaded from a real small night on both
backends, every accepted record once, exact money, dates as dates, masks kept."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections import defaultdict
from decimal import Decimal

import pandas as pd
import pytest
from pandera.typing import Series
from sqlalchemy import BigInteger, Date, DateTime, Double, MetaData, Text, func, select

from departments.registry import all_departments, record
from departments.treasury.records import VOUCHER
from schemas.records import Record, RecordType, optional, required
from tests.store.detail.conftest import wire
from transforms.detail import columns, detail_frames
from yiwang.store.canonical import canonical, unescaped
from yiwang.store.db import is_postgres, qualified
from yiwang.store.detail import check_names, detail_tables
from yiwang.store.tables import Money


def load(engine, details, frames) -> None:
    """Each frame into its table as publishing loads it: its canonical lines (COPY on
    PostgreSQL, the unescaped values on SQLite), column names quoted."""
    with engine.begin() as conn:
        quote = conn.dialect.identifier_preparer.quote
        for name, frame in frames.items():
            _, lines, hashes = canonical(name, frame)
            names = [*frame.columns, "row_hash"]
            listed = ", ".join(quote(c) for c in names)
            target = qualified(conn, "unified", name)
            if is_postgres(engine):
                with (
                    conn.connection.driver_connection.cursor() as cur,
                    cur.copy(f"COPY {target} ({listed}) FROM STDIN") as copy,
                ):
                    for line, digest in zip(lines, hashes, strict=True):
                        copy.write(f"{line}\t{digest}\n")
            elif lines:
                rows = [(*unescaped(line), d) for line, d in zip(lines, hashes, strict=True)]
                marks = ", ".join("?" * len(names))
                conn.exec_driver_sql(f"INSERT INTO {target} ({listed}) VALUES ({marks})", rows)


def read(engine, table) -> pd.DataFrame:
    with engine.connect() as conn:
        rows = conn.execute(select(table)).all()
    return pd.DataFrame(rows, columns=[c.name for c in table.columns])


@pytest.fixture
def loaded(fresh_store, small_night, monkeypatch):
    details = detail_tables(MetaData())
    wire(monkeypatch, details)
    next(iter(details.values())).metadata.create_all(fresh_store)
    load(fresh_store, details, small_night.frames())
    return fresh_store, details


def sql_kind(dtype: str) -> type:
    """The column type a validated field of pandas dtype `dtype` needs."""
    if dtype == "object":
        return Money  # Decimal 元
    if "Asia/Shanghai" in dtype:
        return DateTime
    if dtype.startswith("datetime64"):
        return Date
    return {"Int64": BigInteger, "float64": Double}.get(dtype, Text)


# ---- the tables ----------------------------------------------------------------------------
def test_a_table_per_record_type_of_every_department_with_the_models_columns_and_types():
    details = detail_tables(MetaData())
    expected = {f"record_{rt}" for d in all_departments().values() for rt in d.record_types}
    assert set(details) == expected and "record_deletion" not in details  # no tombstones
    for name, table in details.items():
        rt = record(name.removeprefix("record_"))
        assert [c.name for c in table.columns] == [*columns(rt), "row_hash"]
        assert table.schema == "unified" and table.comment and "Joins:" in table.comment
        assert [c.name for c in table.primary_key.columns] == ["source_system", "record_key"]
        assert [[c.name for c in i.columns] for i in table.indexes] == [["project_id"]]
        fields = rt.model.to_schema().columns
        for field in rt.field_names:
            column, declared = table.c[field], fields[field]
            assert column.nullable == declared.nullable and column.comment == declared.description
            assert isinstance(column.type, sql_kind(str(declared.dtype))), (name, field)


def test_a_field_named_like_the_tables_own_columns_is_refused():
    class Clashing(Record):
        key: Series[str] = required(description="the key")
        project_id: Series[str] = optional(description="a field of the record's own")

    with pytest.raises(ValueError, match="project_id"):
        check_names("x", RecordType("clashing", Clashing, key="key"))


# ---- the frames ----------------------------------------------------------------------------
def test_frames_carry_the_tables_columns_in_order_and_no_float_money(small_night):
    details = detail_tables(MetaData())
    for name, frame in small_night.frames().items():
        assert list(frame.columns) == [c.name for c in details[name].columns][:-1]
        for column in details[name].columns:
            if isinstance(column.type, Money):
                assert frame[column.name].map(lambda v: v is None or isinstance(v, Decimal)).all()


def test_a_record_without_a_source_record_row_is_an_error_not_a_null(small_night):
    first = small_night.accepted["voucher"]["凭证号"].iloc[0]
    links = small_night.links
    gone = (links["record_type"] == "voucher") & (links["record_key"] == first)
    with pytest.raises(ValueError, match="voucher: 1 accepted record"):
        detail_frames(small_night.accepted, links[~gone], [VOUCHER])


def test_a_sensitive_field_parsed_as_plain_text_is_masked_all_the_same(small_night):
    unmasked = dataclasses.replace(VOUCHER, parsers={**VOUCHER.parsers, "收款人账号": "text"})
    raw = small_night.accepted["voucher"].assign(收款人账号="6222972126166867260")
    frame = detail_frames({"voucher": raw}, small_night.links, [unmasked])["record_voucher"]
    assert set(frame["收款人账号"]) == {"***************7260"}


def test_a_record_type_with_nothing_accepted_gives_an_empty_frame_with_its_columns():
    frame = detail_frames({}, pd.DataFrame(columns=["record_type"]), [VOUCHER])["record_voucher"]
    assert frame.empty and list(frame.columns) == columns(VOUCHER)


# ---- loaded, on both backends ----------------------------------------------------------------
def test_every_accepted_record_appears_once_keyed_and_linked_as_in_source_record(
    loaded, small_night
):
    engine, details = loaded
    links = small_night.links.set_index(["record_type", "record_key"])
    for name, table in details.items():
        rt = record(name.removeprefix("record_"))
        stored, accepted = read(engine, table), small_night.accepted[rt.name]
        assert len(stored) == len(accepted) > 0, name
        assert sorted(stored["record_key"]) == sorted(accepted[rt.key])
        assert (stored["record_key"] == stored[rt.key]).all()
        linked = links.loc[[(rt.name, k) for k in stored["record_key"]]]
        assert stored["source_system"].tolist() == linked["source_system"].tolist()
        expected = linked["project_id"].map(lambda p: p if isinstance(p, str) else None)
        assert stored["project_id"].tolist() == expected.tolist()


def test_a_projects_summed_vouchers_equal_its_paid_amount_to_the_fen(loaded, small_night):
    engine, details = loaded
    vouchers = read(engine, details["record_voucher"])
    assert vouchers["金额"].map(type).eq(Decimal).all()
    paid: dict[str, Decimal] = defaultdict(Decimal)
    for pid, amount in zip(vouchers["project_id"], vouchers["金额"], strict=True):
        if pd.notna(pid):
            paid[pid] += amount
    projects = small_night.night.tables["project"]
    assert len(paid) > 10
    for pid, amount in zip(projects["project_id"], projects["paid_amount"], strict=True):
        assert paid.get(pid, Decimal("0.00")) == amount, pid
    if is_postgres(engine):  # and in SQL, exactly: NUMERIC sums
        table = details["record_voucher"]
        with engine.connect() as conn:
            summed = dict(
                conn.execute(
                    select(table.c.project_id, func.sum(table.c["金额"])).group_by(
                        table.c.project_id
                    )
                ).all()
            )
        assert all(summed[pid] == amount for pid, amount in paid.items())


def test_dates_are_dates_and_times_keep_their_instant(loaded, small_night):
    engine, details = loaded
    vouchers = read(engine, details["record_voucher"])
    assert vouchers["支付日期"].map(type).eq(dt.date).all()
    accepted = small_night.accepted["voucher"].set_index("凭证号")["支付日期"].dt.date
    assert (vouchers.set_index("凭证号")["支付日期"] == accepted.loc[vouchers["凭证号"]]).all()
    permits = read(engine, details["record_permit"]).set_index("permitNo")
    issued = small_night.accepted["permit"].set_index("permitNo")["issueDate"]
    got = pd.to_datetime(permits["issueDate"], utc=True)
    assert (got == issued.loc[permits.index].dt.tz_convert("UTC")).all()
    if is_postgres(engine):
        with engine.connect() as conn:
            kinds = dict(
                conn.exec_driver_sql(
                    "SELECT column_name, data_type || coalesce(':' || numeric_scale, '') "
                    "FROM information_schema.columns WHERE table_schema = 'unified' "
                    "AND table_name IN ('record_voucher', 'record_permit')"
                ).all()
            )
        assert kinds["支付日期"] == "date" and kinds["金额"] == "numeric:2"
        assert kinds["issueDate"] == "timestamp with time zone"


def test_the_masked_account_stays_masked(loaded, small_night):
    engine, details = loaded
    accounts = read(engine, details["record_voucher"])["收款人账号"].dropna()
    assert len(accounts) > 0 and accounts.map(lambda a: bool(re.fullmatch(r"\*+.{4}", a))).all()
    raw = small_night.sink.records("treasury", "vouchers")["收款人账号"].dropna()
    assert not set(accounts) & set(raw[raw.str.len() > 4])


def test_the_stored_rows_hash_as_they_were_published(loaded, small_night):
    """What `yiwang verify` does: the rows read back render to the lines that were loaded."""
    engine, details = loaded
    frames = small_night.frames()
    for name, table in details.items():
        stored = read(engine, table)
        _, _, published = canonical(name, frames[name])
        order, _, again = canonical(name, stored)
        assert list(again) == list(published) == stored.loc[order, "row_hash"].tolist(), name
