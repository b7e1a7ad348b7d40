"""Connectors: the framework (`connectors.core`) a department's connector declares its streams
on. The departments themselves live in `departments/`."""
