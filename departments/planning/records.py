"""自然资源和规划 land-use and works planning permits (planning.md), typed."""

from __future__ import annotations

import re

import pandas as pd
import pandera.extensions as ext
from pandera.typing import Series

from schemas.checks import WORDS
from schemas.codes import per_distinct_check
from schemas.records import Date, Money, Record, RecordType, Timestamp, optional, required
from transforms import geometry

LAND_USES = (
    "公共管理与公共服务用地",
    "交通运输用地",
    "公用设施用地",
    "绿地与开敞空间用地",
    "居住用地",
)
STATUSES = ("有效", "注销")
SRIDS = (4490, 4549)
FEATURE_ID = "_featureId"  # set by the connector where a feature's id is not its permitCode


@ext.register_check_method(statistics=["prefix"], supported_types=[pd.Series])
def planning_permit_code(series, *, prefix):
    pattern = re.compile(rf"{prefix}第\d{{6}}\d{{4}}\d{{5}}号")
    return per_distinct_check(series, lambda v: pattern.fullmatch(v) is not None)


WORDS.setdefault(
    "planning_permit_code",
    "is not a permit code {prefix}第 + division (6 digits) + year (4) + sequence (5) + 号",
)


class LandUsePermitRecord(Record):
    """建设用地规划许可证 (planning.md, `land-use-permits`), key `permitCode`."""

    permitCode: Series[str] = required(
        planning_permit_code={"prefix": "地字"}, description="地字第…号, the feature id"
    )
    projectCode: Series[str] = optional(description="project code as entered; may be malformed")
    projectName: Series[str] = required(description="project name at the planning office")
    landUser: Series[str] = required(description="land user (用地单位)")
    landUserCreditCode: Series[str] = required(credit_code=(), description="its credit code")
    landArea: Series[Money] = required(
        money_above={"minimum": 0}, description="surveyed parcel area, m², exact, > 0"
    )
    location: Series[str] = optional(description="用地位置: the bounding roads, free text")
    landUse: Series[str] = required(one_of={"values": LAND_USES}, description="land use class")
    approvedOn: Series[Date] = required(description="approval date")
    regionCode: Series[str] = required(digits={"count": 6}, description="6-digit division code")
    status: Series[str] = required(one_of={"values": STATUSES}, description="有效|注销 (revoked)")
    srid: Series[pd.Int64Dtype] = optional(
        one_of={"values": SRIDS}, description="4490, 4549 or absent"
    )
    updated: Series[Timestamp] = required(description="last modification")
    geometry: Series[str] = optional(
        description="the parcel: GeoJSON MultiPolygon text in CRS84, repaired, 6 decimals"
    )


class WorksPermitRecord(Record):
    """建设工程规划许可证 (planning.md, `works-permits`), key `permitCode`."""

    permitCode: Series[str] = required(
        planning_permit_code={"prefix": "建字"}, description="建字第…号, the feature id"
    )
    landPermitCode: Series[str] = optional(description="the land-use permit it builds on")
    projectCode: Series[str] = optional(description="project code as entered; may be malformed")
    projectName: Series[str] = required(description="project name, often with its section")
    builder: Series[str] = required(description="builder (建设单位)")
    builderCreditCode: Series[str] = required(credit_code=(), description="its credit code")
    floorArea: Series[Money] = required(
        money_above={"minimum": 0}, description="floor area, m², exact, > 0"
    )
    location: Series[str] = optional(description="建设位置: the bounding roads, free text")
    approvedOn: Series[Date] = required(description="approval date")
    regionCode: Series[str] = required(digits={"count": 6}, description="6-digit division code")
    status: Series[str] = required(one_of={"values": STATUSES}, description="有效|注销 (revoked)")
    srid: Series[pd.Int64Dtype] = optional(
        one_of={"values": SRIDS}, description="4490, 4549 or absent"
    )
    updated: Series[Timestamp] = required(description="last modification")
    geometry: Series[str] = optional(
        description="the footprints: GeoJSON MultiPolygon text in CRS84, repaired, 6 decimals"
    )


def prepare(frame: pd.DataFrame) -> pd.DataFrame:
    """Geometry read with its `srid` (reprojected, repaired, checked to lie in Suzhou), and a
    feature whose id is not its permitCode: each a problem that quarantines the record."""
    out = frame.copy(deep=False)
    missing = pd.Series([None] * len(frame), index=frame.index, dtype=object)
    text, problems = geometry.normalise(frame.get("geometry", missing), frame.get("srid"))
    out["geometry"] = text
    if FEATURE_ID in frame:
        ids = frame[FEATURE_ID]
        codes = frame.get("permitCode", missing)
        odd = ids.notna().to_numpy()
        said = [
            f"permitCode {c!r} is not the feature's id {i!r}"
            for i, c in zip(ids[odd], codes[odd], strict=True)
        ]
        problems = _joined(problems, pd.Series(said, index=frame.index[odd], dtype=object))
    before = frame.get("_problems", missing)
    out["_problems"] = _joined(before.where(before != "", None), problems).fillna("")
    return out


def _joined(first: pd.Series, second: pd.Series) -> pd.Series:
    """Per row, both texts joined by `; ` (either may be missing)."""
    second = second.reindex(first.index)
    both = first.notna() & second.notna()
    out = first.where(first.notna(), second)
    out[both] = first[both] + "; " + second[both]
    return out.astype(object).where(out.notna(), None)


_COMMON = {
    "permitCode": "code", "projectCode": "code", "approvedOn": "date_dashed",
    "regionCode": "code", "srid": "integer", "updated": "time_iso",
}  # fmt: skip

LAND_USE_PERMIT = RecordType(
    "land_use_permit",
    LandUsePermitRecord,
    key="permitCode",
    parsers={**_COMMON, "landUserCreditCode": "code", "landArea": "decimal"},
    prepare=prepare,
)
WORKS_PERMIT = RecordType(
    "works_permit",
    WorksPermitRecord,
    key="permitCode",
    parsers={
        **_COMMON,
        "landPermitCode": "code",
        "builderCreditCode": "code",
        "floorArea": "decimal",
    },
    prepare=prepare,
)
