"""Attacks on extractive QA: character edits and WordNet swaps in the question, and AddSent distractors.

``deepwordbug`` and ``pwws`` keep the search, transformation and constraints of TextAttack's
recipes of those names, but perturb only the question (the context is held fixed) and never the
cloze placeholder. ``addsent`` appends to the context a sentence that resembles the question
without answering it, after AddSent (Jia and Liang, 2017), but built without crowd workers as
``distractor_sentences`` describes. Every attack succeeds on an example when the answer F1 of the model's
prediction falls below ``success_f1``; an example whose clean F1 is already below it is skipped.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tqdm.auto import tqdm

from harness.attacks.resources import import_textattack, nltk_downloads_disabled
from harness.attacks.runner import ExampleRecord, result_outcome, seeded_generators
from harness.tasks.qa_data import PLACEHOLDER, QAExamples
from harness.tasks.qa_metrics import best_f1
from harness.tasks.qa_model import SpanPrediction, SpanPredictor

textattack = import_textattack()

from textattack.constraints import PreTransformationConstraint  # noqa: E402
from textattack.goal_function_results import TextToTextGoalFunctionResult  # noqa: E402
from textattack.goal_functions import GoalFunction  # noqa: E402

QUESTION_ATTACKS = {"deepwordbug": "DeepWordBugGao2018", "pwws": "PWWSRen2019"}
ATTACK_NAMES = (*QUESTION_ATTACKS, "addsent")


@dataclass(frozen=True)
class AttackOutcome:
    """One attacked example: its record and the predictions on the clean and the attacked input."""

    record: ExampleRecord
    clean: SpanPrediction
    attacked: SpanPrediction


# --- question attacks -------------------------------------------------------------------------


class ProtectWords(PreTransformationConstraint):
    """Forbid changes to every word equal to one of ``words`` (TextAttack's word split drops the ``@``)."""

    def __init__(self, words: Sequence[str]):
        self.words = set(words)

    def _get_modifiable_indices(self, current_text: Any) -> set[int]:
        return {index for index, word in enumerate(current_text.words) if word not in self.words}


class _PredictorHandle:
    """Stand-in for the model wrapper a TextAttack goal function stores; only its compatibility check reads ``model``."""

    def __init__(self, predictor: SpanPredictor):
        self.model = predictor.model
        self.predictor = predictor


class AnswerF1Goal(GoalFunction):
    """Untargeted goal on a (question, context) pair: the answer's F1 against the gold answers drops below ``threshold``.

    The attacked text is the question; ``set_example`` sets the fixed context and the gold
    answers before each example. The score that guides the search is ``1 - F1`` plus, while the
    answer still overlaps the gold (F1 > 0), half the drop of the predicted span's probability
    below 1, so word importance is graded before the prediction changes.
    """

    def __init__(self, predictor: SpanPredictor, *, threshold: float, query_budget: int, batch_size: int):
        super().__init__(_PredictorHandle(predictor), query_budget=query_budget, model_batch_size=batch_size)
        self.predictor = predictor
        self.threshold = threshold
        self.context = ""
        self.golds: list[str] = []

    def set_example(self, context: str, golds: list[str]) -> None:
        self.context = context
        self.golds = golds
        # Cached outputs belong to the previous example's context.
        self.clear_cache()

    def _call_model_uncached(self, attacked_text_list: list[Any]) -> list[SpanPrediction]:
        return self.predictor([(text.text, self.context) for text in attacked_text_list])

    def _process_model_outputs(self, inputs: Any, outputs: Any) -> Any:
        return outputs

    def _is_goal_complete(self, model_output: SpanPrediction, attacked_text: Any) -> bool:
        return best_f1(model_output.text, self.golds) < self.threshold

    def _get_score(self, model_output: SpanPrediction, attacked_text: Any) -> float:
        f1 = best_f1(model_output.text, self.golds)
        return (1 - f1) + (0.5 * (1 - model_output.probability) if f1 > 0 else 0.0)

    def _get_displayed_output(self, raw_output: SpanPrediction) -> str:
        return raw_output.text

    def _goal_function_result_type(self) -> type:
        return TextToTextGoalFunctionResult


def build_question_attack(name: str, predictor: SpanPredictor, *, threshold: float, query_budget: int, batch_size: int) -> Any:
    """Build recipe ``name`` on the question with ``AnswerF1Goal`` and the placeholder protected."""
    goal = AnswerF1Goal(predictor, threshold=threshold, query_budget=query_budget, batch_size=batch_size)
    with nltk_downloads_disabled():
        recipe = getattr(textattack.attack_recipes, QUESTION_ATTACKS[name]).build(goal.model)
    constraints = [*recipe.pre_transformation_constraints, ProtectWords([PLACEHOLDER.lstrip("@")]), *recipe.constraints]
    return textattack.Attack(goal, constraints, recipe.transformation, recipe.search_method)


def attack_questions(attack: Any, examples: QAExamples, *, attack_name: str, progress: bool) -> list[AttackOutcome]:

    goal: AnswerF1Goal = attack.goal_function
    predictor = goal.predictor
    outcomes = []
    with seeded_generators():
        for index in tqdm(range(len(examples)), desc=attack_name, unit="example", disable=not progress):
            question, context, golds = examples.questions[index], examples.contexts[index], examples.gold_texts(index)
            goal.set_example(context, golds)
            evaluations_before = predictor.model_evaluations
            result = attack.attack(question, 0)
            outcome = result_outcome(result, index)
            clean = result.original_result.raw_output
            attacked = clean if outcome == "skipped" else result.perturbed_result.raw_output
            perturbed_question = question if outcome == "skipped" else result.perturbed_result.attacked_text.text
            words = result.original_result.attacked_text.words
            changed = 0 if outcome == "skipped" else len(result.perturbed_result.attacked_text.attack_attrs.get("modified_indices", ()))
            details = {
                "question": question,
                "perturbed_question": perturbed_question,
                "gold_answers": golds,
                "original_prediction": clean.text,
                "perturbed_prediction": attacked.text,
                "original_f1": best_f1(clean.text, golds),
                "perturbed_f1": best_f1(attacked.text, golds),
            }
            record = ExampleRecord(
                index=index, original_text=question, perturbed_text=perturbed_question, label=-1, original_prediction=-1,
                perturbed_prediction=-1, outcome=outcome, words_changed=changed, words_total=len(words),
                perturbed_word_fraction=changed / len(words) if words else 0.0,
                model_evaluations=predictor.model_evaluations - evaluations_before,
                queries=int(result.perturbed_result.num_queries), details=details,
            )
            outcomes.append(AttackOutcome(record, clean, attacked))
    return outcomes


# --- addsent ----------------------------------------------------------------------------------

# Stand-in entities when the attacked sample has none of the answer's shape.
_FALLBACK_NAMES = {
    1: ("Norway", "Denver", "Oracle", "Kenya", "Ottawa", "Nokia", "Lisbon", "Peru"),
    2: ("Laura Chen", "Peter Hale", "Santa Rosa", "Green Party", "Omar Haddad", "Lake Tahoe"),
    3: ("Maria Elena Lopez", "New Mexico State", "Bank of Norway", "John Paul Hale"),
}
_CONTENT_WORD = re.compile(r"[a-z]{4,}")
_STOPWORDS = {"with", "from", "that", "this", "have", "were", "been", "will", "would", "their", "there", "about", "after",
              "into", "over", "than", "they", "them", "what", "when", "where", "which", "while", "says", "said"}


def answer_shape(text: str) -> tuple[str, int]:
    """The shape a stand-in answer must share: ("number", digits) or ("words", word count)."""
    if any(character.isdigit() for character in text):
        return "number", sum(character.isdigit() for character in text)
    return "words", len(text.split())


def _number_like(text: str, rng: random.Random) -> str:
    """Replace each digit of ``text`` with another random digit (the first one never with 0)."""
    characters = list(text)
    digit_positions = [i for i, character in enumerate(characters) if character.isdigit()]
    for order, position in enumerate(digit_positions):
        choices = [d for d in "0123456789" if d != characters[position] and (order > 0 or d != "0")]
        characters[position] = rng.choice(choices)
    return "".join(characters)


def antonym(word: str) -> str | None:
    """Return the first WordNet antonym of ``word`` (any part of speech), or None."""
    from nltk.corpus import wordnet

    for synset in wordnet.synsets(word):
        for lemma in synset.lemmas():
            for opposite in lemma.antonyms():
                name = opposite.name().replace("_", " ")
                if name.lower() != word.lower():
                    return name
    return None


def distractor_sentences(question: str, golds: Sequence[str], context: str, pool: Sequence[str], *, count: int,
                         seed: int) -> list[tuple[str, str]]:
    """Build up to ``count`` distractor sentences for a cloze ``question``; returns (sentence, stand-in answer) pairs.

    Each sentence is the question with the placeholder filled by a stand-in answer of the gold
    answer's shape (``answer_shape``) and up to two lowercase content words replaced by their
    WordNet antonyms, so it resembles the question but does not state its answer. Stand-ins
    come from ``pool`` (answers of other examples), then from a fixed list of names or, for
    numbers, from the gold number with its digits redrawn; a stand-in that matches a gold
    answer or occurs in ``context`` is never used. All choices come from ``random.Random(seed)``.
    A question without the placeholder gets the stand-in appended after it.
    """
    rng = random.Random(seed)
    shape = answer_shape(golds[0])
    excluded = {gold.lower() for gold in golds}
    choices = [entity for entity in dict.fromkeys(pool) if answer_shape(entity) == shape]
    if shape[0] == "words":
        choices += list(_FALLBACK_NAMES.get(min(shape[1], 3), ()))
    else:
        choices += [_number_like(golds[0], random.Random(f"{seed}:{n}")) for n in range(3 * count)]
    choices = [entity for entity in dict.fromkeys(choices) if entity.lower() not in excluded and entity not in context]
    rng.shuffle(choices)

    words = [match for match in re.finditer(r"\S+", question) if _CONTENT_WORD.fullmatch(match.group())
             and match.group() not in _STOPWORDS and PLACEHOLDER not in match.group()]
    swaps = []
    for match in rng.sample(words, len(words)):
        opposite = antonym(match.group())
        if opposite is not None:
            swaps.append((match.start(), match.end(), opposite))
        if len(swaps) == 2:
            break
    base = question
    for start, end, opposite in sorted(swaps, reverse=True):
        base = f"{base[:start]}{opposite}{base[end:]}"

    sentences = []
    for entity in choices[:count]:
        sentence = base.replace(PLACEHOLDER, entity) if PLACEHOLDER in base else f"{base} {entity}"
        sentence = sentence.strip()
        if not sentence.endswith((".", "!", "?")):
            sentence += "."
        sentences.append((sentence, entity))
    return sentences


def attack_addsent(predictor: SpanPredictor, examples: QAExamples, *, threshold: float, candidates: int, query_budget: int,
                   seed: int, progress: bool, tail_words: int = 30) -> list[AttackOutcome]:
    """Try each example's distractor sentences appended to its context and keep the one with the lowest F1.

    The original context stays a prefix of the attacked context, so gold answer offsets stay
    valid. Up to ``min(candidates, query_budget - 1)`` sentences are tried after the clean
    pair. The record's ``original_text`` is the last ``tail_words`` words of the context and
    its ``perturbed_text`` the same tail followed by the chosen sentence, so a word diff of the
    two shows the addition.
    """
    pool = [answer.text for answers in examples.answers for answer in answers]
    outcomes = []
    for index in tqdm(range(len(examples)), desc="addsent", unit="example", disable=not progress):
        question, context, golds = examples.questions[index], examples.contexts[index], examples.gold_texts(index)
        evaluations_before = predictor.model_evaluations
        clean = predictor([(question, context)])[0]
        clean_f1 = best_f1(clean.text, golds)
        word_starts = [match.start() for match in re.finditer(r"\S+", context)]
        tail = context[word_starts[-tail_words] if len(word_starts) > tail_words else 0 :]
        sentences = []
        if clean_f1 >= threshold:
            sentences = distractor_sentences(question, golds, context, pool, count=min(candidates, query_budget - 1),
                                             seed=seed * 1_000_003 + index)
        predictions = predictor([(question, f"{context} {sentence}") for sentence, _ in sentences])
        scored = [(best_f1(prediction.text, golds), position) for position, prediction in enumerate(predictions)]
        if clean_f1 < threshold:
            outcome, attacked, chosen = "skipped", clean, None
        elif not scored:
            outcome, attacked, chosen = "failed", clean, None
        else:
            _, position = min(scored)
            attacked, chosen = predictions[position], sentences[position]
            outcome = "succeeded" if best_f1(attacked.text, golds) < threshold else "failed"
        details = {
            "question": question,
            "gold_answers": golds,
            "original_prediction": clean.text,
            "perturbed_prediction": attacked.text,
            "original_f1": clean_f1,
            "perturbed_f1": best_f1(attacked.text, golds),
            "appended_sentence": chosen[0] if chosen else None,
            "stand_in_answer": chosen[1] if chosen else None,
        }
        context_words = len(context.split())
        added = len(chosen[0].split()) if chosen and outcome != "skipped" else 0
        record = ExampleRecord(
            index=index, original_text=tail, perturbed_text=f"{tail} {chosen[0]}" if chosen else tail, label=-1,
            original_prediction=-1, perturbed_prediction=-1, outcome=outcome, words_changed=added,
            words_total=context_words, perturbed_word_fraction=added / context_words if context_words else 0.0,
            model_evaluations=predictor.model_evaluations - evaluations_before, queries=1 + len(sentences), details=details,
        )
        outcomes.append(AttackOutcome(record, clean, attacked))
    return outcomes
