"""Connection settings for a departmental system, read from Airflow Connections.

Only the edge (CLI, DAG tasks) calls `from_env`; connectors take a `ConnectionSettings` as an
argument, so everything runs in pytest and the CLI without a scheduler.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit


class ConnectionConfigError(Exception):
    """A connection is missing or malformed."""


@dataclass(frozen=True)
class ConnectionSettings:
    conn_id: str
    host: str
    port: int | None = None
    scheme: str = "http"  # Airflow's `schema` field: http or https
    login: str = ""
    password: str = field(default="", repr=False)  # secret: never in repr, logs or XCom
    base_path: str = ""

    @property
    def base_url(self) -> str:
        port = f":{self.port}" if self.port else ""
        return f"{self.scheme}://{self.host}{port}{self.base_path.rstrip('/')}"

    def secrets(self) -> list[str]:
        return [s for s in (self.password,) if s]

    def __str__(self) -> str:  # what logs may show
        return f"{self.conn_id} ({self.base_url}, login={self.login or '-'})"


def env_var(conn_id: str) -> str:
    return f"AIRFLOW_CONN_{conn_id.upper()}"


def from_env(conn_id: str, environ: dict[str, str] | None = None) -> ConnectionSettings:
    """The connection `conn_id` from `AIRFLOW_CONN_<ID>`, in Airflow's JSON or URI form."""
    environ = os.environ if environ is None else environ
    name = env_var(conn_id)
    raw = environ.get(name, "").strip()
    if not raw:
        raise ConnectionConfigError(
            f"connection {conn_id!r} is not configured: set {name} (Airflow JSON or URI form)"
        )
    settings = _from_json(conn_id, raw) if raw.startswith("{") else _from_uri(conn_id, raw)
    register_secrets(settings)
    return settings


def _from_json(conn_id: str, raw: str) -> ConnectionSettings:
    try:
        doc = json.loads(raw)
        extra = doc.get("extra") or {}
        if isinstance(extra, str):
            extra = json.loads(extra) if extra.strip() else {}
        return ConnectionSettings(
            conn_id=conn_id,
            host=doc["host"],
            port=int(doc["port"]) if doc.get("port") else None,
            scheme=doc.get("schema") or "http",
            login=doc.get("login") or "",
            password=doc.get("password") or "",
            base_path=extra.get("base_path", ""),
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        # the message must not echo the variable: it holds the password
        raise ConnectionConfigError(
            f"{env_var(conn_id)} is not a valid Airflow connection JSON ({type(exc).__name__})"
        ) from None


def _from_uri(conn_id: str, raw: str) -> ConnectionSettings:
    """Airflow URI form: `conn-type://login:password@host:port/schema?base_path=/gw`."""
    try:
        parts = urlsplit(raw)
        query = dict(parse_qsl(parts.query))
        if "__extra__" in query:
            query = json.loads(query["__extra__"])
        scheme = unquote(parts.path.lstrip("/")) or "http"
        if not parts.hostname:
            raise ValueError("no host")
        return ConnectionSettings(
            conn_id=conn_id,
            host=unquote(parts.hostname),
            port=parts.port,
            scheme=scheme,
            login=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
            base_path=query.get("base_path", ""),
        )
    except ValueError as exc:
        raise ConnectionConfigError(
            f"{env_var(conn_id)} is not a valid Airflow connection URI ({type(exc).__name__})"
        ) from None


def register_secrets(settings: ConnectionSettings) -> None:
    """Tell Airflow's log masker about the secrets, when running inside Airflow."""
    if "AIRFLOW_CTX_DAG_ID" not in os.environ and "AIRFLOW_HOME" not in os.environ:
        return  # importing Airflow outside it costs a second and configures its logging
    try:
        from airflow.sdk.log import mask_secret
    except ImportError:  # pragma: no cover - Airflow is a core dependency
        return
    for secret in settings.secrets():
        mask_secret(secret)
