"""Forecasts of completion and final cost (issue 31): what a project's history says of its end.

`history` is what is known of a project as of a day, `baselines` the field's methods, `model`
the learned one, `methods` all of them side by side and the one published, `figures` the
published columns and flags, `backtest` the rolling-origin scoring over a simulated world.
"""
