"""Robustness regression gate: baselines of a run and their comparison with a later run.

``rsbench baseline`` writes a snapshot of a run (units, metrics, per-example outcomes);
``rsbench compare`` checks a later run against it and exits 1 when a metric regressed.
This package imports neither torch nor TextAttack.
"""
