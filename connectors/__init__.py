"""Connectors: the framework (`connectors.core`) a department's connector declares its streams
on. The departments themselves live in `departments/`."""

import yiwang.strings  # noqa: F401 - text columns in Python storage (see there)
