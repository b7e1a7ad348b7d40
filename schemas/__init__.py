"""Shared schemas: pandera models for every source record type (`sources`) and every published
table (`unified`), the named code checks written once (`codes`, `checks`), and batch
validation into accepted rows and quarantine rows with reasons (`validate`, `quarantine`)."""

import yiwang.strings  # noqa: F401 - text columns in Python storage (see there)
