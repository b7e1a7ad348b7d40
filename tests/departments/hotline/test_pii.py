"""hotline.md, personal data: no caller name, caller phone, or phone or ID number written in
an order is kept in clear anywhere: landing (pages and metadata), staging, quarantine, logs."""

from __future__ import annotations

import gzip
import logging
import re

import pandas as pd
import pytest

from connectors.core import Landing, LocalSink, replay
from departments.hotline.records import WORK_ORDER
from departments.registry import extend_world
from schemas.validate import validate
from tests.departments.hotline.test_connector import expected, read, recent, serve
from transforms import pii


def test_redact_numbers_masks_phones_and_resident_ids_only():
    text = pd.Series(
        [
            "联系电话13812345678，身份证32050819800101123X。",
            "电话 138 1234 5678 或 １３９１２３４５６７８",
            "订单号20240101000123456789不是号码，金额12345678901234元",
            None,
        ]
    )
    out = pii.redact_numbers(text).tolist()
    assert out[0] == f"联系电话{pii.PHONE_MASK}，身份证{pii.ID_MASK}。"
    assert out[1] == f"电话 {pii.PHONE_MASK} 或 {pii.PHONE_MASK}"
    assert out[2] == text[2] and out[3] is None


def test_hash_phone_is_keyed_stable_and_counts_repeat_callers():
    phones = pd.Series(["13812345678", "138 1234 5678", "13900000000", None])
    hashed = pii.hash_phone(phones, "k1")
    assert hashed[0] == hashed[1] != hashed[2] and hashed[3] is None
    assert re.fullmatch(r"h:[0-9a-f]{16}", hashed[0])
    assert pii.hash_phone(phones, "k2")[0] != hashed[0]  # without the key, no guessing
    with pytest.raises(ValueError):
        pii.hash_phone(phones, "")


def _personal(rows: pd.DataFrame) -> set[str]:
    """Every personal value of the world's orders: names, phones, numbers in the text."""
    found = set(rows["callerName"].dropna()) | set(rows["callerPhone"].dropna())
    found |= set(rows["_id_number"].dropna())
    for text in rows["content"].dropna():
        found |= set(re.findall(r"1\d{10}", text))
    return {v for v in found if len(v) >= 2}


def _bytes_under(root) -> bytes:
    out = b""
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        out += gzip.decompress(data) if path.suffix == ".gz" else data
    return out


def test_no_personal_data_is_landed_staged_quarantined_or_logged(world, tmp_path, caplog):
    world = extend_world(world)
    caplog.set_level(logging.DEBUG)
    sink = LocalSink(tmp_path / "sink", commit_every_s=0)
    landing = Landing(tmp_path / "landing", "night-1")
    # faults too: retries and their log lines must not carry what the answers held
    with serve(world, rate=0.2, seed=5) as server:
        read(server, sink, landing=landing)
        served = "".join(server.orders).encode()
    rows = expected(world)
    personal = _personal(rows)
    assert sum(v.encode() in served for v in personal) > 100  # the search finds them there
    assert len(personal) > 100 and rows["_id_number"].notna().any()
    staged = sink.records("hotline", "work_orders")
    quarantine = validate("hotline", WORK_ORDER, staged).quarantine
    assert len(quarantine) > 0  # bad records are shown too: masked
    replayed = replay(recent(), landing)["work_orders"]
    places = {
        "landing": _bytes_under(tmp_path / "landing"),
        "sink": _bytes_under(tmp_path / "sink"),
        "staged": staged.to_json(force_ascii=False).encode(),
        "replayed": replayed.to_json(force_ascii=False).encode(),
        "quarantine": quarantine.to_json(force_ascii=False).encode(),
        "logs": caplog.text.encode(),
    }
    for where, data in places.items():
        leaked = [v for v in personal if v.encode() in data]
        assert not leaked, f"{where} holds personal data: {len(leaked)} values"
    assert places["landing"] and b"<soap" not in places["landing"]  # never the raw XML
    assert len(replayed) == len(staged)


def test_the_landing_replays_exactly_what_was_staged(world, tmp_path):
    world = extend_world(world)
    sink = LocalSink(tmp_path / "sink", commit_every_s=0)
    landing = Landing(tmp_path / "landing", "night-1")
    with serve(world) as server:
        read(server, sink, landing=landing)
    replayed = replay(recent(), landing)["work_orders"]
    staged = sink.records("hotline", "work_orders")
    columns = ["_key", "_version", "callerPhone", "content"]
    a = replayed[columns].sort_values("_key").reset_index(drop=True)
    b = staged[columns].sort_values("_key").reset_index(drop=True)
    pd.testing.assert_frame_equal(a.astype(object), b.astype(object))
