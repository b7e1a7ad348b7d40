"""Pure DataFrame-in, DataFrame-out functions: normalise, resolve, unify, flag, score, draw.
Arrives with issues 4 and 5."""
