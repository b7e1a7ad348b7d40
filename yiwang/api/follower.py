"""The newest publication's `seq`, kept current by PostgreSQL instead of asked for per request.

Migration 0003 makes every committed publication `NOTIFY yiwang_published, '<seq>'`. A
`Follower` holds one listening connection in a daemon thread. `seq` is the newest publication
it knows of, or None while it has no connection (starting, the server dropped it, or the thread
ended); callers then read the ledger themselves, so a lost listener costs speed, never
correctness. A new snapshot reaches `seq` within half a second of its commit (the listener
collects notifications for up to 0.5 s at a time).

PostgreSQL has no privilege for NOTIFY: any role that can connect, the read-only
`yiwang_reader` too, can send on the channel. So a payload is only a hint: it is believed when
the ledger, which only the hub's role can write, holds a run of that `seq` (a content hash in
the payload would add nothing: it too would have to be checked against the same ledger row).
Anything else is logged and ignored, and whatever goes wrong in the thread, it reconnects.
"""

from __future__ import annotations

import logging
import re
import threading

import psycopg

CHANNEL = "yiwang_published"
APPLICATION = "yiwang-follower"  # as pg_stat_activity names its connection
LATEST = "SELECT max(seq) FROM unified.publish_run"
PUBLISHED = "SELECT seq FROM unified.publish_run WHERE seq = %s"
SEQ = re.compile(r"[1-9][0-9]{0,17}")  # exactly what the trigger's `seq::text` sends; fits bigint
SHOWN = 40  # characters of an ignored payload put in the log: enough to recognise, no flood
log = logging.getLogger(__name__)


class Follower:
    def __init__(self, url: str, retry_after: float = 1.0) -> None:
        self.url, self.retry_after = url, retry_after
        self._seq: int | None = None
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._follow, name=APPLICATION, daemon=True)

    @property
    def seq(self) -> int | None:
        """The newest publication verified in the ledger; None unless the listener is live."""
        return self._seq if self._thread.is_alive() else None

    def start(self) -> Follower:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join()

    def _follow(self) -> None:
        try:
            while not self._stopped.is_set():
                try:
                    self._listen()
                except psycopg.Error as error:
                    log.warning("publication listener lost (%s); retrying", type(error).__name__)
                except Exception as error:  # a bug must cost speed, not the listener
                    log.warning(
                        "publication listener failed (%s); retrying", type(error).__name__,
                        exc_info=log.isEnabledFor(logging.DEBUG),
                    )  # fmt: skip
                self._seq = None
                self._stopped.wait(self.retry_after)
        finally:
            self._seq = None

    def _listen(self) -> None:
        # keepalives: a connection that silently died is noticed, not listened to forever
        with psycopg.connect(
            self.url, autocommit=True, application_name=APPLICATION,
            keepalives=1, keepalives_idle=10, keepalives_interval=5,
        ) as conn:  # fmt: skip
            conn.execute(f"LISTEN {CHANNEL}")
            # read after LISTEN: a publication committed from here on is heard, none is missed
            self._seq = conn.execute(LATEST).fetchone()[0] or 0
            while not self._stopped.is_set():
                # drained first: `notifies()` holds the connection's lock while it yields, so a
                # query checking a payload inside the loop would wait on itself for ever
                payloads = [note.payload for note in conn.notifies(timeout=0.5, stop_after=100)]
                for payload in payloads:
                    seq = self._published(conn, payload)
                    if seq is not None:
                        self._seq = max(self._seq or 0, seq)

    @staticmethod
    def _published(conn: psycopg.Connection, payload: str) -> int | None:
        """The `seq` that `payload` names if the ledger holds it, else None (logged)."""
        # NOTIFY is delivered after its transaction commits: a true run's row is visible here
        if SEQ.fullmatch(payload) and conn.execute(PUBLISHED, (int(payload),)).fetchone():
            return int(payload)
        log.warning(
            "ignored a notification on %s: %r is no run in the ledger (anyone who can connect "
            "can NOTIFY; check which sessions do if this repeats)", CHANNEL, payload[:SHOWN],
        )  # fmt: skip
        return None
