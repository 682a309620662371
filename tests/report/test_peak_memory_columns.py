"""Peak memory in the throughput table and in leaderboard.json."""

from __future__ import annotations

import json

from harness.report import render_leaderboard


def test_throughput_table_shows_peaks(tmp_path, fixed_time, make_row, parse_page):
    rows = [make_row(unit_key="u1", train_peak_rss_bytes=1536 * 2**20, attack_peak_rss_bytes=700 * 2**20,
                     train_peak_gpu_bytes=None, attack_peak_gpu_bytes=3 * 2**30)]
    json_path, html_path = render_leaderboard(tmp_path, suite_name="s", rows=rows, examples=[], manifest={},
                                              generated_at=fixed_time)

    table = parse_page(html_path.read_text(encoding="utf-8")).find("table", id="throughput-table")
    headers = [cell.text() for cell in table.find_all("th")]
    cells = [cell.text() for cell in table.find_all("td")]
    assert headers[-4:] == ["Training peak RSS (MiB)", "Attack peak RSS (MiB)", "Training peak GPU (MiB)",
                            "Attack peak GPU (MiB)"]
    assert cells[-4:] == ["1,536", "700", "–", "3,072"]

    [unit] = json.loads(json_path.read_text(encoding="utf-8"))["units"]
    assert unit["train_peak_rss_bytes"] == 1536 * 2**20
    assert unit["attack_peak_gpu_bytes"] == 3 * 2**30
    assert unit["train_peak_gpu_bytes"] is None
