"""What the departments declare is what the hub computes: every published project figure and
risk flag is declared by one department (or by the hub, across them), every link method
resolution can publish is a declared method, and every department's declaration is complete."""

from __future__ import annotations

import pytest

from departments.registry import HUB_FIGURES, all_departments, figures, linking, plan
from schemas.unified import TABLES
from transforms.links import METHODS, follows

# the project's identity and the snapshot's own columns: no department's figure
OWN = {"project_id", "risk_flags", "source_systems", "as_of_date"}


def test_every_project_figure_is_declared_by_exactly_one_department_or_the_hub():
    declared = [c for d in all_departments().values() for f in d.figures for c in f.columns]
    declared += [c for f in HUB_FIGURES for c in f.columns]  # the forecasts, across departments
    columns = set(TABLES["project"].to_schema().columns) - OWN
    assert sorted(declared) == sorted(columns)  # each once, none missing, none unknown


def test_the_plan_computes_the_registrys_figures_first_whatever_the_names_sort_as():
    # audit sorts before drc; the others' figures and flags read the registry's columns
    assert "project_code" in plan().figures[0].columns


def test_every_published_record_type_declares_evidence_and_one_is_the_registry():
    lk = linking()
    assert len({(x.system, x.record_type) for x in lk}) == len(lk)
    registries = [x for x in lk if any(type(e).__name__ == "Registry" for e in x.evidence)]
    assert len(registries) == 1


def test_link_methods_are_declared_objects_with_distinct_labels():
    labels = [m.label for m in METHODS] + [follows("permit").label]
    assert len(labels) == len(set(labels))
    assert all(0 <= m.confidence <= 1 and m.rule for m in METHODS)


def test_figures_name_record_types_their_department_declares():
    for column, (_, figure) in figures().items():
        known = {r.name for d in all_departments().values() for r in d.records}
        assert set(figure.records) <= known, column


def _another(name: str, record_type: str):
    """The audit department's pieces under another name and record type."""
    import dataclasses

    from departments.declare import Department
    from departments.registry import department

    audit = department("audit")
    record = dataclasses.replace(audit.records[0], name=record_type)
    stream = dataclasses.replace(audit.connector.streams[0], record_type=record_type)
    connector = dataclasses.replace(
        audit.connector, name=name, conn_id=f"{name}_api", streams=(stream,)
    )
    return Department(connector, (record,), {record_type: ()})


class _EntryPoint:
    def __init__(self, department) -> None:
        self.department, self.value = department, "somewhere.installed:department"

    def load(self):
        return self.department


def test_an_installed_department_registers_through_its_entry_point(monkeypatch):
    import departments.registry as registry

    extra = _another("extra", "extra_finding")
    monkeypatch.setattr(registry, "entry_points", lambda group: [_EntryPoint(extra)])
    found = registry.discover()
    assert found["extra"] is extra and list(found) == sorted(found)


@pytest.mark.parametrize(
    ("name", "record_type", "said"),
    [
        ("audit", "extra_finding", "departments/audit declares too"),
        ("extra", "finding", "both declare the record type 'finding'"),
    ],
)
def test_a_department_clashing_with_another_is_refused_naming_both(
    monkeypatch, name, record_type, said
):
    import departments.registry as registry

    clash = _another(name, record_type)
    monkeypatch.setattr(registry, "entry_points", lambda group: [_EntryPoint(clash)])
    with pytest.raises(registry.RegistryError, match=said):
        registry.discover()
