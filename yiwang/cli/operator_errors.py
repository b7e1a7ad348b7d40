"""The one line an operator reads when a command fails: the cause, and what to do about it.

`describe` turns an exception into that line. It walks the exception's chain from the root
cause out, the way a traceback does, and recognises what an operator can fix (the store
unreachable, unknown or lost mid-night, the data directory or SQLite file unwritable, a
connection misconfigured, a `YIWANG_*` setting that is not valid); anything else is an
internal error, named by its type and the first line of its message. Passwords in URLs are
masked in every line. The CLI prints the line (`yiwang.cli.main`); `--debug` shows the
traceback instead.
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from pydantic import ValidationError

from yiwang.settings import Settings, from_environment

DATABASE = "yiwang_database"  # set on a DBAPI error by `name_the_database`
_PASSWORD_IN_URL = re.compile(r"(://[^:/@\s]*:)[^@\s]+@")
# what psycopg says when a session that was working is gone (the server's words come first)
_LOST = ("terminating connection", "server closed the connection", "connection is lost")
_FIX_URL = "fix YIWANG_DATABASE_URL"
_WRITABLE = "set YIWANG_DATA_DIR to a writable directory"


def mask(text: str) -> str:
    """`text` with the password of every URL in it replaced by `***`."""
    return _PASSWORD_IN_URL.sub(r"\1***@", text)


def describe(exc: BaseException, night: bool = False) -> str:
    """The one line for `exc`; `night`: the command runs a night (then a lost connection
    means re-running it)."""
    for cause in reversed(list(_chain(exc))):
        line = _operator_line(cause, night)
        if line:
            return mask(line)
    text = str(exc).strip()
    first = text.splitlines()[0] if text else ""
    dropped = " …" if len(text.splitlines()) > 1 else ""
    what = f"{type(exc).__name__}: {first}{dropped}" if first else type(exc).__name__
    return mask(f"internal error: {what}; re-run with --debug for the traceback")


def name_the_database(context) -> None:
    """SQLAlchemy's `handle_error` event: the DBAPI error keeps the engine's database (for
    SQLite, its file), so `describe` can name it."""
    with contextlib.suppress(AttributeError):
        setattr(context.original_exception, DATABASE, context.engine.url.database)


def _chain(exc: BaseException | None) -> Iterator[BaseException]:
    """`exc`, then what it was raised from or while handling (as a traceback shows them)."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)


def _operator_line(exc: BaseException, night: bool) -> str | None:
    from connectors.core import ConnectionConfigError, SourceError
    from departments.registry import RegistryError
    from yiwang.store.anchor import AnchorError
    from yiwang.store.publish import PublishError

    if isinstance(
        exc, ConnectionConfigError | AnchorError | PublishError | SourceError | RegistryError
    ):
        return str(exc)  # written for an operator already
    if isinstance(exc, ValidationError) and exc.title == Settings.__name__:
        return _settings(exc)
    if isinstance(exc, sqlite3.OperationalError):
        return _sqlite(exc)
    if isinstance(exc, OSError) and exc.filename:
        return _data_dir(exc)
    if type(exc).__module__.startswith("psycopg"):
        return _postgres(exc, night)
    return None


def _postgres(exc: BaseException, night: bool) -> str | None:
    import psycopg

    if not isinstance(exc, psycopg.OperationalError):
        return None
    text = str(exc).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    pgconn = getattr(exc, "pgconn", None)
    if text.startswith(("connection failed:", "connection is bad:")) and pgconn:
        host, port, db = (
            (v or b"").decode(errors="replace") for v in (pgconn.host, pgconn.port, pgconn.db)
        )
        host, port = host or "localhost", port or "5432"
        reason = first.rsplit(" failed: ", 1)[-1]
        if reason.startswith("FATAL:"):  # the server answered, and refused
            reason = reason.removeprefix("FATAL:").strip()
            if reason == f'database "{db}" does not exist':
                create = f"createdb -h {host} -p {port} {db}"
                return f"{reason} at {host}:{port}; create it with `{create}`, or {_FIX_URL}"
            return f"the database at {host}:{port} refused the connection ({reason}); {_FIX_URL}"
        reason = reason[:1].lower() + reason[1:]
        return (
            f"cannot reach the database at {host}:{port} ({reason}); start PostgreSQL or {_FIX_URL}"
        )
    if (exc.sqlstate or "").startswith("57P") or any(s in text for s in _LOST):
        then = "the last good snapshot is still in place; re-run the night" if night else None
        return f"the database connection was lost ({first}); {then or 'run the command again'}"
    return None


def _sqlite(exc: sqlite3.OperationalError) -> str | None:
    if exc.sqlite_errorname not in ("SQLITE_CANTOPEN", "SQLITE_READONLY"):
        return None
    database = getattr(exc, DATABASE, None)
    path = f" {Path(database).resolve()}" if database else ""
    return f"cannot open the SQLite database{path} ({exc}); make it writable, or {_WRITABLE}"


def _settings(exc: ValidationError) -> str:
    """`Settings` refused the environment: each variable it refused, what it holds (a secret's
    value never shown) and why."""
    prefix, fields = Settings.model_config["env_prefix"], Settings.model_fields
    said = []
    for error in exc.errors(include_url=False):
        name = str(error["loc"][0]) if error["loc"] else ""
        secret = "SecretStr" in str(fields[name].annotation) if name in fields else True
        value = "" if secret else f"={error.get('input')!r}"
        reason = error["msg"][:1].lower() + error["msg"][1:]
        said.append(f"{prefix}{name.upper()}{value} is not valid ({reason})")
    return f"{'; '.join(said)}; fix or unset {'them' if len(said) > 1 else 'it'}"


def _data_dir(exc: OSError) -> str | None:
    """An OSError on a file under the data directory: the directory is not writable."""
    try:
        data = from_environment().data_dir  # the edge's own read, as the command made it
    except ValidationError:
        return None  # the command failed on its settings, not on a file
    path = Path(os.path.abspath(os.fsdecode(exc.filename)))
    if not path.is_relative_to(data):
        return None
    cause = "it is not a directory" if data.exists() and not data.is_dir() else exc.strerror
    return f"cannot write to the data directory {data} ({cause}); {_WRITABLE}"
