"""Which snapshot is published, and reads that each see one snapshot.

On PostgreSQL the newest snapshot is announced (`yiwang.api.follower`); otherwise, or while
the announcements are not heard, the ledger's latest row is read.
"""

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Engine, and_, select
from sqlalchemy.exc import DBAPIError

from yiwang.api.bodies import as_json, page
from yiwang.api.follower import Follower
from yiwang.store.db import is_postgres
from yiwang.store.tables import published

L = published["publish_run"]
LATEST = select(L.c.seq, L.c.run_id, L.c.as_of_date, L.c.content_hash)
LATEST = LATEST.order_by(L.c.seq.desc()).limit(1)


def once_more_if_dropped(call: Callable[[], Any]) -> Any:
    """`call()`, once more if the database had dropped the connection (a restart, a failover):
    SQLAlchemy then discards every pooled connection, so the retry starts on a fresh one."""
    try:
        return call()
    except DBAPIError as error:
        if not error.connection_invalidated:
            raise
        return call()


def read(conn: Connection, query) -> list:
    return conn.execute(query).mappings().all()


Render = Callable[[], tuple[int, bytes]]  # a body and the snapshot (seq) it shows


def _seq_of(found: dict[str, Any] | None) -> int:
    return int(found["seq"]) if found else 0


class Snapshots:
    """The published tables over `engine`, as the API reads them."""

    def __init__(self, engine: Engine) -> None:
        self.postgres = is_postgres(engine)
        self.engine = self.plain = engine  # `plain` for reads of one statement (the ledger row)
        self.follower: Follower | None = None
        if self.postgres:  # one statement is one snapshot: no BEGIN or ROLLBACK round trips
            self.plain = engine.execution_options(isolation_level="AUTOCOMMIT")
            self.engine = engine.execution_options(isolation_level="REPEATABLE READ")
            # told of each publication, instead of asking the ledger every request
            url = engine.url.set(drivername="postgresql").render_as_string(False)
            self.follower = Follower(url)
        self._heads: dict[int, dict[str, Any]] = {}  # the ledger's latest row, by its seq

    def head(self, conn: Connection | None = None) -> dict[str, Any] | None:
        """The ledger's latest row: on `conn`, or on a connection of its own."""
        if conn is None:

            def read_latest() -> dict[str, Any] | None:
                with self.plain.connect() as conn:
                    return self.head(conn)

            return once_more_if_dropped(read_latest)
        found = conn.execute(LATEST).mappings().first()
        return dict(found) if found else None

    def newest(self) -> int:
        """The newest publication's seq: the follower's, or the ledger's when it has none."""
        known = self.follower.seq if self.follower else None
        return known if known is not None else _seq_of(self.head())

    def latest(self) -> dict[str, Any] | None:
        """The ledger's latest row; while the follower is live, read once per snapshot."""
        follower = self.follower
        found = self._heads.get(follower.seq) if follower else None
        if found is None:  # no listener, or a snapshot it has not yet been read for
            found = self.head()
            if found and follower:
                self._heads.clear()
                self._heads[found["seq"]] = found
        return found

    def in_one_snapshot(
        self, build: Callable[[Connection], Any], encode: Callable[[Any], bytes] = as_json
    ) -> Render:
        """A renderer of `build`'s content (as `encode` makes it bytes) and the snapshot it
        shows, read in one transaction."""

        def render() -> tuple[int, bytes]:
            with self.engine.connect() as conn, conn.begin():
                return _seq_of(self.head(conn)), encode(build(conn))

        return render

    def keyset_page(self, table, key: str, after: str | None, limit: int, where=()) -> Render:
        """A renderer of one page of `table` in `key` order after `after`, filtered by `where`
        (`next` is the `after` of the next page)."""
        column = table.c[key]
        conditions = [*where, *([column > after] if after is not None else [])]
        query = select(table).where(and_(True, *conditions)).order_by(column).limit(limit + 1)
        return self.in_one_snapshot(lambda conn: page(read(conn, query), limit, key))
