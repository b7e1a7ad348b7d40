"""The fast path of publishing: which rows of a table changed, told by their row hashes.

The rule (`yiwang.store.publish`): rows whose hash the store lacks are inserted, stored rows
whose hash the snapshot lacks are deleted, the rest stay. This module makes that comparison
cheap: hashes read from the server as a few large values, held as rows of 64-bit words and
looked up by their first word, without a Python object per row.
"""

from __future__ import annotations

import binascii

import numpy as np
import pandas as pd
from sqlalchemy import Connection

from yiwang.store.canonical import RowHashes
from yiwang.store.db import is_postgres


def words(digests: bytes) -> np.ndarray:
    """Digests as rows of four 64-bit words: compared and looked up without a Python object
    per row."""
    return np.frombuffer(digests, dtype="<u8").reshape(-1, RowHashes.SIZE // 8)


def among(rows: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Which of `rows` (digests as `words`) are also in `others`: looked up by their first
    word in a hash table, then compared whole. Where `others` repeats a first word (a table
    holding identical rows), by a set of whole digests instead."""
    first = pd.Index(others[:, 0])
    if first.has_duplicates:
        known = {row.tobytes() for row in others}
        return np.fromiter((row.tobytes() in known for row in rows), bool, len(rows))
    at = first.get_indexer(rows[:, 0])
    hit = np.flatnonzero(at >= 0)
    there, same = at[hit], np.ones(len(hit), dtype=bool)
    for word in range(1, others.shape[1]):  # a column at a time: half the time of 2-D rows
        same &= others[there, word] == rows[hit, word]
    found = np.zeros(len(rows), dtype=bool)
    found[hit[same]] = True
    return found


def stored_digests(conn: Connection, target: str) -> tuple[np.ndarray, list[str]]:
    """The table's row hashes as digests (`words`), and apart, as text, any stored value that
    spells no digest (an edited row), to be deleted.

    On PostgreSQL the server joins them into 16 values (by first digit: each a sixteenth of
    the table, well inside the 1 GB a value may hold), unhexlified at once when every hash is
    64 characters long (a row a message costs Python time per row, holding the interpreter
    while resolution wants it); a table holding one that is not is read row by row.
    """
    if is_postgres(conn.engine):
        with conn.connection.driver_connection.cursor(binary=True) as cur:
            groups = cur.execute(
                "SELECT bool_and(octet_length(row_hash) = 64), "
                f"convert_to(string_agg(row_hash, ''), 'SQL_ASCII') FROM {target} "
                "GROUP BY left(row_hash, 1)"
            ).fetchall()
        if all(whole for whole, _ in groups):
            try:
                return words(b"".join(binascii.unhexlify(hexes) for _, hexes in groups)), []
            except binascii.Error:
                pass
    digests, edited = bytearray(), []
    for text in conn.exec_driver_sql(f"SELECT row_hash FROM {target}").scalars():
        digest = _digest(text)
        if digest is None:
            edited.append(text)
        else:
            digests.extend(digest)
    return words(bytes(digests)), edited


def _digest(text: str | None) -> bytes | None:
    if not isinstance(text, str) or len(text) != 2 * RowHashes.SIZE:
        return None
    try:
        digest = bytes.fromhex(text)
    except ValueError:
        return None
    return digest if len(digest) == RowHashes.SIZE else None  # fromhex skips spaces
