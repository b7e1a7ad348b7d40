"""The departmental systems' connections inside Airflow, through Airflow's own lookup: its
secrets backend, then `AIRFLOW_CONN_*` variables, then the metadata database. A connection added
with `airflow connections add` or kept in a vault works as one in the environment does."""

from __future__ import annotations

from connectors.core import ConnectionSettings
from connectors.core.connection import env_var, from_fields
from departments.registry import get


def lookup(conn_id: str) -> ConnectionSettings | None:
    """The connection `conn_id` as Airflow finds it, None when Airflow knows no such
    connection. Airflow's lookup registers its password and extra with the log masker."""
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        conn = BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        return None
    return from_fields(
        conn_id, conn.host, conn.port, conn.schema, conn.login, conn.password, conn.extra_dejson
    )


def not_configured_line(source: str) -> str:
    """The one line a department whose connection Airflow does not know is skipped with."""
    conn_id = get(source).conn_id
    return (
        f"{source}: skipped, Airflow has no connection {conn_id} (add it with `airflow "
        f"connections add {conn_id} …`, in the secrets backend, or as {env_var(conn_id)})"
    )
