"""Linking as declarations: the evidence a department's records offer, and the methods a link
is published with (`source_record.link_method`, `link_confidence`).

A department lists, per record type, its evidence strongest first; `transforms.resolve` tries
each on the records the ones before it left unlinked. Splink's comparison levels show the
shape: each rule a named object with its label, its confidence and the rule in words, read by
resolve (to link), the API (to explain a figure) and the data dictionary (to document it).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LinkMethod:
    label: str  # published as `link_method`
    confidence: float  # published as `link_confidence`
    rule: str  # when a record is linked this way, in words


REGISTRY = LinkMethod("registry", 1.0, "the registry's own record: its code is the project")
PROJECT_CODE = LinkMethod("project_code", 1.0, "the record's project code is a registry code")
PROJECT_CODE_MALFORMED = LinkMethod(
    "project_code (registry record malformed)",
    0.95,
    "the record's well-formed code is the registry's own key with a hyphen lost",
)
PROJECT_CODE_REPAIRED = LinkMethod(
    "project_code_repaired",
    0.95,
    "the record's code is one digit away from exactly one registry code",
)
CODE_IN_TEXT = LinkMethod("code_in_text", 0.97, "a registry code written in the record's free text")
CODE_IN_TEXT_REPAIRED = LinkMethod(
    "code_in_text_repaired",
    0.93,
    "a code in the free text one digit away from exactly one registry code",
)
NAME_UNIT_PAYEE = LinkMethod(
    "name+unit+payee",
    0.9,
    "the name fits several projects of the unit; the payee is the contractor of exactly one",
)
NAME_UNIT_ENTRUSTED = LinkMethod(
    "name+unit+entrusted",
    0.9,
    "the name fits several projects of the unit; the payee is the entrusted unit of exactly one",
)
NAME_UNIT_ENTRUSTED_ELSEWHERE = LinkMethod(
    "name+unit+entrusted_elsewhere",
    0.85,
    "the name fits several projects of the unit; the fee's payee is another project's "
    "entrusted unit, and all but one of them, unregistered works, have entrusted units of "
    "their own",
)
NAME_UNIT_PAID_WITH_CODE = LinkMethod(
    "name+unit+paid_with_code",
    0.85,
    "the name fits several projects of the unit; the payee was paid for exactly one of them "
    "by vouchers a project code links",
)
NAME_IN_TEXT = LinkMethod(
    "name_in_text+unit",
    0.8,
    "the free text names (base and phase) exactly one project known under the record's unit",
)
NAME_UNIT = LinkMethod(
    "name+unit",
    0.85,
    "the name (base and phase) fits exactly one project known under the record's unit",
)
UNREGISTERED = LinkMethod(
    "unregistered_permit",
    0.8,
    "no code, and no registry project under its owner that its name fits and that could have "
    "been permitted then, for any permit of the works: an `X-` project (未批先建) named after "
    "the smallest permit number of the works",
)
SITE_NAME = LinkMethod(
    "site:name",
    0.9,
    "the order names the project (its name shortened) and only that project of its district "
    "is under way that day; any other evidence it carries agrees",
)
SITE_POSITION = LinkMethod(
    "site:position",
    0.9,
    "the app's position (GCJ-02, converted to WGS 84) lies within 200 m of the parcels of "
    "only one project of its district under way that day; any other evidence agrees",
)
SITE_CONTRACTOR = LinkMethod(
    "site:contractor",
    0.85,
    "the order names a contractor working on only one project of its district under way "
    "that day; any other evidence agrees",
)
SITE_ROAD = LinkMethod(
    "site:road",
    0.8,
    "the roads the order names bound only one site (planning's `location`) of its district "
    "under way that day; any other evidence agrees",
)
UNLINKED = LinkMethod(
    "unlinked: no evidence singles out one project",
    0.0,
    "no evidence singles out one project: a wrong link is worse than none",
)


def follows(record_type: str) -> LinkMethod:
    """A record that names another record (a report its permit) belongs to that one's project."""
    return LinkMethod(record_type, 0.99, f"belongs to the project of the {record_type} it names")


def named_by(record_type: str) -> LinkMethod:
    """A record named by another of its type (an original voucher by its reversal): one
    payment, one project."""
    return LinkMethod(
        f"named by {record_type}",
        0.99,
        f"the {record_type} that names it (its reversal, 原凭证号) belongs to that project",
    )


# ---- evidence: what a record type offers, strongest first ---------------------------------------
@dataclass(frozen=True)
class Registry:
    """The record type that issues project codes: each record is a project."""

    code: str
    name: str
    owner_name: str
    owner_code: str
    entrusted_name: str
    entrusted_code: str
    # optional: what tells same-named projects apart (the division; a revoked one by its
    # last update, a live one by its approval date)
    region: str | None = None
    status: str | None = None
    revoked: str = "已撤销"
    completed: str = "已竣工"
    updated: str | None = None
    approved: str | None = None


@dataclass(frozen=True)
class ProjectCode:
    """A field holding a project code as entered: exact, or repaired when one digit away."""

    field: str


@dataclass(frozen=True)
class CodeInText:
    """A registry code written somewhere in free text."""

    field: str


@dataclass(frozen=True)
class Follows:
    """A field holding the key of another record type: the record shares that one's project."""

    field: str
    record_type: str


# the units a project is known under, by role: owner and entrusted unit, name or credit code
UNIT_ROLES = ("owner_name", "owner_code", "entrusted_name", "entrusted_code")


@dataclass(frozen=True)
class PartyOf:
    """Settles a name that fits several projects: the party named in `field` is the `role`
    (a field of `record_type`) of exactly one candidate's linked records. Of the record's own
    type: those a project code links, and only where every candidate has some (works the
    registry does not know have none, so their silence would say nothing).

    `sole`: a project has one party in the role (its entrusted unit), so a record whose
    `sole_when` field holds its value (a management fee) paid to another project's party in
    the role is not a candidate's that has its own; when the one candidate left is works the
    registry does not know (an `X-` project: no party known in the role), it is linked by
    `sole`'s method."""

    field: str
    record_type: str
    role: str
    method: LinkMethod = NAME_UNIT_PAYEE
    sole: LinkMethod | None = None
    sole_when: tuple[str, str] | None = None


@dataclass(frozen=True)
class NameWithinUnit:
    """The name, reduced to base and phase (`transforms.names`), compared only with projects
    known under the unit in `blocks` (each tried in turn), as any of `roles` (UNIT_ROLES).

    A unit is also known under the names and codes its records were written with when a code
    linked them (a reorganised unit's old ones; the treasury's budget unit code). A name
    naming two projects (`A、B`) fits either. `region`: the record's division, which must
    agree with the project's; `when`: its date, which tells a revoked project from the live
    one re-filed under the same name. `construction_permit`: the record is a construction
    permit, which the law issues only between its project's approval and its completion, so
    a project approved after its date (its approval day unknown: registered in a later year)
    or completed before it is not its own. `tie_breaks` settle a name that fits several."""

    name: str
    blocks: tuple[str, ...]
    roles: tuple[str, ...]
    tie_breaks: tuple[PartyOf, ...] = ()
    region: str | None = None
    when: str | None = None
    construction_permit: bool = False


@dataclass(frozen=True)
class NameInText:
    """Free text (`field`) naming a project known under the unit in `blocks`: the one
    project whose name (its base, and its phase where several share the base) the text
    contains."""

    field: str
    blocks: tuple[str, ...]
    roles: tuple[str, ...]


@dataclass(frozen=True)
class Unregistered:
    """Records no code and no registry name links form `X-` projects (未批先建): grouped into
    works by division, base name and unit, each named `X-` + its smallest key, when none of
    the works' records could be a registry project's (one with its name under its owner in its
    division, or an owner's registry record whose name cannot be read). Works left unlinked
    are known unnamed: a record whose name fits only them stays unlinked. Its fields give the
    project's identity (`project_name`, `region_code`, owner). `permit_day`: a construction
    permit's issue day: a registry project it cannot be the permit of (`NameWithinUnit
    .construction_permit`) is not the works."""

    name: str
    owner_name: str
    owner_code: str
    region: str
    permit_day: str | None = None


@dataclass(frozen=True)
class SiteFact:
    """What one record type tells of its project's site (each field optional)."""

    record_type: str
    district: str | None = None  # a division code
    start: str | None = None  # a date works start by
    end: str | None = None  # with `start`: the planned end
    name: str | None = None  # the project's name
    contractor: str | None = None  # a contractor's name
    location: str | None = None  # free text naming the bounding roads (`人民路以东、…`)
    geometry: str | None = None  # the parcel, GeoJSON in CRS84
    footprint: bool = False  # the geometry is a building's footprint inside the parcel


@dataclass(frozen=True)
class SiteMention:
    """A citizen's report about a construction site (`transforms.mentions`): only records
    whose `topic` starts with `topic_prefix` are about a site; they are compared with the
    projects of their district (`region`) under way on `when`, by what their `text` fields
    name and where they were made (`longitude`/`latitude`, GCJ-02)."""

    text: tuple[str, ...]
    region: str
    when: str
    topic: str
    topic_prefix: str
    longitude: str
    latitude: str
    facts: tuple[SiteFact, ...]


Evidence = (
    Registry
    | ProjectCode
    | CodeInText
    | Follows
    | NameWithinUnit
    | NameInText
    | Unregistered
    | SiteMention
)

# every method a link can be published with, for the dictionary and the API
METHODS = (
    REGISTRY, PROJECT_CODE, PROJECT_CODE_MALFORMED, PROJECT_CODE_REPAIRED, CODE_IN_TEXT,
    CODE_IN_TEXT_REPAIRED, NAME_UNIT_PAYEE, NAME_UNIT_ENTRUSTED, NAME_UNIT_ENTRUSTED_ELSEWHERE,
    NAME_UNIT_PAID_WITH_CODE, NAME_UNIT, NAME_IN_TEXT,
    UNREGISTERED, SITE_NAME, SITE_POSITION,
    SITE_CONTRACTOR, SITE_ROAD, UNLINKED,
)  # fmt: skip


def follow_methods(declared) -> list[LinkMethod]:
    """The methods declared `Follows` evidence links with, per (record type, its evidence):
    `follows`, and `named_by` where a record type names its own kind (a reversal)."""
    out = []
    for record_type, evidence in declared:
        for e in evidence:
            if isinstance(e, Follows):
                out.append(follows(e.record_type))
                if e.record_type == record_type:
                    out.append(named_by(record_type))
    return list(dict.fromkeys(out))


def _party_words(t: PartyOf, record_type: str) -> str:
    said = f", settled by `{t.field}` as the `{t.role}` of one candidate's `{t.record_type}`s"
    if t.record_type == record_type:
        said += " linked by a project code, where every candidate has some"
    if t.sole and t.sole_when:
        said += f" (a `{t.sole_when[1]}` to another project's: the unregistered candidate's)"
    return said


def evidence_words(evidence: tuple[Evidence, ...], record_type: str = "") -> str:
    """A record type's (`record_type`) evidence, strongest first, as the data dictionary
    shows it."""
    said = []
    for e in evidence:
        if isinstance(e, Registry):
            said.append(f"is the registry (`{e.code}` is the project code)")
        elif isinstance(e, ProjectCode):
            said.append(f"project code in `{e.field}` (exact, or repaired)")
        elif isinstance(e, CodeInText):
            said.append(f"a project code written in `{e.field}`")
        elif isinstance(e, Follows):
            said.append(f"the `{e.record_type}` named in `{e.field}`")
        elif isinstance(e, NameWithinUnit):
            blocks = " or ".join(f"`{b}`" for b in e.blocks)
            party = "".join(_party_words(t, record_type) for t in e.tie_breaks)
            region = f" of the division in `{e.region}`" if e.region else ""
            permitted = (
                f" approved, and not completed, by `{e.when}`" if e.construction_permit else ""
            )
            said.append(
                f"name `{e.name}` among the projects{region}{permitted} of the unit in "
                f"{blocks}{party}"
            )
        elif isinstance(e, NameInText):
            blocks = " or ".join(f"`{b}`" for b in e.blocks)
            said.append(f"a project named in `{e.field}` among those of the unit in {blocks}")
        elif isinstance(e, SiteMention):
            said.append(
                f"only under `{e.topic_prefix}`: the project of its district (`{e.region}`) "
                f"under way on `{e.when}` that the name, contractor or roads written in "
                f"{', '.join(f'`{t}`' for t in e.text)}, or the position, single out"
            )
        elif isinstance(e, Unregistered):
            said.append(
                "an `X-` project (未批先建) of its own when no registry name fits its owner"
            )
    return "; then ".join(said) or "none: published unlinked"
