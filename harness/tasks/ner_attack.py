"""TextAttack parts for attacking a tagger: a goal over sentence entity F1, span protection, a word-level wrapper.

The attacked text of a sentence is its words joined by single spaces, and word ``i`` of the
sentence is whitespace token ``i`` of the text. TextAttack's own words
(``AttackedText.words``) are finer: ``http://t.co/x`` contains four of them, ``.`` none. The
attack may change only TextAttack words whose whitespace token lies outside every gold
entity and inside the part of the sentence the model reads, and every candidate must keep
the number of whitespace tokens and of TextAttack words. So gold tags stay aligned with the
words and still describe the perturbed sentence.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from harness.attacks.resources import import_textattack, nltk_downloads_disabled
from harness.registry import UnknownNameError
from harness.tasks.ner_data import OUTSIDE
from harness.tasks.ner_head import word_probabilities
from harness.tasks.ner_metrics import entities, entity_set_f1

textattack = import_textattack()

from textattack.constraints import Constraint, PreTransformationConstraint  # noqa: E402
from textattack.goal_function_results import GoalFunctionResult  # noqa: E402
from textattack.goal_functions import GoalFunction  # noqa: E402
from textattack.shared.utils import words_from_text  # noqa: E402

ATTACK_NAMES = ("deepwordbug", "pwws")

# Weight of the gold-tag probability term in the goal score. It only orders candidates
# with equal sentence F1: one entity more or less changes F1 by at least 2/(G+P), which is
# above 0.01 for sentences with fewer than 200 gold plus predicted entities.
PROBABILITY_WEIGHT = 0.01


class WordPredictions:
    """The model's output for one attacked text: per word the tag probabilities and the argmax tag."""

    __slots__ = ("probabilities", "tags")

    def __init__(self, probabilities: np.ndarray, label_names: Sequence[str]):
        self.probabilities = probabilities
        self.tags = tuple(label_names[int(i)] for i in probabilities.argmax(axis=1)) if len(probabilities) else ()


class WordTaggerWrapper(textattack.models.wrappers.ModelWrapper):
    """Map attacked texts to per-word tag predictions, with dynamic padding and a cache per text.

    A text is split on whitespace into the words that the model tags (see the module
    docstring). ``model_evaluations`` counts texts run through the model, ``cache_hits``
    texts served from the cache; ``forward_seconds`` (tokenization included) and
    ``forward_token_counts`` measure the model's own work.
    """

    def __init__(self, model: torch.nn.Module, tokenizer: Any, label_names: Sequence[str], *, batch_size: int = 64,
                 max_length: int = 128, device: torch.device | str | None = None, precision: str = "fp32"):
        self.model = model
        self.tokenizer = tokenizer
        self.label_names = tuple(label_names)
        self.batch_size = batch_size
        self.max_length = max_length
        self.device = torch.device(device) if device is not None else next(model.parameters()).device
        self.precision = precision
        self.model_evaluations = 0
        self.cache_hits = 0
        self.forward_seconds = 0.0
        self.forward_token_counts: list[int] = []
        self._cache: dict[str, WordPredictions] = {}

    def __call__(self, text_input_list: Sequence[str]) -> list[WordPredictions]:
        texts = list(text_input_list)
        missing = [text for text in dict.fromkeys(texts) if text not in self._cache]
        self.cache_hits += len(texts) - len(missing)
        self.model_evaluations += len(missing)
        if missing:
            self._evaluate(missing)
        return [self._cache[text] for text in texts]

    def _evaluate(self, texts: list[str]) -> None:
        sentences = [text.split() for text in texts]
        empty = np.zeros((0, len(self.label_names)), dtype=np.float32)
        filled = [index for index, words in enumerate(sentences) if words]
        started = time.perf_counter()
        probabilities = word_probabilities(
            self.model, self.tokenizer, [sentences[i] for i in filled], batch_size=self.batch_size,
            max_length=self.max_length, device=self.device, precision=self.precision,
            token_counts=self.forward_token_counts,
        ) if filled else []
        self.forward_seconds += time.perf_counter() - started
        by_index = dict(zip(filled, probabilities))
        for index, text in enumerate(texts):
            self._cache[text] = WordPredictions(by_index.get(index, empty), self.label_names)


def word_token_indices(attacked_text: Any) -> list[int] | None:
    """Return the whitespace token of each of ``attacked_text.words``, or None when they cannot be matched.

    TextAttack splits the whole text into words, and doing so token by token must give the
    same words. It can differ for Chinese text, which TextAttack segments with jieba.
    """
    mapping: list[int] = []
    words: list[str] = []
    for token_index, token in enumerate(attacked_text.text.split()):
        token_words = words_from_text(token)
        mapping += [token_index] * len(token_words)
        words += token_words
    return mapping if words == list(attacked_text.words) else None


class EntitySpanProtection(PreTransformationConstraint):
    """Allow changes only to words outside the gold entities of the current example and inside the model's window.

    ``set_example`` must be called before each example is attacked. When TextAttack's words
    cannot be matched to whitespace tokens (``word_token_indices`` returns None), no word
    may change.
    """

    def __init__(self) -> None:
        self.protected: frozenset[int] = frozenset()
        self.window_words: int | None = None

    def set_example(self, gold_tags: Sequence[str], window_words: int | None) -> None:
        """Protect the words tagged other than ``O``; allow only the first ``window_words`` words when given."""
        self.protected = frozenset(index for index, tag in enumerate(gold_tags) if tag != OUTSIDE)
        self.window_words = window_words

    def _get_modifiable_indices(self, current_text: Any) -> set[int]:
        mapping = word_token_indices(current_text)
        if mapping is None:
            return set()
        return {
            word for word, token in enumerate(mapping)
            if token not in self.protected and (self.window_words is None or token < self.window_words)
        }


class KeepsEntityWords(Constraint):
    """Reject a candidate that changes the number of whitespace tokens or of TextAttack words, or any protected word.

    Compared against the original text. Word swaps keep both counts, but a replacement that
    contains a space, or a character edit that splits or joins words at punctuation, would
    misalign the gold tags.
    """

    def __init__(self, protection: EntitySpanProtection):
        super().__init__(compare_against_original=True)
        self.protection = protection

    def _check_constraint(self, transformed_text: Any, reference_text: Any) -> bool:
        transformed_tokens = transformed_text.text.split()
        reference_tokens = reference_text.text.split()
        if len(transformed_tokens) != len(reference_tokens):
            return False
        if len(transformed_text.words) != len(reference_text.words):
            return False
        return all(transformed_tokens[index] == reference_tokens[index] for index in self.protection.protected
                   if index < len(reference_tokens))


class EntityGoalResult(GoalFunctionResult):
    """A goal result whose ``output`` is the tuple of predicted tags."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, goal_function_result_type="Entity F1", **kwargs)

    def get_text_color_input(self) -> str:
        return "red"

    def get_text_color_perturbed(self) -> str:
        return "blue"

    def get_colored_output(self, color_method: Any = None) -> str:
        return " ".join(self.output)


class EntityF1Goal(GoalFunction):
    """Succeed when the sentence's entity F1 against the gold tags falls below ``threshold``.

    The ground truth passed to ``Attack.attack`` is the gold tags joined by spaces. Sentence
    F1 follows ``ner_metrics.sentence_f1``: 1.0 when neither gold nor prediction has an
    entity, so in a sentence without gold entities the attack succeeds by making the model
    predict any entity. Skipped: sentences whose clean F1 is already below the threshold,
    and sentences without gold entities unless ``attack_without_entities``.

    The score, which the search raises, is ``1 - F1`` plus ``PROBABILITY_WEIGHT`` times one
    minus the mean probability of the gold tag over the gold entity words (over all words
    in a sentence without gold entities).
    """

    def __init__(self, model_wrapper: WordTaggerWrapper, *, threshold: float, attack_without_entities: bool = True,
                 **kwargs: Any):
        # TextAttack warns that it has no compatibility entry for a goal function it does not ship.
        textattack_logger = textattack.shared.utils.logger
        level = textattack_logger.level
        textattack_logger.setLevel(logging.ERROR)
        try:
            super().__init__(model_wrapper, **kwargs)
        finally:
            textattack_logger.setLevel(level)
        self.threshold = threshold
        self.attack_without_entities = attack_without_entities
        self.label_index = {name: index for index, name in enumerate(model_wrapper.label_names)}
        self.gold_tags: tuple[str, ...] = ()
        self._gold_entities: set[tuple[str, int, int]] = set()
        self._gold_ids = np.zeros(0, dtype=np.int64)
        self._scored_words = np.zeros(0, dtype=np.int64)

    def init_attack_example(self, attacked_text: Any, ground_truth_output: str) -> Any:
        self.gold_tags = tuple(ground_truth_output.split(" "))
        self._gold_entities = set(entities(self.gold_tags))
        self._gold_ids = np.array([self.label_index[tag] for tag in self.gold_tags], dtype=np.int64)
        inside = [index for index, tag in enumerate(self.gold_tags) if tag != OUTSIDE]
        self._scored_words = np.array(inside if inside else range(len(self.gold_tags)), dtype=np.int64)
        return super().init_attack_example(attacked_text, ground_truth_output)

    def _check_length(self, output: WordPredictions) -> None:
        if len(output.tags) != len(self.gold_tags):
            raise ValueError(f"the attacked text has {len(output.tags)} words and the gold tags {len(self.gold_tags)}; "
                             "NER attacks must keep one word per gold tag")

    def _f1(self, output: WordPredictions) -> float:
        self._check_length(output)
        return entity_set_f1(self._gold_entities, set(entities(output.tags)))

    def _is_goal_complete(self, model_output: WordPredictions, attacked_text: Any) -> bool:
        return self._f1(model_output) < self.threshold

    def _should_skip(self, model_output: WordPredictions, attacked_text: Any) -> bool:
        if not self.attack_without_entities and not self._gold_entities:
            return True
        return self._is_goal_complete(model_output, attacked_text)

    def _get_score(self, model_output: WordPredictions, attacked_text: Any) -> float:
        f1 = self._f1(model_output)
        if len(self._scored_words) == 0:
            return 1.0 - f1
        gold_probabilities = model_output.probabilities[self._scored_words, self._gold_ids[self._scored_words]]
        return (1.0 - f1) + PROBABILITY_WEIGHT * (1.0 - float(gold_probabilities.mean()))

    def _get_displayed_output(self, raw_output: WordPredictions) -> tuple[str, ...]:
        return raw_output.tags

    def _goal_function_result_type(self) -> type:
        return EntityGoalResult

    def _process_model_outputs(self, inputs: Any, outputs: list[WordPredictions]) -> list[WordPredictions]:
        return list(outputs)

    def extra_repr_keys(self) -> list[str]:
        return ["threshold", "attack_without_entities"] + super().extra_repr_keys()


def build_ner_attack(name: str, goal: EntityF1Goal, protection: EntitySpanProtection, *, query_budget: int) -> Any:
    """Build attack ``name`` (``deepwordbug`` or ``pwws``) around ``goal``, limited to ``query_budget`` queries per example.

    ``deepwordbug``: DeepWordBug's four character edits (neighbour swap, substitution,
    deletion, insertion) with its Levenshtein limit of 30 and unk-replacement word ranking,
    as TextAttack's DeepWordBugGao2018 recipe composes them. ``pwws``: WordNet synonym
    swaps ranked by PWWS's probability-weighted word saliency (GreedyWordSwapWIR
    ``weighted-saliency``), as in TextAttack's PWWSRen2019 recipe. Both keep the recipes'
    repeat and stopword constraints and add the span protection and ``KeepsEntityWords``.
    """
    from textattack import Attack
    from textattack.constraints.overlap import LevenshteinEditDistance
    from textattack.constraints.pre_transformation import RepeatModification, StopwordModification
    from textattack.search_methods import GreedyWordSwapWIR
    from textattack.transformations import (
        CompositeTransformation,
        WordSwapNeighboringCharacterSwap,
        WordSwapRandomCharacterDeletion,
        WordSwapRandomCharacterInsertion,
        WordSwapRandomCharacterSubstitution,
        WordSwapWordNet,
    )

    if query_budget < 1:
        raise ValueError(f"query_budget must be at least 1, got {query_budget}")
    constraints: list[Any] = [RepeatModification(), StopwordModification(), protection, KeepsEntityWords(protection)]
    if name == "deepwordbug":
        transformation = CompositeTransformation([
            WordSwapNeighboringCharacterSwap(),
            WordSwapRandomCharacterSubstitution(),
            WordSwapRandomCharacterDeletion(),
            WordSwapRandomCharacterInsertion(),
        ])
        constraints.append(LevenshteinEditDistance(30))
        search = GreedyWordSwapWIR()
    elif name == "pwws":
        # WordSwapWordNet calls nltk.download("omw-1.4") when built; English WordNet needs no OMW data.
        with nltk_downloads_disabled():
            transformation = WordSwapWordNet()
        search = GreedyWordSwapWIR("weighted-saliency")
    else:
        raise UnknownNameError("NER attack", name, list(ATTACK_NAMES))
    attack = Attack(goal, constraints, transformation, search)
    goal.query_budget = query_budget
    goal.batch_size = goal.model.batch_size
    return attack
