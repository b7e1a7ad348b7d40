"""The work order service's WSDL, shipped with the connector: the client loads it from this
file (no WSDL fetch at run time) and the simulator serves it at `?wsdl`."""

from __future__ import annotations

from pathlib import Path

WSDL_PATH = Path(__file__).with_name("WorkOrderService.wsdl")
NAMESPACE = "urn:szs12345:workorder:v2"
OPERATION = "QueryWorkOrders"
SOAP_ACTION = "urn:szs12345:QueryWorkOrders"
SERVICE_PATH = "/ws/WorkOrderService"
PLACEHOLDER_ADDRESS = "http://localhost/ws/WorkOrderService"


def wsdl_text(address: str | None = None) -> str:
    """The WSDL, its service address set to `address` (the server's own URL) when given."""
    text = WSDL_PATH.read_text(encoding="utf-8")
    return text if address is None else text.replace(PLACEHOLDER_ADDRESS, address)
