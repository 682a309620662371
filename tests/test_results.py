import json

from harness.results import RESULTS_FILE, write_leaderboard
from harness.store import Store
from tests.test_store import _METRICS, _example, _unit

_TRAIN = {"clean_accuracy": 0.8, "clean_macro_f1": 0.79, "train_examples": 10, "test_examples": 5, "train_seconds": 1.0,
          "train_examples_per_second": 10.0, "eval_examples_per_second": 50.0, "final_loss": 0.3, "checkpoint": "checkpoints/t1"}


def _store_two_attacks(out_dir):
    with Store(out_dir / RESULTS_FILE) as store:
        store.record_train(_unit("t1", "train"), _TRAIN, manifest={}, finished_at="t", wall_seconds=1.0)
        for key in ("a1", "a2"):
            store.record_attack(_unit(key), _METRICS, [_example(0)], manifest={}, finished_at="t", wall_seconds=1.0)
        store.set_meta("suite", "demo")
    return out_dir


def test_leaderboard_keeps_only_latest_plan(tmp_path):
    out_dir = _store_two_attacks(tmp_path)
    with Store(out_dir / RESULTS_FILE) as store:
        store.set_meta("plan_keys", json.dumps(["t1", "a2"]))
    json_path, _ = write_leaderboard(out_dir)
    board = json.loads(json_path.read_text(encoding="utf-8"))
    assert board["suite"] == "demo"
    assert [unit["unit_key"] for unit in board["units"]] == ["a2"]
    assert board["units"][0]["clean_accuracy"] == 0.8


def test_leaderboard_without_plan_shows_all(tmp_path):
    out_dir = _store_two_attacks(tmp_path)
    json_path, _ = write_leaderboard(out_dir)
    units = json.loads(json_path.read_text(encoding="utf-8"))["units"]
    assert sorted(unit["unit_key"] for unit in units) == ["a1", "a2"]
