"""`yiwang departments new`: names that cannot be a department are refused before anything is
written, and whatever the title holds, the package it writes is valid Python."""

from __future__ import annotations

import ast

import pytest

from departments.scaffold import scaffold


@pytest.mark.parametrize("name", ["declare", "registry", "templates", "scaffold", "drc", "audit"])
def test_a_name_taken_in_departments_is_refused(name, tmp_path):
    with pytest.raises(FileExistsError, match="taken"):
        scaffold(name, "t", tmp_path)
    assert not (tmp_path / "departments").exists()


@pytest.mark.parametrize("name", ["Toll", "x", "1toll", "toll-road", "class", "a" * 40])
def test_a_name_that_cannot_be_a_package_is_refused(name, tmp_path):
    with pytest.raises(ValueError, match="cannot name a department"):
        scaffold(name, "t", tmp_path)


def test_a_title_with_quotes_and_backslashes_still_makes_valid_python(tmp_path):
    title = 'The "Toll" registry \\ 交通 """ \' end'
    for path in scaffold("toll", title, tmp_path):
        if path.suffix == ".py":
            ast.parse(path.read_text(), str(path))
    namespace: dict = {}
    source = (tmp_path / "departments" / "toll" / "connector.py").read_text()
    title_line = next(line for line in source.splitlines() if line.strip().startswith("title="))
    exec(title_line.strip().rstrip(","), namespace)
    assert namespace["title"] == title
