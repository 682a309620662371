from __future__ import annotations

import jinja2
import pytest

from harness.report import render_leaderboard
import harness.report.render as render_module


def render(out_dir, rows, examples=(), fixed_time=None, **options):
    return render_leaderboard(
        out_dir, suite_name="embedded", rows=rows, examples=list(examples),
        manifest={"python": "3.11"}, generated_at=fixed_time, **options,
    )


def test_render_creates_missing_folder(tmp_path, make_row):
    out_dir = tmp_path / "nested" / "out"

    json_path, html_path = render(out_dir, [make_row()])

    assert json_path == out_dir / "leaderboard.json"
    assert html_path == out_dir / "leaderboard.html"
    assert sorted(p.name for p in out_dir.iterdir()) == ["leaderboard.html", "leaderboard.json"]
    assert html_path.stat().st_mode & 0o777 == 0o644


def test_failed_render_keeps_old_files(tmp_path, make_row, monkeypatch):
    json_path, html_path = render(tmp_path, [make_row()])
    old_json = json_path.read_bytes()
    old_html = html_path.read_bytes()
    original_generate = jinja2.Template.generate

    def generate_then_fail(self, *args, **kwargs):
        chunks = original_generate(self, *args, **kwargs)
        yield next(chunks)
        yield next(chunks)
        raise RuntimeError("template failed midway")

    monkeypatch.setattr(jinja2.Template, "generate", generate_then_fail)

    with pytest.raises(RuntimeError, match="template failed midway"):
        render(tmp_path, [make_row(model="other-model", clean_accuracy=0.1)])

    assert json_path.read_bytes() == old_json
    assert html_path.read_bytes() == old_html
    assert sorted(p.name for p in tmp_path.iterdir()) == ["leaderboard.html", "leaderboard.json"]


def test_failed_replace_removes_temporary_files(tmp_path, make_row, monkeypatch):
    json_path, html_path = render(tmp_path, [make_row()])
    old_html = html_path.read_bytes()
    calls = []

    def replace_once_then_fail(source, target):
        calls.append(target)
        if len(calls) > 1:
            raise OSError("disk full")
        return original_replace(source, target)

    original_replace = render_module.os.replace
    monkeypatch.setattr(render_module.os, "replace", replace_once_then_fail)

    with pytest.raises(OSError, match="disk full"):
        render(tmp_path, [make_row(model="other-model")])

    assert html_path.read_bytes() == old_html
    assert sorted(p.name for p in tmp_path.iterdir()) == ["leaderboard.html", "leaderboard.json"]


def test_render_rejects_negative_samples(tmp_path, make_row):
    with pytest.raises(ValueError, match="samples_per_unit must be 0 or more, got -1"):
        render(tmp_path, [make_row()], samples_per_unit=-1)


def test_render_rejects_duplicate_keys(tmp_path, make_row):
    with pytest.raises(ValueError, match=r"unit keys repeat: \['k'\]"):
        render(tmp_path, [make_row(unit_key="k"), make_row(unit_key="k", seed=1)])
    assert list(tmp_path.iterdir()) == []


def test_row_rejects_unknown_status(make_row):
    with pytest.raises(ValueError, match="invalid status 'running'"):
        make_row(status="running")


def test_example_rejects_unknown_outcome(make_example):
    with pytest.raises(ValueError, match="invalid outcome 'success'"):
        make_example(outcome="success")
