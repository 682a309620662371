"""Attack recipes by name, each built with the same query budget.

The names, descriptions and the ``offline`` and ``approximation`` flags are registered in
``harness.catalog.ATTACKS``; this module builds the TextAttack objects.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

from harness.errors import RsbenchError
from harness.registry import UnknownNameError


# Bad Characters: perturbation type of TextAttack's BadCharacters2021 recipe for each name.
_BAD_CHARACTER_TYPES = {
    "bad-characters-invisible": "invisible",
    "bad-characters-reorder": "reorderings",
    "bad-characters-delete": "deletions",
}


def build_attack(
    name: str, model_wrapper: Any, *, query_budget: int, pre_transformation_constraints: Sequence[Any] = ()
) -> Any:
    """Build the attack ``name`` against ``model_wrapper``, limited to ``query_budget`` queries per example.

    ``pre_transformation_constraints`` (TextAttack ``PreTransformationConstraint`` objects)
    are added to the recipe's own, for tasks that must keep some words unchanged. The
    Bad Characters recipes edit characters anywhere in the text without consulting such
    constraints, so they raise ``ValueError`` when any are given.

    Raises ``UnknownNameError`` for a name without a builder and ``RsbenchError`` when a
    recipe needs a download that fails.
    """
    if name not in _BUILDERS:
        raise UnknownNameError("attack", name, sorted(_BUILDERS))
    if query_budget < 1:
        raise ValueError(f"query_budget must be at least 1, got {query_budget}")
    if pre_transformation_constraints and name in _BAD_CHARACTER_TYPES:
        raise ValueError(f"attack {name!r} edits characters anywhere in the text and ignores word constraints")
    attack = _BUILDERS[name](name, model_wrapper)
    if pre_transformation_constraints:
        attack = _with_constraints(attack, pre_transformation_constraints)
    attack.goal_function.query_budget = query_budget
    # The goal function splits its queries into batches of this size before calling the
    # wrapper, so a wrapper with a larger batch size would never see a full batch.
    wrapper_batch_size = getattr(model_wrapper, "batch_size", None)
    if isinstance(wrapper_batch_size, int):
        attack.goal_function.batch_size = wrapper_batch_size
    return attack


def _with_constraints(attack: Any, extra: Sequence[Any]) -> Any:
    """Rebuild ``attack`` with ``extra`` pre-transformation constraints next to its own."""
    from harness.attacks.resources import import_textattack

    textattack = import_textattack()
    constraints = [*attack.pre_transformation_constraints, *extra, *attack.constraints]
    return textattack.Attack(attack.goal_function, constraints, attack.transformation, attack.search_method)


def _stock_recipe(recipe_class_name: str) -> Callable[[str, Any], Any]:
    def build(name: str, model_wrapper: Any) -> Any:
        from harness.attacks.resources import import_textattack, nltk_downloads_disabled

        textattack = import_textattack()
        # PWWS's WordNet swap calls nltk.download("omw-1.4") on every build; English
        # WordNet needs no Open Multilingual Wordnet data.
        with nltk_downloads_disabled():
            return getattr(textattack.attack_recipes, recipe_class_name).build(model_wrapper)

    return build


def _build_bad_characters(name: str, model_wrapper: Any) -> Any:
    from harness.attacks.components import BudgetedDifferentialEvolution
    from harness.attacks.resources import import_textattack

    textattack = import_textattack()
    # The recipe offers targeted goal functions only. This keeps its transformation and
    # differential-evolution settings (1 perturbation, population 32, 10 generations)
    # and attacks untargeted, like every other attack here.
    recipe = textattack.attack_recipes.BadCharacters2021.build(
        model_wrapper,
        goal_function_type="targeted_classification",
        perturbation_type=_BAD_CHARACTER_TYPES[name],
    )
    search = recipe.search_method
    search_method = BudgetedDifferentialEvolution(
        popsize=search.popsize, maxiter=search.maxiter, verbose=False, max_perturbs=search.max_perturbs
    )
    goal_function = textattack.goal_functions.UntargetedClassification(model_wrapper)
    return textattack.Attack(goal_function, [], recipe.transformation, search_method)


def _build_textfooler_offline(name: str, model_wrapper: Any) -> Any:
    from harness.attacks.components import PackagedUniversalSentenceEncoder, WordNetPartOfSpeech
    from harness.attacks.resources import glove_embedding, import_textattack

    textattack = import_textattack()
    from textattack.constraints.pre_transformation import (
        InputColumnModification,
        RepeatModification,
        StopwordModification,
    )
    from textattack.constraints.semantics import WordEmbeddingDistance

    # TextFooler's settings: 50 embedding neighbours with cosine similarity >= 0.5, a
    # sentence encoder over a 15-word window with angular similarity >= 0.840845057,
    # deletion-based word importance. Stopwords come from the NLTK folder prepared by
    # harness.attacks.resources; the published recipe uses a longer list of its own.
    embedding = glove_embedding()
    constraints = [
        RepeatModification(),
        StopwordModification(),
        InputColumnModification(["premise", "hypothesis"], {"premise"}),
        WordEmbeddingDistance(embedding=embedding, min_cos_sim=0.5),
        WordNetPartOfSpeech(allow_verb_noun_swap=True),
        PackagedUniversalSentenceEncoder(
            threshold=0.840845057,
            metric="angular",
            compare_against_original=False,
            window_size=15,
            skip_text_shorter_than_window=True,
        ),
    ]
    transformation = textattack.transformations.WordSwapEmbedding(max_candidates=50, embedding=embedding)
    goal_function = textattack.goal_functions.UntargetedClassification(model_wrapper)
    search_method = textattack.search_methods.GreedyWordSwapWIR(wir_method="delete")
    return textattack.Attack(goal_function, constraints, transformation, search_method)


def _build_textfooler(name: str, model_wrapper: Any) -> Any:
    from harness.attacks.resources import import_textattack

    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
        raise RsbenchError(
            "attack 'textfooler' downloads counter-fitted word vectors from TextAttack's S3 bucket, "
            "which HF_HUB_OFFLINE=1 rules out; use 'textfooler-offline' or unset HF_HUB_OFFLINE."
        )
    textattack = import_textattack()
    try:
        return textattack.attack_recipes.TextFoolerJin2019.build(model_wrapper)
    except Exception as error:  # TextAttack raises bare Exception when a download fails
        raise RsbenchError(
            f"attack 'textfooler' could not be built ({type(error).__name__}: {error}). The stock recipe "
            "downloads counter-fitted word vectors and needs tensorflow_hub; without internet access "
            "use 'textfooler-offline'."
        ) from error


def _build_a2t_fast(name: str, model_wrapper: Any) -> Any:
    from harness.attacks.resources import glove_embedding, import_textattack

    textattack = import_textattack()
    from textattack.constraints.pre_transformation import MaxModificationRate
    from textattack.constraints.pre_transformation import RepeatModification, StopwordModification
    from textattack.constraints.semantics import WordEmbeddingDistance

    # A2T (Yoo and Qi 2021) with its constraints kept where they are cheap: at most 10%
    # of the words (at least 4) changed, embedding cosine similarity >= 0.8. The
    # sentence-encoder and part-of-speech checks are left out and word importance comes
    # from deleting each word instead of gradients, so the attack needs no backward pass.
    embedding = glove_embedding()
    constraints = [
        RepeatModification(),
        StopwordModification(),
        MaxModificationRate(max_rate=0.1, min_threshold=4),
        WordEmbeddingDistance(embedding=embedding, min_cos_sim=0.8),
    ]
    transformation = textattack.transformations.WordSwapEmbedding(max_candidates=10, embedding=embedding)
    goal_function = textattack.goal_functions.UntargetedClassification(model_wrapper)
    search_method = textattack.search_methods.GreedyWordSwapWIR(wir_method="delete")
    return textattack.Attack(goal_function, constraints, transformation, search_method)


_BUILDERS: dict[str, Callable[[str, Any], Any]] = {
    "deepwordbug": _stock_recipe("DeepWordBugGao2018"),
    "pruthi": _stock_recipe("Pruthi2019"),
    "pwws": _stock_recipe("PWWSRen2019"),
    "bad-characters-invisible": _build_bad_characters,
    "bad-characters-reorder": _build_bad_characters,
    "bad-characters-delete": _build_bad_characters,
    "textfooler-offline": _build_textfooler_offline,
    "textfooler": _build_textfooler,
    "a2t-fast": _build_a2t_fast,
}
