"""PostgreSQL roles: `yiwang_reader` may read schema `unified` and nothing else.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite has no roles: the embedded file is the reader's own copy
    # roles are cluster-wide: another database of the cluster may have made it already
    op.execute(
        """
        DO $$ BEGIN
            CREATE ROLE yiwang_reader LOGIN;
        EXCEPTION WHEN duplicate_object THEN NULL;
        END $$
        """
    )
    op.execute("REVOKE ALL ON SCHEMA hub FROM PUBLIC")
    op.execute("REVOKE CREATE ON SCHEMA unified FROM PUBLIC")
    op.execute("GRANT USAGE ON SCHEMA unified TO yiwang_reader")
    op.execute("GRANT SELECT ON ALL TABLES IN SCHEMA unified TO yiwang_reader")
    op.execute("ALTER DEFAULT PRIVILEGES IN SCHEMA unified GRANT SELECT ON TABLES TO yiwang_reader")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("REVOKE ALL ON ALL TABLES IN SCHEMA unified FROM yiwang_reader")
    op.execute("REVOKE USAGE ON SCHEMA unified FROM yiwang_reader")
