"""/exports: the published snapshot as files to download, the same `yiwang export` writes.

An export is built once per snapshot and format, into a cache folder beside the quality
folder (`<data dir>/exports`, or `app.state.exports_dir` when set), and served from there:
the whole as one zip, or one table's file. Its `ETag` is the snapshot's `content_hash`: the
files hold nothing else that varies (the zip's is weak, as its manifest also names the run).
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import threading
import zipfile
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi import Path as InPath
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, Response

from yiwang.api.models import answers
from yiwang.api.routes.shared import GUARDS, Reader
from yiwang.api.snapshot import Snapshots
from yiwang.export import MANIFEST, Manifest, export
from yiwang.store.lock import flocked

router = APIRouter(dependencies=GUARDS)
_building = threading.Lock()  # this process's threads, before the file lock between processes
ZIP = "application/zip"
MEDIA = {"parquet": "application/vnd.apache.parquet", "csv": "text/csv; charset=utf-8"}
STAMP = (1980, 1, 1, 0, 0, 0)  # every zip member's time: the same files give the same zip


class ExportFormat(StrEnum):
    parquet = "parquet"
    csv = "csv"


Table = Annotated[str, InPath(max_length=100, pattern=r"^[a-z][a-z0-9_]*$")]


def _answers(media: dict[str, str]) -> dict[int | str, dict[str, Any]]:
    binary = {"schema": {"type": "string", "format": "binary"}}
    ok = {"description": "the files", "content": dict.fromkeys(media.values(), binary)}
    return {200: ok, **answers(named=True)}


@router.get("/exports/{format}", response_class=Response, responses=_answers({"zip": ZIP}))
async def export_zip(request: Request, snapshots: Reader, format: ExportFormat) -> Response:
    """The published snapshot as a zip: one file per table and manifest.json (row counts,
    SHA-256s, each column's type and meaning)."""
    folder, manifest = await run_in_threadpool(_ready, request.app, snapshots, format.value)
    etag = f'W/"{manifest.content_hash}"'
    name = f"yiwang-{_safe(manifest.run_id)}-{format.value}.zip"
    return _served(request, folder.with_suffix(".zip"), ZIP, etag, name)


@router.get("/exports/{format}/{table}", response_class=Response, responses=_answers(MEDIA))
async def export_table(
    request: Request, snapshots: Reader, format: ExportFormat, table: Table
) -> Response:
    """One table of the published snapshot, as the zip holds it."""
    folder, manifest = await run_in_threadpool(_ready, request.app, snapshots, format.value)
    found = next((f for f in manifest.files if f.table == table), None)
    if found is None:
        listed = ", ".join(f.table for f in manifest.files)
        raise HTTPException(404, f"no table {table!r} in the export; there are: {listed}")
    etag = f'"{manifest.content_hash}"'
    return _served(request, folder / found.name, MEDIA[format.value], etag, found.name)


def _served(request: Request, path: Path, media: str, etag: str, name: str) -> Response:
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if _matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    return FileResponse(path, media_type=media, filename=name, headers=headers)


def _matches(asked: str | None, etag: str) -> bool:
    """`If-None-Match` by the weak comparison RFC 9110 asks of it."""
    if not asked:
        return False
    tags = {t.strip().removeprefix("W/") for t in asked.split(",")}
    return "*" in tags or etag.removeprefix("W/") in tags


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-._" else "_" for c in text)


# ---- the cache ------------------------------------------------------------------------------
def _root(app: FastAPI, snapshots: Snapshots) -> Path:
    """This store's cache folder (two stores may share a data directory)."""
    base = getattr(app.state, "exports_dir", None) or app.state.docs_dir.parent / "exports"
    url = snapshots.engine.url.render_as_string(hide_password=True)
    return Path(base) / hashlib.sha256(url.encode()).hexdigest()[:12]


def _key(content_hash: str, run_id: str) -> str:
    return f"{content_hash}-{hashlib.sha256(run_id.encode()).hexdigest()[:12]}"


def _ready(app: FastAPI, snapshots: Snapshots, fmt: str) -> tuple[Path, Manifest]:
    """The export of the newest snapshot in `fmt` (its folder; the zip beside it), built
    first if it is not yet."""
    head = snapshots.latest()
    if head is None:
        raise HTTPException(404, "nothing is published yet")
    root = _root(app, snapshots)
    folder = root / _key(head["content_hash"], head["run_id"]) / fmt
    if not folder.with_suffix(".zip").is_file():
        root.mkdir(parents=True, exist_ok=True)
        # one build at a time per store, across threads and `--workers` processes: the next
        # asker finds it built, and no build's clean-up removes another's folder
        with _building, flocked(root / ".building"):
            if not folder.with_suffix(".zip").is_file():
                folder = _build(root, snapshots, fmt)
    return folder, Manifest.load(folder / MANIFEST)


def _build(root: Path, snapshots: Snapshots, fmt: str) -> Path:
    """Export into a work folder, zip it, then move both into place under the snapshot the
    export read (a publication may have come since the head was asked for)."""
    work = root / f".build-{secrets.token_hex(4)}"
    try:
        manifest = export(snapshots.engine, fmt, work / fmt)
        _zip(work / fmt, work / f"{fmt}.zip")
        key = _key(manifest.content_hash, manifest.run_id)
        target = root / key
        target.mkdir(parents=True, exist_ok=True)
        if not (target / fmt).exists():
            os.replace(work / fmt, target / fmt)  # the folder first: a zip means both are there
        os.replace(work / f"{fmt}.zip", target / f"{fmt}.zip")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for old in root.iterdir():  # older snapshots' exports can no longer be asked for
        if old.name != key and not old.name.startswith("."):
            shutil.rmtree(old, ignore_errors=True)
    return target / fmt


def _zip(folder: Path, path: Path) -> None:
    """`folder`'s files as a zip that is the same bytes for the same files (Parquet stored
    as it is, being compressed already)."""
    with zipfile.ZipFile(path, "w") as archive:
        for file in sorted(folder.iterdir()):
            info = zipfile.ZipInfo(file.name, date_time=STAMP)
            info.external_attr = 0o644 << 16
            packed = file.suffix != ".parquet"
            info.compress_type = zipfile.ZIP_DEFLATED if packed else zipfile.ZIP_STORED
            big = file.stat().st_size > zipfile.ZIP64_LIMIT
            with file.open("rb") as src, archive.open(info, "w", force_zip64=big) as out:
                shutil.copyfileobj(src, out, 1 << 20)
