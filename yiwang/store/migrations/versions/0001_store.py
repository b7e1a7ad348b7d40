"""the store: published tables, staging and stream state

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

import yiwang.store.tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE SCHEMA IF NOT EXISTS unified")
        op.execute("CREATE SCHEMA IF NOT EXISTS hub")
    op.create_table(
        "staged_record",
        sa.Column(
            "source", sa.Text().with_variant(sa.Text(collation="C"), "postgresql"), nullable=False
        ),
        sa.Column(
            "stream", sa.Text().with_variant(sa.Text(collation="C"), "postgresql"), nullable=False
        ),
        sa.Column(
            "record_id",
            sa.Text().with_variant(sa.Text(collation="C"), "postgresql"),
            nullable=False,
            comment="the key, or a digest for keyless rows",
        ),
        sa.Column("has_key", sa.Boolean(), nullable=False),
        sa.Column(
            "version", sa.Text().with_variant(sa.Text(collation="C"), "postgresql"), nullable=False
        ),
        sa.Column("record", sa.Text(), nullable=False, comment="JSON; money as exact decimals"),
        sa.Column("run_id", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("source", "stream", "record_id"),
        schema="hub",
    )
    op.create_table(
        "stream_state",
        sa.Column(
            "source", sa.Text().with_variant(sa.Text(collation="C"), "postgresql"), nullable=False
        ),
        sa.Column(
            "stream", sa.Text().with_variant(sa.Text(collation="C"), "postgresql"), nullable=False
        ),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("run_id", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("source", "stream"),
        schema="hub",
    )
    op.create_table(
        "project",
        sa.Column(
            "project_id",
            sa.Text().with_variant(sa.Text(collation="C"), "postgresql"),
            nullable=False,
            comment="the project code when the registry knows the project; otherwise `X-` followed by an id derived from the anchoring record (e.g. `X-320506202305120101` from a permit number); stable from run to run while the source records behind it stay",
        ),
        sa.Column(
            "project_code",
            sa.Text().with_variant(sa.Text(collation="C"), "postgresql"),
            nullable=True,
            comment="registry project code; null for `X-` projects",
        ),
        sa.Column(
            "project_name",
            sa.Text().with_variant(sa.Text(collation="C"), "postgresql"),
            nullable=True,
            comment="registry name; for `X-` projects the name from the anchoring record",
        ),
        sa.Column(
            "region_code",
            sa.Text().with_variant(sa.Text(collation="C"), "postgresql"),
            nullable=True,
            comment="6-digit division code",
        ),
        sa.Column(
            "owner_unit_name",
            sa.Text().with_variant(sa.Text(collation="C"), "postgresql"),
            nullable=True,
            comment="owner unit (建设单位)",
        ),
        sa.Column(
            "owner_unit_code",
            sa.Text().with_variant(sa.Text(collation="C"), "postgresql"),
            nullable=True,
            comment="owner unit credit code",
        ),
        sa.Column(
            "entrusted_unit_name",
            sa.Text().with_variant(sa.Text(collation="C"), "postgresql"),
            nullable=True,
            comment="entrusted management unit (托管单位), null when not entrusted",
        ),
        sa.Column(
            "entrusted_unit_code",
            sa.Text().with_variant(sa.Text(collation="C"), "postgresql"),
            nullable=True,
            comment="entrusted unit credit code, null when not entrusted",
        ),
        sa.Column(
            "approval_type",
            sa.Text().with_variant(sa.Text(collation="C"), "postgresql"),
            nullable=True,
            comment="`审批` | `核准` | `备案`",
        ),
        sa.Column(
            "status",
            sa.Text().with_variant(sa.Text(collation="C"), "postgresql"),
            nullable=True,
            comment="registry status; null for `X-` projects",
        ),
        sa.Column(
            "funding_source",
            sa.Text().with_variant(sa.Text(collation="C"), "postgresql"),
            nullable=True,
            comment="registry funding source",
        ),
        sa.Column(
            "approved_investment",
            yiwang.store.tables.Money(precision=18, scale=2),
            nullable=True,
            comment="latest approved total investment, 元",
        ),
        sa.Column(
            "approval_date", sa.Date(), nullable=True, comment="approval date, from the registry"
        ),
        sa.Column(
            "planned_start_date",
            sa.Date(),
            nullable=True,
            comment="planned start date, from the registry",
        ),
        sa.Column(
            "planned_end_date",
            sa.Date(),
            nullable=True,
            comment="planned completion date, from the registry",
        ),
        sa.Column(
            "permit_count",
            sa.BigInteger(),
            nullable=False,
            comment="live construction permits linked",
        ),
        sa.Column(
            "contract_amount",
            yiwang.store.tables.Money(precision=18, scale=2),
            nullable=False,
            comment="sum of those permits' contract amounts, 元",
        ),
        sa.Column(
            "paid_amount",
            yiwang.store.tables.Money(precision=18, scale=2),
            nullable=False,
            comment="sum of linked treasury vouchers, reversals included (net), 元",
        ),
        sa.Column(
            "payment_count",
            sa.BigInteger(),
            nullable=False,
            comment="linked vouchers, reversals included",
        ),
        sa.Column(
            "first_payment_date",
            sa.Date(),
            nullable=True,
            comment="first pay date over linked vouchers",
        ),
        sa.Column(
            "last_payment_date",
            sa.Date(),
            nullable=True,
            comment="last pay date over linked vouchers",
        ),
        sa.Column(
            "progress_rate",
            sa.Double(),
            nullable=True,
            comment="contract-amount-weighted mean, over live permits with a report, of each permit's latest reported completion rate (latest `period`, then latest `reportedAt`); null without reports",
        ),
        sa.Column(
            "progress_period",
            sa.Text().with_variant(sa.Text(collation="C"), "postgresql"),
            nullable=True,
            comment="latest `period` among those reports",
        ),
        sa.Column(
            "inspection_count",
            sa.BigInteger(),
            nullable=False,
            comment="inspections on linked permits",
        ),
        sa.Column(
            "open_stop_work_count",
            sa.BigInteger(),
            nullable=False,
            comment="of those, `停工整改` with no `rectifiedAt`",
        ),
        sa.Column(
            "completion_date",
            sa.Date(),
            nullable=True,
            comment="latest `合格` acceptance date when every live permit has a `合格` acceptance; else null",
        ),
        sa.Column(
            "finding_count", sa.BigInteger(), nullable=False, comment="linked audit findings"
        ),
        sa.Column(
            "open_finding_count",
            sa.BigInteger(),
            nullable=False,
            comment="linked findings not `已整改`",
        ),
        sa.Column(
            "finding_amount",
            yiwang.store.tables.Money(precision=18, scale=2),
            nullable=False,
            comment="sum of linked findings' amounts, 元",
        ),
        sa.Column(
            "risk_flags",
            sa.Text().with_variant(sa.Text(collation="C"), "postgresql"),
            nullable=False,
            comment="sorted, comma-separated risk codes (NO_APPROVAL, OVER_BUDGET, PAID_BEFORE_PERMIT, SCHEDULE_SLIP, STOP_WORK_OPEN, AUDIT_OVERDUE) as of `as_of_date`; empty string when none",
        ),
        sa.Column(
            "source_systems",
            sa.Text().with_variant(sa.Text(collation="C"), "postgresql"),
            nullable=False,
            comment="sorted, comma-separated: `audit`, `drc`, `housing`, `treasury` — which systems have a live record linked",
        ),
        sa.Column(
            "as_of_date",
            sa.Date(),
            nullable=False,
            comment="the business date the snapshot describes",
        ),
        sa.Column("row_hash", sa.String(length=64), nullable=False, comment="SHA-256 of the row"),
        sa.PrimaryKeyConstraint("project_id"),
        schema="unified",
    )
    op.create_index(
        "ix_project_owner", "project", ["owner_unit_code"], unique=False, schema="unified"
    )
    op.create_index("ix_project_region", "project", ["region_code"], unique=False, schema="unified")
    op.create_table(
        "publish_run",
        sa.Column(
            "run_id",
            sa.Text().with_variant(sa.Text(collation="C"), "postgresql"),
            nullable=False,
            comment="the run",
        ),
        sa.Column("as_of_date", sa.Date(), nullable=False, comment="the business date published"),
        sa.Column(
            "published_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="when the snapshot was committed (timestamp with time zone)",
        ),
        sa.Column(
            "record_counts",
            sa.Text().with_variant(sa.Text(collation="C"), "postgresql"),
            nullable=False,
            comment="JSON: received, accepted, quarantined, linked, per source and record type",
        ),
        sa.Column(
            "content_hash",
            sa.Text().with_variant(sa.Text(collation="C"), "postgresql"),
            nullable=False,
            comment="SHA-256 over a canonical serialisation of this snapshot's tables",
        ),
        sa.Column(
            "chain_hash",
            sa.Text().with_variant(sa.Text(collation="C"), "postgresql"),
            nullable=False,
            comment="SHA-256 of (previous run's `chain_hash` + this `content_hash`)",
        ),
        sa.Column("row_hash", sa.String(length=64), nullable=False, comment="SHA-256 of the row"),
        sa.Column("seq", sa.BigInteger(), nullable=False, comment="order"),
        sa.PrimaryKeyConstraint("run_id"),
        sa.UniqueConstraint("seq"),
        schema="unified",
    )
    op.create_table(
        "quarantine",
        sa.Column(
            "source_system",
            sa.Text().with_variant(sa.Text(collation="C"), "postgresql"),
            nullable=False,
            comment="as in `source_record`",
        ),
        sa.Column(
            "record_type",
            sa.Text().with_variant(sa.Text(collation="C"), "postgresql"),
            nullable=False,
            comment="as in `source_record`",
        ),
        sa.Column(
            "record_key",
            sa.Text().with_variant(sa.Text(collation="C"), "postgresql"),
            nullable=True,
            comment="the key, when one could be read; else null",
        ),
        sa.Column(
            "reasons",
            sa.Text().with_variant(sa.Text(collation="C"), "postgresql"),
            nullable=False,
            comment="every rule it broke, in words a data engineer can act on",
        ),
        sa.Column(
            "payload",
            sa.Text().with_variant(sa.Text(collation="C"), "postgresql"),
            nullable=False,
            comment="the record as received (JSON, or the CSV line), with sensitive fields masked",
        ),
        sa.Column(
            "first_seen_run",
            sa.Text().with_variant(sa.Text(collation="C"), "postgresql"),
            nullable=False,
            comment="run id of the first run that quarantined this key",
        ),
        sa.Column(
            "last_seen_run",
            sa.Text().with_variant(sa.Text(collation="C"), "postgresql"),
            nullable=False,
            comment="run id of the latest run that quarantined it",
        ),
        sa.Column("row_hash", sa.String(length=64), nullable=False, comment="SHA-256 of the row"),
        schema="unified",
    )
    op.create_index(
        "ix_quarantine_key",
        "quarantine",
        ["source_system", "record_type", "record_key"],
        unique=False,
        schema="unified",
    )
    op.create_table(
        "source_record",
        sa.Column(
            "source_system",
            sa.Text().with_variant(sa.Text(collation="C"), "postgresql"),
            nullable=False,
            comment="`drc` | `treasury` | `housing` | `audit`",
        ),
        sa.Column(
            "record_type",
            sa.Text().with_variant(sa.Text(collation="C"), "postgresql"),
            nullable=False,
            comment="`project` (drc) | `voucher` (treasury) | `permit`, `progress_report`, `inspection`, `acceptance` (housing) | `finding` (audit)",
        ),
        sa.Column(
            "record_key",
            sa.Text().with_variant(sa.Text(collation="C"), "postgresql"),
            nullable=False,
            comment="the source's own key (`xmdm`, `凭证号`, `permitNo`, `reportId`, `inspectionId`, `filingNo`, `findingId`)",
        ),
        sa.Column(
            "project_id",
            sa.Text().with_variant(sa.Text(collation="C"), "postgresql"),
            nullable=True,
            comment="the project it belongs to; null when the evidence does not single out one project — a wrong link is worse than none",
        ),
        sa.Column(
            "link_method",
            sa.Text().with_variant(sa.Text(collation="C"), "postgresql"),
            nullable=False,
            comment="how it was linked, in words a data engineer can read (e.g. `project_code`, `permit`, `name+unit`)",
        ),
        sa.Column("link_confidence", sa.Double(), nullable=False, comment="0..1"),
        sa.Column("row_hash", sa.String(length=64), nullable=False, comment="SHA-256 of the row"),
        sa.PrimaryKeyConstraint("source_system", "record_type", "record_key"),
        schema="unified",
    )
    op.create_index(
        "ix_source_record_project", "source_record", ["project_id"], unique=False, schema="unified"
    )
    op.create_table(
        "spot_check",
        sa.Column(
            "period",
            sa.Text().with_variant(sa.Text(collation="C"), "postgresql"),
            nullable=False,
            comment="the month drawn for, `YYYY-MM`",
        ),
        sa.Column(
            "project_id",
            sa.Text().with_variant(sa.Text(collation="C"), "postgresql"),
            nullable=False,
            comment="a drawn project",
        ),
        sa.Column(
            "draw_rank", sa.BigInteger(), nullable=False, comment="order of the draw, from 1"
        ),
        sa.Column(
            "draw_seed",
            sa.Text().with_variant(sa.Text(collation="C"), "postgresql"),
            nullable=False,
            comment="SHA-256 of the period and the sorted list of eligible `project_id`s: anyone holding the list can re-draw",
        ),
        sa.Column("row_hash", sa.String(length=64), nullable=False, comment="SHA-256 of the row"),
        sa.PrimaryKeyConstraint("period", "project_id"),
        schema="unified",
    )
    op.create_table(
        "unit_scorecard",
        sa.Column(
            "unit_code",
            sa.Text().with_variant(sa.Text(collation="C"), "postgresql"),
            nullable=False,
            comment="credit code of a unit appearing as owner, entrusted unit or contractor on a live record",
        ),
        sa.Column(
            "unit_name",
            sa.Text().with_variant(sa.Text(collation="C"), "postgresql"),
            nullable=False,
            comment="the unit's name",
        ),
        sa.Column(
            "roles",
            sa.Text().with_variant(sa.Text(collation="C"), "postgresql"),
            nullable=False,
            comment="sorted, comma-separated: `contractor`, `entrusted`, `owner`",
        ),
        sa.Column(
            "project_count",
            sa.BigInteger(),
            nullable=False,
            comment="projects the unit has a role in",
        ),
        sa.Column(
            "open_stop_work_count",
            sa.BigInteger(),
            nullable=False,
            comment="open `停工整改` inspections on its projects",
        ),
        sa.Column(
            "overdue_finding_count",
            sa.BigInteger(),
            nullable=False,
            comment="`AUDIT_OVERDUE` findings on its projects",
        ),
        sa.Column(
            "slipped_project_count",
            sa.BigInteger(),
            nullable=False,
            comment="its projects flagged `SCHEDULE_SLIP`",
        ),
        sa.Column(
            "list",
            sa.Text().with_variant(sa.Text(collation="C"), "postgresql"),
            nullable=True,
            comment="`red`, `black` or null. Black: an open `停工整改` older than 30 days, or an `AUDIT_OVERDUE` finding of type `违规支付` or `招投标违规`. Red: at least 2 projects, none with a risk flag, no inspection other than `合格` in the 365 days before `as_of_date`, no findings",
        ),
        sa.Column(
            "list_reasons",
            sa.Text().with_variant(sa.Text(collation="C"), "postgresql"),
            nullable=True,
            comment="why the unit is on its list",
        ),
        sa.Column("row_hash", sa.String(length=64), nullable=False, comment="SHA-256 of the row"),
        sa.PrimaryKeyConstraint("unit_code"),
        schema="unified",
    )


def downgrade() -> None:
    op.drop_table("unit_scorecard", schema="unified")
    op.drop_table("spot_check", schema="unified")
    op.drop_index("ix_source_record_project", table_name="source_record", schema="unified")
    op.drop_table("source_record", schema="unified")
    op.drop_index("ix_quarantine_key", table_name="quarantine", schema="unified")
    op.drop_table("quarantine", schema="unified")
    op.drop_table("publish_run", schema="unified")
    op.drop_index("ix_project_region", table_name="project", schema="unified")
    op.drop_index("ix_project_owner", table_name="project", schema="unified")
    op.drop_table("project", schema="unified")
    op.drop_table("stream_state", schema="hub")
    op.drop_table("staged_record", schema="hub")
