"""Attacks on a text-to-text model with TextAttack's sequence-to-sequence goal functions.

The model is any callable ``generate(list[str]) -> list[str]``. Each attack perturbs the
source text and succeeds when the model's output on the perturbed source moves away from a
reference output:

- ``seq2seq-chars``: ``MinimizeBleu`` with DeepWordBug's character edits (swap of
  neighbouring characters, substitution, deletion, insertion).
- ``seq2seq-wordnet``: ``MinimizeBleu`` with WordNet synonym swaps.
- ``nonoverlap-wordnet``: ``NonOverlappingOutput`` (Seq2Sick's non-overlapping goal) with
  WordNet synonym swaps.

Every attack keeps stopwords and already changed words unchanged, changes at most
``max_words_changed`` words, and ranks words by the score change when each word is deleted
before trying greedy swaps in that order (``GreedyWordSwapWIR(wir_method="delete")``).

TextAttack compares the output with the ``ground_truth_output`` passed to ``Attack.attack``,
which its ``Attacker`` takes from the data set: the gold target. With ``goal="clean-output"``
(the default, as in Seq2Sick) the goal functions here ignore that value and compare with the
model's own output on the clean source. With ``goal="reference"`` they compare with the
gold target.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import numbers
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from tqdm.auto import tqdm

from harness.attacks.resources import import_textattack, nltk_downloads_disabled
from harness.attacks.runner import ExampleRecord, result_outcome, seeded_generators
from harness.generation.examples import TextPairs
from harness.registry import UnknownNameError

textattack = import_textattack()

from textattack.constraints.overlap import MaxWordsPerturbed  # noqa: E402
from textattack.constraints.pre_transformation import RepeatModification, StopwordModification  # noqa: E402
from textattack.goal_functions import MinimizeBleu, NonOverlappingOutput  # noqa: E402
from textattack.shared.utils import words_from_text  # noqa: E402

ATTACK_NAMES = ("seq2seq-chars", "seq2seq-wordnet", "nonoverlap-wordnet")
GOALS = ("clean-output", "reference")

# Goal function of each attack, and whether it swaps characters or WordNet synonyms.
_ATTACKS = {
    "seq2seq-chars": ("bleu", "chars"),
    "seq2seq-wordnet": ("bleu", "wordnet"),
    "nonoverlap-wordnet": ("nonoverlap", "wordnet"),
}


@dataclass(frozen=True)
class GenerationOutcome:
    """One attacked example: its record and the model's outputs on the clean and the attacked source.

    ``attacked_output`` is the output on the perturbed source, or the clean output when the
    example was skipped.
    """

    record: ExampleRecord
    clean_output: str
    attacked_output: str


class GenerationModelWrapper(textattack.models.wrappers.ModelWrapper):
    """A TextAttack model wrapper around ``generate(list[str]) -> list[str]``.

    Each call sends the distinct texts not yet cached to ``generate`` in one call, so a batch
    of candidates from the goal function becomes one batch of generations. With ``cache``
    off, only duplicates within one call are merged.

    ``model_evaluations`` counts texts sent to ``generate``, ``generate_calls`` the calls and
    ``cache_hits`` the requested texts served from the cache or merged with a duplicate.
    TextAttack's ``num_queries`` counts every text the search requests, including those its
    goal function serves from its own per-example cache, which never reach this wrapper.
    """

    def __init__(self, generate: Callable[[list[str]], list[str]], *, cache: bool = True):
        self.generate = generate
        # TextAttack's compatibility check reads ``model``. It accepts only its own T5 helper
        # and Hugging Face ``*ForConditionalGeneration`` classes, and logs a warning otherwise.
        self.model = generate
        self.cache_enabled = cache
        self.model_evaluations = 0
        self.generate_calls = 0
        self.cache_hits = 0
        self._cache: dict[str, str] = {}

    def __call__(self, text_input_list: Sequence[str]) -> list[str]:
        texts = list(text_input_list)
        outputs = self._cache if self.cache_enabled else {}
        missing = [text for text in dict.fromkeys(texts) if text not in outputs]
        self.cache_hits += len(texts) - len(missing)
        if missing:
            generated = list(self.generate(missing))
            if len(generated) != len(missing):
                raise ValueError(f"generate returned {len(generated)} outputs for {len(missing)} sources; "
                                 "it must return one output per source, in order")
            self.generate_calls += 1
            self.model_evaluations += len(missing)
            outputs.update(zip(missing, (str(output) for output in generated)))
        return [outputs[text] for text in texts]


@functools.lru_cache(maxsize=2**14)
def output_bleu(hypothesis: str, reference: str) -> float:
    """Return sacrebleu's sentence BLEU of ``hypothesis`` against ``reference`` as a fraction in [0, 1].

    Uses sacrebleu's defaults (13a tokenizer, exponential smoothing). An empty hypothesis or
    reference scores 0.
    """
    import sacrebleu

    return min(1.0, max(0.0, sacrebleu.sentence_bleu(hypothesis, [reference]).score / 100.0))


class _ReferenceChoice:
    """Mixin for TextAttack text-to-text goal functions: compare with the clean output or the gold target.

    With ``compare_with="clean-output"``, ``init_attack_example`` replaces the given ground
    truth with the model's output on the clean source. That output goes through the goal
    function's cache, so the clean source is generated once and TextAttack counts it as one
    query, as it does when the clean output is passed in as the ground truth.
    """

    compare_with: str

    def init_attack_example(self, attacked_text: Any, ground_truth_output: Any) -> Any:
        if self.compare_with == "clean-output":
            ground_truth_output = self._call_model([attacked_text])[0]
        return super().init_attack_example(attacked_text, ground_truth_output)


class OutputBleuGoal(_ReferenceChoice, MinimizeBleu):
    """``MinimizeBleu`` scored with sacrebleu's smoothed sentence BLEU.

    TextAttack 0.3.11's ``MinimizeBleu`` calls NLTK's ``sentence_bleu`` without smoothing and
    with the two texts swapped (the model output as the reference). Unsmoothed BLEU is about
    1e-77 for an output of fewer than four words even when it equals the reference, so every
    short clean output would meet any ``target_bleu`` and be skipped, and NLTK warns on
    every such score. Here the perturbed output is the hypothesis and the reference is the
    reference, and BLEU is a fraction in [0, 1].
    """

    def __init__(self, model_wrapper: Any, *, compare_with: str, target_bleu: float, query_budget: int,
                 batch_size: int):
        self.compare_with = compare_with
        super().__init__(model_wrapper, target_bleu=target_bleu, query_budget=query_budget, model_batch_size=batch_size)

    def _get_score(self, model_output: str, _: Any) -> float:
        return 1.0 - output_bleu(model_output, self.ground_truth_output)


class OutputOverlapGoal(_ReferenceChoice, NonOverlappingOutput):
    """``NonOverlappingOutput``: success when the output differs from the reference at every word position.

    The score is the share of the reference's words that differ, position by position, from
    the output's words (over the shorter of the two), as in TextAttack 0.3.11. A reference
    without words is met by any output, so such an example is skipped: TextAttack's class
    scores it 0 forever and spends the whole query budget on it.
    """

    def __init__(self, model_wrapper: Any, *, compare_with: str, query_budget: int, batch_size: int):
        self.compare_with = compare_with
        super().__init__(model_wrapper, query_budget=query_budget, model_batch_size=batch_size)

    def _is_goal_complete(self, model_output: str, attacked_text: Any) -> bool:
        if not words_from_text(self.ground_truth_output):
            return True
        return super()._is_goal_complete(model_output, attacked_text)


@contextlib.contextmanager
def _quiet_textattack() -> Iterator[None]:
    """Silence the warnings of TextAttack's goal-function/model compatibility check.

    The check warns for every goal function it does not list (the subclasses here) and
    every model class that is not one of TextAttack's, so it would warn on every build.
    """
    textattack_logger = textattack.shared.utils.logger
    level = textattack_logger.level
    textattack_logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        textattack_logger.setLevel(level)


def protected_stopwords() -> set[str]:
    """Return NLTK's English stopwords in lower case, capitalised and upper case.

    The list is the one that ``harness.attacks.resources`` writes into its NLTK data folder.

    TextAttack's ``StopwordModification`` compares words as written, so "The" at the start of
    a sentence would otherwise be modifiable.
    """
    import nltk

    words = nltk.corpus.stopwords.words("english")
    return {form for word in words for form in (word, word.capitalize(), word.upper())}


def words_cap_constraint(max_words_changed: int | float) -> MaxWordsPerturbed:
    """Return the constraint for ``max_words_changed``: a count when at least 1, a fraction of the words when below 1.

    A fraction is rounded up, so 0.1 of a 12-word source allows 2 words.
    """
    if isinstance(max_words_changed, bool) or not isinstance(max_words_changed, numbers.Real):
        raise ValueError(f"max_words_changed must be a number, got {max_words_changed!r}")
    if not math.isfinite(max_words_changed) or max_words_changed <= 0:
        raise ValueError(f"max_words_changed must be a word count of at least 1 or a fraction in (0, 1), "
                         f"got {max_words_changed!r}")
    if max_words_changed < 1:
        return MaxWordsPerturbed(max_percent=float(max_words_changed))
    if max_words_changed != int(max_words_changed):
        raise ValueError(f"max_words_changed must be a whole number of words when at least 1, "
                         f"got {max_words_changed!r}; use a value below 1 for a fraction of the words")
    return MaxWordsPerturbed(max_num_words=int(max_words_changed))


def character_edits() -> Any:
    """Return DeepWordBug's composite of character edits: neighbour swap, substitution, deletion, insertion."""
    from textattack.transformations import (
        CompositeTransformation,
        WordSwapNeighboringCharacterSwap,
        WordSwapRandomCharacterDeletion,
        WordSwapRandomCharacterInsertion,
        WordSwapRandomCharacterSubstitution,
    )

    return CompositeTransformation([
        WordSwapNeighboringCharacterSwap(),
        WordSwapRandomCharacterSubstitution(),
        WordSwapRandomCharacterDeletion(),
        WordSwapRandomCharacterInsertion(),
    ])


def wordnet_swaps() -> Any:
    """Return TextAttack's WordNet synonym swap without its ``nltk.download("omw-1.4")`` call.

    English WordNet comes from the folder that ``harness.attacks.resources`` prepares, and
    English needs no Open Multilingual Wordnet data.
    """
    from textattack.transformations import WordSwapWordNet

    with nltk_downloads_disabled():
        return WordSwapWordNet()


def build_generation_attack(
    name: str,
    model_wrapper: GenerationModelWrapper,
    *,
    goal: str = "clean-output",
    query_budget: int,
    max_words_changed: int | float,
    target_bleu: float = 0.0,
) -> Any:
    """Build the TextAttack ``Attack`` ``name`` against ``model_wrapper``.

    ``target_bleu`` (a fraction in [0, 1]) applies to the BLEU attacks only. The goal
    function sends up to ``query_budget`` texts to the wrapper in one call.
    """
    if name not in _ATTACKS:
        raise UnknownNameError("generation attack", name, list(ATTACK_NAMES))
    if goal not in GOALS:
        raise ValueError(f"goal must be one of {', '.join(GOALS)}, got {goal!r}")
    if query_budget < 1:
        raise ValueError(f"query_budget must be at least 1, got {query_budget}")
    if not 0.0 <= target_bleu <= 1.0:
        raise ValueError(f"target_bleu must be a fraction in [0, 1], got {target_bleu!r}")
    goal_kind, edit_kind = _ATTACKS[name]
    with _quiet_textattack():
        if goal_kind == "bleu":
            goal_function = OutputBleuGoal(model_wrapper, compare_with=goal, target_bleu=target_bleu,
                                           query_budget=query_budget, batch_size=query_budget)
        else:
            goal_function = OutputOverlapGoal(model_wrapper, compare_with=goal, query_budget=query_budget,
                                              batch_size=query_budget)
    transformation = character_edits() if edit_kind == "chars" else wordnet_swaps()
    constraints = [
        RepeatModification(),
        StopwordModification(stopwords=protected_stopwords()),
        words_cap_constraint(max_words_changed),
    ]
    search_method = textattack.search_methods.GreedyWordSwapWIR(wir_method="delete")
    return textattack.Attack(goal_function, constraints, transformation, search_method)


def attack_generation(
    generate: Callable[[list[str]], list[str]],
    examples: TextPairs,
    *,
    attack_name: str,
    goal: str = "clean-output",
    query_budget: int,
    max_words_changed: int | float,
    target_bleu: float = 0.0,
    progress: bool = False,
    cache: bool = True,
) -> list[GenerationOutcome]:
    """Attack the source of every example in ``examples`` and return one outcome per example.

    An example is skipped, not attacked, when its goal is met on the clean source. With
    ``goal="clean-output"`` that happens when the clean output has no words, because the BLEU
    of an empty output is 0 and an empty reference has no word to overlap. With
    ``goal="reference"`` it also happens when the clean output already scores at most
    ``target_bleu`` BLEU against the gold target, or differs from it at every word position.

    ``model_evaluations`` in each record counts the texts sent to ``generate`` for that
    example, ``queries`` TextAttack's query count. With ``cache`` on, the wrapper keeps every
    output for the whole run, so a text already generated for an earlier example is not
    sent again. Random choices (character edits) are seeded as TextAttack's ``Attacker``
    seeds them, once per call.
    """
    wrapper = GenerationModelWrapper(generate, cache=cache)
    attack = build_generation_attack(attack_name, wrapper, goal=goal, query_budget=query_budget,
                                     max_words_changed=max_words_changed, target_bleu=target_bleu)
    outcomes = []
    with seeded_generators():
        for index in tqdm(range(len(examples)), desc=attack_name, unit="example", disable=not progress):
            evaluations_before = wrapper.model_evaluations
            result = attack.attack(examples.sources[index], examples.targets[index])
            outcomes.append(_outcome(index, examples, result, wrapper.model_evaluations - evaluations_before))
    return outcomes


def _outcome(index: int, examples: TextPairs, result: Any, model_evaluations: int) -> GenerationOutcome:
    outcome = result_outcome(result, index)
    source = examples.sources[index]
    original = result.original_result
    perturbed = result.perturbed_result
    clean_output = original.raw_output
    if outcome == "skipped":
        attacked_output, perturbed_source, changed = clean_output, source, 0
    else:
        attacked_output = perturbed.raw_output
        perturbed_source = perturbed.attacked_text.text
        changed = len(perturbed.attacked_text.attack_attrs.get("modified_indices", ()))
    words_total = len(original.attacked_text.words)
    details = {
        "source": source,
        "reference": examples.targets[index],
        "original_output": clean_output,
        "perturbed_output": attacked_output,
        "perturbed_source": perturbed_source,
    }
    record = ExampleRecord(
        index=index, original_text=source, perturbed_text=perturbed_source, label=-1, original_prediction=-1,
        perturbed_prediction=-1, outcome=outcome, words_changed=changed, words_total=words_total,
        perturbed_word_fraction=changed / words_total if words_total else 0.0, model_evaluations=model_evaluations,
        queries=int(perturbed.num_queries), details=details,
    )
    return GenerationOutcome(record, clean_output, attacked_output)
