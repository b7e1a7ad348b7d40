"""Connection settings for a departmental system, read from Airflow Connections.

Only the edges read them: the CLI from `AIRFLOW_CONN_*` (`from_env`), Airflow's tasks through
Airflow's own lookup (`yiwang.airflow.connections`, through `from_fields`). Connectors take a
`ConnectionSettings` as an argument, so everything runs in pytest and the CLI without a
scheduler.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit


class ConnectionConfigError(Exception):
    """A connection is missing or malformed (the message names its variable, never a secret)."""


@dataclass(frozen=True)
class ConnectionSettings:
    conn_id: str
    host: str
    port: int | None = None
    scheme: str = "http"  # Airflow's `schema` field: http or https
    login: str = ""
    password: str = field(default="", repr=False)  # secret: never in repr, logs or XCom
    base_path: str = ""
    page_size: int | None = None  # extra `page_size`: smaller pages, for a gateway's size cap
    # extra `phone_key`: the key of the callers' phone hash (hotline); secret like the password
    phone_key: str = field(default="", repr=False)

    @property
    def origin(self) -> str:
        port = f":{self.port}" if self.port else ""
        return f"{self.scheme}://{self.host}{port}"

    @property
    def base_url(self) -> str:
        return f"{self.origin}{self.base_path.rstrip('/')}"

    def secrets(self) -> list[str]:
        return [s for s in (self.password, self.phone_key) if s]

    def __str__(self) -> str:  # what logs may show
        return f"{self.conn_id} ({self.base_url}, login={self.login or '-'})"


def env_var(conn_id: str) -> str:
    return f"AIRFLOW_CONN_{conn_id.upper()}"


def from_env(conn_id: str, environ: Mapping[str, str] | None = None) -> ConnectionSettings:
    """The connection `conn_id` from `AIRFLOW_CONN_<ID>`, in Airflow's JSON or URI form."""
    environ = os.environ if environ is None else environ
    raw = environ.get(env_var(conn_id), "").strip()
    if not raw:
        raise ConnectionConfigError(_not_configured([conn_id]))
    return _from_json(conn_id, raw) if raw.startswith("{") else _from_uri(conn_id, raw)


def from_env_all(
    conn_ids: Iterable[str], environ: Mapping[str, str] | None = None
) -> dict[str, ConnectionSettings]:
    """Every connection of `conn_ids` (`from_env`), or one `ConnectionConfigError` naming each
    that is malformed and all that are missing, so one attempt tells everything to fix."""
    environ = os.environ if environ is None else environ
    found, problems, missing = {}, [], []
    for conn_id in conn_ids:
        if not environ.get(env_var(conn_id), "").strip():
            missing.append(conn_id)
            continue
        try:
            found[conn_id] = from_env(conn_id, environ)
        except ConnectionConfigError as exc:
            problems.append(str(exc))
    if missing:
        problems.append(_not_configured(missing))
    if problems:
        raise ConnectionConfigError("; ".join(problems))
    return found


def _not_configured(conn_ids: list[str]) -> str:
    names, variables = (", ".join(f(c) for c in conn_ids) for f in (repr, env_var))
    plural = len(conn_ids) > 1
    return (
        f"connection{'s' * plural} {names} {'are' if plural else 'is'} not configured: "
        f"set {variables} (Airflow JSON or URI form)"
    )


def _malformed(conn_id: str, problem: str) -> ConnectionConfigError:
    # never the variable's value: it holds the password
    return ConnectionConfigError(f"{env_var(conn_id)} (connection {conn_id!r}) {problem}")


def _port(conn_id: str, value) -> int | None:
    """A port from 1 to 65535, None when not given."""
    if value == 0:
        return None
    return _whole(conn_id, value, "port {}", "a number from 1 to 65535", 65535)


def _page_size(conn_id: str, value) -> int | None:
    return _whole(conn_id, value, "page_size {} in its extra", "a whole number above 0")


def _whole(conn_id: str, value, what: str, wanted: str, highest: int | None = None) -> int | None:
    """A whole number from 1 (to `highest`), None when not given; `what` names the value
    where `{}` stands."""
    if value in (None, ""):
        return None
    try:
        number = int(value)
    except (ValueError, TypeError):
        number = 0
    if number < 1 or (highest is not None and number > highest):
        raise _malformed(conn_id, f"has {what.format(repr(str(value)[:20]))}, not {wanted}")
    return number


def _from_json(conn_id: str, raw: str) -> ConnectionSettings:
    try:
        doc = json.loads(raw)
        if not isinstance(doc, dict):
            raise ValueError("not a JSON object")
        extra = doc.get("extra") or {}
        if isinstance(extra, str):
            extra = json.loads(extra) if extra.strip() else {}
        if not isinstance(extra, dict):
            raise ValueError("its extra is not a JSON object")
    except ValueError as exc:  # json's messages give a position, never the text
        raise _malformed(conn_id, f"is not valid Airflow connection JSON ({exc})") from None
    return from_fields(
        conn_id, doc.get("host"), doc.get("port"), doc.get("schema"), doc.get("login"),
        doc.get("password"), extra,
    )  # fmt: skip


def from_fields(
    conn_id: str,
    host: object,
    port: object = None,
    schema: object = None,
    login: object = None,
    password: object = None,
    extra: Mapping[str, object] | None = None,
) -> ConnectionSettings:
    """Settings from an Airflow connection's fields (Airflow's own lookup, or the JSON form),
    checked as the environment's are: a host, and a port from 1 to 65535 when given."""
    if not host or not isinstance(host, str):
        raise _malformed(conn_id, "has no host")
    if "://" in host:  # Airflow's HTTP connections may carry the scheme in the host
        schema, host = host.split("://", 1)
    settings = ConnectionSettings(
        conn_id=conn_id,
        host=host,
        port=_port(conn_id, port),
        scheme=str(schema or "http"),
        login=str(login or ""),
        password=str(password or ""),
        base_path=str((extra or {}).get("base_path", "")),
        page_size=_page_size(conn_id, (extra or {}).get("page_size")),
        phone_key=str((extra or {}).get("phone_key") or ""),
    )
    register_secrets(settings)
    return settings


def _from_uri(conn_id: str, raw: str) -> ConnectionSettings:
    """Airflow URI form: `conn-type://login:password@host:port/schema?base_path=/gw`."""
    try:
        parts = urlsplit(raw)
        query = dict(parse_qsl(parts.query))
        if "__extra__" in query:
            query = json.loads(query["__extra__"])
    except ValueError as exc:
        raise _malformed(
            conn_id, f"is not a valid Airflow connection URI ({type(exc).__name__})"
        ) from None
    if not parts.hostname:
        raise _malformed(conn_id, "has no host")
    try:
        port = parts.port or None
    except ValueError:  # its message would echo the URI's port part
        raise _malformed(conn_id, "has a port that is not a number from 1 to 65535") from None
    return from_fields(
        conn_id, unquote(parts.hostname), port, unquote(parts.path.lstrip("/")),
        unquote(parts.username or ""), unquote(parts.password or ""), query,
    )  # fmt: skip


def register_secrets(settings: ConnectionSettings) -> None:
    """Tell Airflow's log masker about the secrets, when running inside Airflow."""
    if "AIRFLOW_CTX_DAG_ID" not in os.environ and "AIRFLOW_HOME" not in os.environ:
        return  # importing Airflow outside it is slow and configures its logging
    try:
        from airflow.sdk.log import mask_secret
    except ImportError:  # pragma: no cover - Airflow is a core dependency
        return
    for secret in settings.secrets():
        mask_secret(secret)
