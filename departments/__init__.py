"""The departments: one package each (`departments/<name>/`), declaring everything the hub
needs of one departmental system (`departments.declare.Department`), found by
`departments.registry`. docs/adding-a-department.md walks through adding one."""

import yiwang.strings  # noqa: F401 - text columns in Python storage (see there)
