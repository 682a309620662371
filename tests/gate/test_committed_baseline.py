import shlex

import yaml

from harness.cli.main import build_parser
from harness.execution.plan import build_plan
from harness.gate.document import load_snapshot_file
from harness.suite import load_suite
from tests.helpers import REPO

BASELINE = REPO / "suites" / "baselines" / "smoke.json"
WORKFLOW = REPO / "docs" / "ci" / "robustness-gate.yml"


def test_smoke_baseline_matches_smoke_plan():
    # A changed smoke suite changes its unit keys; write the baseline again when this fails:
    # rsbench run suites/smoke.yaml && rsbench baseline reports/smoke -o suites/baselines/smoke.json
    snapshot = load_snapshot_file(BASELINE)
    suite = load_suite(REPO / "suites" / "smoke.yaml")
    plan = build_plan(suite)
    assert snapshot.suite == suite.name
    assert {unit.unit_key for unit in snapshot.units} == {unit.key for unit in plan.attack_units()}
    for unit in snapshot.units:
        assert unit.status == "done"
        assert len(unit.example_outcomes) == suite.attack.examples
        assert unit.metrics["attacked"] == suite.attack.examples


def test_workflow_commands_parse_and_name_committed_files():
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    commands = [step["run"] for step in workflow["jobs"]["gate"]["steps"] if "rsbench " in step.get("run", "")]
    assert len(commands) == 2
    parser = build_parser()
    run = parser.parse_args(shlex.split(commands[0])[1:])
    compare = parser.parse_args(shlex.split(commands[1])[1:])
    assert run.command == "run"
    assert compare.command == "compare"
    assert (REPO / run.suite).is_file()
    assert (REPO / compare.baseline).resolve() == BASELINE
    assert compare.suite == run.suite
    assert str(compare.run_dir) == f"reports/{load_suite(REPO / run.suite).name}"
    assert compare.junit is not None
    assert compare.markdown is not None
