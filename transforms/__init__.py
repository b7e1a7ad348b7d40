"""Pure DataFrame-in, DataFrame-out functions: `normalise` (codes, money, dates), `names`
(project names to base and phase), `resolve` (which project each record belongs to), `unify`
(the published tables, risk flags, 红黑榜, 双随机 draws), `crosswalk` (night-to-night link
changes) and `evaluate` (against a simulator's ground truth)."""

import yiwang.strings  # noqa: F401 - text columns in Python storage (see there)
