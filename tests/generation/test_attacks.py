"""Attacks on text-to-text callables: counts, outcomes, query budget, parity with TextAttack's Attacker."""

from __future__ import annotations

import datetime as dt
import os

import pytest

for _name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
    os.environ.setdefault(_name, "1")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from harness.attacks.runner import seeded_generators  # noqa: E402
from harness.generation.attacks import (  # noqa: E402
    ATTACK_NAMES,
    GenerationModelWrapper,
    attack_generation,
    build_generation_attack,
    output_bleu,
    protected_stopwords,
)
from harness.generation.examples import TextPairs  # noqa: E402
from harness.registry import UnknownNameError  # noqa: E402

SOURCES = (
    "The young doctor visited her sick patient early this morning",
    "A small child reads an interesting book in the quiet library",
    "Heavy rain flooded the narrow streets of the old town",
)


def pairs(sources, targets=None) -> TextPairs:
    targets = targets if targets is not None else tuple(f"target {i}" for i in range(len(sources)))
    count = len(sources)
    return TextPairs(tuple(sources), tuple(targets), tuple(f"g{i}" for i in range(count)),
                     tuple(f"line {i}" for i in range(count)))


class CountingModel:
    """A deterministic text-to-text model that records every call: ``transform(source) -> output``."""

    def __init__(self, transform):
        self.transform = transform
        self.calls = 0
        self.texts = 0
        self.seen: list[str] = []

    def __call__(self, sources: list[str]) -> list[str]:
        self.calls += 1
        self.texts += len(sources)
        self.seen += sources
        return [self.transform(source) for source in sources]


def echo(source: str) -> str:
    return source


def reverse_words(source: str) -> str:
    return " ".join(reversed(source.split()))


# --- wrapper ----------------------------------------------------------------------------------


def test_wrapper_merges_duplicates_and_caches():
    model = CountingModel(reverse_words)
    wrapper = GenerationModelWrapper(model)

    assert wrapper(["a b", "c d", "a b"]) == ["b a", "d c", "b a"]
    assert wrapper(["c d", "e f"]) == ["d c", "f e"]

    assert model.seen == ["a b", "c d", "e f"]
    assert wrapper.model_evaluations == 3
    assert wrapper.generate_calls == 2
    assert wrapper.cache_hits == 2


def test_wrapper_without_cache_sends_repeats():
    model = CountingModel(reverse_words)
    wrapper = GenerationModelWrapper(model, cache=False)

    wrapper(["a b", "a b"])
    wrapper(["a b"])

    assert model.seen == ["a b", "a b"]
    assert wrapper.model_evaluations == 2
    assert wrapper.cache_hits == 1


def test_wrapper_rejects_wrong_output_count():
    wrapper = GenerationModelWrapper(lambda sources: ["only one"])

    with pytest.raises(ValueError, match="2 sources"):
        wrapper(["a", "b"])


# --- outcomes and counts ----------------------------------------------------------------------


@pytest.mark.parametrize("cache", [True, False])
@pytest.mark.parametrize("attack_name", ATTACK_NAMES)
def test_record_counts_match_model(attack_name, cache):
    model = CountingModel(reverse_words)

    outcomes = attack_generation(model, pairs(SOURCES), attack_name=attack_name, query_budget=30, max_words_changed=2,
                                 target_bleu=0.3, cache=cache)

    assert sum(outcome.record.model_evaluations for outcome in outcomes) == model.texts
    for outcome in outcomes:
        record = outcome.record
        assert 1 <= record.model_evaluations <= record.queries <= 30
        assert outcome.clean_output == reverse_words(record.original_text)
        assert outcome.attacked_output == reverse_words(record.perturbed_text)
        assert record.details["original_output"] == outcome.clean_output
        assert record.details["perturbed_output"] == outcome.attacked_output
        assert record.details["perturbed_source"] == record.perturbed_text


def test_bleu_attack_succeeds_on_echo_model():
    outcomes = attack_generation(CountingModel(echo), pairs(SOURCES), attack_name="seq2seq-chars", query_budget=100,
                                 max_words_changed=3, target_bleu=0.5)

    for outcome in outcomes:
        record = outcome.record
        assert record.outcome == "succeeded"
        assert output_bleu(outcome.attacked_output, outcome.clean_output) <= 0.5
        assert 1 <= record.words_changed <= 3
        assert record.words_total == len(record.original_text.split())
        assert record.perturbed_word_fraction == record.words_changed / record.words_total
        assert record.perturbed_text != record.original_text
        assert (record.label, record.original_prediction, record.perturbed_prediction) == (-1, -1, -1)
        assert record.details["source"] == record.original_text


def test_constant_model_fails():
    model = CountingModel(lambda source: "the same reply every time")

    outcomes = attack_generation(model, pairs(SOURCES[:1]), attack_name="seq2seq-wordnet", query_budget=40,
                                 max_words_changed=2, target_bleu=0.5)

    record = outcomes[0].record
    assert record.outcome == "failed"
    assert outcomes[0].attacked_output == "the same reply every time"
    assert record.queries == 40


def test_empty_clean_output_is_skipped():
    model = CountingModel(lambda source: "" if "rain" in source else source)

    outcomes = attack_generation(model, pairs(SOURCES), attack_name="nonoverlap-wordnet", query_budget=20,
                                 max_words_changed=2)

    skipped = outcomes[2].record
    assert skipped.outcome == "skipped"
    assert (skipped.queries, skipped.model_evaluations, skipped.words_changed) == (1, 1, 0)
    assert skipped.perturbed_text == SOURCES[2]
    assert outcomes[2].attacked_output == ""
    assert [outcome.record.outcome for outcome in outcomes[:2]] != ["skipped", "skipped"]


@pytest.mark.parametrize("attack_name", ["seq2seq-wordnet", "nonoverlap-wordnet"])
def test_empty_clean_output_skipped_by_both_goals(attack_name):
    outcomes = attack_generation(CountingModel(lambda source: ""), pairs(SOURCES[:1]), attack_name=attack_name,
                                 query_budget=20, max_words_changed=2)

    assert outcomes[0].record.outcome == "skipped"


def test_nonoverlap_succeeds_when_keyword_changes():
    model = CountingModel(lambda source: "alpha beta gamma" if "cat" in source.split() else "one two three four")
    sources = ("the old cat slept on the warm sofa",)

    outcomes = attack_generation(model, pairs(sources), attack_name="nonoverlap-wordnet", query_budget=60,
                                 max_words_changed=1)

    record = outcomes[0].record
    assert record.outcome == "succeeded"
    assert outcomes[0].attacked_output == "one two three four"
    assert "cat" not in record.perturbed_text.split()
    assert record.words_changed == 1


def test_reference_goal_compares_with_target():
    # The echo model's output equals the source, which shares no word with these targets.
    targets = tuple("zzz qqq" for _ in SOURCES)

    outcomes = attack_generation(CountingModel(echo), pairs(SOURCES, targets), attack_name="seq2seq-chars",
                                 goal="reference", query_budget=20, max_words_changed=2, target_bleu=0.1)

    assert [outcome.record.outcome for outcome in outcomes] == ["skipped"] * len(SOURCES)


def test_reference_goal_attacks_matching_output():
    outcomes = attack_generation(CountingModel(echo), pairs(SOURCES, SOURCES), attack_name="seq2seq-chars",
                                 goal="reference", query_budget=100, max_words_changed=3, target_bleu=0.5)

    assert [outcome.record.outcome for outcome in outcomes] == ["succeeded"] * len(SOURCES)


@pytest.mark.parametrize("budget", [1, 3, 7])
@pytest.mark.parametrize("attack_name", ATTACK_NAMES)
def test_query_budget_respected(attack_name, budget):
    model = CountingModel(lambda source: "fixed words here")

    outcomes = attack_generation(model, pairs(SOURCES), attack_name=attack_name, query_budget=budget,
                                 max_words_changed=3, target_bleu=0.2)

    for outcome in outcomes:
        assert outcome.record.queries <= budget
        assert outcome.record.model_evaluations <= budget
    assert model.texts <= budget * len(SOURCES)
    assert max(outcome.record.queries for outcome in outcomes) == budget


def test_candidates_go_to_generate_together():
    calls = []

    def record(sources):
        calls.append(list(sources))
        return list(sources)

    outcomes = attack_generation(record, pairs(SOURCES[:1]), attack_name="seq2seq-wordnet", query_budget=200,
                                 max_words_changed=1, target_bleu=0.0)

    assert calls[0] == [SOURCES[0]]
    # One leave-one-out deletion per word that is not a stopword (The, her, this).
    assert len(calls[1]) == 7
    assert sum(len(batch) for batch in calls) == outcomes[0].record.model_evaluations


def test_invalid_arguments_rejected():
    model = CountingModel(echo)
    data = pairs(SOURCES[:1])

    with pytest.raises(UnknownNameError, match="seq2seq-chars"):
        attack_generation(model, data, attack_name="seq2seq-char", query_budget=5, max_words_changed=1)
    with pytest.raises(ValueError, match="goal"):
        attack_generation(model, data, attack_name="seq2seq-chars", goal="gold", query_budget=5, max_words_changed=1)
    with pytest.raises(ValueError, match="query_budget"):
        attack_generation(model, data, attack_name="seq2seq-chars", query_budget=0, max_words_changed=1)
    with pytest.raises(ValueError, match="target_bleu"):
        attack_generation(model, data, attack_name="seq2seq-chars", query_budget=5, max_words_changed=1, target_bleu=30)
    for bad in (0, -1, 2.5, float("nan"), "3"):
        with pytest.raises(ValueError, match="max_words_changed"):
            attack_generation(model, data, attack_name="seq2seq-chars", query_budget=5, max_words_changed=bad)


def test_fraction_cap_rounds_up():
    outcomes = attack_generation(CountingModel(echo), pairs(SOURCES[:1]), attack_name="seq2seq-chars", query_budget=200,
                                 max_words_changed=0.15, target_bleu=0.0)

    # 0.15 of 10 words rounds up to 2 words.
    assert outcomes[0].record.words_total == 10
    assert outcomes[0].record.words_changed == 2


def test_output_bleu_scores_short_outputs():
    assert output_bleu("a b c", "a b c") == pytest.approx(1.0)
    assert output_bleu("", "") == 0.0
    assert 0.0 < output_bleu("the cat sat on a rug", "the cat sat on the mat") < 1.0


# --- parity with TextAttack's own loop --------------------------------------------------------


def _attacker_results(attack, data: TextPairs, query_budget: int):
    import textattack

    dataset = textattack.datasets.Dataset(list(zip(data.sources, data.targets)))
    arguments = textattack.AttackArgs(num_examples=len(data), query_budget=query_budget, silent=True,
                                      disable_stdout=True, random_seed=765)
    return textattack.Attacker(attack, dataset, arguments).attack_dataset()


def _result_summary(result):
    from harness.attacks.runner import result_outcome

    perturbed = result.perturbed_result
    return result_outcome(result, 0), perturbed.attacked_text.text, perturbed.raw_output, perturbed.num_queries


@pytest.mark.parametrize("attack_name", ATTACK_NAMES)
def test_parity_with_textattack_attacker(attack_name):
    model = CountingModel(reverse_words)
    data = pairs((*SOURCES, "Tall green trees grow slowly beside the lake"))
    attack_settings = dict(query_budget=25, max_words_changed=2, target_bleu=0.4)

    ours = attack_generation(model, data, attack_name=attack_name, **attack_settings)
    attack = build_generation_attack(attack_name, GenerationModelWrapper(CountingModel(reverse_words)), **attack_settings)
    theirs = [_result_summary(result) for result in _attacker_results(attack, data, attack_settings["query_budget"])]

    ours_summary = [(o.record.outcome, o.record.perturbed_text, o.attacked_output, o.record.queries) for o in ours]
    # A skipped result's perturbed text is the source, as in our records.
    assert ours_summary == theirs
    assert {outcome for outcome, *_ in theirs} - {"skipped"}


def test_nonoverlap_parity_with_stock_goal_function():
    """Stock ``NonOverlappingOutput`` given the clean output as ground truth gives the same results."""
    import textattack
    from textattack.constraints.pre_transformation import RepeatModification, StopwordModification
    from textattack.goal_functions import NonOverlappingOutput
    from textattack.transformations import WordSwapWordNet

    from harness.attacks.resources import nltk_downloads_disabled
    from harness.generation.attacks import words_cap_constraint

    def keyword_model(source: str) -> str:
        return "alpha beta" if "old" in source.split() else reverse_words(source)

    data = pairs(("the old cat slept on the warm sofa", *SOURCES))
    ours = attack_generation(CountingModel(keyword_model), data, attack_name="nonoverlap-wordnet", query_budget=40,
                             max_words_changed=2)

    wrapper = GenerationModelWrapper(CountingModel(keyword_model))
    goal = NonOverlappingOutput(wrapper, query_budget=40, model_batch_size=40)
    with nltk_downloads_disabled():
        transformation = WordSwapWordNet()
    constraints = [RepeatModification(), StopwordModification(stopwords=protected_stopwords()), words_cap_constraint(2)]
    attack = textattack.Attack(goal, constraints, transformation,
                               textattack.search_methods.GreedyWordSwapWIR(wir_method="delete"))
    clean_outputs = wrapper(list(data.sources))
    theirs = []
    with seeded_generators():
        for source, clean in zip(data.sources, clean_outputs):
            theirs.append(_result_summary(attack.attack(source, clean)))

    assert [(o.record.outcome, o.record.perturbed_text, o.attacked_output, o.record.queries) for o in ours] == theirs
    assert theirs[0][0] == "succeeded"


# --- transformations keep stopwords and the word cap ------------------------------------------

CONTENT_WORDS = ("doctor", "house", "quick", "river", "happy", "table", "write", "music", "garden", "strong", "light",
                 "small", "travel", "city", "dog")
STOP_WORDS = ("the", "The", "and", "of", "a", "to", "is", "in", "over", "was", "It", "very")


@settings(max_examples=25, deadline=dt.timedelta(seconds=30), suppress_health_check=[HealthCheck.too_slow])
@given(
    words=st.lists(st.sampled_from(CONTENT_WORDS + STOP_WORDS), min_size=3, max_size=12),
    attack_name=st.sampled_from(ATTACK_NAMES),
    cap=st.integers(min_value=1, max_value=3),
)
def test_attacks_keep_stopwords_and_cap(words, attack_name, cap):
    source = " ".join(words)

    outcome = attack_generation(CountingModel(echo), pairs((source,)), attack_name=attack_name, query_budget=60,
                                max_words_changed=cap, target_bleu=0.0)[0]

    perturbed = outcome.record.perturbed_text.split()
    assert len(perturbed) == len(words)
    changed = [i for i, (old, new) in enumerate(zip(words, perturbed)) if old != new]
    assert len(changed) <= cap
    assert len(changed) == outcome.record.words_changed
    stopwords = protected_stopwords()
    assert not [words[i] for i in changed if words[i] in stopwords or words[i].lower() in stopwords]


# --- a real generate call ---------------------------------------------------------------------


def test_tiny_llama_attack_counts():
    from tests.generation.tiny_llama import tiny_llama_generator

    generate = tiny_llama_generator(cache=False)
    data = pairs(SOURCES[:2])

    outcomes = attack_generation(generate, data, attack_name="seq2seq-chars", query_budget=12, max_words_changed=2,
                                 target_bleu=0.5, cache=True)

    assert generate.generated_sources == sum(outcome.record.model_evaluations for outcome in outcomes)
    for outcome in outcomes:
        record = outcome.record
        assert record.queries <= 12
        assert outcome.clean_output == generate([record.original_text])[0]
        assert outcome.attacked_output == generate([record.perturbed_text])[0]
        assert record.outcome in ("succeeded", "failed")
        if record.outcome == "succeeded":
            assert output_bleu(outcome.attacked_output, outcome.clean_output) <= 0.5
