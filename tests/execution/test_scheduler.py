"""The scheduler with a scripted backend: dependency order, parallel dispatch, failures and retries."""

from __future__ import annotations

import pytest

from harness.execution.plan import AttackUnit, TrainUnit, build_plan
from harness.execution.scheduler import RunInterrupted, run_plan
from harness.execution.units import RunContext, identity
from harness.execution.worker import RecordingStore, UnitOutcome
from harness.store import Store

_TRAIN = {"clean_accuracy": 0.5, "clean_macro_f1": 0.5, "train_examples": 1, "test_examples": 1, "train_seconds": 1.0,
          "train_examples_per_second": 1.0, "eval_examples_per_second": 1.0, "final_loss": 0.1}
_ATTACK = {"attacked": 1, "skipped": 0, "succeeded": 1, "failed": 0, "robust_accuracy": 0.0, "attack_success_rate": 1.0,
           "mean_perturbed_word_fraction": 0.5, "mean_model_evaluations": 3.0, "mean_queries": 3.0,
           "attack_seconds": 1.0, "attack_examples_per_second": 1.0}


class ScriptedBackend:
    """Completes units in submission order; a unit whose name is in ``failing`` returns an error."""

    def __init__(self, context: RunContext, capacity: int | None, failing: set[str] = frozenset(), interrupt_after: int | None = None):
        self.capacity = capacity
        self.context = context
        self.failing = failing
        self.interrupt_after = interrupt_after
        self.unstorable: set[str] = set()
        self.events: list[tuple[str, str]] = []
        self.max_in_flight = 0
        self.checkpoints_sent: dict[str, dict[str, str]] = {}
        self.aborted = False
        self.closed = False
        self._queue: list[tuple[int, object]] = []
        self._next = 0

    def submit(self, unit, checkpoints):
        self._next += 1
        self._queue.append((self._next, unit))
        self.events.append(("start", name(unit)))
        self.checkpoints_sent[name(unit)] = checkpoints
        self.max_in_flight = max(self.max_in_flight, len(self._queue))
        return self._next

    def wait(self, handles):
        finished = [(handle, unit) for handle, unit in self._queue if handle in handles][0]
        self._queue.remove(finished)
        handle, unit = finished
        if self.interrupt_after is not None and sum(kind == "end" for kind, _ in self.events) >= self.interrupt_after:
            raise KeyboardInterrupt
        self.events.append(("end", name(unit)))
        if name(unit) in self.failing:
            return [(handle, UnitOutcome(unit.key, error="RuntimeError: scripted failure"))]
        store = RecordingStore({})
        if name(unit) in self.unstorable:
            store.record_train(identity(self.context, unit), {"clean_accuracy": 0.5}, manifest={}, finished_at="t", wall_seconds=1.0)
        elif isinstance(unit, TrainUnit):
            store.record_train(identity(self.context, unit), {**_TRAIN, "checkpoint": f"checkpoints/{unit.key}"},
                               manifest={}, finished_at="t", wall_seconds=1.0)
        else:
            store.record_attack(identity(self.context, unit), _ATTACK, [], manifest={}, finished_at="t", wall_seconds=1.0)
        return [(handle, UnitOutcome(unit.key, records=store.records))]

    def device_of(self, unit):
        return "cpu"

    def abort(self):
        self.aborted = True

    def close(self):
        self.closed = True


def name(unit) -> str:
    return f"attack {unit.variant}" if isinstance(unit, AttackUnit) else f"train {unit.variant}"


@pytest.fixture
def context(kd_suite, tmp_path):
    with Store(tmp_path / "results.sqlite") as store:
        yield RunContext(suite=kd_suite, out_dir=tmp_path, store=store, device="cpu", progress=False)


def _run(context, backend, retry_failed=False):
    return run_plan(build_plan(context.suite), context, backend, retry_failed=retry_failed, artifacts_present=lambda unit: True)


def test_units_start_after_dependencies(context):
    backend = ScriptedBackend(context, capacity=2)
    summary = _run(context, backend)
    events = backend.events
    assert events.index(("end", "train baseline")) < events.index(("start", "train kd"))
    assert events.index(("end", "train baseline")) < events.index(("start", "attack baseline"))
    assert events.index(("end", "train kd")) < events.index(("start", "attack kd"))
    assert len(summary.computed) == 4
    assert summary.failed == {}
    assert backend.closed


def test_parallel_dispatch_fills_capacity(context):
    backend = ScriptedBackend(context, capacity=2)
    _run(context, backend)
    # Once the teacher is trained, its student and its attack are ready at once.
    assert backend.events[1:4] == [("end", "train baseline"), ("start", "train kd"), ("start", "attack baseline")]
    assert backend.max_in_flight == 2


def test_one_worker_keeps_plan_order(context):
    backend = ScriptedBackend(context, capacity=1)
    _run(context, backend)
    starts = [unit for kind, unit in backend.events if kind == "start"]
    assert starts == ["train baseline", "train kd", "attack baseline", "attack kd"]
    assert backend.max_in_flight == 1


def test_dependency_checkpoints_sent(context):
    backend = ScriptedBackend(context, capacity=None)
    _run(context, backend)
    plan = build_plan(context.suite)
    teacher = next(unit for unit in plan.train_units() if unit.variant == "baseline")
    assert backend.checkpoints_sent["train baseline"] == {}
    assert backend.checkpoints_sent["train kd"] == {teacher.key: f"checkpoints/{teacher.key}"}
    assert backend.checkpoints_sent["attack baseline"] == {teacher.key: f"checkpoints/{teacher.key}"}


def test_results_written_by_parent(context):
    _run(context, ScriptedBackend(context, capacity=2))
    statuses = {row["variant"] + "/" + row["kind"]: row["status"] for row in context.store.units()}
    assert statuses == {"baseline/train": "done", "kd/train": "done", "baseline/attack": "done", "kd/attack": "done"}
    assert len(context.store.attack_metrics()) == 2


def test_failed_teacher_blocks_dependents(context):
    backend = ScriptedBackend(context, capacity=2, failing={"train baseline"})
    summary = _run(context, backend)
    assert [unit for kind, unit in backend.events if kind == "start"] == ["train baseline"]
    assert len(summary.failed) == 4
    errors = {row["variant"] + "/" + row["kind"]: row["error"] for row in context.store.units()}
    assert errors["baseline/train"] == "RuntimeError: scripted failure"
    assert errors["kd/train"].startswith("RuntimeError: depends on failed unit ")
    assert errors["kd/attack"].startswith("RuntimeError: depends on failed unit ")


def test_unstorable_results_fail_unit(context):
    backend = ScriptedBackend(context, capacity=2)
    backend.unstorable = {"train kd"}
    summary = _run(context, backend)
    errors = {row["variant"] + "/" + row["kind"]: (row["status"], row["error"]) for row in context.store.units()}
    assert errors["kd/train"][0] == "failed"
    assert errors["kd/train"][1].startswith("ProgrammingError: ")
    assert errors["kd/attack"][1].startswith("RuntimeError: depends on failed unit ")
    assert errors["baseline/attack"] == ("done", None)
    assert len(summary.computed) == 2


def test_rerun_keeps_failed_units(context):
    _run(context, ScriptedBackend(context, capacity=2, failing={"attack kd"}))
    backend = ScriptedBackend(context, capacity=2)
    summary = _run(context, backend)
    assert backend.events == []
    assert len(summary.reused) == 3
    assert len(summary.kept_failed) == 1
    assert list(summary.failed) == summary.kept_failed
    assert {row["status"] for row in context.store.units() if row["kind"] == "attack" and row["variant"] == "kd"} == {"failed"}


def test_retry_failed_runs_only_failed(context):
    _run(context, ScriptedBackend(context, capacity=2, failing={"attack kd"}))
    backend = ScriptedBackend(context, capacity=2)
    summary = _run(context, backend, retry_failed=True)
    assert [unit for kind, unit in backend.events if kind == "start"] == ["attack kd"]
    assert len(summary.computed) == 1
    assert len(summary.reused) == 3
    assert summary.failed == {}
    assert {row["status"] for row in context.store.units()} == {"done"}


def test_retry_failed_reruns_blocked_dependents(context):
    _run(context, ScriptedBackend(context, capacity=2, failing={"train kd"}))
    backend = ScriptedBackend(context, capacity=2)
    summary = _run(context, backend, retry_failed=True)
    assert [unit for kind, unit in backend.events if kind == "start"] == ["train kd", "attack kd"]
    assert len(summary.computed) == 2


def test_missing_unit_after_kept_failure_blocked(context):
    _run(context, ScriptedBackend(context, capacity=2, failing={"train kd"}))
    plan = build_plan(context.suite)
    attack_kd = next(unit for unit in plan.attack_units() if unit.variant == "kd")
    context.store._conn.execute("DELETE FROM units WHERE key = ?", (attack_kd.key,))
    backend = ScriptedBackend(context, capacity=2)
    summary = _run(context, backend)
    assert backend.events == []
    assert summary.failed[attack_kd.key].startswith("RuntimeError: depends on failed unit ")
    assert context.store.status(attack_kd.key) == "failed"


def test_interrupt_aborts_backend_and_keeps_finished(context):
    backend = ScriptedBackend(context, capacity=2, interrupt_after=1)
    with pytest.raises(RunInterrupted) as caught:
        _run(context, backend)
    assert backend.aborted
    assert backend.closed
    assert len(caught.value.summary.computed) == 1
    assert [row["status"] for row in context.store.units()] == ["done"]


def test_recording_store_rejects_reads():
    store = RecordingStore({"k": "checkpoints/k"})
    assert store.checkpoint("k").as_posix() == "checkpoints/k"
    assert store.checkpoint("other") is None
    with pytest.raises(AttributeError, match="only the parent process reads the store"):
        store.status("k")
