"""The store's tables (SQLAlchemy Core), the published ones derived from the pandera models.

The published tables take their columns, order, types and nullability from
`schemas.unified`, so the contract, the validation and the database cannot drift apart; each
also carries `row_hash` (SHA-256 of its canonical line, see `yiwang.store.canonical`), which lets
`yiwang verify` name an edited row. The hub's own tables live in schema `hub`.
"""

from __future__ import annotations

from decimal import Decimal

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
from sqlalchemy.types import TypeEngine

from schemas.unified import SINCE, TABLES
from transforms.detail import KEY as DETAIL_KEY
from yiwang.store.detail import detail_tables, joined_later, record_types
from yiwang.store.views import COMMENTS

CENT = Decimal("0.01")


class Money(TypeDecorator):
    """NUMERIC(18,2) in 元 (or another exact NUMERIC(p,s): degrees, percentages); SQLite,
    which would hand back a float, stores the exact text."""

    impl = Numeric  # made with the precision and scale given
    cache_ok = True

    def __init__(self, precision: int = 18, scale: int = 2) -> None:
        super().__init__(precision, scale)
        # kept here: a dialect's copy of this type holds that dialect's `impl` (text on SQLite)
        self.precision, self.scale = precision, scale
        self.quantum = Decimal(1).scaleb(-scale)

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String())
        return dialect.type_descriptor(Numeric(self.precision, self.scale, asdecimal=True))

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        exact = Decimal(value).quantize(self.quantum)
        return str(exact) if dialect.name == "sqlite" else exact

    def process_result_value(self, value, dialect):
        return None if value is None else Decimal(value).quantize(self.quantum)


metadata = MetaData()  # what the store holds (the migrations create it)
views = MetaData()  # the contract's views over it, read as tables, never created

# Columns that hold the same value in every row of a snapshot: kept once, in `snapshot`, and
# given to readers by the contract's views, so a row changes when its facts do, not because
# the night moved on (`quarantine.last_seen_run` is the snapshot's run: every row in it was
# quarantined by that run).
SNAPSHOT_COLUMNS = {"project": "as_of_date", "quarantine": "last_seen_run"}

KEYS = {
    "snapshot": ("run_id",),
    "project": ("project_id",),
    "source_record": ("source_system", "record_type", "record_key"),
    "quarantine": (),  # keyless records are quarantined too: no key, an index instead
    "publish_run": ("run_id",),
    "unit_scorecard": ("unit_code",),
    "spot_check": ("period", "project_id"),
    "project_geometry": ("project_id",),
    "work_order": ("order_no",),
}
# the order in which rows are serialised (and so hashed): the key, then what tells rows apart
SORT = {**KEYS, "quarantine": ("source_system", "record_type", "record_key", "payload")}
DATA_TABLES = (
    "snapshot", "project", "source_record", "quarantine", "unit_scorecard", "spot_check",
    "project_geometry", "work_order",
)  # fmt: skip


# byte order for text on PostgreSQL, as SQLite has it: keys index several times faster than
# under a locale's collation, and both stores sort (and page) the same way
TEXT = Text().with_variant(Text(collation="C"), "postgresql")


PRECISION = {6: 9, 2: 5}  # numeric(9,6) degrees, numeric(5,2) percentages


def sql_type(dtype, scale: int | None = None) -> TypeEngine:
    """A column's type from the pandas dtype its model validates (the published tables' and
    the records' alike): money is `object` (Decimal; `scale` places when the model says so),
    a time carries its zone."""
    kind = str(dtype)
    if kind == "object":
        return Money(PRECISION.get(scale, 18), scale) if scale is not None else Money()
    if kind.startswith("datetime64") and "," in kind:  # `datetime64[us, UTC]`
        return DateTime(timezone=True)
    if kind.startswith("datetime64"):
        return Date()
    if kind in ("int64", "Int64"):
        return BigInteger()
    if kind == "float64":
        return Double()
    return TEXT


def _columns(name: str, leave_out: str | None = None) -> list[Column]:
    schema = TABLES[name].to_schema()
    return [
        Column(
            c,
            sql_type(col.dtype, (col.metadata or {}).get("scale")),
            nullable=col.nullable,
            comment=col.description,
            info={"since": (col.metadata or {}).get("since", "1.0")},
        )
        for c, col in schema.columns.items()
        if c != leave_out
    ]


def _row_hash() -> Column:
    return Column("row_hash", String(64), nullable=False, comment="SHA-256 of the row")


def _published(name: str) -> Table:
    """The table as the contract names it: for `SNAPSHOT_COLUMNS`' tables, the view."""
    extra = [_row_hash()]
    if name == "publish_run":
        extra.append(Column("seq", BigInteger, nullable=False, unique=True, comment="order"))
    key = [PrimaryKeyConstraint(*KEYS[name])] if KEYS[name] else []
    shape = views if name in SNAPSHOT_COLUMNS else metadata
    return Table(
        name, shape, *_columns(name), *extra, *key, schema="unified", comment=COMMENTS.get(name)
    )


def _stored(name: str) -> Table:
    """Where a view's rows are kept: its columns but the snapshot's."""
    key = [PrimaryKeyConstraint(*KEYS[name], name=f"{name}_rows_pkey")] if KEYS[name] else []
    leave_out = SNAPSHOT_COLUMNS[name]
    return Table(
        f"{name}_rows", metadata, *_columns(name, leave_out), _row_hash(), *key, schema="unified"
    )


published = {name: _published(name) for name in TABLES}
# the snapshot itself: its run and business date, one row (none before the first publication)
published["snapshot"] = Table(
    "snapshot",
    metadata,
    Column("run_id", TEXT, nullable=False, comment="the run whose snapshot the tables hold"),
    Column("as_of_date", Date, nullable=False, comment="the business date it describes"),
    _row_hash(),
    PrimaryKeyConstraint("run_id"),
    schema="unified",
)
# what a publication writes, per data table
stored = {name: _stored(name) if name in SNAPSHOT_COLUMNS else published[name] for name in KEYS}
Index("ix_project_region", stored["project"].c.region_code)
Index("ix_project_owner", stored["project"].c.owner_unit_code)
Index("ix_source_record_project", stored["source_record"].c.project_id)
Index(
    "ix_quarantine_key",
    stored["quarantine"].c.source_system,
    stored["quarantine"].c.record_type,
    stored["quarantine"].c.record_key,
)

# the accepted records themselves, a table per record type (`yiwang.store.detail`)
details = detail_tables(metadata)
published.update(details)
stored.update(details)
KEYS.update(dict.fromkeys(details, DETAIL_KEY))
SORT.update(dict.fromkeys(details, DETAIL_KEY))
DATA_TABLES = (*DATA_TABLES, *details)
# tables a later contract version added (the departments that joined since 1.0 and their
# record tables): a snapshot's content hash leaves them out while they are empty
LATER_TABLES = frozenset(SINCE) | frozenset(
    name for name, (system, _) in record_types().items() if joined_later(system)
)

# the change feed: per publication, each row that differs from the previous snapshot, by key
change = Table(
    "change",
    metadata,
    Column("seq", BigInteger, nullable=False, comment="the publication's `publish_run.seq`"),
    Column("ordinal", BigInteger, nullable=False, comment="order within the publication"),
    Column("run_id", TEXT, nullable=False, comment="the publication's run"),
    Column("table_name", TEXT, nullable=False, comment="the published table changed"),
    Column("change_type", TEXT, nullable=False, comment="`insert` | `update` | `delete`"),
    Column("key", Text, nullable=False, comment="JSON object: the row's key columns"),
    Column("row_hash", String(64), comment="the new row's hash; null for a delete"),
    Column("previous_row_hash", String(64), comment="the replaced row's; null for an insert"),
    Column("row", Text, comment="JSON object: the new row (money, dates as text); null: delete"),
    PrimaryKeyConstraint("seq", "ordinal"),
    schema="unified",
    comment="The change feed: what each publication changed against the previous snapshot",
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
