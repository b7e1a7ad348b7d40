"""Moved: departments are registered in `departments.registry` (kept only until every caller
imports from there)."""

from departments.registry import get, registry

__all__ = ["get", "registry"]
