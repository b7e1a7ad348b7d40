"""Faithful simulators of the four departmental systems (see ../shared/contracts/departments).

`world` generates a seeded, deterministic city of projects over time with its ground truth;
`servers` serves it over real HTTP on loopback with each contract's auth, paging, formats,
quirks and faults.
"""
