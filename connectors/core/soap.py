"""SOAP 1.1 sources: a WSDL shipped with the connector, WS-Security UsernameToken, faults in
HTTP 500, and paging over time windows × page numbers (hotline).

zeep builds each envelope (from the shipped WSDL: no WSDL fetch at run time) and reads each
answer; the framework's `HttpClient.post` sends it, so retries, pacing and counters are the
same as every other source's. A page is landed as JSON of its records after `mask` (a source
with personal data never lands its raw XML), which `parse` reads back for replays.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import pandas as pd
import requests
import zeep
from lxml import etree
from zeep.exceptions import Error as ZeepError
from zeep.exceptions import Fault
from zeep.helpers import serialize_object
from zeep.wsse.username import UsernameToken

from connectors.core.answers import FIX, media_type
from connectors.core.auth import Auth
from connectors.core.connection import ConnectionSettings
from connectors.core.errors import (
    AuthenticationError,
    FatalSourceError,
    TransientSourceError,
    UnexpectedAnswerError,
)
from connectors.core.formats import JsonItems, dig
from connectors.core.http import Fetched
from connectors.core.soap_items import DetachedItems, ItemReader
from connectors.core.stream import Checkpoint, Page

if TYPE_CHECKING:
    from connectors.core.sync import StreamReader

SOAP_FAULT_STATUS = 500  # SOAP 1.1: a fault is answered with HTTP 500
LANDED = JsonItems(items=("items",))  # what a landed (masked) page holds
# a run's masking of a page's records, made from the connection (it may need a key)
Masker = Callable[[ConnectionSettings], Callable[[list[dict]], list[dict]]]


class WsUsernameToken(Auth):
    """WS-Security UsernameToken with a password digest (OASIS WSS 1.0). It travels in the
    SOAP header, not in HTTP: the HTTP request is left as it is."""

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        return r

    def wsse(self) -> UsernameToken:
        # zeep draws a fresh 16-byte nonce and a fresh `Created` each time it applies the
        # token (each envelope); zulu_timestamp gives `YYYY-MM-DDTHH:MM:SSZ`, as WSS wants
        return UsernameToken(
            self.settings.login, self.settings.password, use_digest=True, zulu_timestamp=True
        )


@cache
def _document(wsdl: Path) -> zeep.wsdl.Document:
    """The shipped WSDL, parsed once per process (read-only afterwards)."""
    transport = zeep.Transport(session=requests.Session())  # never used: nothing is imported
    return zeep.wsdl.Document(str(wsdl), transport)


@dataclass(frozen=True)
class SoapXml:
    """A document/literal SOAP operation whose answer holds records at `items` (a path of
    element names) and a record count at `total`.

    Fault codes are compared by their local part (`soap:Server.Busy` → `Server.Busy`):
    `transient` ones are retried, `auth` ones fail naming the credentials, any other fault is
    a request the service refuses (asking again cannot help).
    """

    wsdl: Path
    operation: str
    soap_action: str
    items: tuple[str, ...]
    total: tuple[str, ...] = ("total",)
    transient: frozenset[str] = frozenset()
    auth: frozenset[str] = frozenset()
    masker: Masker | None = None

    # ---- the run's client ---------------------------------------------------------------
    def caller(self, reader: StreamReader) -> SoapCall:
        """What sends the operation's requests (thread-safe) and masks what they read, for
        this run; the masking is checked first (a missing key fails before any request)."""
        settings = reader.client.settings
        mask = self.masker(settings) if self.masker else None
        auth = reader.client.auth
        token = auth.wsse() if isinstance(auth, WsUsernameToken) else None
        items = DetachedItems(self.items)  # read apart (`soap_items`), as zeep would
        client = zeep.Client(wsdl=_document(self.wsdl), wsse=token, plugins=[items])
        return SoapCall(self, reader, client, mask, items)

    # ---- answers that are not data --------------------------------------------------------
    def _fault(self, fault: Fault, describe: str, conn_id: str) -> Exception:
        code = (fault.code or "").strip()
        local = code.rsplit(":", 1)[-1]
        # the service's short fault string, never the body
        said = " ".join(str(fault.message or "").split())[:40]
        what = f"SOAP fault {code} ({said}) for POST {describe}"
        if not code:  # a 500 whose body is no SOAP Fault: the transport's, not the service's
            return TransientSourceError(f"HTTP 500 without a SOAP Fault for POST {describe}")
        if local in self.transient:
            return TransientSourceError(what)
        if local in self.auth:
            return AuthenticationError(
                f"{conn_id}: the service rejected the WS-Security UsernameToken ({code} {said}); "
                "check the connection's login and password, and this machine's clock (a "
                "`Created` more than 300 s from the service's clock is refused)"
            )
        return FatalSourceError(
            f"{conn_id}: {what}: the service refuses the request itself, so asking again "
            "cannot help (a fault of the connector's request, or of the contract)"
        )

    def _unreadable(self, response: requests.Response, describe: str, exc: Exception) -> Exception:
        """A body that is no whole SOAP envelope: cut off in transit (XML, or a 500: asking
        again helps), or some other page (a gateway's HTML: it will not). Never quoted."""
        kind = media_type(response) or "no Content-Type"
        if response.status_code == SOAP_FAULT_STATUS or media_type(response) in ("text/xml", ""):
            return TransientSourceError(
                f"HTTP {response.status_code} ({kind}) for POST {describe}: not a whole SOAP "
                f"envelope ({type(exc).__name__})"
            )
        return UnexpectedAnswerError(
            f"POST {describe} was answered HTTP {response.status_code} ({kind}, "
            f"{len(response.content):,} bytes), which is no answer of the contract; {FIX}"
        )

    # ---- the stream format's protocol -----------------------------------------------------
    def decode(self, response: requests.Response) -> tuple[dict, list, bool]:
        raise NotImplementedError("a SOAP stream is read through `caller`, by its paginator")

    def parse(self, body: bytes) -> tuple[pd.DataFrame, bool]:
        """Records of a landed page (masked JSON), as the live run gave them on (`seal`)."""
        items, garbled = LANDED.parse(body)
        return _frame(items), garbled


class SoapCall:
    """One run's requests of a `SoapXml` operation. Nothing of an answer is kept as received:
    `seal` masks a batch of answers at once (vectorised) and gives each its landed body, before
    anything is landed or staged."""

    def __init__(
        self,
        fmt: SoapXml,
        reader: StreamReader,
        client: zeep.Client,
        mask: Callable[[list[dict]], list[dict]] | None,
        items: DetachedItems,
    ) -> None:
        self.fmt, self.reader, self.client, self.mask = fmt, reader, client, mask
        self.items, self.item = items, ItemReader(client, fmt.operation, fmt.items)
        self.service = client.service
        self.binding = self.service._binding
        self.operation = self.binding.get(fmt.operation)
        self.headers = {
            "Content-Type": "text/xml; charset=utf-8",
            "SOAPAction": f'"{fmt.soap_action}"',
        }

    def __call__(self, params: dict[str, Any]) -> Fetched:
        fmt, path = self.fmt, self.reader.stream.path
        conn_id = self.reader.client.settings.conn_id
        describe = f"{path}?{urlencode({'op': fmt.operation, **params})}"

        def body() -> bytes:  # per attempt: a fresh nonce and Created every time
            envelope = self.client.create_message(self.service, fmt.operation, **params)
            return etree.tostring(envelope, encoding="utf-8", xml_declaration=True)

        def decode(response: requests.Response) -> tuple[dict, list, bool]:
            try:
                try:
                    reply = self.binding.process_reply(self.client, self.operation, response)
                finally:
                    detached = self.items.taken()  # this answer's items, read here
                records = [self.item.read(item) for item in detached]
            except Fault as fault:
                raise fmt._fault(fault, describe, conn_id) from None
            except (ZeepError, etree.XMLSyntaxError) as exc:
                raise fmt._unreadable(response, describe, exc) from None
            doc = serialize_object(reply, dict) or {}
            return {"total": dig(doc, fmt.total)}, records, False

        return self.reader.client.post(
            path,
            body,
            self.headers,
            decode,
            describe,
            read_statuses=frozenset({SOAP_FAULT_STATUS}),
            land=lambda decoded: b"",  # nothing as received: `seal` writes the landed body
        )

    def seal(self, batch: list[Fetched]) -> list[Fetched]:
        """Mask every record of the batch in one pass; each answer's body becomes the JSON of
        its masked records (what is landed, and what `SoapXml.parse` reads back). Records go on
        as object columns, nulls as None, exactly as `parse` gives them: a replay types each
        page alone, and must get what the live run typed."""
        sizes = [len(f.decoded[1]) for f in batch]
        records = [r for f in batch for r in f.decoded[1]]  # nil read as None
        if records and self.mask is not None:
            records = self.mask(records)
        frame = _frame(records)  # one frame a batch; each page a slice of it
        at = 0
        for fetched, size in zip(batch, sizes, strict=True):
            doc, _, garbled = fetched.decoded
            page = records[at : at + size]
            fetched.body = _landed(doc, page)
            fetched.decoded = (doc, frame.iloc[at : at + size], garbled)
            at += size
        return batch


def _frame(records: list[dict]) -> pd.DataFrame:
    """A page's records as object columns, nulls None: typed alike whether a page comes alone
    (a replay) or in a batch (the live run), whatever values a column happens to hold."""
    return pd.DataFrame(records, dtype=object)


def _landed(doc: dict, page: list[dict]) -> bytes:
    return json.dumps({**doc, "items": page}, ensure_ascii=False).encode()


@dataclass(frozen=True)
class TimeWindows:
    """Windows `[from, from + window)` × page numbers, from the watermark to the end of the
    night's day (a SOAP operation, `SoapXml`).

    Results are computed afresh per request and a record moves to a later window when it
    changes, so a window is complete when the distinct keys read reach the largest `total`
    it reported (else it is read again, the union counting). The state is the end of the last
    complete window; each night re-reads `overlap` before it (late writes near midnight).
    Several windows are requested at once over the one session; pages are staged strictly in
    window order.
    """

    start: dt.datetime  # the first window's start, local time of the source
    window: dt.timedelta = dt.timedelta(hours=24)
    overlap: dt.timedelta = dt.timedelta(hours=24)
    from_param: str = "updatedFrom"
    to_param: str = "updatedTo"
    page_param: str = "pageNo"
    size_param: str = "pageSize"
    time_format: str = "%Y-%m-%d %H:%M:%S"
    size: int = 100
    max_passes: int = 5
    concurrency: int = 8  # windows requested at once: the session pools 8 connections
    batch_pages: int = 32  # responses typed together as one frame

    def pages(self, reader: StreamReader, state: dict | None) -> Iterator[Page | Checkpoint]:
        call = reader.stream.format.caller(reader)  # checks the masking's settings first
        end = dt.datetime.combine(reader.as_of + dt.timedelta(days=1), dt.time())
        mark = (state or {}).get("watermark")
        first = (
            max(self.start, dt.datetime.fromisoformat(mark) - self.overlap) if mark else self.start
        )
        windows = []
        while first < end:
            windows.append((first, min(first + self.window, end)))
            first = windows[-1][1]
        size = reader.page_size(self.size)
        pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="window")
        ahead: deque[tuple[dt.datetime, Future[list[Fetched]]]] = deque()
        batch: list[Fetched] = []
        try:
            for i, (a, b) in enumerate(windows):
                ahead.append((b, pool.submit(self._window, reader, call, a, b, size)))
                if len(ahead) < 2 * self.concurrency and i < len(windows) - 1:
                    continue
                while ahead:
                    window_end, future = ahead.popleft()  # oldest first: staged in order
                    batch += future.result()
                    if window_end == windows[-1][1] or len(batch) >= self.batch_pages:
                        yield reader.accept_many(call.seal(batch))
                        batch = []
                        yield Checkpoint({"watermark": window_end.isoformat(sep=" ")})
                    if len(ahead) < 2 * self.concurrency and i < len(windows) - 1:
                        break
        finally:
            pool.shutdown(wait=True, cancel_futures=True)  # a failed run stops asking

    def _window(
        self,
        reader: StreamReader,
        call: SoapCall,
        a: dt.datetime,
        b: dt.datetime,
        size: int,
    ) -> list[Fetched]:
        base = {
            self.from_param: a.strftime(self.time_format),
            self.to_param: b.strftime(self.time_format),
        }
        out: list[Fetched] = []
        seen: set[str] = set()
        keyless, expected = 0, 0
        key = reader.stream.key
        for attempt in range(1, self.max_passes + 1):
            page_no, keyless_now = 1, 0
            while True:
                fetched = call({**base, self.page_param: page_no, self.size_param: size})
                out.append(fetched)
                doc, records, _ = fetched.decoded
                total = int(doc.get("total") or 0)
                expected = max(expected, total)
                keys = [str(r.get(key) or "").strip() for r in records]
                seen.update(k for k in keys if k)
                keyless_now += sum(1 for k in keys if not k)
                if not records or page_no * size >= total:
                    break
                page_no += 1
            keyless = max(keyless, keyless_now)
            if len(seen) + keyless >= expected:
                return out
            reader.note(
                f"window {base[self.from_param]} pass {attempt} saw {len(seen) + keyless} of "
                f"{expected} records (records moved between pages); reading it again"
            )
        raise TransientSourceError(
            f"window {base[self.from_param]} stayed incomplete after {self.max_passes} passes"
        )
