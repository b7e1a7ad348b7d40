"""The store's tables (SQLAlchemy Core), the published ones derived from the pandera models.

The published tables take their columns, order, types and nullability from
`schemas.unified`, so the contract, the validation and the database cannot drift apart; each
also carries `row_hash` (SHA-256 of its canonical line, see `yiwang.store.canonical`), which lets
`yiwang verify` name an edited row. The hub's own tables live in schema `hub`.
"""

from __future__ import annotations

from decimal import Decimal

import pandera.pandas as pa
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Double,
    Index,
    MetaData,
    Numeric,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    TypeDecorator,
    Uuid,
    text,
)

from schemas.unified import TABLES

CENT = Decimal("0.01")


class Money(TypeDecorator):
    """NUMERIC(18,2) in 元; SQLite, which would hand back a float, stores the exact text."""

    impl = Numeric(18, 2)
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String())
        return dialect.type_descriptor(Numeric(18, 2, asdecimal=True))

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        exact = Decimal(value).quantize(CENT)
        return str(exact) if dialect.name == "sqlite" else exact

    def process_result_value(self, value, dialect):
        return None if value is None else Decimal(value).quantize(CENT)


metadata = MetaData()

KEYS = {
    "project": ("project_id",),
    "source_record": ("source_system", "record_type", "record_key"),
    "quarantine": (),  # keyless records are quarantined too: no key, an index instead
    "publish_run": ("run_id",),
    "unit_scorecard": ("unit_code",),
    "spot_check": ("period", "project_id"),
}
# the order in which rows are serialised (and so hashed): the key, then what tells rows apart
SORT = {**KEYS, "quarantine": ("source_system", "record_type", "record_key", "payload")}
DATA_TABLES = ("project", "source_record", "quarantine", "unit_scorecard", "spot_check")


# byte order for text on PostgreSQL, as SQLite has it: keys index several times faster than
# under a locale's collation, and both stores sort (and page) the same way
TEXT = Text().with_variant(Text(collation="C"), "postgresql")


def _sql_type(column: pa.Column, name: str):
    dtype = str(column.dtype)
    if dtype == "object":
        return Money()
    if dtype.startswith("datetime64") and "UTC" in dtype:
        return DateTime(timezone=True)
    if dtype.startswith("datetime64"):
        return Date()
    if dtype == "int64":
        return BigInteger()
    if dtype == "float64":
        return Double()
    return TEXT


def _published(name: str) -> Table:
    schema = TABLES[name].to_schema()
    columns = [
        Column(c, _sql_type(col, c), nullable=col.nullable, comment=col.description)
        for c, col in schema.columns.items()
    ]
    extra = [Column("row_hash", String(64), nullable=False, comment="SHA-256 of the row")]
    if name == "publish_run":
        extra.append(Column("seq", BigInteger, nullable=False, unique=True, comment="order"))
    key = [PrimaryKeyConstraint(*KEYS[name])] if KEYS[name] else []
    return Table(name, metadata, *columns, *extra, *key, schema="unified")


published = {name: _published(name) for name in TABLES}
Index("ix_project_region", published["project"].c.region_code)
Index("ix_project_owner", published["project"].c.owner_unit_code)
Index("ix_source_record_project", published["source_record"].c.project_id)
Index(
    "ix_quarantine_key",
    published["quarantine"].c.source_system,
    published["quarantine"].c.record_type,
    published["quarantine"].c.record_key,
)

# the latest version of every record per key per stream, as received (JSON), and who put it
staged_record = Table(
    "staged_record",
    metadata,
    Column("source", TEXT, nullable=False),
    Column("stream", TEXT, nullable=False),
    Column("record_id", TEXT, nullable=False, comment="the key, or a digest for keyless rows"),
    Column("has_key", Boolean, nullable=False),
    # versions compare byte-wise (zero-padded ms, ISO times), never by locale
    Column("version", TEXT, nullable=False),
    Column("record", Text, nullable=False, comment="JSON; money as exact decimals"),
    Column("run_id", Text, nullable=False),
    # PostgreSQL only: the write order (a sequence), so a night can read what changed since
    Column("seq", BigInteger, server_default=text("nextval('hub.staged_seq')"), nullable=False),
    PrimaryKeyConstraint("source", "stream", "record_id"),
    Index("staged_record_seq", "source", "stream", "seq"),
    schema="hub",
)

# PostgreSQL only: one row, the store's random id (names what is cached for it outside it)
store = Table(
    "store",
    metadata,
    Column("id", Uuid, server_default=text("gen_random_uuid()"), primary_key=True),
    schema="hub",
)

# PostgreSQL only: per stream, the token and watermark of its validated parts kept last
kept_stream = Table(
    "kept_stream",
    metadata,
    Column("source", Text, nullable=False),
    Column("stream", Text, nullable=False),
    Column("token", Text, nullable=False),
    Column("watermark", BigInteger, nullable=False),
    PrimaryKeyConstraint("source", "stream"),
    schema="hub",
)

# a stream's incremental state, written in the same transaction as the records it covers
stream_state = Table(
    "stream_state",
    metadata,
    Column("source", TEXT, nullable=False),
    Column("stream", TEXT, nullable=False),
    Column("state", Text, nullable=False),
    Column("run_id", Text, nullable=False),
    PrimaryKeyConstraint("source", "stream"),
    schema="hub",
)
