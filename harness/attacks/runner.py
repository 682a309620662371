"""Run an attack over labelled texts and summarise robustness."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import random
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from harness.attacks.recipes import build_attack
from harness.attacks.wrapper import DynamicPaddingWrapper
from harness.faults import fault_point
from harness.perf import forward_flops
from harness.tasks.base import LabeledTexts

logger = logging.getLogger(__name__)

# TextAttack's Attacker seeds random, numpy and torch with this value before a run.
ATTACK_SEED = 765


@dataclass(frozen=True)
class ExampleRecord:
    """The result of attacking one example."""

    index: int
    original_text: str
    perturbed_text: str
    label: int
    original_prediction: int
    perturbed_prediction: int
    outcome: str  # "succeeded", "failed" or "skipped"
    words_changed: int
    words_total: int
    perturbed_word_fraction: float
    model_evaluations: int
    queries: int
    # Task-specific content shown in the report (gold spans, predicted entities, answer
    # spans), JSON-serialisable; None for classification. Tasks whose output is not one
    # class (NER, extractive QA) set label and both predictions to -1 and keep them here.
    details: dict[str, Any] | None = None


@dataclass(frozen=True)
class AttackSummary:
    """Robustness of one model against one attack over the attacked examples."""

    attacked: int
    skipped: int
    succeeded: int
    failed: int
    robust_accuracy: float
    attack_success_rate: float
    mean_perturbed_word_fraction: float
    mean_model_evaluations: float
    mean_queries: float
    seconds: float
    examples_per_second: float
    # The model's own share of the work: seconds inside forward passes and the FLOPs of
    # those passes over the real (unpadded) tokens, counted by ``harness.perf.forward_flops``.
    model_forward_seconds: float = 0.0
    model_gflop: float = 0.0


def run_attack(
    model: torch.nn.Module,
    tokenizer: Any,
    attack_name: str,
    examples: LabeledTexts,
    *,
    query_budget: int,
    batch_size: int = 64,
    max_length: int = 128,
    device: torch.device | str | None = None,
    progress: bool = True,
    precision: str = "fp32",
    prefetch: bool | None = None,
    pre_transformation_constraints: Sequence[Any] = (),
) -> tuple[list[ExampleRecord], AttackSummary]:
    """Attack every example with ``attack_name`` and return per-example records and a summary.

    Each text is first cut to the part the model reads (see :func:`model_window`).
    Examples the model already misclassifies are skipped: counted, not attacked.
    ``robust_accuracy`` is failed / attacked, where attacked is every example given.
    ``attack_success_rate`` is succeeded / (succeeded + failed), 0.0 when both are zero.
    Mean word fraction, evaluations and queries are over the examples not skipped.

    ``precision`` is ``fp32`` or ``bf16`` (autocast). With ``prefetch``, the texts that the
    search requests whatever its random choices are evaluated up front in large batches
    (see ``prefetch_texts``). Outcomes equal those without prefetching, up to the rounding
    differences of other batch compositions. ``None`` prefetches on CUDA only: on one CPU
    thread it changed DeepWordBug's time by 0.98x (median of five paired runs), because
    CPU matrix products gain little from larger batches.

    ``pre_transformation_constraints`` are added to the recipe's (see ``build_attack``), for
    tasks whose attacks must leave some words unchanged.
    """
    examples = LabeledTexts(tuple(model_window(tokenizer, text, max_length) for text in examples.texts), examples.labels,
                            examples.label_names)
    wrapper = DynamicPaddingWrapper(model, tokenizer, batch_size=batch_size, max_length=max_length, device=device,
                                    precision=precision)
    if prefetch is None:
        prefetch = wrapper.device.type == "cuda"
    attack = build_attack(attack_name, wrapper, query_budget=query_budget,
                          pre_transformation_constraints=pre_transformation_constraints)
    was_training = model.training
    model.eval()
    try:
        records, seconds = _attack_examples(attack, wrapper, examples, attack_name, progress, prefetch)
    finally:
        model.train(was_training)
    summary = summarize(records, seconds)
    return records, dataclasses.replace(
        summary,
        model_forward_seconds=wrapper.forward_seconds,
        model_gflop=forward_flops(model.config, wrapper.forward_token_counts,
                                  last_layer_first_token_only=wrapper.last_layer_first_token_only) / 1e9,
    )


def prefetch_texts(attack: Any, wrapper: DynamicPaddingWrapper, examples: LabeledTexts) -> None:
    """Evaluate up front the texts that ``attack`` will request whatever its random choices.

    First every original text. Then, for greedy word-importance searches (``unk``,
    ``weighted-saliency`` and ``delete`` orderings), the leave-one-out texts of each example
    the search will run on, capped at the query budget left after the original text. An
    untargeted classification skips the examples the model gets wrong, so those get no
    leave-one-out texts. Nothing here draws random numbers, so the search's random choices
    are those of a run without prefetching.
    """
    from textattack.goal_functions import UntargetedClassification
    from textattack.search_methods import GreedyWordSwapWIR
    from textattack.shared import AttackedText

    originals = [AttackedText(text) for text in examples.texts]
    wrapper.prefetch([text.tokenizer_input for text in originals])
    search = attack.search_method
    if not isinstance(search, GreedyWordSwapWIR) or search.wir_method not in ("unk", "weighted-saliency", "delete"):
        return

    goal = attack.goal_function
    skips_wrong = isinstance(goal, UntargetedClassification) and not goal.target_max_score
    budget = goal.query_budget - 1 if goal.query_budget < float("inf") else None
    leave_one_out: list[str] = []
    for text, label in zip(originals, examples.labels):
        if skips_wrong and int(np.argmax(wrapper.cached_logits(text.tokenizer_input))) != int(label):
            continue
        _, indices = search.get_indices_to_order(text)
        if search.truncate_words_to is not None:
            indices = sorted(indices)[: search.truncate_words_to]
        if search.wir_method == "delete":
            texts = [text.delete_word_at_index(i) for i in indices]
        else:
            texts = [text.replace_word_at_index(i, search.unk_token) for i in indices]
        leave_one_out += [candidate.tokenizer_input for candidate in texts[:budget]]
    wrapper.prefetch(leave_one_out)


def model_window(tokenizer: Any, text: str, max_length: int) -> str:
    """Return the start of ``text`` that fits in ``max_length`` tokens; the model never reads the rest.

    Attacking the whole text would only spend queries on words that cannot change the
    prediction, and TextAttack builds one copy of the text per word to rank words, which for
    a 100,000-character document takes hours. A text that fits is returned unchanged. A slow
    (Python) tokenizer has no character offsets, so its texts are returned unchanged too.
    """
    if not getattr(tokenizer, "is_fast", False):
        return text
    encoding = tokenizer(text, truncation=True, max_length=max_length, return_offsets_mapping=True)
    ends = [end for start, end in encoding["offset_mapping"] if end > start]
    if not ends or max(ends) >= len(text.rstrip()):
        return text
    return text[: max(ends)]


@contextlib.contextmanager
def seeded_generators(seed: int = ATTACK_SEED) -> Iterator[None]:
    """Seed ``random``, NumPy and torch as TextAttack's Attacker does, and restore their states on exit.

    Random choices in TextAttack come from Python's ``random`` (character edits of
    DeepWordBug and Pruthi), NumPy's global generator (SciPy's differential evolution in
    Bad Characters) and torch (dropout is off in eval mode, so only for safety). Seeding all
    three once per run makes runs repeatable and identical to an Attacker run over the
    same examples, and callers see their generators unchanged afterwards.
    """
    saved_states = (random.getstate(), np.random.get_state(), torch.get_rng_state())
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    try:
        yield
    finally:
        random.setstate(saved_states[0])
        np.random.set_state(saved_states[1])
        torch.set_rng_state(saved_states[2])


def _attack_examples(
    attack: Any, wrapper: DynamicPaddingWrapper, examples: LabeledTexts, attack_name: str, progress: bool,
    prefetch: bool = False,
) -> tuple[list[ExampleRecord], float]:
    with seeded_generators():
        return _attack_seeded(attack, wrapper, examples, attack_name, progress, prefetch)


def _attack_seeded(
    attack: Any, wrapper: DynamicPaddingWrapper, examples: LabeledTexts, attack_name: str, progress: bool,
    prefetch: bool,
) -> tuple[list[ExampleRecord], float]:
    records: list[ExampleRecord] = []
    counts = {"succeeded": 0, "failed": 0, "skipped": 0}
    start = time.perf_counter()
    if prefetch:
        prefetch_texts(attack, wrapper, examples)
    bar = tqdm(
        zip(examples.texts, examples.labels), total=len(examples), desc=attack_name, disable=not progress, unit="example"
    )
    for index, (text, label) in enumerate(bar):
        evaluations_before = wrapper.model_evaluations
        result = attack.attack(text, int(label))
        record = record_from_result(index, text, int(label), result, wrapper.model_evaluations - evaluations_before)
        records.append(record)
        counts[record.outcome] += 1
        bar.set_postfix(counts)
        fault_point("attack.example")
    bar.close()
    return records, time.perf_counter() - start


def result_outcome(result: Any, index: int) -> str:
    """Return "skipped", "succeeded" or "failed" for a TextAttack ``AttackResult`` of example ``index``."""
    from textattack.attack_results import FailedAttackResult, SkippedAttackResult, SuccessfulAttackResult

    if isinstance(result, SkippedAttackResult):
        return "skipped"
    if isinstance(result, SuccessfulAttackResult):
        return "succeeded"
    if isinstance(result, FailedAttackResult):
        return "failed"
    raise TypeError(f"unexpected attack result {type(result).__name__} for example {index}")


def record_from_result(index: int, text: str, label: int, result: Any, model_evaluations: int) -> ExampleRecord:
    """Turn a TextAttack ``AttackResult`` into an ``ExampleRecord``."""
    outcome = result_outcome(result, index)
    original = result.original_result
    perturbed = result.perturbed_result
    words_total = len(original.attacked_text.words)
    if outcome == "skipped":
        words_changed = 0
    else:
        words_changed = len(perturbed.attacked_text.attack_attrs.get("modified_indices", ()))
    return ExampleRecord(
        index=index,
        original_text=text,
        perturbed_text=perturbed.attacked_text.text,
        label=label,
        original_prediction=int(original.output),
        perturbed_prediction=int(perturbed.output),
        outcome=outcome,
        words_changed=words_changed,
        words_total=words_total,
        perturbed_word_fraction=words_changed / words_total if words_total else 0.0,
        model_evaluations=model_evaluations,
        queries=int(perturbed.num_queries),
    )


def summarize(records: Sequence[ExampleRecord], seconds: float) -> AttackSummary:
    """Aggregate per-example records into an ``AttackSummary``."""
    attacked = len(records)
    succeeded = sum(record.outcome == "succeeded" for record in records)
    failed = sum(record.outcome == "failed" for record in records)
    skipped = sum(record.outcome == "skipped" for record in records)
    searched = [record for record in records if record.outcome != "skipped"]
    # Like TextAttack's own summary, the perturbed word share counts successful attacks only:
    # a failed attack's text is its last unsuccessful attempt.
    successful = [record for record in records if record.outcome == "succeeded"]

    def mean(values: list[float]) -> float:
        return float(np.mean(values)) if values else 0.0

    return AttackSummary(
        attacked=attacked,
        skipped=skipped,
        succeeded=succeeded,
        failed=failed,
        robust_accuracy=failed / attacked if attacked else 0.0,
        attack_success_rate=succeeded / (succeeded + failed) if succeeded + failed else 0.0,
        mean_perturbed_word_fraction=mean([record.perturbed_word_fraction for record in successful]),
        mean_model_evaluations=mean([record.model_evaluations for record in searched]),
        mean_queries=mean([record.queries for record in searched]),
        seconds=seconds,
        examples_per_second=attacked / seconds if seconds > 0 else 0.0,
    )


def generate_adversarial_examples(
    model: torch.nn.Module,
    tokenizer: Any,
    texts: Sequence[str],
    labels: Sequence[int],
    *,
    attack_name: str = "a2t-fast",
    query_budget: int = 50,
    batch_size: int = 64,
    max_length: int = 128,
    device: torch.device | str | None = None,
    progress: bool = True,
    pre_transformation_constraints: Sequence[Any] = (),
) -> list[str | None]:
    """Return a perturbed text for each text whose attack succeeded, None for the others.

    Puts the model in eval mode while attacking and restores its previous mode.
    ``pre_transformation_constraints`` go to ``run_attack``.
    """
    examples = LabeledTexts(tuple(texts), tuple(int(label) for label in labels), ())
    records, _ = run_attack(
        model,
        tokenizer,
        attack_name,
        examples,
        query_budget=query_budget,
        batch_size=batch_size,
        max_length=max_length,
        device=device,
        progress=progress,
        pre_transformation_constraints=pre_transformation_constraints,
    )
    return [record.perturbed_text if record.outcome == "succeeded" else None for record in records]
