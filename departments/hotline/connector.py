"""12345 hotline work orders (contracts/departments/hotline.md): SOAP 1.1 with WS-Security,
24-hour windows × page numbers, personal data masked before anything is kept."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from connectors.core import ConnectionConfigError, Connector, Stream
from connectors.core.connection import ConnectionSettings, env_var
from connectors.core.soap import SoapXml, TimeWindows, WsUsernameToken
from departments.hotline.records import SENSITIVE
from departments.hotline.wsdl import OPERATION, SERVICE_PATH, SOAP_ACTION, WSDL_PATH
from transforms import pii

FIELDS = (
    "orderNo", "acceptedAt", "channel", "category", "topic", "title", "content", "address",
    "regionCode", "longitude", "latitude", "handlingUnit", "status", "closedAt", "satisfaction",
    "callerName", "callerPhone", "updatedAt",
)  # fmt: skip
FREE_TEXT = ("title", "content", "address")  # where a citizen may write a phone or ID number
FIRST_DAY = dt.datetime(2024, 1, 1)  # the service holds orders from 2024-01-01 on


def masker(settings: ConnectionSettings) -> Callable[[list[dict]], list[dict]]:
    """The PIPL masking of a page, keyed by the connection's `phone_key` (checked before the
    first request: without it nothing may be read)."""
    key = settings.phone_key
    if not key:
        raise ConnectionConfigError(
            f"{settings.conn_id}: no phone_key: set the connection's extra `phone_key` (a "
            f"secret that keys the callers' phone hash) in {env_var(settings.conn_id)}"
        )

    def mask(records: list[dict]) -> list[dict]:
        return pii.mask_records(records, key, ("callerName",), "callerPhone", FREE_TEXT)

    return mask


connector = Connector(
    name="hotline",
    title="12345 citizen service hotline (12345 工单系统)",
    conn_id="hotline_api",
    auth=WsUsernameToken,  # login: Username; password: the digest's password
    streams=(
        Stream(
            name="work_orders",
            record_type="work_order",
            path=SERVICE_PATH,
            key="orderNo",
            fields=FIELDS,
            version="updatedAt",  # `YYYY-MM-DD HH:MM:SS` orders as text too
            paginator=TimeWindows(start=FIRST_DAY),
            format=SoapXml(
                wsdl=WSDL_PATH,
                operation=OPERATION,
                soap_action=SOAP_ACTION,
                items=("orders", "order"),
                transient=frozenset({"Server.Busy"}),
                auth=frozenset({"FailedAuthentication"}),
                masker=masker,
            ),
            sensitive=SENSITIVE,
        ),
    ),
)
