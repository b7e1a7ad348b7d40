"""Yiwang (一张网): the runtime package that wires simulators, connectors, schemas and
transforms into a nightly sync, and offers the `yiwang` command."""

__version__ = "0.1.0"

from yiwang import strings  # noqa: F401 - text columns in Python storage (see there)
