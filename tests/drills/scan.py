"""Where secrets must never be: every byte the hub wrote (logs, Airflow's metadata database
with its XCom, the landing zone, the store, the quality reports), searched for each secret."""

from __future__ import annotations

import gzip
from collections.abc import Iterable
from pathlib import Path


def _contents(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except FileNotFoundError:  # a SQLite -wal/-shm removed as its database closed: merged in it
        return b""
    if path.name.endswith(".gz"):
        try:
            return data + gzip.decompress(data)
        except (OSError, EOFError):
            return data
    return data


def secret_hits(roots: Iterable[Path], secrets: Iterable[str], texts: Iterable[str] = ()) -> list:
    """(where, secret) for every file under `roots`, and every text, holding a secret."""
    needles = [(s, s.encode()) for s in secrets if s]
    hits, files = [], 0
    for root in roots:
        for path in [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file()):
            files += 1
            data = _contents(path)
            hits += [(str(path), s) for s, b in needles if b in data]
    for i, text in enumerate(texts):
        hits += [(f"output {i}", s) for s, _ in needles if s in text]
    assert files > 0, "nothing was scanned"
    return hits


def cluster_secrets(cluster) -> list[str]:
    """The four systems' passwords and keys, and every access token housing issued."""
    secrets = [srv.credentials()["password"] for srv in cluster.servers.values()]
    return secrets + list(cluster.servers["housing"]._tokens)
