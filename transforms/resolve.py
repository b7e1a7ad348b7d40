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
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache, cached_property

import numpy as np
import pandas as pd

from transforms import mentions
from transforms.code_index import OneDigitIndex
from transforms.links import (
    CODE_IN_TEXT,
    CODE_IN_TEXT_REPAIRED,
    NAME_UNIT,
    NAME_UNIT_PAYEE,
    PROJECT_CODE,
    PROJECT_CODE_MALFORMED,
    PROJECT_CODE_REPAIRED,
    REGISTRY,
    UNLINKED,
    UNREGISTERED,
    CodeInText,
    Evidence,
    Follows,
    LinkMethod,
    NameWithinUnit,
    ProjectCode,
    Registry,
    SiteMention,
    Unregistered,
    follows,
)
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
CODE_WRITTEN = re.compile(r"\d{4}-\d{6}-\d{2}-\d{2}-\d{6}")


# ---- codes ------------------------------------------------------------------------------------
class CodeBook:
    """Registry codes, and their repair: a code one digit away from exactly one of them."""

    def __init__(self, codes: pd.Series) -> None:
        self.codes = set(codes.dropna())
        # the registry's own malformed keys (a hyphen lost) still name a project
        self._digits = {re.sub(r"\D", "", c): c for c in self.codes if not FORMAT.fullmatch(c)}

    @cached_property
    def _near(self) -> OneDigitIndex:
        return OneDigitIndex(self.codes)

    def match(self, code: str | None) -> tuple[str | None, LinkMethod | None]:
        """(registry code, method) for a written code; (None, None) when it proves nothing."""
        if not isinstance(code, str):
            return None, None
        if code in self.codes:
            return code, PROJECT_CODE
        if FORMAT.fullmatch(code) and re.sub(r"\D", "", code) in self._digits:
            return code, PROJECT_CODE_MALFORMED
        near = {c for c in self._near.candidates(code) if _one_digit_apart(c, code)}
        return (near.pop(), PROJECT_CODE_REPAIRED) if len(near) == 1 else (None, None)


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
            for i, column in enumerate(("project_id", "method"))
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

    def link(blk, base, phase, who) -> tuple[str | None, LinkMethod | None]:
        found = index.candidates(blk, base, phase)
        if len(found) > 1 and contractor_of is not None and isinstance(who, str):
            found = [pid for pid in found if who in contractor_of.get(pid, ())]
            if len(found) == 1:
                return found[0], NAME_UNIT_PAYEE
        return (found[0], NAME_UNIT) if len(found) == 1 else (None, None)

    settled: dict[tuple, tuple[str | None, str | None]] = {}  # a project's payments repeat
    out = []
    for evidence in zip(  # numpy arrays: iterating pandas' string arrays costs more
        records[block].to_numpy(dtype=object),
        parts["base"].to_numpy(dtype=object),
        parts["phase"].to_numpy(dtype=object),
        records[payee].to_numpy(dtype=object) if payee else [None] * len(records),
        strict=True,
    ):
        if (found := settled.get(evidence)) is None:
            found = settled[evidence] = link(*evidence)
        out.append(found)
    return pd.DataFrame(out, index=records.index, columns=["project_id", "method"])


# ---- the whole resolution ---------------------------------------------------------------------
@dataclass(frozen=True)
class Linking:
    """One record type's evidence, as its department declares it, strongest first."""

    system: str
    record_type: str
    key: str
    evidence: tuple[Evidence, ...]


# the registry's fields, by the roles resolution knows them under
_ROLES = ("code", "name", "owner_name", "owner_code", "entrusted_name", "entrusted_code")
_CODE_IN_TEXT = {PROJECT_CODE: CODE_IN_TEXT, PROJECT_CODE_REPAIRED: CODE_IN_TEXT_REPAIRED}


def resolve(
    accepted: dict[str, pd.DataFrame],
    linking: Sequence[Linking],
    registry_served: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per valid live record: the project it belongs to (or None) and why.

    `linking`: every record type's declared evidence; exactly one offers the `Registry`.
    `registry_served`: every record the registry served as received, quarantined ones
    included. Their fields cannot be trusted for the project's figures, but they show which
    projects the registry knows: a code it issued still names its project, and works it knows
    are never taken for unregistered ones.
    """
    backbone = _backbone(linking)
    registry = next(e for e in backbone.evidence if isinstance(e, Registry))
    projects = accepted[backbone.record_type]
    fields = {role: getattr(registry, role) for role in _ROLES}
    served = projects if registry_served is None else registry_served
    served = pd.DataFrame(
        {
            role: (fold_code(served[f]) if role.endswith("code") else text(served[f])).astype(
                object
            )
            for role, f in fields.items()
        }
    )
    book = CodeBook(pd.concat([projects[registry.code], served["code"]]).dropna().drop_duplicates())
    names_split: dict = {}  # every name split once
    served = served.assign(**split_names(served["name"], names_split))
    # the names index holds everything the registry served with a well-formed code: a rejected
    # record's name and owner still say which project a permit or payment names
    well_formed = served[
        served["code"].map(lambda c: isinstance(c, str) and bool(FORMAT.fullmatch(c)))
    ]
    state = _State(
        accepted,
        book,
        names_split,
        served,
        known=well_formed.assign(project_id=well_formed["code"]),
    )
    keys = projects[registry.code]
    state.done[backbone.record_type] = _frame(
        backbone.system, backbone.record_type, keys, keys, REGISTRY
    )
    # works the registry does not know become X- projects first: later evidence names them too
    rest = [lk for lk in linking if lk is not backbone and lk.record_type in accepted]
    anchoring = [lk for lk in rest if any(isinstance(e, Unregistered) for e in lk.evidence)]
    for lk in anchoring:
        state.link(lk)
    state.known = pd.concat([state.known, *state.unregistered], ignore_index=True)
    todo = [lk for lk in rest if lk not in anchoring]
    while todo:
        ready = [lk for lk in todo if all(d in state.done for d in _depends_on(lk))]
        if not ready:
            raise ValueError(f"evidence names record types no department serves: {todo}")
        for lk in ready:
            state.link(lk)
        todo = [lk for lk in todo if lk not in ready]
    out = pd.concat(state.done.values(), ignore_index=True)
    method = out.pop("method").to_numpy(dtype=object)
    out["link_method"] = [m.label if m is not None else UNLINKED.label for m in method]
    out["link_confidence"] = [m.confidence if m is not None else 0.0 for m in method]
    return out[LINK_COLUMNS]


_follows = cache(follows)


def _backbone(linking: Sequence[Linking]) -> Linking:
    found = [lk for lk in linking if any(isinstance(e, Registry) for e in lk.evidence)]
    if len(found) != 1:
        raise ValueError(f"exactly one record type must offer the Registry; found {len(found)}")
    return found[0]


def _depends_on(lk: Linking) -> set[str]:
    deps = {e.record_type for e in lk.evidence if isinstance(e, Follows)}
    deps |= {f.record_type for e in lk.evidence if isinstance(e, SiteMention) for f in e.facts}
    deps |= {
        e.tie_break.record_type
        for e in lk.evidence
        if isinstance(e, NameWithinUnit) and e.tie_break is not None
    }
    return deps - {lk.record_type}


@dataclass
class _State:
    accepted: dict[str, pd.DataFrame]
    book: CodeBook
    names_split: dict
    served: pd.DataFrame  # everything the registry served, by role, names split
    known: pd.DataFrame  # the projects names are compared with: project_id, roles, base, phase
    done: dict[str, pd.DataFrame] = field(default_factory=dict)  # record type -> its links
    unregistered: list[pd.DataFrame] = field(default_factory=list)

    def link(self, lk: Linking) -> None:
        rows = self.accepted[lk.record_type]
        link = pd.DataFrame({"project_id": None, "method": None}, index=rows.index, dtype=object)
        for evidence in lk.evidence:
            todo = link["project_id"].isna()
            if isinstance(evidence, ProjectCode):
                link.loc[todo] = _codes(rows.loc[todo, evidence.field], self.book).to_numpy()
            elif isinstance(evidence, CodeInText):
                refs = fold_code(rows.loc[todo, evidence.field]).astype(object)
                written = refs.map(
                    lambda r: (CODE_WRITTEN.search(r) or [None])[0] if isinstance(r, str) else None
                )
                found = _codes(written, self.book)
                found["method"] = found["method"].map(lambda m: _CODE_IN_TEXT.get(m))
                link.loc[todo] = found.to_numpy()
            elif isinstance(evidence, Follows):
                link.loc[todo] = self._follow(rows.loc[todo, evidence.field], evidence).to_numpy()
            elif isinstance(evidence, NameWithinUnit):
                self._by_names(rows, link, evidence)
            elif isinstance(evidence, Unregistered):
                self._unregistered(rows, link, evidence, lk.key)
            elif isinstance(evidence, SiteMention):
                todo = link["project_id"].isna()
                sites = mentions.gather(evidence, self.accepted, self.done)
                pid, method = mentions.link_orders(rows[todo], evidence, sites)
                link.loc[todo, "project_id"], link.loc[todo, "method"] = pid, method
        self.done[lk.record_type] = _frame(
            lk.system, lk.record_type, rows[lk.key], link["project_id"], link["method"]
        )

    def _follow(self, named: pd.Series, evidence: Follows) -> pd.DataFrame:
        target = self.done[evidence.record_type]
        keys = pd.Index(target["record_key"].to_numpy(dtype=object))
        projects = target["project_id"].to_numpy(dtype=object)
        at = keys.get_indexer(named.to_numpy(dtype=object))
        pid = np.where(at >= 0, projects[at], None)
        method = np.where(pd.notna(pid), _follows(evidence.record_type), None)
        return pd.DataFrame({"project_id": pid, "method": method}, index=named.index)

    def _by_names(self, rows: pd.DataFrame, link: pd.DataFrame, evidence: NameWithinUnit) -> None:
        index = NameIndex(self.known, list(evidence.roles))
        party_of = self._parties(evidence.tie_break) if evidence.tie_break else None
        payee = evidence.tie_break.field if evidence.tie_break else None
        for block in evidence.blocks:
            todo = link["project_id"].isna()
            names = split_names(rows.loc[todo, evidence.name], self.names_split)
            link.loc[todo] = _by_name(rows[todo], names, index, block, party_of, payee).to_numpy()

    def _parties(self, tie_break) -> dict[str, set[str]]:
        """Each project's parties in `tie_break.role` over its linked records."""
        links = self.done[tie_break.record_type]
        rows = self.accepted[tie_break.record_type]
        party_of: dict[str, set[str]] = defaultdict(set)
        for pid, who in zip(links["project_id"], rows[tie_break.role], strict=True):
            if isinstance(pid, str):
                party_of[pid].add(who)
        return party_of

    def _unregistered(
        self, rows: pd.DataFrame, link: pd.DataFrame, e: Unregistered, key: str
    ) -> None:
        names = split_names(rows[e.name], self.names_split)
        found, works = _unregistered(rows, link, self.served, names, e, key)
        link.loc[:, :] = found.to_numpy()
        self.unregistered.append(works)


def _frame(system: str, record_type: str, keys: pd.Series, pid: pd.Series, method) -> pd.DataFrame:
    method = pd.Series(method, index=keys.index) if isinstance(method, LinkMethod) else method
    pid = pid.where(pid.notna(), None)
    return pd.DataFrame(
        {
            "source_system": system,
            "record_type": record_type,
            "record_key": keys.to_numpy(dtype=object),
            "project_id": pid.to_numpy(dtype=object),
            "method": method.where(pid.notna(), None).to_numpy(dtype=object),
        }
    )


def _unregistered(
    rows: pd.DataFrame, link: pd.DataFrame, registry: pd.DataFrame, names: pd.DataFrame,
    e: Unregistered, key: str,
):  # fmt: skip
    """Records with no code and no registry name anywhere under their owner: 未批先建 works.
    `names`: the records' names split.

    Records of one such work share owner, base and phase; the work is `X-` + its smallest
    key, so the id stays while that record lives.
    """
    owned = set(zip(registry["owner_code"], registry["base"], strict=True)) | set(
        zip(registry["owner_name"], registry["base"], strict=True)
    )
    # an owner with a registry record whose name cannot be read might own this very work
    unnamed = set(registry.loc[registry["base"].isna(), "owner_code"]) | set(
        registry.loc[registry["base"].isna(), "owner_name"]
    )
    unknown_name = pd.Series(
        [
            (code, base) not in owned
            and (name, base) not in owned
            and code not in unnamed
            and name not in unnamed
            for code, name, base in zip(
                rows[e.owner_code], rows[e.owner_name], names["base"], strict=True
            )
        ],
        index=rows.index,
    )
    lone = link["project_id"].isna() & unknown_name & names["base"].notna()
    groups = rows[lone].assign(base=names["base"], phase=names["phase"].fillna(""))
    # one work's records may or may not write its phase: group by owner and base only
    anchor = groups.groupby([e.owner_code, "base"])[key].transform("min")
    link = link.copy()
    link.loc[lone, "project_id"] = "X-" + anchor
    link.loc[lone, "method"] = UNREGISTERED
    first = groups[groups[key] == anchor]
    works = pd.DataFrame(
        {
            "project_id": "X-" + first[key],
            "owner_name": first[e.owner_name],
            "owner_code": first[e.owner_code],
            "entrusted_name": None,
            "entrusted_code": None,
            "base": first["base"],
            "phase": first["phase"].replace("", None),
        }
    )
    return link, works
