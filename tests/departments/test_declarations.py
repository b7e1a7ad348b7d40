"""What the departments declare is what the hub computes: every published project figure and
risk flag is declared by one department, every link method resolution can publish is a
declared method, and every department's declaration is complete."""

from __future__ import annotations

from departments.registry import all_departments, figures, flags, linking, plan
from schemas.unified import TABLES
from transforms.links import METHODS, follows

# the project's identity and the snapshot's own columns: no department's figure
OWN = {"project_id", "risk_flags", "source_systems", "as_of_date"}


def test_every_project_figure_is_declared_by_exactly_one_department():
    declared = [c for d in all_departments().values() for f in d.figures for c in f.columns]
    columns = set(TABLES["project"].to_schema().columns) - OWN
    assert sorted(declared) == sorted(columns)  # each once, none missing, none unknown


def test_every_declared_figure_and_flag_is_computed_by_the_plan():
    computed = plan()
    assert sorted(c for f in computed.figures for c in f.columns) == sorted(figures())
    assert [f.code for f in computed.flags] == sorted(flags())
    registry_first = computed.figures[0].columns
    assert "project_code" in registry_first  # the others may read the registry's columns


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
