"""Pure DataFrame-in, DataFrame-out functions. `normalise` (codes, money, dates) is here;
resolve, unify, flags, scorecard and spot checks arrive with the unify issue."""
