"""Pandera models for every source record type and every published table, with the shared
named checks (credit code, project code, division code, permit number). Arrives with issue 4."""
