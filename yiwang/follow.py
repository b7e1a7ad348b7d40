"""The newest publication's `seq`, kept current by PostgreSQL instead of asked for per request.

Migration 0003 makes every committed publication `NOTIFY yiwang_published, '<seq>'`. A
`Follower` holds one listening connection in a daemon thread. `seq` is the newest publication
it knows of, or None while it has no connection (starting, or the server dropped it); callers
then read the ledger themselves, so a lost listener costs speed, never correctness. A new
snapshot reaches `seq` within the notification's delivery, milliseconds after its commit.
"""

from __future__ import annotations

import logging
import threading

import psycopg

CHANNEL = "yiwang_published"
APPLICATION = "yiwang-follower"  # as pg_stat_activity names its connection
LATEST = "SELECT max(seq) FROM unified.publish_run"
log = logging.getLogger(__name__)


class Follower:
    def __init__(self, url: str, retry_after: float = 1.0) -> None:
        self.url, self.retry_after = url, retry_after
        self.seq: int | None = None
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._follow, name=APPLICATION, daemon=True)

    def start(self) -> Follower:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join()

    def _follow(self) -> None:
        while not self._stopped.is_set():
            try:
                self._listen()
            except psycopg.Error as error:
                log.warning("publication listener lost (%s); retrying", type(error).__name__)
            self.seq = None
            self._stopped.wait(self.retry_after)

    def _listen(self) -> None:
        # keepalives: a connection that silently died is noticed, not listened to forever
        with psycopg.connect(
            self.url, autocommit=True, application_name=APPLICATION,
            keepalives=1, keepalives_idle=10, keepalives_interval=5,
        ) as conn:  # fmt: skip
            conn.execute(f"LISTEN {CHANNEL}")
            # read after LISTEN: a publication committed from here on is heard, none is missed
            self.seq = conn.execute(LATEST).fetchone()[0] or 0
            while not self._stopped.is_set():
                for note in conn.notifies(timeout=0.5):
                    self.seq = max(self.seq or 0, int(note.payload))
