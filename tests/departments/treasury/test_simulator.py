"""treasury.md: HMAC signatures in a 300 s window, GBK CSV per pay date in parts, late vouchers."""

from __future__ import annotations

import csv
import datetime as dt
import io
import time

import pytest
import requests

from departments.treasury.simulator import sign
from simulators.client import SimClient
from simulators.cluster import Cluster
from simulators.servers.faults import FaultPlan
from simulators.world import calendar as cal
from tests.conftest import AS_OF

PATH = "/treasury/v2/vouchers"


def _busiest_day(world, as_of=AS_OF) -> dt.date:
    v = world.as_of("vouchers", cal.day(as_of))
    return cal.date_of(int(v["_pay_day"].value_counts().idxmax()))


def _rows(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(response.content.decode("gbk"))))


def test_given_wrong_signature_then_403_plain_text(cluster):
    r = SimClient(cluster.servers["treasury"]).get(
        PATH, {"pay_date": "2026-11-02"}, **{"X-Sign": "0" * 64}
    )
    assert r.status_code == 403
    assert r.headers["Content-Type"].startswith("text/plain")


@pytest.mark.parametrize("skew,status", [(-301, 403), (301, 403), (-200, 200), (200, 200)])
def test_signature_clock_window_is_300_seconds(cluster, skew, status):
    stamp = str(int(time.time()) + skew)
    r = SimClient(cluster.servers["treasury"]).get(
        PATH, {"pay_date": "2026-11-02"}, timestamp=stamp
    )
    assert r.status_code == status


def test_signature_covers_base_path_prefix(world):
    with Cluster(world, AS_OF, base_path="/gw") as c:
        server = c.servers["treasury"]
        assert SimClient(server).get(PATH, {"pay_date": "2026-11-02"}).status_code == 200
        stamp = str(int(time.time()))
        unprefixed = f"{PATH}?pay_date=2026-11-02"  # signed without the prefix it is sent with
        r = requests.get(
            f"{server.url}{unprefixed}",
            headers={
                "X-Appid": server.appid,
                "X-Timestamp": stamp,
                "X-Sign": sign(server.secret, server.appid, stamp, "GET", unprefixed),
            },
        )
    assert r.status_code == 403


def test_body_is_gbk_csv_with_crlf_quoting_and_chinese_headers(cluster, world):
    r = SimClient(cluster.servers["treasury"]).get(PATH, {"pay_date": _busiest_day(world)})
    assert r.headers["Content-Type"] == "text/csv; charset=GBK"
    with pytest.raises(UnicodeDecodeError):
        r.content.decode("utf-8")
    assert r.content.startswith("凭证号,支付日期".encode("gbk"))
    assert b"\r\n" in r.content and b"\n" not in r.content.replace(b"\r\n", b"")
    rows = _rows(r)
    assert any("," in row["金额"] for row in rows)  # quoted thousands separators survive CSV
    assert r.headers["X-Total-Parts"] == "1"


def test_given_small_parts_then_parts_split_the_day_and_part_beyond_is_404(world):
    day = _busiest_day(world)
    with Cluster(world, AS_OF, options={"treasury": {"part_size": 2}}) as c:
        client = SimClient(c.servers["treasury"])
        first = client.get(PATH, {"pay_date": day})
        parts = int(first.headers["X-Total-Parts"])
        rows = [
            row
            for p in range(1, parts + 1)
            for row in _rows(client.get(PATH, {"pay_date": day, "part": p}))
        ]
        beyond = client.get(PATH, {"pay_date": day, "part": parts + 1})
    assert parts > 1 and len(_rows(first)) == 2
    assert beyond.status_code == 404
    assert len(rows) == len({row["凭证号"] for row in rows})
    assert len(rows) == (world.as_of("vouchers", cal.day(AS_OF))["_pay_day"] == cal.day(day)).sum()


def test_given_future_day_then_400_and_before_2024_an_empty_day(cluster):
    client = SimClient(cluster.servers["treasury"])
    assert client.get(PATH, {"pay_date": AS_OF + dt.timedelta(days=2)}).status_code == 400
    old = client.get(PATH, {"pay_date": "2023-12-31"})
    assert old.status_code == 200 and old.headers["X-Total-Parts"] == "1"
    assert _rows(old) == [] and old.content.count(b"\r\n") == 1


def test_late_vouchers_appear_on_later_days_and_earlier_ones_stay_unchanged(world):
    v = world.tables["vouchers"]
    entered = cal.day_of_ms(v["_ts"].to_numpy())
    late = v[(entered > v["_pay_day"]) & (v["_pay_day"] < cal.day(AS_OF) - 10)].iloc[0]
    pay = cal.date_of(int(late["_pay_day"]))
    seen = {}
    for as_of in (pay, pay + dt.timedelta(days=3)):
        with Cluster(world, as_of) as c:
            seen[as_of] = {
                r["凭证号"]: r
                for r in _rows(SimClient(c.servers["treasury"]).get(PATH, {"pay_date": pay}))
            }
    first, final = seen.values()
    assert late["凭证号"] not in first and late["凭证号"] in final
    assert all(final[k] == row for k, row in first.items())


def test_given_batch_window_load_then_503_with_retry_after(world):
    with Cluster(world, AS_OF) as c:
        c.servers["treasury"].faults = FaultPlan(rate=1.0, kinds=("busy_retry_after",))
        r = SimClient(c.servers["treasury"]).get(PATH, {"pay_date": "2026-11-02"})
    assert r.status_code == 503 and float(r.headers["Retry-After"]) > 0


def test_bad_rows_and_reversals_are_on_the_wire(world):
    v = world.as_of("vouchers", cal.day(AS_OF))
    assert (v["原凭证号"] != "").any() and v.loc[v["原凭证号"] != "", "金额"].str.startswith(
        "-"
    ).all()
    assert {"amount_not_a_number", "pay_date_mismatch", "payee_code_check_character"} <= set(
        v["_bad"]
    )
    assert v["收款人账号"].str.fullmatch(r"\d{19}").all()
