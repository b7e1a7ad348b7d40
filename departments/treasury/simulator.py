"""Finance treasury voucher export (treasury.md): HMAC request signatures, one GBK CSV file
per pay date split into parts, late vouchers within three days."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import hmac
import io
import time

import numpy as np
import pandas as pd

from simulators.servers.base import Request, Response, SimServer, text_response
from simulators.world import World
from simulators.world import calendar as cal

COLUMNS = [
    "凭证号",
    "支付日期",
    "预算单位",
    "预算单位编码",
    "功能分类科目",
    "项目代码",
    "项目名称",
    "收款人全称",
    "收款人统一社会信用代码",
    "收款人账号",
    "金额",
    "支付方式",
    "原凭证号",
    "摘要",
]
CLOCK_WINDOW_S = 300


def sign(secret: str, appid: str, timestamp: str, method: str, path_and_query: str) -> str:
    message = f"{appid}\n{timestamp}\n{method}\n{path_and_query}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


class TreasuryServer(SimServer):
    system = "treasury"
    system_faults = ("busy_retry_after",)  # 503 with Retry-After in the nightly batch window

    def __init__(
        self,
        world: World,
        as_of: dt.date,
        appid: str,
        secret: str,
        part_size: int = 5000,
        retry_after_s: int = 1,
        **kw,
    ) -> None:
        super().__init__(**kw)
        self.appid, self.secret = appid, secret
        self.part_size, self.retry_after_s = part_size, retry_after_s
        self.as_of = as_of
        rows = world.as_of("vouchers", cal.day(as_of)).sort_values(["_pay_day", "_key"])
        # every row rendered once as a GBK CSV line; a day is a slice of them
        self._days = rows["_pay_day"].to_numpy()
        self._lines = _csv_lines(rows)
        self._header = _csv_lines(rows.iloc[:0], header=True)[0]

    def inventory(self) -> dict[str, int]:
        return {
            "vouchers": len(self._lines),
            "pay days with vouchers": len(np.unique(self._days)),
        }

    def credentials(self) -> dict[str, str]:
        return {"login": self.appid, "password": self.secret}

    def authenticate(self, client, path_and_query: str, headers: dict[str, str]) -> None:
        stamp = headers.pop("timestamp", str(int(time.time())))
        headers.setdefault("X-Appid", self.appid)
        headers.setdefault("X-Timestamp", stamp)
        headers.setdefault("X-Sign", sign(self.secret, self.appid, stamp, "GET", path_and_query))

    def route(self, req: Request, fault: str | None) -> Response:
        if req.method != "GET" or req.path != "/treasury/v2/vouchers":
            return text_response(404, "not found")
        problem = self._signature_problem(req)
        if problem:
            return text_response(403, problem)
        if fault == "busy_retry_after":
            return Response(
                503,
                "系统繁忙".encode("gbk"),
                "text/plain; charset=GBK",
                {"Retry-After": str(self.retry_after_s)},
            )
        try:
            pay_date = dt.date.fromisoformat(req.query["pay_date"])
            part = int(req.query.get("part", "1"))
        except (KeyError, ValueError):
            return text_response(400, "pay_date=YYYY-MM-DD is required; part is a number")
        # the night runs early on as_of + 1: that day exists (empty so far), later ones don't
        if pay_date > self.as_of + dt.timedelta(days=1):
            return text_response(400, f"pay_date {pay_date} is in the future")
        parts = self._parts(cal.day(pay_date))
        if not 1 <= part <= len(parts):
            return text_response(404, f"part {part} of {len(parts)} does not exist")
        self.count(parts[part - 1].count(b"\r\n") - 1)
        return Response(
            200, parts[part - 1], "text/csv; charset=GBK", {"X-Total-Parts": str(len(parts))}
        )

    def _signature_problem(self, req: Request) -> str | None:
        appid, stamp, given = (req.headers.get(h, "") for h in ("x-appid", "x-timestamp", "x-sign"))
        if appid != self.appid:
            return "unknown X-Appid"
        if not stamp.isdigit() or abs(int(stamp) - time.time()) > CLOCK_WINDOW_S:
            return "X-Timestamp is outside the 300 s window"
        expected = sign(self.secret, appid, stamp, req.method, req.raw_path)
        if not hmac.compare_digest(expected, given.lower()):
            return "X-Sign does not match"
        return None

    def _parts(self, day: int) -> list[bytes]:
        lo, hi = np.searchsorted(self._days, [day, day + 1])
        lines = self._lines[lo:hi]
        chunks = [lines[i : i + self.part_size] for i in range(0, len(lines), self.part_size)]
        return [self._header + b"".join(chunk) for chunk in chunks or [[]]]


def _csv_lines(rows: pd.DataFrame, header: bool = False) -> list[bytes]:
    """Each row as one GBK-encoded CSV line (CRLF, `"` quoting where a field needs it)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    if header:
        writer.writerow(COLUMNS)
    writer.writerows(rows[COLUMNS].fillna("").itertuples(index=False, name=None))
    return [f"{line}\r\n".encode("gbk") for line in buffer.getvalue().split("\r\n")[:-1]]
