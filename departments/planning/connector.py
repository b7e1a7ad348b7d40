"""自然资源和规划 一张图 (planning.md): OGC API – Features, the key in the query string, `next`
links naming the service's own host, GeoJSON features flattened into records."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import requests

from connectors.core import Connector, JsonItems, NextLinks, QueryKey, Stream
from departments.planning.records import FEATURE_ID

PERMIT = ("permitCode", "projectCode", "projectName")
LAND_USE_FIELDS = (
    *PERMIT, "landUser", "landUserCreditCode", "landArea", "location", "landUse", "approvedOn",
    "regionCode", "status", "srid", "updated", "geometry",
)  # fmt: skip
WORKS_FIELDS = (
    "permitCode", "landPermitCode", "projectCode", "projectName", "builder", "builderCreditCode",
    "floorArea", "location", "approvedOn", "regionCode", "status", "srid", "updated", "geometry",
)  # fmt: skip
UPDATED = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00")


@dataclass(frozen=True)
class Features(JsonItems):
    """A GeoJSON FeatureCollection: each feature's `properties` as the record, its `geometry`
    as compact GeoJSON text (None when null); a feature whose `id` is not its key field keeps
    the id apart (`_featureId`), so validation can reject the record for it."""

    items: tuple[str, ...] = ("features",)
    key: str = "permitCode"

    def decode(self, response: requests.Response) -> tuple[dict, list, bool]:
        doc, features, garbled = super().decode(response)
        return doc, flatten(features, self.key), garbled

    def parse(self, body: bytes) -> tuple[list, bool]:
        features, garbled = super().parse(body)
        return flatten(features, self.key), garbled


def flatten(features: list, key: str) -> list:
    """Records from features; what is no feature stays as it came (the frame flags it)."""
    return [_record(f, key) if isinstance(f, dict) else f for f in features]


def _record(feature: dict, key: str) -> dict[str, Any]:
    properties = feature.get("properties")
    record = dict(properties) if isinstance(properties, dict) else {"properties": properties}
    shape = feature.get("geometry")
    record["geometry"] = None if shape is None else compact(shape)
    fid = feature.get("id")
    if _text(fid) != _text(record.get(key)):
        record[FEATURE_ID] = "" if fid is None else str(fid)
    return record


def compact(value: Any) -> str:
    """JSON text without spaces, in the value's own key order, numbers exactly as read (they
    arrive as `Decimal`: a coordinate is written back digit for digit, never via a float)."""
    if isinstance(value, dict):
        inner = ",".join(
            f"{json.dumps(str(k), ensure_ascii=False)}:{compact(v)}" for k, v in value.items()
        )
        return "{" + inner + "}"
    if isinstance(value, list):
        return "[" + ",".join(map(compact, value)) + "]"
    if isinstance(value, Decimal):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


def _text(value: Any) -> str | None:
    return None if value is None else str(value).strip()


def _stream(name: str, record_type: str, collection: str, fields: tuple[str, ...]) -> Stream:
    return Stream(
        name=name,
        record_type=record_type,
        path=f"/ogc/collections/{collection}/items",
        key="permitCode",
        fields=fields,
        version="updated",
        paginator=NextLinks(version_pattern=UPDATED),
        format=Features(),
    )


connector = Connector(
    name="planning",
    title="Natural resources and planning (自然资源和规划 国土空间规划“一张图”系统)",
    conn_id="planning_api",
    auth=QueryKey,  # the connection's password as `tk=` on every request
    streams=(
        _stream("land_use_permits", "land_use_permit", "land-use-permits", LAND_USE_FIELDS),
        _stream("works_permits", "works_permit", "works-permits", WORKS_FIELDS),
    ),
)
