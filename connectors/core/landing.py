"""Raw landing: every page exactly as received, compressed, addressable by run and stream.

`<root>/<run_id>/<source>/<stream>/<attempt>-<seq>.page.gz` holds one JSON line of metadata
(request as sent, status, the headers that matter, fetch time) followed by the body's bytes.
Request headers are never kept: they carry the credentials. Every attempt keeps its pages (a
retry resumes from a checkpoint and does not re-read what came before it), and a stream read
to its end is marked `complete.json` with the state it ended in: running that night again
replays the stream from here, without the source, and stages exactly what it staged.
"""

from __future__ import annotations

import gzip
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from connectors.core.http import Fetched

COMPLETE = "complete.json"


class Landing:
    def __init__(self, root: Path, run_id: str) -> None:
        self.root, self.run_id = Path(root), run_id
        self.attempt = f"{time.time_ns():016x}"  # names sort in the order attempts ran

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
        target = folder / f"{self.attempt}-{seq:06d}.page.gz"
        partial = target.with_suffix(".partial")
        with gzip.open(partial, "wb", compresslevel=1) as out:
            out.write(json.dumps(meta, ensure_ascii=False).encode() + b"\n")
            out.write(fetched.body)
        os.replace(partial, target)  # a page is either whole or absent
        return target

    def mark_complete(self, source: str, stream: str, state: dict[str, Any] | None) -> None:
        folder = self.stream_dir(source, stream)
        folder.mkdir(parents=True, exist_ok=True)
        partial = folder / f"{COMPLETE}.partial"
        partial.write_text(json.dumps({"state": state}, sort_keys=True))
        os.replace(partial, folder / COMPLETE)

    def completed(self, source: str, stream: str) -> dict[str, Any] | None:
        """The marker of a stream read to its end in this run (`state` inside), or None."""
        marker = self.stream_dir(source, stream) / COMPLETE
        return json.loads(marker.read_text()) if marker.exists() else None


def read_pages(folder: Path) -> Iterator[tuple[dict, bytes]]:
    """(metadata, body) of every landed page of one stream, in fetch order."""
    for path in sorted(Path(folder).glob("*.page.gz")):
        with gzip.open(path, "rb") as f:
            head, _, body = f.read().partition(b"\n")
        yield json.loads(head), body
