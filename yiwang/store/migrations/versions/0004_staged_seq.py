"""Staged records carry the order they were written in, and the store a name of its own.

`seq` grows with every insert or update of a staged record (PostgreSQL: a sequence), so a
night can ask for what changed since the last one (`yiwang.store.kept`). `hub.store` holds one
random id, naming the directory where what is kept for the store lies; `hub.kept_stream`
holds, per stream, the token and watermark of the parts last kept: parts whose manifest says
otherwise (a copy of the store, a restored backup) are not taken.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite (the demo) validates every night in full
    op.execute("CREATE SEQUENCE hub.staged_seq")
    # every existing row numbered once (the table is rewritten), then each write takes the next
    op.add_column(
        "staged_record",
        sa.Column(
            "seq",
            sa.BigInteger(),
            server_default=sa.text("nextval('hub.staged_seq')"),
            nullable=False,
        ),
        schema="hub",
    )
    op.execute("ALTER SEQUENCE hub.staged_seq OWNED BY hub.staged_record.seq")
    op.create_index("staged_record_seq", "staged_record", ["source", "stream", "seq"], schema="hub")
    op.execute("CREATE TABLE hub.store (id uuid PRIMARY KEY DEFAULT gen_random_uuid())")
    op.execute("INSERT INTO hub.store DEFAULT VALUES")
    op.create_table(
        "kept_stream",
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("stream", sa.Text(), nullable=False),
        sa.Column("token", sa.Text(), nullable=False),
        sa.Column("watermark", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("source", "stream"),
        schema="hub",
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_table("kept_stream", schema="hub")
    op.execute("DROP TABLE hub.store")
    op.drop_index("staged_record_seq", "staged_record", schema="hub")
    op.drop_column("staged_record", "seq", schema="hub")
