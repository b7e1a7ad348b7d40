"""Connectors: a small framework (`connectors.core`) and one package per departmental system
that only declares its streams. `connectors.registry` finds them."""
