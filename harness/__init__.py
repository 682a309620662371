"""rsbench: train NLP models with robustness methods, attack them with TextAttack, compare."""

__version__ = "0.1.0"
