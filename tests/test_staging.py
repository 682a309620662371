import subprocess
import sys

import pytest

from harness import faults
from harness.staging import remove_stale_staging, replace_folder
from tests.helpers import REPO


def test_stale_staging_removed(tmp_path):
    checkpoints = tmp_path / "checkpoints"
    (checkpoints / "abc").mkdir(parents=True)
    (checkpoints / "abc" / "model.safetensors").write_bytes(b"kept")
    (checkpoints / ".abc.x1y2").mkdir()
    (checkpoints / ".abc.x1y2" / "config.json").write_text("{}")
    (checkpoints / ".abc.old").mkdir()
    (tmp_path / ".leaderboard.html.k3j4.tmp").write_text("<html")
    (tmp_path / "leaderboard.html").write_text("<html></html>")
    (tmp_path / ".rsbench.lock").write_text("")

    removed = remove_stale_staging(tmp_path)

    assert sorted(path.name for path in removed) == [".abc.old", ".abc.x1y2", ".leaderboard.html.k3j4.tmp"]
    assert sorted(path.name for path in checkpoints.iterdir()) == ["abc"]
    assert sorted(path.name for path in tmp_path.iterdir()) == [".rsbench.lock", "checkpoints", "leaderboard.html"]
    assert (checkpoints / "abc" / "model.safetensors").read_bytes() == b"kept"


def test_replace_folder_swaps_whole_folder(tmp_path):
    folder = tmp_path / "unit"
    folder.mkdir()
    (folder / "old.txt").write_text("old")
    staging = tmp_path / ".unit.new"
    staging.mkdir()
    (staging / "new.txt").write_text("new")

    replace_folder(staging, folder)

    assert [path.name for path in folder.iterdir()] == ["new.txt"]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["unit"]


@pytest.mark.parametrize("setting, message", [
    ("train.stepp", "unknown point 'train.stepp'"),
    ("train.step:x", "the hit count 'x' is not an integer"),
    ("train.step:0", "the hit count must be 1 or more"),
])
def test_fault_setting_rejected(monkeypatch, setting, message):
    monkeypatch.setenv(faults.ENVIRONMENT_VARIABLE, setting)
    faults._configured.cache_clear()
    try:
        with pytest.raises(ValueError, match=message):
            faults.fault_point("train.step")
    finally:
        faults._configured.cache_clear()


def test_fault_point_kills_on_nth_hit():
    code = ("from harness.faults import fault_point\n"
            "for hit in range(1, 4):\n"
            "    print(hit, flush=True)\n"
            "    fault_point('store.write')\n")
    env = {"PYTHONPATH": str(REPO), "RSBENCH_FAULT": "store.write:2"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == -9
    assert result.stdout.split() == ["1", "2"]
    assert "sending SIGKILL" in result.stderr
    assert "at store.write (hit 2)" in result.stderr
