"""The four paging styles of the contracts, each with its incremental state and lookback.

A paginator yields pages and, at safe points, `Checkpoint`s: the state to resume from once
everything before it is stored. Duplicates are expected (re-reads, drift): the store keeps the
latest version per key, so re-reading never double-counts.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from connectors.core.answers import FIX, ContractAnswer
from connectors.core.errors import FatalSourceError, RestartPaging, UnexpectedAnswerError
from connectors.core.formats import dig
from connectors.core.http import Fetched
from connectors.core.stream import Checkpoint, Page

if TYPE_CHECKING:
    from connectors.core.sync import StreamReader

ONE_DAY = dt.timedelta(days=1)


def _max_version(page: Page, pattern: re.Pattern[str]) -> str | None:
    versions = page.frame["_version"]
    good = versions[versions.str.fullmatch(pattern.pattern).fillna(False).astype(bool)]
    return None if good.empty else str(good.max())


@dataclass(frozen=True)
class PageNumber:
    """Page number + total over records ordered by modification time (drc).

    Updates during paging shift records between pages, so a pass can see one record twice and
    miss another. A pass is complete when the distinct keys seen reach the largest `total`
    reported; otherwise the pass is repeated (the union counts), up to `max_passes`. The
    watermark only advances after a complete read.
    """

    since_param: str
    since_format: Callable[[str], str]
    version_pattern: re.Pattern[str]
    total: tuple[str, ...]
    page_param: str = "page"
    size_param: str = "page_size"
    size: int = 500
    max_passes: int = 5

    def pages(self, reader: StreamReader, state: dict | None) -> Iterator[Page | Checkpoint]:
        since = (state or {}).get("watermark")
        size = reader.page_size(self.size)  # the connection's, if it asks for smaller pages
        base = {self.size_param: size}
        if since:
            base[self.since_param] = self.since_format(since)
        seen: set[str] = set()
        keyless, expected, watermark = 0, 0, since
        for attempt in range(1, self.max_passes + 1):
            page_no, keyless_this_pass = 1, 0
            while True:
                page = reader.fetch(base | {self.page_param: page_no})
                total = int(dig(page.doc, self.total) or 0)
                expected = max(expected, total)
                keys = page.frame["_key"]
                seen.update(keys.dropna())
                keyless_this_pass += int(keys.isna().sum())
                top = _max_version(page, self.version_pattern)
                watermark = max(filter(None, (watermark, top)), default=None)
                yield page
                if page.frame.empty or page_no * size >= total:
                    break
                page_no += 1
            keyless = max(keyless, keyless_this_pass)
            if len(seen) + keyless >= expected:
                break
            reader.note(
                f"pass {attempt} saw {len(seen) + keyless} of {expected} records "
                "(records moved between pages); reading again"
            )
        else:
            reader.note(f"incomplete after {self.max_passes} passes; watermark kept")
            return
        if watermark:
            yield Checkpoint({"watermark": watermark})


@dataclass(frozen=True)
class DayPartitions:
    """One request per day, each split into parts (treasury).

    A day can still gain late entries for `settle_days` after it, so the state records the last
    *final* day and every run re-reads the unsettled days before reading new ones.
    """

    start: dt.date
    settle_days: int = 3
    date_param: str = "pay_date"
    part_param: str = "part"
    parts_header: str = "X-Total-Parts"
    concurrency: int = 4  # days requested ahead, over the one session's connection pool
    batch_pages: int = 32  # responses typed together as one frame

    def pages(self, reader: StreamReader, state: dict | None) -> Iterator[Page | Checkpoint]:
        final = (state or {}).get("final_through")
        first = dt.date.fromisoformat(final) + ONE_DAY if final else self.start
        days = [first + i * ONE_DAY for i in range((reader.as_of - first).days + 1)]
        settled = reader.as_of - dt.timedelta(days=self.settle_days)
        pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="day")
        ahead: deque[tuple[dt.date, Future[list[Fetched]]]] = deque()
        batch: list[Fetched] = []
        try:
            for i, day in enumerate(days):
                ahead.append((day, pool.submit(self._day, reader, day)))
                if len(ahead) < 2 * self.concurrency and i < len(days) - 1:
                    continue  # keep a few days in flight
                while ahead:
                    # oldest first: pages are staged and checkpointed strictly day by day
                    done_day, future = ahead.popleft()
                    batch += future.result()
                    # many small days become one frame (typing is per batch, not per day);
                    # the last settled day ends one too, so its checkpoint is never skipped
                    if done_day in (days[-1], settled) or len(batch) >= self.batch_pages:
                        yield reader.accept_many(batch)
                        batch = []
                        if done_day <= settled:
                            yield Checkpoint({"final_through": done_day.isoformat()})
                    if len(ahead) < 2 * self.concurrency and i < len(days) - 1:
                        break
        finally:
            pool.shutdown(wait=True, cancel_futures=True)  # a failed run stops asking

    def _day(self, reader: StreamReader, day: dt.date) -> list[Fetched]:
        # the contract's 404 (a part beyond the count) is never asked for: parts come from the
        # count, so every 404 (a gateway's page for this day) fails the day, and the run
        part, parts, out = 1, 1, []
        while part <= parts:
            fetched = reader.request({self.date_param: day.isoformat(), self.part_param: part})
            parts = self._parts(fetched)
            out.append(fetched)
            part += 1
        return out

    def _parts(self, fetched: Fetched) -> int:
        """The day's part count, which every answer of the contract carries."""
        value = fetched.headers.get(self.parts_header, "")
        if not value.isdigit() or int(value) < 1:
            raise UnexpectedAnswerError(
                f"GET {fetched.request} was answered without a valid {self.parts_header} header "
                f"({value!r}), which every answer of the contract carries; {FIX}"
            )
        return int(value)


# housing's answer to an expired or malformed cursor: its own JSON, not any 400
INVALID_CURSOR = ContractAnswer(400, "error", "invalid_cursor", RestartPaging)


@dataclass(frozen=True)
class Cursor:
    """Opaque cursor over records ordered by (modifiedAt, key) (housing).

    An expired cursor restarts the read just below the last modification time already read;
    the repeats are dropped by the store. `modifiedAfter` is exclusive, so the state stays one
    millisecond below the newest stamp: records sharing that millisecond are never skipped.
    """

    since_param: str = "modifiedAfter"
    cursor_param: str = "cursor"
    next_cursor: tuple[str, ...] = ("nextCursor",)
    limit: int = 1000
    max_restarts: int = 50
    expired: ContractAnswer = INVALID_CURSOR
    # responses typed together as one frame: typing has a cost per frame, so pages are typed
    # 32 at a time and the state advances per batch
    batch_pages: int = 32

    def pages(self, reader: StreamReader, state: dict | None) -> Iterator[Page | Checkpoint]:
        after = (state or {}).get("modified_after")
        cursor, newest, restarts = None, None, 0
        batch: list[Fetched] = []

        def typed() -> Iterator[Page | Checkpoint]:
            nonlocal newest
            page = reader.accept_many(batch)
            batch.clear()
            yield page
            stamps = page.frame["_version"]
            stamps = stamps[stamps != ""]
            if not stamps.empty:
                newest = max(newest or 0, int(stamps.max()))
                yield Checkpoint({"modified_after": newest - 1})

        while True:
            params: dict[str, Any] = {"limit": reader.page_size(self.limit)}
            if cursor:
                params[self.cursor_param] = cursor
            elif after is not None:
                params[self.since_param] = after
            try:
                fetched = reader.request(params, answers=(self.expired,))
            except RestartPaging:
                restarts += 1
                if restarts > self.max_restarts:
                    raise FatalSourceError(f"cursor expired {restarts} times in one run") from None
                reader.note("cursor expired; restarting below the last stored record")
                if batch:  # what was read is stored first, so the restart is below it
                    yield from typed()
                cursor = None
                after = newest - 1 if newest is not None else after
                continue
            batch.append(fetched)
            cursor = dig(fetched.decoded[0], self.next_cursor)
            if not cursor or len(batch) >= self.batch_pages:
                yield from typed()
            if not cursor:
                return


@dataclass(frozen=True)
class Offset:
    """Offset/limit over a list computed afresh per request (audit).

    A back-dated insert shifts later items, so an item can come twice (the store keeps one).
    `since` has day precision: consecutive runs overlap by a day, which catches what was
    inserted behind the read position.
    """

    version_pattern: re.Pattern[str]
    total: tuple[str, ...] = ("total",)
    since_param: str = "since"
    limit: int = 200

    def pages(self, reader: StreamReader, state: dict | None) -> Iterator[Page | Checkpoint]:
        since = (state or {}).get("since")
        newest, offset = None, 0
        while True:
            params: dict[str, Any] = {"offset": offset, "limit": reader.page_size(self.limit)}
            if since:
                params[self.since_param] = since
            page = reader.fetch(params)
            top = _max_version(page, self.version_pattern)
            newest = max(filter(None, (newest, top)), default=None)
            yield page
            offset += len(page.frame)
            if page.frame.empty or offset >= int(dig(page.doc, self.total) or 0):
                break
        if newest:
            yield Checkpoint({"since": newest[:10]})
        elif since:
            yield Checkpoint({"since": since})


@dataclass(frozen=True)
class NextLinks:
    """OGC API – Features `next` links over features ordered by (`updated`, `id`) (planning).

    The first request names the stream's path, `limit` and, with state, the inclusive interval
    `datetime=<watermark>/..`; then each `rel: next` link is followed verbatim, except that its
    scheme, host, port and prefix are the connection's own (the link names the host the
    service believes it has, without a gateway's `base_path`): only its path from `tail_from`
    on, and its query, are kept. The server may cap `limit` silently: nothing assumes a page
    is as long as asked.

    A feature updated while a client pages moves to the end, so a pass can repeat one and skip
    another: as `PageNumber`, a pass is complete when the distinct keys seen reach the largest
    `numberMatched`, else it is read again (bounded); the watermark (newest `updated` read;
    the interval is inclusive, so its boundary features come again and the store keeps one)
    is only checkpointed after a complete pass.
    """

    version_pattern: re.Pattern[str]
    since_param: str = "datetime"
    limit_param: str = "limit"
    limit: int = 1000  # the contract's maximum
    matched: tuple[str, ...] = ("numberMatched",)
    links: tuple[str, ...] = ("links",)
    tail_from: str = "/ogc/"
    max_passes: int = 5
    max_pages: int = 1_000_000  # a link cycle must end somewhere

    def pages(self, reader: StreamReader, state: dict | None) -> Iterator[Page | Checkpoint]:
        since = (state or {}).get("watermark")
        first: dict[str, Any] = {self.limit_param: reader.page_size(self.limit)}
        if since:
            first[self.since_param] = f"{since}/.."
        seen: set[str] = set()
        keyless, expected, watermark = 0, 0, since
        for attempt in range(1, self.max_passes + 1):
            keyless_this_pass, page = 0, reader.fetch(first)
            for _ in range(self.max_pages):
                expected = max(expected, int(dig(page.doc, self.matched) or 0))
                keys = page.frame["_key"]
                seen.update(keys.dropna())
                keyless_this_pass += int(keys.isna().sum())
                top = _max_version(page, self.version_pattern)
                watermark = max(filter(None, (watermark, top)), default=None)
                yield page
                link = self._next(page)
                if link is None or page.frame.empty:
                    break
                page = reader.accept(reader.client.get(link, None, reader.stream.format.decode))
            else:
                raise FatalSourceError(f"more than {self.max_pages:,} `next` links in one pass")
            keyless = max(keyless, keyless_this_pass)
            if len(seen) + keyless >= expected:
                break
            reader.note(
                f"pass {attempt} saw {len(seen) + keyless} of {expected} features "
                "(features moved while paging); reading again"
            )
        else:
            reader.note(f"incomplete after {self.max_passes} passes; watermark kept")
            return
        if watermark:
            yield Checkpoint({"watermark": watermark})

    def _next(self, page: Page) -> str | None:
        """The `next` link's path tail and query, relative to the connection's base URL."""
        links = dig(page.doc, self.links)
        hrefs = [
            link.get("href")
            for link in links or ()
            if isinstance(link, dict) and link.get("rel") == "next"
        ]
        if not hrefs:
            return None
        parts = urlsplit(str(hrefs[0]))
        at = parts.path.find(self.tail_from)
        if at < 0:
            raise UnexpectedAnswerError(
                f"GET {page.fetched.request}: its `next` link {hrefs[0]!r} has no path from "
                f"{self.tail_from!r} on; {FIX}"
            )
        return parts.path[at:] + (f"?{parts.query}" if parts.query else "")
