"""Leaderboard report: stored results rendered to JSON and a self-contained HTML page."""

from harness.report.render import render_leaderboard
from harness.report.rows import ExampleView, LeaderboardRow

__all__ = ["ExampleView", "LeaderboardRow", "render_leaderboard"]
