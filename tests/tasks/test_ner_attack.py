"""NER attacks: gold entity words never change and word counts hold; attack runs on a tiny tagger give sane records."""

from __future__ import annotations

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.attacks.params import AttackBudget
from harness.registry import UnknownNameError
from harness.tasks.ner import NerTask
from harness.tasks.ner_attack import (
    EntityF1Goal,
    EntitySpanProtection,
    WordTaggerWrapper,
    build_ner_attack,
    word_token_indices,
)
from harness.tasks.ner_data import OUTSIDE
from harness.tasks.ner_metrics import entity_metrics
from tests.tasks.conftest import build_tiny_tagger, synthetic_sentences

CPU = torch.device("cpu")
LABELS = ("O", "B-person", "I-person", "B-place", "I-place")
# Tweet-like words: URLs and mentions hold several TextAttack words, punctuation none.
FIXED_WORDS = ("hello", "running", "quickly", "good", "New", "York", "http://t.co/abc", "@user", "#tag", ".", ",", "can't",
               "e-mail", "I", "a", "RT", ":)", "2010", "big-time", "--", "don't", "o'clock", "x")
words_strategy = st.one_of(st.sampled_from(FIXED_WORDS), st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1,
                                                                    max_size=9))


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def attack_parts(tokenizer):
    """Both attacks around a tiny untrained tagger; only their transformations and constraints are used."""
    model = build_tiny_tagger(tokenizer, len(LABELS)).eval()
    parts = {}
    for name in ("deepwordbug", "pwws"):
        wrapper = WordTaggerWrapper(model, tokenizer, LABELS, batch_size=8, max_length=64, device=CPU)
        goal = EntityF1Goal(wrapper, threshold=0.5)
        protection = EntitySpanProtection()
        parts[name] = (build_ner_attack(name, goal, protection, query_budget=100), protection)
    return parts


@st.composite
def tagged_sentence(draw):
    words = draw(st.lists(words_strategy, min_size=1, max_size=12))
    tags = []
    position = 0
    while position < len(words):
        kind = draw(st.sampled_from(["O", "O", "person", "place"]))
        if kind == "O":
            tags.append(OUTSIDE)
            position += 1
            continue
        length = min(draw(st.integers(1, 3)), len(words) - position)
        tags += [f"B-{kind}"] + [f"I-{kind}"] * (length - 1)
        position += length
    return words, tags


def _candidates(attack, text, original):
    candidates = attack.get_transformations(text, original_text=original)
    return attack.filter_transformations(candidates, text, original)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sentence=tagged_sentence(), name=st.sampled_from(["deepwordbug", "pwws"]), second_step=st.booleans())
def test_attack_never_changes_entity_words(attack_parts, sentence, name, second_step):
    from textattack.shared import AttackedText

    words, tags = sentence
    attack, protection = attack_parts[name]
    attack.clear_cache()
    protection.set_example(tags, None)
    original = AttackedText(" ".join(words))

    candidates = _candidates(attack, original, original)
    if second_step and candidates:
        # A second transformation of a perturbed text, as the greedy search does.
        candidates = _candidates(attack, candidates[0], original)

    for candidate in candidates:
        perturbed = candidate.text.split()
        assert len(perturbed) == len(words)
        assert len(candidate.words) == len(original.words)
        for index, tag in enumerate(tags):
            if tag != OUTSIDE:
                assert perturbed[index] == words[index]


@pytest.mark.parametrize("name", ["deepwordbug", "pwws"])
def test_candidates_change_only_context_words(attack_parts, name):
    from textattack.shared import AttackedText

    words = ["yesterday", "John", "Smith", "walked", "quickly", "to", "Paris", "happily"]
    tags = ["O", "B-person", "I-person", "O", "O", "O", "B-place", "O"]
    attack, protection = attack_parts[name]
    attack.clear_cache()
    protection.set_example(tags, None)
    original = AttackedText(" ".join(words))

    candidates = _candidates(attack, original, original)

    assert len(candidates) >= 3
    changed = set()
    for candidate in candidates:
        changed.update(index for index, word in enumerate(candidate.text.split()) if word != words[index])
    assert changed
    assert changed <= {0, 3, 4, 7}


def test_protection_maps_words_to_tokens():
    from textattack.shared import AttackedText

    text = AttackedText("RT @user : see http://t.co/abc now")

    assert text.words == ["RT", "user", "see", "http", "t", "co", "abc", "now"]
    assert word_token_indices(text) == [0, 1, 3, 4, 4, 4, 4, 5]


def test_protection_respects_window(attack_parts):
    from textattack.shared import AttackedText

    attack, protection = attack_parts["deepwordbug"]
    attack.clear_cache()
    protection.set_example(["O"] * 6, 3)
    text = AttackedText("alpha bravo charlie delta echo foxtrot")

    assert protection(text, attack.transformation) == {0, 1, 2}


def test_unknown_attack_name(attack_parts, tokenizer):
    model = build_tiny_tagger(tokenizer, len(LABELS))
    goal = EntityF1Goal(WordTaggerWrapper(model, tokenizer, LABELS), threshold=0.5)

    with pytest.raises(UnknownNameError, match="pwws"):
        build_ner_attack("textfooler", goal, EntitySpanProtection(), query_budget=10)


@pytest.fixture(scope="module")
def test_sentences():
    return synthetic_sentences(15, offset=1000)


@pytest.mark.parametrize("attack_name", ["deepwordbug", "pwws"])
def test_attack_records_on_tagger(tokenizer, trained_tagger, test_sentences, attack_name):
    task = NerTask(NerTask.Settings(success_threshold=0.9))

    run = task.attack(trained_tagger, tokenizer, attack_name, test_sentences, budget=AttackBudget(query_budget=80),
                      max_length=32, device=CPU, progress=False)

    records = run.records
    assert len(records) == 15
    assert run.summary.attacked == 15
    assert run.summary.succeeded + run.summary.failed + run.summary.skipped == 15
    assert run.summary.succeeded >= 1
    assert run.attacked_clean_metrics["entity_f1"] > 0.9
    assert run.robust_metrics["entity_f1"] < run.attacked_clean_metrics["entity_f1"]
    for record, words, gold in zip(records, test_sentences.tokens, test_sentences.tags):
        details = record.details
        assert record.label == -1
        assert details["words"] == list(words)
        assert details["gold_tags"] == list(gold)
        assert len(details["perturbed_words"]) == len(words)
        assert record.perturbed_text.split() == details["perturbed_words"]
        for index, tag in enumerate(gold):
            if tag != OUTSIDE:
                assert details["perturbed_words"][index] == words[index]
        if record.outcome == "succeeded":
            assert details["perturbed_f1"] < 0.9
            assert record.words_changed >= 1
            assert record.model_evaluations >= 1
        if record.outcome == "failed":
            assert details["perturbed_f1"] >= 0.9
    perturbed = [record.details["perturbed_tags"] for record in records]
    assert run.robust_metrics == entity_metrics(test_sentences.tags, perturbed)


def test_attack_is_repeatable(tokenizer, trained_tagger, test_sentences):
    task = NerTask(NerTask.Settings(success_threshold=0.9))
    options = {"budget": AttackBudget(query_budget=40), "max_length": 32, "device": CPU, "progress": False}

    first = task.attack(trained_tagger, tokenizer, "deepwordbug", test_sentences, **options)
    second = task.attack(trained_tagger, tokenizer, "deepwordbug", test_sentences, **options)

    assert [record.perturbed_text for record in first.records] == [record.perturbed_text for record in second.records]


def test_attack_skips_when_clean_f1_low(tokenizer, test_sentences):
    model = build_tiny_tagger(tokenizer, len(test_sentences.label_names), seed=5).eval()
    task = NerTask()

    run = task.attack(model, tokenizer, "deepwordbug", test_sentences, budget=AttackBudget(query_budget=20), max_length=32,
                      device=CPU, progress=False)

    for record in run.records:
        if record.details["clean_f1"] < 0.5:
            assert record.outcome == "skipped"
            assert record.perturbed_text == record.original_text
    assert run.summary.skipped >= 1


def test_attack_can_skip_sentences_without_entities(tokenizer, trained_tagger, test_sentences):
    task = NerTask(NerTask.Settings(attack_without_entities=False))

    run = task.attack(trained_tagger, tokenizer, "deepwordbug", test_sentences, budget=AttackBudget(query_budget=20),
                      max_length=32, device=CPU, progress=False)

    for record, gold in zip(run.records, test_sentences.tags):
        if all(tag == OUTSIDE for tag in gold):
            assert record.outcome == "skipped"
        else:
            assert record.outcome in ("succeeded", "failed")


def test_describe_example(tokenizer):
    details = {
        "gold_entities": [{"type": "PER", "text": "John Smith", "start": 0, "end": 2}],
        "predicted_entities": [{"type": "PER", "text": "John Smith", "start": 0, "end": 2},
                               {"type": "LOC", "text": "Paris", "start": 3, "end": 4}],
        "perturbed_entities": [],
    }

    description = NerTask().describe_example(details, LABELS)

    assert description.label == "PER: John Smith"
    assert description.original_prediction == "PER: John Smith; LOC: Paris"
    assert description.perturbed_prediction == "(no entities)"


def test_settings_reject_unknown_and_bad_values():
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        NerTask.Settings(threshold=0.5)
    with pytest.raises(ValidationError):
        NerTask.Settings(success_threshold=0.0)
    assert NerTask().settings.success_threshold == 0.5
