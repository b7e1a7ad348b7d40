"""Raw landing: every page exactly as received, compressed, addressable by run and stream.

`<root>/<run_id>/<source>/<stream>/<seq>.page.gz` holds one JSON line of metadata (request as
sent, status, the headers that matter, fetch time) followed by the body's bytes. Request
headers are never kept: they carry the credentials. A night can be replayed from here
without the source (`replay`).
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Iterator
from pathlib import Path

from connectors.core.http import Fetched


class Landing:
    def __init__(self, root: Path, run_id: str) -> None:
        self.root, self.run_id = Path(root), run_id

    def stream_dir(self, source: str, stream: str) -> Path:
        return self.root / self.run_id / source / stream

    def write(self, source: str, stream: str, seq: int, fetched: Fetched) -> Path:
        folder = self.stream_dir(source, stream)
        folder.mkdir(parents=True, exist_ok=True)
        meta = {
            "request": fetched.request,
            "status": fetched.status,
            "headers": fetched.headers,
            "fetched_at": fetched.fetched_at,
            "bytes": len(fetched.body),
        }
        target = folder / f"{seq:06d}.page.gz"
        partial = target.with_suffix(".partial")
        with gzip.open(partial, "wb", compresslevel=1) as out:
            out.write(json.dumps(meta, ensure_ascii=False).encode() + b"\n")
            out.write(fetched.body)
        os.replace(partial, target)  # a page is either whole or absent
        return target


def read_pages(folder: Path) -> Iterator[tuple[dict, bytes]]:
    """(metadata, body) of every landed page of one stream, in fetch order."""
    for path in sorted(Path(folder).glob("*.page.gz")):
        with gzip.open(path, "rb") as f:
            head, _, body = f.read().partition(b"\n")
        yield json.loads(head), body
