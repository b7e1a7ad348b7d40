"""hotline.md, the simulator: WS-Security UsernameToken (digest, nonce, Created), faults in
HTTP 500, 24-hour windows × page numbers, XML quirks (CDATA, character references, nil)."""

from __future__ import annotations

import datetime as dt
import os
import time

import pytest
import requests
from lxml import etree

from departments.hotline.simulator import HotlineServer, envelope
from departments.hotline.world import TABLE, short_names
from departments.hotline.wsdl import NAMESPACE, SERVICE_PATH, SOAP_ACTION
from departments.registry import extend_world
from simulators.servers.faults import FaultPlan
from simulators.world import calendar as cal
from tests.conftest import AS_OF

DAY = {"updatedFrom": "2025-03-01 00:00:00", "updatedTo": "2025-03-02 00:00:00"}
HEADERS = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{SOAP_ACTION}"'}
SOAP = "http://schemas.xmlsoap.org/soap/envelope/"


@pytest.fixture(scope="module")
def server(world):
    extend_world(world)
    with HotlineServer(world, AS_OF, "hub", "s3cret") as s:
        yield s


def post(server, body: bytes) -> requests.Response:
    return requests.post(server.url + SERVICE_PATH, data=body, headers=HEADERS, timeout=30)


def query(server, page_no=1, size=100, nonce=None, created=None, password="s3cret", **window):
    params = {**DAY, **window, "pageNo": page_no, "pageSize": size}
    return post(server, envelope("hub", password, params, nonce, created))


def fault_code(r: requests.Response) -> str | None:
    doc = etree.fromstring(r.content)
    return doc.findtext(f"{{{SOAP}}}Body/{{{SOAP}}}Fault/faultcode")


def orders(r: requests.Response) -> list[dict]:
    doc = etree.fromstring(r.content)
    nil = "{http://www.w3.org/2001/XMLSchema-instance}nil"
    return [
        {etree.QName(f).localname: (None if f.get(nil) == "true" else (f.text or "")) for f in o}
        for o in doc.iter(f"{{{NAMESPACE}}}order")
    ]


def test_the_wsdl_is_served_with_the_servers_address(server):
    r = requests.get(server.url + SERVICE_PATH + "?wsdl", timeout=30)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/xml")
    assert f'location="{server.url}{SERVICE_PATH}"' in r.text


def test_a_correct_request_is_answered_in_text_xml(server):
    r = query(server)
    assert r.status_code == 200 and r.headers["Content-Type"] == "text/xml; charset=utf-8"
    assert fault_code(r) is None


def test_given_a_reused_nonce_then_failed_authentication(server):
    nonce = os.urandom(16)
    assert query(server, nonce=nonce).status_code == 200
    again = query(server, nonce=nonce)
    assert again.status_code == 500 and fault_code(again) == "wsse:FailedAuthentication"
    assert "身份验证失败" in again.text


def test_given_a_stale_created_then_failed_authentication(server):
    stale = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 301))
    r = query(server, created=stale)
    assert r.status_code == 500 and fault_code(r) == "wsse:FailedAuthentication"


def test_given_a_wrong_digest_then_failed_authentication(server):
    r = query(server, password="not-it")
    assert r.status_code == 500 and fault_code(r) == "wsse:FailedAuthentication"


def test_given_a_window_over_24_hours_then_window_too_wide(server):
    r = query(server, updatedTo="2025-03-02 00:00:01")
    assert r.status_code == 500 and fault_code(r) == "soap:Client.WindowTooWide"


@pytest.mark.parametrize(
    "change",
    [
        {"size": 0},
        {"size": 101},
        {"page_no": 0},
        {"updatedFrom": "2025-03-01"},
        {"updatedTo": "2026-11-24 00:00:01", "updatedFrom": "2026-11-23 12:00:00"},
    ],
)
def test_given_bad_arguments_then_invalid_argument(server, change):
    r = query(server, **change)
    assert r.status_code == 500 and fault_code(r) == "soap:Client.InvalidArgument"


def test_busy_is_a_server_fault_in_http_500(world):
    extend_world(world)
    plan = FaultPlan(rate=1.0, kinds=("busy",))
    with HotlineServer(world, AS_OF, "hub", "s3cret", faults=plan) as s:
        r = query(s)
    assert r.status_code == 500 and fault_code(r) == "soap:Server.Busy"


def test_windows_page_by_updated_at_then_order_no_and_match_the_world(server, world):
    rows = world.as_of(TABLE, cal.day(AS_OF))
    busiest = dt.date.fromisoformat(rows["updatedAt"].str.slice(0, 10).value_counts().index[0])
    got, page = [], 1
    while True:
        r = query(server, page_no=page, size=2, **_day((busiest - dt.date(2025, 1, 1)).days))
        got += orders(r)
        total = int(etree.fromstring(r.content).findtext(f".//{{{NAMESPACE}}}total"))
        if page * 2 >= total:
            break
        page += 1
    expected = rows[rows["updatedAt"].str.startswith(busiest.isoformat())]
    assert len(got) == total == len(expected) > 2
    keys = [(o["updatedAt"], o["orderNo"]) for o in got]
    assert keys == sorted(keys)
    assert {o["orderNo"] for o in got} == set(expected["orderNo"])


def test_free_text_comes_in_cdata_and_with_character_references_and_nulls_as_nil(server):
    bodies = [query(server, **_day(d)).content for d in range(0, 120, 3)]
    assert any(b"<![CDATA[" in b for b in bodies)
    assert any(b"&#x3000;" in b for b in bodies)
    assert any(b'xsi:nil="true"' in b for b in bodies)


def _day(offset: int) -> dict:
    d = dt.date(2025, 1, 1) + dt.timedelta(days=offset)
    return {"updatedFrom": f"{d} 00:00:00", "updatedTo": f"{d + dt.timedelta(days=1)} 00:00:00"}


# ---- the world -------------------------------------------------------------------------------
def test_the_world_holds_the_contracts_quirks(world):
    t = extend_world(world).tables[TABLE]
    latest = t.drop_duplicates("_key", keep="last")
    assert latest["_key"].is_unique and t["_key"].is_monotonic_increasing
    construction = latest["topic"].str.startswith("城乡建设/建筑施工/", na=False)
    assert 0.15 < construction.mean() < 0.35
    assert latest.loc[~construction, "_project"].isna().all()
    assert latest.loc[construction & (latest["_bad"] == ""), "_project"].notna().all()
    assert set(latest.loc[construction, "_evidence"]) == {
        "name", "contractor", "road", "position", "none"
    }  # fmt: skip
    assert (latest["regionCode"] == "").any() and (latest["regionCode"] == "320571").any()
    assert latest["title"].str.startswith("【重复工单】").any()
    assert set(latest["status"]) == {"已受理", "办理中", "已办结", "已回访"}
    assert set(latest["_bad"]) >= {"", "orderNo", "acceptedAt", "channel", "category"}
    assert 0.005 < (latest["_bad"] != "").mean() < 0.04
    app, other = latest["channel"] == "APP", latest["channel"].isin(["电话", "网站", "微信"])
    assert (
        latest.loc[app, "longitude"].notna().all() and latest.loc[other, "longitude"].isna().all()
    )
    assert latest["content"].str.contains(r"1\d{10}").any()
    assert latest["content"].str.contains(r"\d{17}[\dX]").any()
    # versions move forward in time
    assert (t.groupby("_key")["_ts"].diff().dropna() > 0).all()


def test_short_names_drop_the_city_district_works_and_phase():
    names = ["苏州市吴中区淀山湖安置房建设工程（二期）", "昆山市陆家河道生态修复工程"]
    assert short_names(__import__("pandas").Series(names)).tolist() == [
        "淀山湖安置房建设",
        "陆家河道生态修复",
    ]


def test_the_world_is_deterministic(world):
    from departments.hotline.world import tables

    a, b = tables(world)[TABLE], tables(world)[TABLE]
    assert a.equals(b)
