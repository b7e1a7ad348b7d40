"""12345 work orders (hotline.md): SOAP 1.1 document/literal, WS-Security UsernameToken with a
password digest, faults in HTTP 500, 24-hour windows × page numbers computed afresh."""

from __future__ import annotations

import base64
import bisect
import datetime as dt
import hashlib
import hmac
import os
import threading
import time
from xml.sax.saxutils import escape

import numpy as np
import pandas as pd
from lxml import etree

from departments.hotline.world import FIELDS, TABLE
from departments.hotline.wsdl import NAMESPACE, SERVICE_PATH, SOAP_ACTION, wsdl_text
from simulators.servers.base import Request, Response, SimServer, text_response
from simulators.world import World
from simulators.world import calendar as cal

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
DIGEST = (
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"
    "#PasswordDigest"
)
XML_TYPE = "text/xml; charset=utf-8"
TIME = "%Y-%m-%d %H:%M:%S"
CREATED = "%Y-%m-%dT%H:%M:%SZ"
SKEW_S = 300  # a `Created` further than this from the server's clock, or a nonce seen within it
MAX_WINDOW = dt.timedelta(hours=24)
FREE_TEXT = ("title", "content", "address")

FAULTS = {
    "auth": ("wsse:FailedAuthentication", "身份验证失败"),
    "window": ("soap:Client.WindowTooWide", "查询时间跨度不能超过24小时"),
    "argument": ("soap:Client.InvalidArgument", "参数错误"),
    "busy": ("soap:Server.Busy", "系统繁忙"),
}


def fault_response(kind: str) -> Response:
    code, text = FAULTS[kind]
    body = (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<soap:Envelope xmlns:soap="{SOAP_ENV}" xmlns:wsse="{WSSE}"><soap:Body><soap:Fault>'
        f"<faultcode>{code}</faultcode><faultstring>{text}</faultstring>"
        "</soap:Fault></soap:Body></soap:Envelope>"
    )
    return Response(500, body.encode(), XML_TYPE)


def envelope(
    login: str,
    password: str,
    params: dict,
    nonce: bytes | None = None,
    created: str | None = None,
) -> bytes:
    """A correct `QueryWorkOrders` request, written by hand (what contract tests send)."""
    nonce = os.urandom(16) if nonce is None else nonce
    created = created or time.strftime(CREATED, time.gmtime())
    digest = base64.b64encode(
        hashlib.sha1(nonce + created.encode() + password.encode()).digest()
    ).decode()
    args = "".join(f"<w:{k}>{escape(str(v))}</w:{k}>" for k, v in params.items())
    return (
        f'<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="{SOAP_ENV}" '
        f'xmlns:wsse="{WSSE}" xmlns:wsu="{WSU}" xmlns:w="{NAMESPACE}"><soap:Header>'
        f"<wsse:Security><wsse:UsernameToken><wsse:Username>{escape(login)}</wsse:Username>"
        f'<wsse:Password Type="{DIGEST}">{digest}</wsse:Password>'
        f"<wsse:Nonce>{base64.b64encode(nonce).decode()}</wsse:Nonce>"
        f"<wsu:Created>{created}</wsu:Created></wsse:UsernameToken></wsse:Security>"
        f"</soap:Header><soap:Body><w:QueryWorkOrders>{args}</w:QueryWorkOrders></soap:Body>"
        "</soap:Envelope>"
    ).encode()


def _text(value: str, cdata: bool) -> str:
    """Free text as the service writes it: in CDATA, or escaped with the ideographic space as
    a numeric character reference."""
    if cdata and value and "]]>" not in value:
        return f"<![CDATA[{value}]]>"
    return escape(value).replace("\u3000", "&#x3000;")


def render_orders(rows: pd.DataFrame) -> list[str]:
    """Each row as an `<order>` element, fields in contract order; nulls as `xsi:nil`."""
    columns = [rows[f].to_numpy(dtype=object) for f in FIELDS]
    # every third order's free text in CDATA, the others escaped: both forms are on the wire
    cdata = (np.arange(len(rows)) % 3 == 0).tolist()
    out = []
    for i, row in enumerate(zip(*columns, strict=True)):
        parts = []
        for name, v in zip(FIELDS, row, strict=True):
            if v is None or (isinstance(v, float) and v != v):
                parts.append(f'<{name} xsi:nil="true"/>')
            elif name in FREE_TEXT:
                parts.append(f"<{name}>{_text(str(v), cdata[i])}</{name}>")
            else:
                parts.append(f"<{name}>{escape(str(v))}</{name}>")
        out.append("<order>" + "".join(parts) + "</order>")
    return out


class HotlineServer(SimServer):
    system = "hotline"
    system_faults = ("busy",)  # soap:Server.Busy in the nightly window

    def __init__(self, world: World, as_of: dt.date, login: str, password: str, **kw) -> None:
        super().__init__(**kw)
        self.login, self.password = login, password
        # keys the connector's phone hash: a secret of the deployment, handed out with the
        # connection (derived here so a cluster's connections are reproducible)
        self.phone_key = hashlib.sha256(f"phone-key/{password}".encode()).hexdigest()[:32]
        self.now = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time())
        rows = world.as_of(TABLE, cal.day(as_of))
        rows = rows.sort_values(["_ts", "orderNo"], kind="stable")
        self.ts = rows["_ts"].to_numpy(dtype=np.int64).tolist()
        self.orders = render_orders(rows)
        self._nonces: dict[str, float] = {}
        self._lock = threading.Lock()

    def inventory(self) -> dict[str, int]:
        return {"work_orders": len(self.orders)}

    def credentials(self) -> dict[str, str]:
        return {"login": self.login, "password": self.password}

    def connection(self) -> dict:
        conn = super().connection()
        conn["extra"] = {**conn["extra"], "phone_key": self.phone_key}
        return conn

    # ---- routing ------------------------------------------------------------------------
    def route(self, req: Request, fault: str | None) -> Response:
        if req.path != SERVICE_PATH:
            return text_response(404, "not found")
        if req.method == "GET" and "wsdl" in {k.lower() for k in req.query}:
            return Response(200, wsdl_text(self.url + SERVICE_PATH).encode(), XML_TYPE)
        if req.method != "POST":
            return text_response(405, "method not allowed")
        if fault == "busy":
            return fault_response("busy")
        action = req.headers.get("soapaction", "").strip().strip('"')
        try:
            doc = etree.fromstring(req.body)
        except etree.XMLSyntaxError:
            return fault_response("argument")
        if action != SOAP_ACTION:
            return fault_response("argument")
        if not self._authentic(doc):
            return fault_response("auth")
        return self._query(doc)

    def _authentic(self, doc: etree._Element) -> bool:
        ns = {"wsse": WSSE, "wsu": WSU}
        token = doc.find(".//wsse:Security/wsse:UsernameToken", ns)
        if token is None:
            return False
        username = token.findtext("wsse:Username", "", ns)
        password = token.find("wsse:Password", ns)
        nonce_b64 = (token.findtext("wsse:Nonce", "", ns) or "").strip()
        created = (token.findtext("wsu:Created", "", ns) or "").strip()
        if password is None or not password.get("Type", "").endswith("#PasswordDigest"):
            return False
        try:
            nonce = base64.b64decode(nonce_b64, validate=True)
            stamp = dt.datetime.strptime(created, CREATED).replace(tzinfo=dt.UTC).timestamp()
        except ValueError:
            return False
        expected = base64.b64encode(
            hashlib.sha1(nonce + created.encode() + self.password.encode()).digest()
        ).decode()
        given = (password.text or "").strip()
        if not (hmac.compare_digest(username, self.login) and hmac.compare_digest(given, expected)):
            return False
        now = time.time()  # the server's real clock (UTC wall clock)
        if abs(now - stamp) > SKEW_S:
            return False
        with self._lock:
            for seen, at in list(self._nonces.items()):
                if now - at > SKEW_S:
                    del self._nonces[seen]
            if nonce_b64 in self._nonces:
                return False  # a replay
            self._nonces[nonce_b64] = now
        return True

    def _query(self, doc: etree._Element) -> Response:
        body = doc.find(f"{{{SOAP_ENV}}}Body/{{{NAMESPACE}}}QueryWorkOrders")
        if body is None:
            return fault_response("argument")

        def arg(name: str) -> str:
            return (body.findtext(f"{{{NAMESPACE}}}{name}") or "").strip()

        try:
            start = dt.datetime.strptime(arg("updatedFrom"), TIME)
            end = dt.datetime.strptime(arg("updatedTo"), TIME)
            page_no, size = int(arg("pageNo")), int(arg("pageSize"))
        except ValueError:
            return fault_response("argument")
        if end - start > MAX_WINDOW:
            return fault_response("window")
        if page_no < 1 or not 1 <= size <= 100 or end > self.now or end < start:
            return fault_response("argument")
        lo = bisect.bisect_left(self.ts, _ms(start))
        hi = bisect.bisect_left(self.ts, _ms(end))  # exclusive
        first = lo + (page_no - 1) * size
        chunk = self.orders[first : min(first + size, hi)] if first < hi else []
        self.count(len(chunk))
        text = (
            '<?xml version="1.0" encoding="utf-8"?>'
            f'<soap:Envelope xmlns:soap="{SOAP_ENV}" xmlns:xsi="{XSI}"><soap:Body>'
            f'<QueryWorkOrdersResponse xmlns="{NAMESPACE}"><total>{hi - lo}</total>'
            f"<pageNo>{page_no}</pageNo><orders>{''.join(chunk)}</orders>"
            "</QueryWorkOrdersResponse></soap:Body></soap:Envelope>"
        )
        return Response(200, text.encode(), XML_TYPE)


def _ms(local: dt.datetime) -> int:
    """Epoch ms of a Beijing wall-clock time."""
    beijing = dt.timezone(dt.timedelta(hours=8))
    return int(local.replace(tzinfo=beijing).timestamp() * 1000)
