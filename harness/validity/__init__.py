"""Validity of adversarial examples: similarity and fluency scores, thresholds, per-unit figures.

``params`` defines the suite's ``validity:`` section, ``scorers`` the USE similarity and LM
perplexity, ``scoring`` the resumable scoring of a store, ``summary`` the leaderboard figures.
"""
