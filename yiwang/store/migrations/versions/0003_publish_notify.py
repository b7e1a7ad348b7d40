"""PostgreSQL: a publication, once committed, is announced on channel `yiwang_published`.

The read API's workers LISTEN there (`yiwang.api.follower`), so they learn of a new snapshot without
asking the ledger on every request. The trigger sits on the ledger, so any publisher announces.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite has no LISTEN: its readers ask the ledger each time
    op.execute(
        """
        CREATE FUNCTION hub.announce_publication() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('yiwang_published', NEW.seq::text);  -- delivered at COMMIT
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER announce_publication AFTER INSERT ON unified.publish_run "
        "FOR EACH ROW EXECUTE FUNCTION hub.announce_publication()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER announce_publication ON unified.publish_run")
    op.execute("DROP FUNCTION hub.announce_publication()")
