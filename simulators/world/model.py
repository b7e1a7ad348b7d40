"""The generated world: versioned source tables plus the truth behind them."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from simulators.world import calendar as cal

# Every table keeps the source's own fields (wire values, as the contract serves them) and a
# few private columns, prefixed `_`, that the servers and the ground truth use:
#   _key      the record's key, trimmed (a key can arrive with stray spaces)
#   _ts       epoch ms when this version came to exist (the source's modification time)
#   _project  the project the record truly belongs to (registry code, "U<n>" for a project
#             the registry never saw, or None for spending that is no project's)
#   _bad      the field rule this version breaks, or "" when it is valid


@dataclass
class World:
    scale: str
    seed: int
    tables: dict[str, pd.DataFrame]
    # departments whose own tables are in `tables` (`departments.registry.extend_world`)
    extended: set[str] = field(default_factory=set)
    # facts derived from the tables once and shared by departments (`simulators.world.sites`)
    derived: dict[str, pd.DataFrame] = field(default_factory=dict)

    # ---- visibility -------------------------------------------------------------------
    def as_of(self, table: str, day_number: int) -> pd.DataFrame:
        """The latest version of every record that exists at the end of `day_number`."""
        df = self.tables[table]
        visible = df[df["_ts"].to_numpy() <= cal.end_of_day_ms(day_number)]
        # versions are stored sorted by (_key, _ts): the last row per key is the latest
        return visible.drop_duplicates("_key", keep="last")

    def deleted_keys(self, resource: str, day_number: int) -> set[str]:
        d = self.tables["deleted"]
        live = d[(d["resource"] == resource) & (d["_ts"] <= cal.end_of_day_ms(day_number))]
        return set(live["key"])

    # ---- ground truth -------------------------------------------------------------------
    def truth(self, day_number: int, served: list[tuple]) -> pd.DataFrame:
        """For every source record live at the end of the day: the project it belongs to.
        `served`: (table, source system, record type, tombstone resource or None, which rows
        are served or None) per stream (the departments' simulators declare them:
        `departments.registry.ground_truth`).

        Columns: source_system, record_type, record_key, project_id (registry code, the
        contract's `X-<permitNo>` id for unregistered projects, or None), valid (False when
        the latest version breaks a field rule), bad_rule, money_yuan (Decimal string of the
        money the record carries in 元, treasury only), singles_out (False where the record's
        evidence cannot single out its project: an order about "家门口的工地").
        """
        frames = []
        for table, system, rtype, resource, serves in served:
            df = self.as_of(table, day_number)
            if resource is not None:
                df = df[~df["_key"].isin(self.deleted_keys(resource, day_number))]
            if serves is not None:
                df = df[serves(df)]
            frames.append(
                pd.DataFrame(
                    {
                        "source_system": system,
                        "record_type": rtype,
                        "record_key": df["_key"].to_numpy(),
                        "project": df["_project"].to_numpy(),
                        "valid": (df["_bad"] == "").to_numpy(),
                        "bad_rule": df["_bad"].to_numpy(),
                        "money_fen": df["_fen"].to_numpy() if "_fen" in df else 0,
                        # whether its evidence can single its project out (the hotline's
                        # orders; every other record carries its project's name or code)
                        "singles_out": (
                            df["_singles_out"].to_numpy(dtype=bool)
                            if "_singles_out" in df
                            else True
                        ),
                    }
                )
            )
        truth = pd.concat(frames, ignore_index=True)
        truth["project_id"] = truth["project"].map(self._x_ids(day_number))
        return truth.drop(columns="project")

    def _x_ids(self, day_number: int) -> dict:
        """Registry codes map to themselves; U<n> to X-<smallest live, valid permit number>.

        A project the registry never saw is known to the hub only through a permit it can
        accept; without one its records truly belong to no project the hub could name.
        """
        permits = self.as_of("permits", day_number)
        permits = permits[~permits["_key"].isin(self.deleted_keys("permits", day_number))]
        permits = permits[permits["_bad"] == ""]
        ids: dict = {p: p for p in self.tables["drc"]["_project"].unique()}
        unreg = permits[permits["_project"].str.startswith("U", na=False)]
        anchors = unreg.groupby("_project")["_key"].min()
        ids.update({u: f"X-{k}" for u, k in anchors.items()})
        ids[None] = None
        return ids

    def money_truth(self, day_number: int) -> pd.DataFrame:
        """True net paid amount (元, exact) per project over valid live vouchers."""
        t = self.truth(day_number, [("vouchers", "treasury", "voucher", None, None)])
        v = t[(t["record_type"] == "voucher") & t["valid"] & t["project_id"].notna()]
        sums = v.groupby("project_id")["money_fen"].sum()
        return pd.DataFrame(
            {
                "project_id": sums.index,
                "paid_amount": [_fen_to_yuan(int(f)) for f in sums.to_numpy()],
            }
        )

    # ---- persistence ----------------------------------------------------------------------
    def dump(self, directory: Path) -> dict[str, str]:
        """Write every table as CSV; return each file's SHA-256 (the world's fingerprint)."""
        directory.mkdir(parents=True, exist_ok=True)
        digests = {}
        for name in sorted(self.tables):
            path = directory / f"{name}.csv"
            self.tables[name].to_csv(path, index=False, lineterminator="\n")
            digests[name] = hashlib.sha256(path.read_bytes()).hexdigest()
        return digests

    def record_count(self) -> int:
        """Distinct source records (keys) in the whole world, all days."""
        return sum(df["_key"].nunique() for t, df in self.tables.items() if t != "deleted")


def _fen_to_yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}{fen // 100}.{fen % 100:02d}"


__all__ = ["World"]
