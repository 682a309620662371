"""Output files of `rsbench compare` and `rsbench baseline` never overwrite their inputs."""

import pytest

from harness.cli.main import main

STORE_BYTES = b"SQLite format 3\x00 stands in for a results database"


@pytest.fixture
def run_dir(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "results.sqlite").write_bytes(STORE_BYTES)
    (tmp_path / "baseline.json").write_text('{"format": "rsbench-baseline"}', encoding="utf-8")
    return folder


@pytest.mark.parametrize("option", ["--markdown", "--junit", "--json"])
def test_compare_output_onto_results_database(run_dir, capsys, option):
    store = run_dir / "results.sqlite"
    assert main(["compare", str(run_dir), "--baseline", str(run_dir.parent / "baseline.json"), option, str(store)]) == 2
    error = capsys.readouterr().err
    assert f"{option} {store}: is the results database of the run, which this command would overwrite" in error
    assert store.read_bytes() == STORE_BYTES


def test_compare_output_onto_baseline(run_dir, capsys):
    baseline = run_dir.parent / "baseline.json"
    assert main(["compare", str(run_dir), "--baseline", str(baseline), "--json", str(baseline)]) == 2
    assert f"--json {baseline}: is the --baseline file" in capsys.readouterr().err
    assert baseline.read_text(encoding="utf-8") == '{"format": "rsbench-baseline"}'


def test_compare_two_outputs_onto_one_file(run_dir, capsys):
    target = run_dir.parent / "gate.out"
    assert main(["compare", str(run_dir), "--baseline", str(run_dir.parent / "baseline.json"),
                 "--markdown", str(target), "--junit", str(target)]) == 2
    assert f"--junit {target}: is the output of --markdown" in capsys.readouterr().err
    assert not target.exists()


def test_baseline_output_onto_results_database(run_dir, capsys):
    store = run_dir / "results.sqlite"
    assert main(["baseline", str(run_dir), "-o", str(store)]) == 2
    assert f"-o {store}: is the results database of the run" in capsys.readouterr().err
    assert store.read_bytes() == STORE_BYTES
