"""Which project every valid live record belongs to: pure, DataFrame in, DataFrame out.

Evidence, strongest first: a registry project code (exact, or repaired when one digit away
from exactly one registry code), the permit a housing record follows, a code written into the
auditor's free text, and — where no code helps — the name reduced to its base and phase
(`transforms.names`), compared only within a block (the same owner unit, budget unit or audited
unit) and settled by unit evidence (the payee is the contractor of exactly one candidate's
permit). Ambiguity leaves the record unlinked: money on the wrong project is worse than none.
Permits of works the registry does not know (未批先建) form `X-` projects, named after their
smallest permit number.
"""

from __future__ import annotations

import re
from collections import defaultdict
from functools import cached_property

import numpy as np
import pandas as pd

from transforms.names import split_names
from transforms.normalise import code as fold_code
from transforms.normalise import spread, text

LINK_COLUMNS = [
    "source_system",
    "record_type",
    "record_key",
    "project_id",
    "link_method",
    "link_confidence",
]
FORMAT = re.compile(r"\d{4}-\d{6}-\d{2}-0[123]-\d{6}")
CODE_IN_TEXT = re.compile(r"\d{4}-\d{6}-\d{2}-\d{2}-\d{6}")


# ---- codes ------------------------------------------------------------------------------------
class CodeBook:
    """Registry codes, and their repair: a code one digit away from exactly one of them."""

    def __init__(self, codes: pd.Series) -> None:
        self.codes = set(codes.dropna())
        # the registry's own malformed keys (a hyphen lost) still name a project
        self._digits = {re.sub(r"\D", "", c): c for c in self.codes if not FORMAT.fullmatch(c)}

    def match(self, code: str | None) -> tuple[str | None, str | None]:
        """(registry code, method) for a written code; (None, None) when it proves nothing."""
        if not isinstance(code, str):
            return None, None
        if code in self.codes:
            return code, "project_code"
        if FORMAT.fullmatch(code) and re.sub(r"\D", "", code) in self._digits:
            return code, "project_code (registry record malformed)"
        near = {c for c in self._sharing_two_thirds(code) if _one_digit_apart(c, code)}
        return (near.pop(), "project_code_repaired") if len(near) == 1 else (None, None)

    def _sharing_two_thirds(self, code: str) -> set[str]:
        """Registry codes of `code`'s length that agree with it in two of the three sets of
        positions i % 3: a code one position away agrees in two of them whole (pigeonhole),
        so three lookups find every candidate, where trying each digit at each position took
        ~200 (1.7 s for a large night's vouchers)."""
        thirds = _thirds(code)
        found: set[str] = set()
        for k in range(3):
            found.update(self._by_thirds.get((len(code), k, thirds[k - 2], thirds[k - 1]), ()))
        return found

    @cached_property
    def _by_thirds(self) -> dict[tuple, list[str]]:
        index: dict[tuple, list[str]] = defaultdict(list)
        for c in self.codes:
            thirds = _thirds(c)
            for k in range(3):
                index[(len(c), k, thirds[k - 2], thirds[k - 1])].append(c)
        return index


def _thirds(code: str) -> tuple[str, str, str]:
    return code[0::3], code[1::3], code[2::3]


def _one_digit_apart(a: str, b: str) -> bool:
    """Equal length, one position apart, and a digit (`str.isdigit`) there on both sides."""
    differ = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
    return len(differ) == 1 and a[differ[0]].isdigit() and b[differ[0]].isdigit()


def _codes(values: pd.Series, book: CodeBook) -> pd.DataFrame:
    """Each written code's registry code and method, matched once per distinct code."""
    codes, distinct = pd.factorize(fold_code(values).to_numpy(dtype=object))
    found = [book.match(code) for code in distinct]
    return pd.DataFrame(
        {
            column: spread([f[i] for f in found], codes)
            for i, column in enumerate(("project_id", "link_method"))
        },
        index=values.index,
    )


# ---- names within blocks --------------------------------------------------------------------
class NameIndex:
    """Projects by (block, base); a record's candidates are those whose phase fits."""

    def __init__(self, projects: pd.DataFrame, block_columns: list[str]) -> None:
        self.by_key: dict[tuple[str, str], list[tuple[str, str | None]]] = defaultdict(list)
        for col in block_columns:  # numpy object arrays, not `itertuples`' row objects
            columns = (
                projects[c].to_numpy(dtype=object) for c in ("project_id", col, "base", "phase")
            )
            for pid, block, base, phase in zip(*columns, strict=True):
                if isinstance(block, str) and isinstance(base, str):
                    entry = (pid, phase if isinstance(phase, str) else None)
                    if entry not in (found := self.by_key[(block, base)]):
                        found.append(entry)

    def candidates(self, block: str | None, base: str | None, phase: str | None) -> list[str]:
        found = (
            self.by_key.get((block, base), [])
            if isinstance(block, str) and isinstance(base, str)
            else []
        )
        phase = phase if isinstance(phase, str) else None
        exact = [pid for pid, p in found if p == phase]
        if exact:
            return exact
        return [pid for pid, p in found if p is None or phase is None]


def _by_name(
    records: pd.DataFrame,
    parts: pd.DataFrame,
    index: NameIndex,
    block: str,
    contractor_of: dict | None = None,
    payee: str | None = None,
) -> pd.DataFrame:
    """Each record's project by its name (`parts`: the names split) within its block."""

    def link(blk, base, phase, who) -> tuple[str | None, str | None]:
        found = index.candidates(blk, base, phase)
        if len(found) > 1 and contractor_of is not None and isinstance(who, str):
            found = [pid for pid in found if who in contractor_of.get(pid, ())]
            if len(found) == 1:
                return found[0], "name+unit+payee"
        return (found[0], "name+unit") if len(found) == 1 else (None, None)

    settled: dict[tuple, tuple[str | None, str | None]] = {}  # a project's payments repeat
    out = []
    for evidence in zip(  # numpy arrays: iterating pandas' string arrays costs 5x more
        records[block].to_numpy(dtype=object),
        parts["base"].to_numpy(dtype=object),
        parts["phase"].to_numpy(dtype=object),
        records[payee].to_numpy(dtype=object) if payee else [None] * len(records),
        strict=True,
    ):
        if (found := settled.get(evidence)) is None:
            found = settled[evidence] = link(*evidence)
        out.append(found)
    return pd.DataFrame(out, index=records.index, columns=["project_id", "link_method"])


# ---- the whole resolution ---------------------------------------------------------------------
CONFIDENCE = {
    "project_code": 1.0, "registry": 1.0, "project_code (registry record malformed)": 0.95, "permit": 0.99, "project_code_repaired": 0.95,
    "code_in_text": 0.97, "code_in_text_repaired": 0.93, "name+unit+payee": 0.9, "name+unit": 0.85,
    "unregistered_permit": 0.8,
}  # fmt: skip


def resolve(
    accepted: dict[str, pd.DataFrame], registry_served: pd.DataFrame | None = None
) -> pd.DataFrame:
    """One row per valid live record: the project it belongs to (or None) and why.

    `registry_served`: every record the registry served (`xmdm`, `xmmc`, `xmdwdm` as received),
    quarantined ones included. Their fields cannot be trusted for the project's figures, but
    they show which projects the registry knows: a code it issued still names its project,
    and works it knows are never taken for unregistered ones.
    """
    projects = accepted["project"]
    served = projects if registry_served is None else registry_served
    served = pd.DataFrame(
        {
            c: (fold_code(served[c]) if c.endswith("dm") else text(served[c])).astype(object)
            for c in ("xmdm", "xmmc", "xmdw", "xmdwdm", "tgdw", "tgdwdm")
        }
    )
    book = CodeBook(pd.concat([projects["xmdm"], served["xmdm"]]).dropna().drop_duplicates())
    # names index over everything the registry served with a well-formed code: a rejected
    # record's name and owner still say which project a permit or payment names
    well_formed = served[
        served["xmdm"].map(lambda c: isinstance(c, str) and bool(FORMAT.fullmatch(c)))
    ]
    names_split: dict = {}  # every name split once
    served_names = split_names(served["xmmc"], names_split)
    registry = well_formed.assign(
        project_id=well_formed["xmdm"], **served_names.loc[well_formed.index]
    )

    permits = accepted["permit"]
    permit_link = _codes(permits["projectCode"], book)
    owners = NameIndex(registry, ["xmdwdm", "xmdw"])
    unlinked = permit_link["project_id"].isna()
    permit_names = split_names(permits["projectName"], names_split)  # once, for three uses
    by_code, by_name = (
        _by_name(permits[unlinked], permit_names[unlinked], owners, block)
        for block in ("buildUnitCreditCode", "buildUnit")
    )
    permit_link.loc[unlinked] = by_code.where(by_code["project_id"].notna(), by_name).to_numpy()
    permit_link, unregistered = _unregistered_permits(
        permits, permit_link, served.assign(**served_names), permit_names
    )

    # everything projects are known by: registry projects and the X- projects just formed
    contractor_of: dict[str, set[str]] = defaultdict(set)
    for pid, code in zip(permit_link["project_id"], permits["contractorCreditCode"], strict=True):
        if isinstance(pid, str):
            contractor_of[pid].add(code)
    known = pd.concat(
        [
            registry[["project_id", "xmdw", "xmdwdm", "tgdw", "tgdwdm", "base", "phase"]],
            unregistered,
        ],
        ignore_index=True,
    )

    links = [_frame("drc", "project", projects["xmdm"], projects["xmdm"], "registry")]
    links.append(
        _frame(
            "housing",
            "permit",
            permits["permitNo"],
            permit_link["project_id"],
            permit_link["link_method"],
        )
    )
    permit_nos = pd.Index(permits["permitNo"].to_numpy(dtype=object))
    permit_projects = permit_link["project_id"].to_numpy(dtype=object)
    for record_type, key in (
        ("progress_report", "reportId"),
        ("inspection", "inspectionId"),
        ("acceptance", "filingNo"),
    ):
        rows = accepted[record_type]
        at = permit_nos.get_indexer(rows["permitNo"].to_numpy(dtype=object))
        pid = pd.Series(np.where(at >= 0, permit_projects[at], None), index=rows.index)
        links.append(
            _frame(
                "housing",
                record_type,
                rows[key],
                pid,
                pd.Series("permit", index=rows.index).where(pid.notna()),
            )
        )

    links.append(_vouchers(accepted["voucher"], book, known, contractor_of, names_split))
    links.append(_findings(accepted["finding"], book, known, names_split))
    out = pd.concat(links, ignore_index=True)
    codes, methods = pd.factorize(out["link_method"].to_numpy(dtype=object))
    out["link_confidence"] = np.array([*(CONFIDENCE.get(m, 0.0) for m in methods), 0.0])[codes]
    out["link_method"] = out["link_method"].fillna("unlinked: no evidence singles out one project")
    return out[LINK_COLUMNS]


def _frame(system: str, record_type: str, keys: pd.Series, pid: pd.Series, method) -> pd.DataFrame:
    method = pd.Series(method, index=keys.index) if isinstance(method, str) else method
    pid = pid.where(pid.notna(), None)
    return pd.DataFrame(
        {
            "source_system": system,
            "record_type": record_type,
            "record_key": keys.to_numpy(dtype=object),
            "project_id": pid.to_numpy(dtype=object),
            "link_method": method.where(pid.notna(), None).to_numpy(dtype=object),
        }
    )


def _unregistered_permits(
    permits: pd.DataFrame, link: pd.DataFrame, registry: pd.DataFrame, names: pd.DataFrame
):
    """Permits with no code and no registry name anywhere under their owner: 未批先建 works.
    `names`: the permits' names split.

    Permits of one such work share owner, base and phase; the work is `X-` + its smallest
    permit number, so the id stays while that permit lives.
    """
    owned = set(zip(registry["xmdwdm"], registry["base"], strict=True)) | set(
        zip(registry["xmdw"], registry["base"], strict=True)
    )
    # an owner with a registry record whose name cannot be read might own this very work
    unnamed = set(registry.loc[registry["base"].isna(), "xmdwdm"]) | set(
        registry.loc[registry["base"].isna(), "xmdw"]
    )
    unknown_name = pd.Series(
        [
            (code, base) not in owned
            and (name, base) not in owned
            and code not in unnamed
            and name not in unnamed
            for code, name, base in zip(
                permits["buildUnitCreditCode"], permits["buildUnit"], names["base"], strict=True
            )
        ],
        index=permits.index,
    )
    lone = link["project_id"].isna() & unknown_name & names["base"].notna()
    groups = permits[lone].assign(base=names["base"], phase=names["phase"].fillna(""))
    # one work's permits may or may not write its phase: group by owner and base only
    anchor = groups.groupby(["buildUnitCreditCode", "base"])["permitNo"].transform("min")
    link = link.copy()
    link.loc[lone, "project_id"] = "X-" + anchor
    link.loc[lone, "link_method"] = "unregistered_permit"
    first = groups[groups["permitNo"] == anchor]
    unregistered = pd.DataFrame(
        {
            "project_id": "X-" + first["permitNo"],
            "xmdw": first["buildUnit"],
            "xmdwdm": first["buildUnitCreditCode"],
            "tgdw": None,
            "tgdwdm": None,
            "base": first["base"],
            "phase": first["phase"].replace("", None),
        }
    )
    return link, unregistered


def _vouchers(
    vouchers: pd.DataFrame, book: CodeBook, known: pd.DataFrame, contractor_of: dict, memo: dict
) -> pd.DataFrame:
    link = _codes(vouchers["项目代码"], book)
    todo = link["project_id"].isna()
    index = NameIndex(known, ["xmdw", "tgdw"])
    names = split_names(vouchers.loc[todo, "项目名称"], memo)
    link.loc[todo] = _by_name(
        vouchers[todo], names, index, "预算单位", contractor_of, "收款人统一社会信用代码"
    ).to_numpy()
    return _frame(
        "treasury", "voucher", vouchers["凭证号"], link["project_id"], link["link_method"]
    )


def _findings(
    findings: pd.DataFrame, book: CodeBook, known: pd.DataFrame, memo: dict
) -> pd.DataFrame:
    refs = fold_code(findings["projectRef"]).astype(object)
    written = refs.map(
        lambda r: (CODE_IN_TEXT.search(r) or [None])[0] if isinstance(r, str) else None
    )
    link = _codes(written, book)
    link["link_method"] = link["link_method"].map(
        {"project_code": "code_in_text", "project_code_repaired": "code_in_text_repaired"}
    )
    todo = link["project_id"].isna()
    index = NameIndex(known, ["xmdwdm", "tgdwdm"])
    names = split_names(findings.loc[todo, "projectRef"], memo)
    link.loc[todo] = _by_name(findings[todo], names, index, "auditedEntityCode").to_numpy()
    return _frame(
        "audit", "finding", findings["findingId"], link["project_id"], link["link_method"]
    )
