"""The simulators' framework (see ../shared/contracts/departments).

`world` generates a seeded, deterministic city of projects over time with its ground truth;
`servers` holds what every departmental server shares (HTTP on loopback, faults, a generic
records API); each department's own server lives in its package (`departments/<name>/`), and
`cluster` starts them all, as `declare` says they serve the world.
"""

import yiwang.strings  # noqa: F401 - text columns in Python storage (see there)
