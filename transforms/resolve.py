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
from typing import NamedTuple

import numpy as np
import pandas as pd

from transforms import mentions
from transforms.code_index import OneDigitIndex
from transforms.links import (
    CODE_IN_TEXT,
    CODE_IN_TEXT_REPAIRED,
    NAME_IN_TEXT,
    NAME_UNIT,
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
    NameInText,
    NameWithinUnit,
    ProjectCode,
    Registry,
    SiteMention,
    Unregistered,
    follows,
    named_by,
)
from transforms.names import reduced_text, split_names, writes_phase
from transforms.normalise import code as fold_code
from transforms.normalise import day_numbers, spread, text

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


def _well_formed(code) -> str | None:
    """A registry key as a well-formed code: itself, or its digits with the hyphens back
    (`2023320509-83-02-213172`); None when neither is one."""
    if not isinstance(code, str):
        return None
    if FORMAT.fullmatch(code):
        return code
    d = re.sub(r"\D", "", code)
    fixed = f"{d[:4]}-{d[4:10]}-{d[10:12]}-{d[12:14]}-{d[14:]}"
    return fixed if len(d) == 20 and FORMAT.fullmatch(fixed) else None


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
@dataclass(frozen=True)
class Standing:
    """What tells same-named projects apart: the division; whether it is revoked or completed,
    and the day of its last update (its revocation or completion, or later); its approval
    day, and the first day of the year its code was issued in (what bounds an unknown
    approval)."""

    region: str | None = None
    revoked: bool = False
    completed: bool = False
    updated: float = np.nan
    approved: float = np.nan
    registered: float = np.nan

    def outside_permit_window(self, day: float) -> bool:
        """Whether `day` is, as far as is known, before the project was approved, or after it
        was completed (by its last update, at the latest): no construction permit then."""
        if np.isnan(day):
            return False
        by = self.registered if np.isnan(self.approved) else self.approved
        return day < by or (self.completed and day > self.updated)


def same_division(a: str | None, b: str | None) -> bool:
    """Division codes that can name one place: equal, either unknown, or a city (`320500`)
    and a district within it."""
    if not isinstance(a, str) or not isinstance(b, str) or a == b:
        return True
    return (a.endswith("00") or b.endswith("00")) and a[:4] == b[:4]


class NameIndex:
    """Projects by (block, base); a record's candidates are those whose phase fits, whose
    division agrees with its own, and which its date does not rule out."""

    def __init__(
        self, projects: pd.DataFrame, block_columns: list[str], standing: dict[str, Standing]
    ) -> None:
        self.by_key: dict[tuple[str, str], list[tuple[str, str | None]]] = defaultdict(list)
        self.by_block: dict[str, list[tuple[str, str, str | None]]] = defaultdict(list)
        self.standing = standing
        for col in block_columns:  # numpy object arrays, not `itertuples`' row objects
            columns = (
                projects[c].to_numpy(dtype=object) for c in ("project_id", col, "base", "phase")
            )
            for pid, block, base, phase in zip(*columns, strict=True):
                if isinstance(block, str) and isinstance(base, str):
                    entry = (pid, phase if isinstance(phase, str) else None)
                    if entry not in (found := self.by_key[(block, base)]):
                        found.append(entry)
                        self.by_block[block].append((pid, base, entry[1]))

    def candidates(
        self,
        blocks: Sequence[str],
        readings: Sequence[Sequence[tuple[str | None, str | None]]],
        region: str | None = None,
        day: float = np.nan,
        construction_permit: bool = False,
    ) -> list[str]:
        """`readings`: ways to read the name, tried in turn (`A、B` as one project's name, then
        as two): each a (base, phase) per project it names. `construction_permit`: the record
        is one (`NameWithinUnit.construction_permit`)."""
        for names in readings:
            pids: list[str] = []
            for base, phase in names:
                fits = self._fits(blocks, base, phase, region, day, construction_permit)
                if not fits:
                    break  # a name of `A、B` found nowhere could be the one the record is for
                pids += fits
            else:
                return list(dict.fromkeys(pids))
        return []

    def _fits(
        self, blocks: Sequence[str], base, phase, region, day: float, construction_permit: bool
    ) -> list[str]:
        if not isinstance(base, str):
            return []
        found = list(dict.fromkeys(e for b in blocks for e in self.by_key.get((b, base), ())))
        found = [(pid, p) for pid, p in found if same_division(region, self._of(pid).region)]
        if construction_permit:
            found = [(pid, p) for pid, p in found if not self._of(pid).outside_permit_window(day)]
        found = self._by_date(found, day)
        phase = phase if isinstance(phase, str) else None
        if phase is None:  # a name without its phase fits every phase of the works
            return [pid for pid, _ in found]
        exact = [pid for pid, p in found if p == phase]
        loose = [pid for pid, p in found if p is None]
        if not exact:
            return loose
        # a phase written wins over a project of that name without one (the works and its
        # phase), but not over unregistered works' (their permits may just not write it) nor over
        # same-named works in another division (a phase tells no district from another)
        here = {self._of(pid).region for pid in exact}
        if any(not _registered(pid) or self._of(pid).region not in here for pid in loose):
            return exact + loose
        return exact

    def _of(self, pid: str) -> Standing:
        return self.standing.get(pid, _NO_STANDING)

    def _by_date(self, found: list[tuple], day: float) -> list[tuple]:
        """Nothing happens to a project after it is revoked: a record dated after a revoked
        project's last update is not its own. Where a revoked project remains a candidate, a
        live one re-filed under its name is not one before its approval (an unknown approval
        day rules nothing out)."""
        if np.isnan(day):
            return found
        found = [(pid, p) for pid, p in found if not self._after_revocation(pid, day)]
        if any(self._of(pid).revoked for pid, _ in found):
            found = [
                (pid, p)
                for pid, p in found
                if self._of(pid).revoked or not self._of(pid).approved > day
            ]
        return found

    def _after_revocation(self, pid: str, day: float) -> bool:
        s = self._of(pid)
        return s.revoked and not np.isnan(s.updated) and day >= s.updated

    def named_in(self, blocks: Sequence[str], reduced: str) -> list[str]:
        """The projects under `blocks` whose base the reduced text contains (and, where
        phases of one works share it, whose phase it writes)."""
        found = list(
            dict.fromkeys(
                (pid, base, phase)
                for block in blocks
                for pid, base, phase in self.by_block.get(block, ())
                if len(base) >= 4 and base in reduced
            )
        )
        if len({pid for pid, _, _ in found}) > 1 and len({base for _, base, _ in found}) == 1:
            # one works, several phases: the phase the text writes
            found = [f for f in found if f[2] is not None and writes_phase(reduced, f[2])]
        return list(dict.fromkeys(pid for pid, _, _ in found))


_NO_STANDING = Standing()
# the prefix of works that are no project the hub can name (`_unregistered`): a record whose
# name fits one is not linked by that name
UNNAMED_WORKS = "?"


def _named(pid: str) -> bool:
    return not pid.startswith(UNNAMED_WORKS)


def _registered(pid: str) -> bool:
    return _named(pid) and not pid.startswith("X-")


class TieBreak(NamedTuple):
    """A `PartyOf` ready to settle names: each project's parties in its role."""

    party_of: dict[str, set[str]]
    field: str
    method: LinkMethod
    sole: LinkMethod | None  # `PartyOf.sole`
    sole_when: tuple[str, str] | None
    anyone: set[str]  # every project's parties in the role (for `sole`)
    own: bool  # of the record's own type: the parties of those a code linked

    def settles(self, found: list[str], who, purpose: bool) -> tuple[list[str], LinkMethod | None]:
        """The candidates the party narrows `found` to, and the method when it is one."""
        narrowed = [pid for pid in found if who in self.party_of.get(pid, ())]
        if len(narrowed) == 1 and (not self.own or all(p in self.party_of for p in found)):
            return narrowed, self.method
        if self.sole is not None and purpose and not narrowed and who in self.anyone:
            # another project's party in the role: it is the works the registry does not
            # know (no party known in the role) that are left, when only one is
            left = [pid for pid in found if pid not in self.party_of]
            if len(left) == 1 and left[0].startswith("X-"):
                return left, self.sole
        return narrowed, None


def _by_name(
    records: pd.DataFrame,
    names: list[tuple],
    index: NameIndex,
    block: str,
    aliases: dict[str, set[str]],
    tie_breaks: Sequence[TieBreak] = (),
    region: str | None = None,
    when: str | None = None,
    construction_permit: bool = False,
) -> pd.DataFrame:
    """Each record's project by its name (`names`: per record, its readings from
    `named_projects`) within its block, its unit known under its aliases too."""

    def link(blk, named, reg, day, *parties) -> tuple[str | None, LinkMethod | None]:
        found = index.candidates(_blocks(blk, aliases), named, reg, day, construction_permit)
        for t, who, purpose in zip(tie_breaks, parties[::2], parties[1::2], strict=True):
            if len(found) > 1 and isinstance(who, str):
                narrowed, method = t.settles(found, who, purpose)
                if method is not None:
                    return narrowed[0], method
                if len(narrowed) > 1:
                    break  # a party of several: no weaker evidence settles it then
        return (found[0], NAME_UNIT) if len(found) == 1 and _named(found[0]) else (None, None)

    n = len(records)
    settled: dict[tuple, tuple[str | None, str | None]] = {}  # a project's payments repeat
    out = []
    for evidence in zip(  # numpy arrays: iterating pandas' string arrays costs more
        records[block].to_numpy(dtype=object),
        names,
        records[region].to_numpy(dtype=object) if region else [None] * n,
        day_numbers(records[when]) if when else np.full(n, np.nan),
        *(
            column
            for t in tie_breaks
            for column in (
                records[t.field].to_numpy(dtype=object),
                (records[t.sole_when[0]] == t.sole_when[1]).to_numpy(dtype=bool)
                if t.sole_when
                else np.ones(n, dtype=bool),
            )
        ),
        strict=True,
    ):
        if (found := settled.get(evidence)) is None:
            found = settled[evidence] = link(*evidence)
        out.append(found)
    return pd.DataFrame(out, index=records.index, columns=["project_id", "method"])


def named_projects(names: pd.Series, memo: dict) -> list[tuple]:
    """Per name, its readings: the (base, phase) of the one project it names, and for `A、B`
    then those of each of the two (`干将路、十全街改造工程` may be one project's name)."""
    parts = split_names(names, memo)
    out = list(zip(parts["base"].to_numpy(dtype=object), parts["phase"].to_numpy(dtype=object),
                   strict=True))  # fmt: skip
    out = [((pair,),) for pair in out]
    two = names.str.contains("、", regex=False, na=False).to_numpy()
    if two.any():
        segments = names[two].str.split("、").explode()
        split = split_names(segments, memo)
        pairs = pd.Series(list(zip(split["base"], split["phase"], strict=True)), index=split.index)
        grouped = pairs.groupby(level=0).agg(tuple)
        for at in np.flatnonzero(two):
            out[at] = (*out[at], grouped[names.index[at]])
    return out


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
# the registry's fields that tell same-named projects apart (`Standing`)
_STANDING_ROLES = ("status", "updated", "approved")
# methods whose link proves what units a record's fields name (aliases are learned from them)
_PROVEN = {REGISTRY, PROJECT_CODE, PROJECT_CODE_MALFORMED, PROJECT_CODE_REPAIRED, CODE_IN_TEXT}
_CODE_IN_TEXT = {PROJECT_CODE: CODE_IN_TEXT, PROJECT_CODE_REPAIRED: CODE_IN_TEXT_REPAIRED}


def _proven(link: pd.DataFrame) -> pd.Series:
    """The records a code linked (`_PROVEN`)."""
    return link["method"].isin(list(_PROVEN)) & link["project_id"].notna()


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
        | {"region": _divisions(served[registry.region]) if registry.region else None}
        # what a rejected record says of its standing, as far as it can be read
        | {
            role: served[f].to_numpy(dtype=object)
            for role in _STANDING_ROLES
            if (f := getattr(registry, role))
        }
    )
    book = CodeBook(pd.concat([projects[registry.code], served["code"]]).dropna().drop_duplicates())
    names_split: dict = {}  # every name split once
    served = served.assign(
        **split_names(served["name"], names_split),
        rejected=~served["code"].isin(set(fold_code(projects[registry.code]).dropna())),
    )
    # the names index holds everything the registry served with a code that is, or with its
    # hyphens put back becomes, well formed: a rejected record's name and owner still say which
    # project a permit or payment names (under the id a code written for it is linked with)
    ids = served["code"].map(_well_formed)
    well_formed = served[ids.notna()].assign(code=ids[ids.notna()])
    state = _State(
        accepted,
        book,
        names_split,
        served,
        known=well_formed.assign(project_id=well_formed["code"]),
        standing=_standing(projects, well_formed, registry),
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
    for works in state.unregistered:
        state.standing.update(
            (pid, Standing(region=r if isinstance(r, str) else None))
            for pid, r in zip(works["project_id"], works["region"], strict=True)
        )
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
_named_by = cache(named_by)


def _divisions(values: pd.Series) -> pd.Series:
    """Division codes as written, None where not a real one (a rejected record's region says
    nothing, and must not rule a project out)."""
    from schemas.codes import division_codes

    real = division_codes()
    return fold_code(values).astype(object).map(lambda c: c if c in real else None)


def _standing(projects: pd.DataFrame, served: pd.DataFrame, registry: Registry) -> dict:
    """Each registry project's division (as served), the year its code was issued in, and
    whether it is revoked or completed, its last update and its approval day: as its
    accepted record says them, else as far as its served (rejected) record can be read."""
    years = day_numbers(pd.Series(served["code"].str[:4].to_numpy(dtype=object)) + "-01-01")
    region = {pid: r for pid, r in zip(served["code"], served["region"], strict=True)}
    registered = dict(zip(served["code"], years, strict=True))
    out = {}
    accepted = projects.rename(
        columns={
            getattr(registry, r): r for r in ("code", *_STANDING_ROLES) if getattr(registry, r)
        }
    )
    for frame in (served, accepted):  # the accepted record's word last
        n = len(frame)
        for pid, status, updated, approved in zip(
            frame["code"].to_numpy(dtype=object),
            frame["status"].to_numpy(dtype=object) if "status" in frame else [None] * n,
            day_numbers(frame["updated"]) if "updated" in frame else np.full(n, np.nan),
            day_numbers(frame["approved"]) if "approved" in frame else np.full(n, np.nan),
            strict=True,
        ):
            r = region.get(pid)
            out[pid] = Standing(
                region=r if isinstance(r, str) else None,
                revoked=isinstance(status, str) and status == registry.revoked,
                completed=isinstance(status, str) and status == registry.completed,
                updated=updated,
                approved=approved,
                registered=registered.get(pid, np.nan),
            )
    return out


def _backbone(linking: Sequence[Linking]) -> Linking:
    found = [lk for lk in linking if any(isinstance(e, Registry) for e in lk.evidence)]
    if len(found) != 1:
        raise ValueError(f"exactly one record type must offer the Registry; found {len(found)}")
    return found[0]


def _depends_on(lk: Linking) -> set[str]:
    deps = {e.record_type for e in lk.evidence if isinstance(e, Follows)}
    deps |= {f.record_type for e in lk.evidence if isinstance(e, SiteMention) for f in e.facts}
    deps |= {
        t.record_type for e in lk.evidence if isinstance(e, NameWithinUnit) for t in e.tie_breaks
    }
    return deps - {lk.record_type}


@dataclass
class _State:
    accepted: dict[str, pd.DataFrame]
    book: CodeBook
    names_split: dict
    served: pd.DataFrame  # everything the registry served, by role, names split
    known: pd.DataFrame  # the projects names are compared with: project_id, roles, base, phase
    standing: dict[str, Standing]  # what tells same-named projects apart
    done: dict[str, pd.DataFrame] = field(default_factory=dict)  # record type -> its links
    # works no registry project names: `X-` projects, and those left unlinked (`UNNAMED_WORKS`)
    unregistered: list[pd.DataFrame] = field(default_factory=list)
    # a unit's other names and codes (old ones, budget unit codes) -> its names as known
    aliases: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))

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
            elif isinstance(evidence, Follows) and evidence.record_type == lk.record_type:
                self._follow_own(rows, link, evidence, lk.key)
            elif isinstance(evidence, Follows):
                link.loc[todo] = self._follow(rows.loc[todo, evidence.field], evidence).to_numpy()
            elif isinstance(evidence, NameWithinUnit):
                self._name_the_nameless(rows, link, evidence.name)
                self._learn_aliases(rows, link, evidence.blocks, evidence.roles)
                self._by_names(rows, link, evidence, lk.record_type)
            elif isinstance(evidence, NameInText):
                self._learn_aliases(rows, link, evidence.blocks, evidence.roles)
                self._named_in_text(rows, link, evidence)
            elif isinstance(evidence, Unregistered):
                self._name_the_nameless(rows, link, evidence.name)
                self._learn_aliases(rows, link, (evidence.owner_code,), ("owner_code",))
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

    def _follow_own(
        self, rows: pd.DataFrame, link: pd.DataFrame, evidence: Follows, key: str
    ) -> None:
        """Records naming another of their own type (a reversal its original voucher) are one
        payment with it: the original's project, once the original is linked; and the other
        way, the reversal's, when only the reversal's evidence links (all its reversals
        agreeing)."""
        keys = pd.Index(rows[key].to_numpy(dtype=object))
        named = rows[evidence.field].to_numpy(dtype=object)
        for _ in range(2):  # a reversal of a reversal
            pid = link["project_id"].to_numpy(dtype=object)
            todo = pd.isna(pid)
            at = keys.get_indexer(named)
            forward = np.where(at >= 0, pid[np.maximum(at, 0)], None)
            pairs = pd.DataFrame({"original": named, "pid": pid}).dropna()
            agreed = pairs.groupby("original")["pid"].agg(
                lambda p: p.iloc[0] if p.nunique() == 1 else None
            )
            backward = agreed.reindex(keys).to_numpy(dtype=object)
            for found, method in (
                (forward, _follows(evidence.record_type)),
                (backward, _named_by(evidence.record_type)),
            ):
                hit = todo & pd.notna(found)
                link.loc[link.index[hit], "project_id"] = found[hit]
                link.loc[link.index[hit], "method"] = method
                todo &= ~hit

    def _name_the_nameless(self, rows: pd.DataFrame, link: pd.DataFrame, name: str) -> None:
        """A registry project whose name could not be read is named by what the records a
        code linked to it write (the commonest base, and phase where one is written): its
        other records can then be linked by name, and do not become `X-` works."""
        nameless = self.known["base"].isna()
        ids = set(self.known.loc[nameless, "project_id"])
        proven = _proven(link) & link["project_id"].isin(ids)
        if not proven.any():
            return
        parts = split_names(rows.loc[proven, name], self.names_split)
        said: dict[str, list[tuple]] = defaultdict(list)
        phases: dict[str, list[str]] = defaultdict(list)
        for pid, base, phase, stem in zip(
            link.loc[proven, "project_id"], parts["base"], parts["phase"], parts["stem"],
            strict=True,
        ):  # fmt: skip
            if isinstance(base, str):
                said[pid].append((base, stem))
                if isinstance(phase, str):
                    phases[pid].append(phase)
        named = {}
        for pid, names in said.items():  # the commonest; on a tie, the first written
            base, stem = max(dict.fromkeys(names), key=names.count)
            written = phases.get(pid, [])
            phase = max(dict.fromkeys(written), key=written.count) if written else None
            named[pid] = {"base": base, "stem": stem, "phase": phase}
        for frame, key in ((self.known, "project_id"), (self.served, "code")):
            todo = frame["base"].isna() & frame[key].isin(list(named))
            for col in ("base", "phase", "stem"):
                frame.loc[todo, col] = frame.loc[todo, key].map(
                    lambda pid, col=col: named[pid].get(col)
                )

    def _learn_aliases(
        self, rows: pd.DataFrame, link: pd.DataFrame, blocks: Sequence[str], roles: Sequence[str]
    ) -> None:
        """A unit's other names and codes, from records a code linked: what their `blocks`
        fields say, the project's `roles` are (a reorganised unit's old name or code; the
        treasury's budget unit code)."""
        proven = _proven(link).to_numpy()
        if not proven.any():
            return
        known = self.known.drop_duplicates("project_id").set_index("project_id")
        pid = link.loc[proven, "project_id"].to_numpy(dtype=object)
        # never from an entrusted unit (an audit of one, a fee to one): its alias would widen
        # its block to the owners of every project it manages
        units = set(self.known[["entrusted_name", "entrusted_code"]].stack().dropna())
        # into the owner's names and codes only
        for role in (r for r in roles if r.startswith("owner")):
            of = known[role].reindex(pid).to_numpy(dtype=object)
            for block in blocks:
                said = rows.loc[proven, block].to_numpy(dtype=object)
                for written, unit in set(zip(said, of, strict=True)):
                    if (
                        isinstance(written, str)
                        and isinstance(unit, str)
                        and written != unit
                        and written not in units
                    ):
                        self.aliases[written].add(unit)

    def _index(self, roles: Sequence[str]) -> NameIndex:
        return NameIndex(self.known, list(roles), self.standing)

    def _by_names(
        self, rows: pd.DataFrame, link: pd.DataFrame, evidence: NameWithinUnit, record_type: str
    ) -> None:
        index = self._index(evidence.roles)
        tie_breaks = []
        for t in evidence.tie_breaks:
            own = t.record_type == record_type
            if own:  # its own kind: those a code linked so far
                proven = _proven(link)
                party_of = _parties(link.loc[proven, "project_id"], rows.loc[proven, t.role])
            else:
                party_of = _parties(
                    self.done[t.record_type]["project_id"], self.accepted[t.record_type][t.role]
                )
            anyone = set().union(*party_of.values()) if t.sole else set()
            tie_breaks.append(
                TieBreak(party_of, t.field, t.method, t.sole, t.sole_when, anyone, own)
            )
        for block in evidence.blocks:
            todo = link["project_id"].isna()
            names = named_projects(rows.loc[todo, evidence.name], self.names_split)
            link.loc[todo] = _by_name(
                rows[todo], names, index, block, self.aliases, tie_breaks, evidence.region,
                evidence.when, evidence.construction_permit,
            ).to_numpy()  # fmt: skip

    def _named_in_text(self, rows: pd.DataFrame, link: pd.DataFrame, evidence: NameInText) -> None:
        index = self._index(evidence.roles)
        for block in evidence.blocks:
            todo = link["project_id"].isna() & rows[evidence.field].notna()
            found = []
            for blk, said in zip(
                rows.loc[todo, block].to_numpy(dtype=object),
                rows.loc[todo, evidence.field].to_numpy(dtype=object),
                strict=True,
            ):
                pids = (
                    index.named_in(_blocks(blk, self.aliases), reduced_text(said))
                    if isinstance(said, str)
                    else []
                )
                one = len(pids) == 1 and _named(pids[0])
                found.append((pids[0], NAME_IN_TEXT) if one else (None, None))
            if found:
                link.loc[todo] = found

    def _unregistered(
        self, rows: pd.DataFrame, link: pd.DataFrame, e: Unregistered, key: str
    ) -> None:
        names = split_names(rows[e.name], self.names_split)
        found, works = _unregistered(
            rows, link, self.served, names, e, key, self.aliases, self.standing
        )
        link.loc[:, :] = found.to_numpy()
        self.unregistered.append(works)


def _parties(projects: pd.Series, parties: pd.Series) -> dict[str, set[str]]:
    """Each project's parties: those of the records linked to it."""
    party_of: dict[str, set[str]] = defaultdict(set)
    for pid, who in zip(projects, parties, strict=True):
        if isinstance(pid, str) and isinstance(who, str):
            party_of[pid].add(who)
    return party_of


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
    e: Unregistered, key: str, aliases: dict[str, set[str]], standing: dict[str, Standing],
):  # fmt: skip
    """Records with no code and no registry name of their division under their owner: 未批先建
    works. `names`: the records' names split. A registry project that could not have been
    permitted on the record's day (`e.permit_day`) is not its works, named or nameless.

    The owner is also known under its old names and codes (aliases). An owner the registry
    does not know at all may have been reorganised with nothing to say so: a registry project
    of the record's division with the very name (division prefix and all), whoever owns it,
    keeps its record from becoming an `X-` project, as a wrong `NO_APPROVAL` is worse than a
    record left unlinked. Records of one such work share owner (by its
    current code, where an old one is known to have become it), base and phase; the work is
    `X-` + its smallest key, so the id stays while that record lives.

    Returns the links, and every works as the names index knows it (an `X-` project; works
    left unlinked, which a record might be any of, as `UNNAMED_WORKS` + its smallest key).
    """

    def work(pid, region) -> tuple[str | None, Standing]:  # a registry work, as compared
        return region, standing.get(_well_formed(pid) or pid, _NO_STANDING)

    # registry works by base and owner, and by stem (the name with its division) whoever owns
    # them: a reorganised owner's old name or code may be all a record has
    by_owner: dict[tuple, list] = defaultdict(list)
    by_stem: dict[str, list] = defaultdict(list)
    by_stem_rejected: dict[str, list] = defaultdict(list)
    for pid, base, stem, region, code, name, rejected in zip(
        registry["code"], registry["base"], registry["stem"], registry["region"],
        registry["owner_code"], registry["owner_name"], registry["rejected"], strict=True,
    ):  # fmt: skip
        if isinstance(base, str):
            w = work(pid, region)
            by_owner[(code, base)].append(w)
            by_owner[(name, base)].append(w)
            by_stem[stem].append(w)
            if rejected:
                by_stem_rejected[stem].append(w)

    # an owner's registry record whose name cannot be read might be this very works, when
    # its division agrees
    unnamed: dict[str, list] = defaultdict(list)
    nameless = registry[registry["base"].isna()]
    for pid, code, name, region in zip(
        nameless["code"], nameless["owner_code"], nameless["owner_name"], nameless["region"],
        strict=True,
    ):  # fmt: skip
        for unit in (code, name):
            if isinstance(unit, str):
                unnamed[unit].append(work(pid, region))
    owners = {u for u in (*registry["owner_code"], *registry["owner_name"]) if isinstance(u, str)}

    def known(code, name, base, stem, region, day) -> bool:
        """Whether a registry project could be the record's works."""
        units = _units(code, name, aliases)
        works = [w for u in units for w in (*by_owner.get((u, base), ()), *unnamed.get(u, ()))]
        # a registry record rejected for a broken field (its owner's code, say) may be it
        works += by_stem_rejected.get(stem, [])
        if not units & owners:  # a unit the registry does not know (now): reorganised?
            works += by_stem.get(stem, [])
        return any(same_division(region, r) and not s.outside_permit_window(day) for r, s in works)

    regions = rows[e.region] if e.region else pd.Series(None, index=rows.index, dtype=object)
    days = day_numbers(rows[e.permit_day]) if e.permit_day else np.full(len(rows), np.nan)
    unknown_name = pd.Series(
        [
            not known(*evidence)
            for evidence in zip(
                rows[e.owner_code],
                rows[e.owner_name],
                names["base"],
                names["stem"],
                regions,
                days,
                strict=True,
            )
        ],
        index=rows.index,
    )
    open_ = link["project_id"].isna() & names["base"].notna()
    # (`.loc[open_]` on both sides: a Series assigned to an empty frame would bring its index)
    groups = rows[open_].assign(
        base=names.loc[open_, "base"],
        phase=names.loc[open_, "phase"].fillna(""),
        region=regions[open_].fillna(""),
    )
    # one work's records may or may not write its phase, and a reorganised owner's may write
    # its old or its new name or code: by division and base, joined by the units they name
    anchor = _works(groups, key, e, aliases)
    # a works is one project: when any of its records could be a registry project's, none of
    # them is taken for unapproved works (nor would its id be its first record's). Works left
    # unlinked are known, unnamed, to the names index: a record naming them (a payment without
    # a division) is not taken for a same-named registry project's alone
    alone = ~anchor.isin(set(anchor[~unknown_name[open_]]))
    lone = alone.reindex(rows.index, fill_value=False)
    ids = ("X-" + anchor).where(alone, UNNAMED_WORKS + anchor)
    link = link.copy()
    link.loc[lone, "project_id"] = ids[alone]
    link.loc[lone, "method"] = UNREGISTERED
    # the work's phase is what any of its records writes (its first permit may not); it is
    # known under every owner name and code its records write (old ones and new)
    written = groups[groups["phase"] != ""].groupby(ids[groups["phase"] != ""])["phase"].first()
    works = pd.DataFrame(
        {
            "project_id": ids,
            "owner_name": groups[e.owner_name],
            "owner_code": groups[e.owner_code],
            "entrusted_name": None,
            "entrusted_code": None,
            "base": groups["base"],
            "phase": ids.map(written),
            "region": groups[e.region] if e.region else None,
        }
    ).drop_duplicates(["project_id", "owner_name", "owner_code"])
    # and under the units those are known to have become (a merged unit's new name and code)
    became = [
        {**row, "owner_name": unit, "owner_code": unit}
        for row in works.to_dict("records")
        for unit in _units(row["owner_code"], row["owner_name"], aliases)
        - {row["owner_code"], row["owner_name"]}
    ]
    return link, pd.concat([works, pd.DataFrame(became, columns=works.columns)], ignore_index=True)


def _blocks(unit, aliases: dict[str, set[str]]) -> list[str]:
    """The blocks a record's unit is known under: as written, then its aliases."""
    return [unit, *sorted(aliases.get(unit, ()))] if isinstance(unit, str) else []


def _units(code, name, aliases: dict[str, set[str]]) -> set:
    """A record's unit: its code and name, and those it is known to have become."""
    units = {u for u in (code, name) if isinstance(u, str)}
    return units | {a for u in units for a in aliases.get(u, ())}


def _works(
    groups: pd.DataFrame, key: str, e: Unregistered, aliases: dict[str, set[str]]
) -> pd.Series:
    """Each record's works, as its smallest key: records of one division and base belong to
    one works when they name a unit in common (its code or name, or one it is known to have
    become), directly or through others."""
    parent: dict = {}

    def find(x):
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    keys = groups[key].to_numpy(dtype=object)
    for k, region, base, code, name in zip(
        keys, groups["region"], groups["base"], groups[e.owner_code], groups[e.owner_name],
        strict=True,
    ):  # fmt: skip
        for unit in _units(code, name, aliases):
            a, b = find(k), find(("unit", region, base, unit))
            if a != b:
                parent[a] = b
    root = pd.Series([find(k) for k in keys], index=groups.index)
    return groups[key].groupby(root).transform("min")
