"""Records that the leaderboard renderer takes: one row per unit and one view per attacked example."""

from __future__ import annotations

from dataclasses import dataclass, field

STATUSES = ("done", "failed")
# The outcomes of TextAttack's attack results: SuccessfulAttackResult, FailedAttackResult and
# SkippedAttackResult (the model already misclassified the clean input, so nothing was attacked).
OUTCOMES = ("succeeded", "failed", "skipped")


@dataclass(frozen=True)
class LeaderboardRow:
    """One trained model under one attack, or a trained model alone when ``attack`` is None.

    Fractions (accuracies, macro-F1, attack success rate, perturbed word fraction) lie in
    [0, 1]; rates are examples per second and durations are seconds. None means not measured.

    Raises:
        ValueError: ``status`` is not one of ``STATUSES``.
    """

    unit_key: str
    train_key: str
    task: str
    dataset: str
    dataset_generated: bool
    model: str
    variant: str
    attack: str | None
    seed: int
    status: str
    error: str | None
    clean_accuracy: float | None
    clean_macro_f1: float | None
    robust_accuracy: float | None
    attack_success_rate: float | None
    mean_perturbed_word_fraction: float | None
    mean_model_evaluations: float | None
    mean_queries: float | None
    attacked: int | None
    skipped: int | None
    succeeded: int | None
    failed: int | None
    train_examples_per_second: float | None
    eval_examples_per_second: float | None
    attack_examples_per_second: float | None
    train_seconds: float | None
    attack_seconds: float | None
    # The variant's kind (a variant defined with `kind: baseline` has kind "baseline");
    # None when unknown, and then the variant is never taken as the baseline of a comparison.
    variant_kind: str | None = None
    # Validity of successful attacks (harness.validity): None until every successful attack is scored.
    robust_accuracy_valid: float | None = None
    valid_attack_share: float | None = None
    mean_similarity: float | None = None
    mean_perplexity_ratio: float | None = None
    # Peak memory in bytes of the training unit and of the attack unit: resident set size of
    # the process, and CUDA memory allocated by torch. None when not measured (off CUDA for
    # the GPU figures, and units stored before schema version 3).
    train_peak_rss_bytes: int | None = None
    train_peak_gpu_bytes: int | None = None
    attack_peak_rss_bytes: int | None = None
    attack_peak_gpu_bytes: int | None = None
    # The task's own metrics by name: "clean.<metric>" on the test split, and for attack
    # units "robust.<metric>" under attack and "attacked_clean.<metric>" on the attacked
    # sample. ``headline`` names the metric the task shows first (for example "entity_f1").
    task_metrics: dict[str, float | None] = field(default_factory=dict)
    headline: str | None = None
    task_type: str | None = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(
                f"unit {self.unit_key!r}: invalid status {self.status!r}, expected one of {STATUSES}"
            )


@dataclass(frozen=True)
class ExampleView:
    """One attacked example of the unit ``unit_key``, as shown in the samples section.

    ``index`` is the example's position in the attacked split. Labels and predictions are
    label names, not class ids.

    Raises:
        ValueError: ``outcome`` is not one of ``OUTCOMES``.
    """

    unit_key: str
    index: int
    original_text: str
    perturbed_text: str
    # For NER and QA, where the output is not one class, the task renders the gold
    # entities or answer and the outputs as text (``Task.describe_example``).
    label: str
    original_prediction: str
    perturbed_prediction: str
    outcome: str
    words_changed: int
    model_evaluations: int
    # Validity scores of a successful attack (harness.validity); None when not scored.
    similarity: float | None = None
    perplexity_ratio: float | None = None

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise ValueError(
                f"example {self.index} of unit {self.unit_key!r}: invalid outcome "
                f"{self.outcome!r}, expected one of {OUTCOMES}"
            )
