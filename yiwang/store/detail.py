"""The published detail tables: `record_<type>` (e.g. `record_voucher`, `record_permit`), one
per record type every registered department publishes, holding each accepted live record
typed — money NUMERIC(18,2) in 元, dates as dates, times with time zone, sensitive fields
masked — so a downstream system can sum a project's vouchers itself.

Keyed as `source_record` is: (`source_system`, `record_key`), `record_key` being the value of
the record type's key field; `project_id` is the link `source_record` gives (null when the
evidence singles out no project). The joins are documented in the table comments rather than
declared as foreign keys: `project` is a view (no key to reference), and a publication
replaces the tables one after the other in one transaction, which row-by-row constraints would
order and slow.

Column names are the contracts' own (`凭证号`, `金额`, `permitNo`): they are what every
department contract, the quarantine payloads and the API name, and there is no declared ASCII
name to translate them to (a made-up one would be a second contract to keep in step). ASCII
would not spare BI users quoting either: PostgreSQL folds unquoted `permitNo` to `permitno`,
so camelCase needs quotes anyway, while unquoted `凭证号` works on both stores. Each column's
comment gives its meaning in English.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Index,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
)

from departments.registry import all_departments
from schemas.records import RecordType
from transforms.detail import KEY, LEAD, table_name

MAX_NAME = 63  # bytes: PostgreSQL cuts longer identifiers, and two fields would then collide


def record_types() -> dict[str, tuple[str, RecordType]]:
    """Each detail table's name -> (department, record type), in registry order."""
    return {
        table_name(rt): (d.name, d.record(rt))
        for d in all_departments().values()
        for rt in d.record_types
    }


def joined_later(system: str) -> bool:
    """Whether a department joined the contract after its first version (planning, hotline)."""
    return all_departments()[system].since != "1.0"


def detail_tables(metadata: MetaData) -> dict[str, Table]:
    """Every department's record types as tables of `metadata`, schema `unified`, each with a
    `row_hash` (as every published table) and an index on `project_id`."""
    return {name: _table(metadata, name, *found) for name, found in record_types().items()}


def _table(metadata: MetaData, name: str, system: str, record: RecordType) -> Table:
    # imported here: `yiwang.store.tables` builds its published tables with `detail_tables`
    from yiwang.store.tables import TEXT, sql_type

    check_names(system, record)
    fields = record.model.to_schema().columns
    lead = [
        Column("source_system", TEXT, nullable=False, comment=f"`{system}`"),
        Column(
            "record_key",
            TEXT,
            nullable=False,
            comment=f"the record's key, its `{record.key}`: as `source_record.record_key`",
        ),
        Column(
            "project_id",
            TEXT,
            nullable=True,
            comment="the project it is linked to (`project.project_id`), as in `source_record`; "
            "null when the evidence does not single out one project",
        ),
    ]
    own = [
        Column(
            field,
            sql_type(fields[field].dtype),
            nullable=fields[field].nullable,
            comment=fields[field].description,
        )
        for field in record.field_names
    ]
    table = Table(
        name,
        metadata,
        *lead,
        *own,
        Column("row_hash", String(64), nullable=False, comment="SHA-256 of the row"),
        # unnamed: PostgreSQL names it `<table>_pkey`, which publishing's bulk load relies on
        PrimaryKeyConstraint(*KEY),
        comment=comment(system, record),
        schema="unified",
    )
    Index(f"ix_{name}_project", table.c.project_id)
    return table


def comment(system: str, record: RecordType) -> str:
    """A detail table's comment: what it holds, its key and its joins."""
    about = (record.model.__doc__ or "").strip().split("\n")[0]
    return (
        f"{about} Every accepted live `{record.name}` record of `{system}`, typed: money "
        f"NUMERIC(18,2) in 元, dates as dates, times with time zone, sensitive fields masked. "
        f"Key (source_system, record_key); record_key is the record's `{record.key}`. "
        f"Joins: source_record ON source_record.source_system = source_system AND "
        f"source_record.record_type = '{record.name}' AND source_record.record_key = "
        f"record_key; project ON project.project_id = project_id (null: not linked). "
        f"SQLite keeps money as exact text: sum it in fen, SUM(CAST(round(x * 100) AS INTEGER))."
    ).strip()


def check_names(system: str, record: RecordType) -> None:
    """Refuse fields that cannot be columns: the table's own names, or too long for PostgreSQL."""
    clash = [f for f in record.field_names if f in (*LEAD, "row_hash")]
    long = [f for f in record.field_names if len(f.encode()) > MAX_NAME]
    if clash or long:
        raise ValueError(
            f"{system}/{record.name}: field(s) {clash + long} cannot be detail columns "
            f"(names {', '.join(LEAD)} and row_hash are the table's own; at most {MAX_NAME} "
            "bytes each); rename them in the department's records.py"
        )
