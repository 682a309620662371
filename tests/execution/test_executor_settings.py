import argparse

import pytest

from harness.cli.run_command import executor_spec
from harness.errors import RsbenchError, SuiteError
from harness.suite import ExecutorSpec, validate_suite
from tests.execution.conftest import csv_block
from tests.helpers import tiny_suite_text


def _raw(sentiment_csv, executor):
    import yaml

    raw = yaml.safe_load(tiny_suite_text(csv_block(sentiment_csv)))
    raw["executor"] = executor
    return raw


def _problems(sentiment_csv, executor) -> list[str]:
    with pytest.raises(SuiteError) as caught:
        validate_suite(_raw(sentiment_csv, executor))
    return caught.value.problems


def _args(**flags):
    values = {"executor": None, "workers": None, "address": None, "storage": None, "threads": None}
    values.update(flags)
    return argparse.Namespace(**values)


def test_executor_name_string_still_accepted(sentiment_csv):
    suite = validate_suite(_raw(sentiment_csv, "local"))
    assert suite.executor == ExecutorSpec(name="local")
    assert suite.executor.workers == 1


def test_executor_default_is_local_in_process(sentiment_csv):
    raw = _raw(sentiment_csv, "local")
    del raw["executor"]
    suite = validate_suite(raw)
    assert suite.executor.name == "local"
    assert suite.executor.workers == 1
    assert suite.executor.threads_per_worker is None


def test_executor_ray_resources_parsed(sentiment_csv):
    suite = validate_suite(_raw(sentiment_csv, {
        "name": "ray", "address": "auto", "storage": "file:///tmp/checkpoints",
        "resources": {"train": {"cpus": 2, "gpus": 1, "memory": "4GiB"}, "attack": {"cpus": 1}},
    }))
    spec = suite.executor
    assert spec.resources["train"].cpus == 2
    assert spec.resources["train"].gpus == 1
    assert int(spec.resources["train"].memory) == 4 * 2**30
    assert spec.resources["attack"].gpus == 0
    assert spec.resources["attack"].memory is None
    assert spec.address == "auto"


def test_executor_unknown_name_suggests(sentiment_csv):
    problems = _problems(sentiment_csv, {"name": "rya"})
    assert any(p.startswith("executor.name: unknown executor 'rya'. Did you mean 'ray'?") for p in problems)


def test_executor_unknown_name_string(sentiment_csv):
    problems = _problems(sentiment_csv, "lokal")
    assert any(p.startswith("executor: unknown executor 'lokal'. Did you mean 'local'?") for p in problems)


def test_executor_setting_of_other_executor(sentiment_csv):
    problems = _problems(sentiment_csv, {"name": "local", "workers": 2, "storage": "s3://bucket/x"})
    assert len(problems) == 1
    assert problems[0].startswith("executor.storage: not a setting of the local executor (its settings: workers, threads_per_worker).")
    assert "choose an executor that uses it: ray" in problems[0]


def test_ray_rejects_workers(sentiment_csv):
    problems = _problems(sentiment_csv, {"name": "ray", "workers": 4})
    assert any(p.startswith("executor.workers: not a setting of the ray executor") for p in problems)


@pytest.mark.parametrize(("executor", "field"), [
    ({"name": "local", "workers": 0}, "executor.workers: invalid value 0"),
    ({"name": "local", "workers": 10**23}, "executor.workers: invalid value 100000000000000000000000: Input should be less than or equal to 4096"),
    ({"name": "local", "threads_per_worker": 5000}, "executor.threads_per_worker: invalid value 5000"),
    ({"name": "ray", "resources": {"trian": {"cpus": 1}}}, "executor.resources.trian"),
    ({"name": "ray", "resources": {"train": {"cpus": 0}}}, "executor.resources.train.cpus: invalid value 0"),
    ({"name": "ray", "resources": {"train": {"memory": "lots"}}}, "executor.resources.train.memory: invalid value 'lots'"),
    ({"name": "ray", "resources": {"train": {"cpu": 1}}}, "executor.resources.train.cpu: unknown field. Did you mean 'cpus'?"),
    ({"name": "ray", "storage": "nosuchproto://x"}, "executor.storage: invalid value 'nosuchproto://x': unknown storage protocol"),
    (["local"], "executor: invalid value ['local']: expected an executor name"),
])
def test_executor_bad_values_named(sentiment_csv, executor, field):
    problems = _problems(sentiment_csv, executor)
    assert any(p.startswith(field) for p in problems), problems


def test_cli_workers_override_suite():
    spec = executor_spec(ExecutorSpec.model_validate({"name": "local", "workers": 3, "threads_per_worker": 2}), _args(workers=2))
    assert spec.workers == 2
    assert spec.threads_per_worker == 2


def test_cli_threads_set_threads_per_worker():
    spec = executor_spec(ExecutorSpec(), _args(workers=2, threads=1))
    assert spec.workers == 2
    assert spec.threads_per_worker == 1


def test_cli_other_executor_replaces_section():
    suite_spec = ExecutorSpec.model_validate({"name": "local", "workers": 3})
    spec = executor_spec(suite_spec, _args(executor="ray", address="127.0.0.1:6379"))
    assert spec.name == "ray"
    assert spec.address == "127.0.0.1:6379"
    assert spec.workers == 1


def test_cli_same_executor_keeps_section():
    suite_spec = ExecutorSpec.model_validate({"name": "ray", "resources": {"train": {"cpus": 2}}})
    spec = executor_spec(suite_spec, _args(executor="ray", storage="file:///tmp/x"))
    assert spec.resources["train"].cpus == 2
    assert spec.storage == "file:///tmp/x"


def test_cli_flag_for_other_executor_rejected():
    with pytest.raises(RsbenchError) as caught:
        executor_spec(ExecutorSpec(), _args(executor="ray", workers=2))
    assert str(caught.value).startswith("--workers: not a setting of the ray executor")


def test_cli_unknown_executor_rejected():
    with pytest.raises(RsbenchError) as caught:
        executor_spec(ExecutorSpec(), _args(executor="rey"))
    assert "--executor: unknown executor 'rey'. Did you mean 'ray'?" in str(caught.value)


def test_cli_bad_workers_named():
    with pytest.raises(RsbenchError) as caught:
        executor_spec(ExecutorSpec(), _args(workers=0))
    assert str(caught.value).startswith("--workers 0: Input should be greater than or equal to 1")


@pytest.mark.parametrize(("flags", "message"), [
    ({"workers": 10**23}, "--workers 100000000000000000000000: Input should be less than or equal to 4096."),
    ({"threads": 10**23}, "--threads 100000000000000000000000: must be between 1 and 4096."),
    ({"executor": "ray", "threads": 0}, "--threads 0: must be between 1 and 4096."),
])
def test_cli_huge_parallelism_rejected(flags, message):
    # Unbounded, these counts reach multiprocessing and torch and fail there with an OverflowError.
    with pytest.raises(RsbenchError) as caught:
        executor_spec(ExecutorSpec(), _args(**flags))
    assert str(caught.value) == message


def test_list_executors_imports_neither_ray_nor_torch():
    import subprocess
    import sys

    from tests.helpers import REPO

    code = ("import sys; from harness.cli.main import main; main(['list', 'executors']);"
            " print(sorted(m for m in ('ray', 'torch', 'fsspec') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert result.stdout.strip().splitlines()[-1] == "[]"
    assert result.stdout.startswith("local ")
    assert "\nray " in result.stdout
