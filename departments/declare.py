"""A department, declared once: everything the hub needs of one departmental system.

The registry (`departments.registry`) discovers these; the simulators' cluster, the connector
conformance kit, the DAG factory, validation, resolution, the gate's reconciliation, the data
dictionary and the API's provenance all read them, so adding a department edits nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from connectors.core import Connector
from schemas.records import RecordType
from simulators.declare import Simulator
from transforms.figures import Figure, Flag, Published
from transforms.links import Evidence, Registry
from transforms.resolve import Linking


@dataclass(frozen=True)
class Department:
    connector: Connector  # streams, auth, paging, format
    records: tuple[RecordType, ...]  # every record type its streams carry, tombstones included
    links: Mapping[str, tuple[Evidence, ...]]  # record type -> its evidence, strongest first
    simulator: Simulator | None = None  # None: the conformance kit has nothing to run against
    figures: tuple[Figure, ...] = ()  # `project` columns its records fill
    flags: tuple[Flag, ...] = ()  # risk flags its records raise
    tables: tuple[Published, ...] = ()  # tables of the contract it fills on its own
    # the contract version it joined in: one that joined later takes part in a snapshot only
    # when the snapshot holds a record of it; until then its columns are null and its tables
    # empty, and the snapshot hashes as the earlier version's would
    since: str = "1.0"

    def __post_init__(self) -> None:
        by_name = {r.name: r for r in self.records}
        for stream in self.connector.streams:
            record = by_name.get(stream.record_type)
            if record is None or record.key != stream.key:
                raise ValueError(
                    f"department {self.name}: stream {stream.name} carries {stream.record_type!r}"
                    f" keyed by {stream.key!r}, but its records declare "
                    f"{record.key if record else 'no such record type'!r}"
                )
        missing = set(self.record_types) - set(self.links)
        if missing:
            raise ValueError(
                f"department {self.name}: record type(s) {sorted(missing)} declare no linking "
                "evidence; give each published record type a `links` entry (`()` for none)"
            )

    @property
    def name(self) -> str:
        return self.connector.name

    @property
    def record_types(self) -> tuple[str, ...]:
        """The record types it publishes (in `source_record`), in declaration order: all but
        tombstones, which only remove records."""
        tombstones = {s.record_type for s in self.connector.streams if s.deletes}
        return tuple(r.name for r in self.records if r.name not in tombstones)

    @property
    def registry_record_type(self) -> str | None:
        """The record type that offers the `Registry` (issues project codes), if it has one."""
        for record_type, evidence in self.links.items():
            if any(isinstance(e, Registry) for e in evidence):
                return record_type
        return None

    def record(self, name: str) -> RecordType:
        for r in self.records:
            if r.name == name:
                return r
        raise KeyError(f"department {self.name} has no record type {name!r}")

    def linking(self) -> list[Linking]:
        return [
            Linking(self.name, rt, self.record(rt).key, tuple(self.links[rt]))
            for rt in self.record_types
        ]
