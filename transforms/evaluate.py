"""A night's links and money against the simulator's ground truth (`yiwang evaluate`)."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd

KEY = ["source_system", "record_type", "record_key"]


def link_scores(links: pd.DataFrame, truth: pd.DataFrame) -> dict[str, float]:
    """Precision and recall of `links` against the simulator's ground truth (valid records)."""
    known = truth[truth["valid"]]
    known = known.assign(singles_out=known.get("singles_out", True))
    merged = links.merge(
        known[[*KEY, "project_id", "singles_out"]], on=KEY, how="outer", suffixes=("", "_true")
    )
    made = merged["project_id"].notna()
    right = made & (merged["project_id"] == merged["project_id_true"])
    # recall counts the records whose evidence can single their project out
    linkable = merged["project_id_true"].notna() & merged["singles_out"].fillna(True).astype(bool)
    return {
        "links": int(made.sum()),
        "correct": int(right.sum()),
        "precision": float(right.sum() / max(made.sum(), 1)),
        "recall": float((right & linkable).sum() / max(linkable.sum(), 1)),
        "unlinked_but_linkable": int((~made & linkable).sum()),
    }


def scores(links: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """Precision and recall, overall and per record type."""
    rows = {"all": link_scores(links, truth)}
    for record_type in sorted(links["record_type"].unique()):
        rows[record_type] = link_scores(
            links[links["record_type"] == record_type], truth[truth["record_type"] == record_type]
        )
    return pd.DataFrame(rows).T


def money(
    projects: pd.DataFrame, links: pd.DataFrame, truth: pd.DataFrame, money_truth: pd.DataFrame
) -> dict:
    """paid_amount against the truth, for projects whose vouchers were all linked correctly."""
    vouchers = truth[
        (truth["record_type"] == "voucher") & truth["valid"] & truth["project_id"].notna()
    ]
    ours = links[links["record_type"] == "voucher"][["record_key", "project_id"]]
    true_sets = vouchers.groupby("project_id")["record_key"].agg(frozenset)
    our_sets = ours.dropna().groupby("project_id")["record_key"].agg(frozenset)
    correct = [p for p, keys in true_sets.items() if our_sets.get(p) == keys]
    paid = projects.set_index("project_id")["paid_amount"]
    expected = money_truth.set_index("project_id")["paid_amount"].map(Decimal)
    diffs = [(p, paid.get(p), expected[p]) for p in correct if paid.get(p) != expected[p]]
    return {
        "projects_with_payments": len(true_sets),
        "correctly_linked": len(correct),
        "exact_to_the_fen": len(correct) - len(diffs),
        "differences": diffs[:5],
        "unattributed_yuan": str(
            sum(
                (expected.get(p, Decimal(0)) for p in true_sets.index if p not in set(correct)),
                Decimal(0),
            )
        ),
    }


def false_x_projects(projects: pd.DataFrame, truth: pd.DataFrame) -> list[str]:
    """Published `X-` projects (未批先建) the world does not have: works the registry knows, or
    one unregistered work split in two."""
    true_x = set(truth["project_id"].dropna())
    ours = projects["project_id"][projects["project_id"].str.startswith("X-")]
    return sorted(set(ours) - true_x)


def paid_amounts(projects: pd.DataFrame, money_truth: pd.DataFrame) -> dict:
    """Every project's published `paid_amount` (absent or null: 0) against the true net
    amount of its vouchers (none: 0), registry and `X-` projects alike."""
    ours = projects.set_index("project_id")["paid_amount"].map(
        lambda v: Decimal(0) if pd.isna(v) else Decimal(v)
    )
    true = money_truth.set_index("project_id")["paid_amount"].map(Decimal)
    ids = ours.index.union(true.index)
    ours = ours.reindex(ids).map(lambda v: Decimal(0) if pd.isna(v) else v)
    true = true.reindex(ids).map(lambda v: Decimal(0) if pd.isna(v) else v)
    differ = ours != true
    return {
        "projects": len(ids),
        "x_projects": int(ids.str.startswith("X-").sum()),
        "exact": int((~differ).sum()),
        "overstated": int((differ & (ours > true)).sum()),
        "understated": int((differ & (ours < true)).sum()),
        "differences": [(p, str(ours[p]), str(true[p])) for p in ids[differ.to_numpy()][:5]],
    }
