"""Relation-extraction attacks: mentions survive every candidate, records and metrics on a tiny model."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.attacks.params import AttackBudget
from harness.attacks.protected_spans import EntityMentionsUnchanged, word_offsets
from harness.attacks.recipes import build_attack
from harness.attacks.resources import import_textattack
from harness.errors import RsbenchError
from harness.tasks.relation_extraction import HEADLINE, RelationExtractionTask
from harness.tasks.relation_mentions import MarkerError, find_mentions
from tests.tasks.relation_fixtures import generated_splits, tiny_relation_model, train_briefly

textattack = import_textattack()

from textattack.shared import AttackedText  # noqa: E402

CPU = torch.device("cpu")


class ConstantWrapper(textattack.models.wrappers.ModelWrapper):
    """A model that gives every text the same two logits: the goal function needs one, the candidates do not."""

    def __init__(self):
        self.model = None

    def __call__(self, texts):
        return np.tile(np.array([[0.2, 0.8]], dtype=np.float32), (len(texts), 1))


VOCABULARY = ("the", "dog", "runs", "quickly", "big", "house", "good", "car", "green", "river", "happy", "city",
              "old", "book", "well-known", "don't", "teacher", "wrote", "bright", "window", "e1", "e2", "x")
PUNCTUATION = ("", "", "", ",", ".", "!", "'", ";", "?")


@st.composite
def marked_sentences(draw):
    """A sentence of common words and punctuation with two marked mentions at random word spans.

    Markers are separate tokens, and each gap between tokens is a space or nothing, so
    markers are glued to their neighbours in some sentences and surrounded by spaces in others.
    """
    size = draw(st.integers(min_value=2, max_value=12))
    words = [draw(st.sampled_from(VOCABULARY)) + draw(st.sampled_from(PUNCTUATION)) for _ in range(size)]
    first_start = draw(st.integers(0, size - 2))
    first_end = draw(st.integers(first_start, size - 2))
    second_start = draw(st.integers(first_end + 1, size - 1))
    second_end = draw(st.integers(second_start, size - 1))
    names = ("e2", "e1") if draw(st.booleans()) else ("e1", "e2")
    tokens = []
    for index, word in enumerate(words):
        if index == first_start:
            tokens.append(f"<{names[0]}>")
        if index == second_start:
            tokens.append(f"<{names[1]}>")
        tokens.append(word)
        if index == first_end:
            tokens.append(f"</{names[0]}>")
        if index == second_end:
            tokens.append(f"</{names[1]}>")
    gaps = draw(st.lists(st.sampled_from((" ", "")), min_size=len(tokens) - 1, max_size=len(tokens) - 1))
    return tokens[0] + "".join(gap + token for gap, token in zip(gaps, tokens[1:]))


def _attack_for(name: str):
    return build_attack(name, ConstantWrapper(), query_budget=50, pre_transformation_constraints=[EntityMentionsUnchanged()])


@pytest.fixture(scope="module")
def attacks():
    return {name: _attack_for(name) for name in ("deepwordbug", "pwws", "pruthi")}


def _assert_candidates_keep_mentions(attack, text: str) -> int:
    original = find_mentions(text).marked(text)
    current = AttackedText(text)
    candidates = attack.get_transformations(current, original_text=current)
    for candidate in candidates:
        assert find_mentions(candidate.text).marked(candidate.text) == original, (text, candidate.text)
    # A second step starts from a perturbed text, as greedy searches do.
    for candidate in candidates[:3]:
        for again in attack.get_transformations(candidate, original_text=current):
            assert find_mentions(again.text).marked(again.text) == original, (text, again.text)
    return len(candidates)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=marked_sentences())
@pytest.mark.parametrize("name", ["deepwordbug", "pwws", "pruthi"])
def test_candidates_keep_mentions_byte_identical(attacks, name, text):
    find_mentions(text)  # the strategy must build valid texts
    _assert_candidates_keep_mentions(attacks[name], text)


def test_words_outside_mentions_do_change(attacks):
    text = "The teacher quickly wrote <e1>dog</e1> near the big <e2>house</e2> yesterday."

    candidates = attacks["deepwordbug"].get_transformations(AttackedText(text), original_text=AttackedText(text))

    changed = {word for candidate in candidates for word in candidate.words} - set(AttackedText(text).words)
    assert candidates
    assert changed
    assert all(find_mentions(candidate.text).marked(candidate.text) == ("<e1>dog</e1>", "<e2>house</e2>")
               for candidate in candidates)


def test_constraint_protects_marker_words():
    text = AttackedText("A <e1>big dog</e1>, then x<e2>house</e2>y.")

    modifiable = EntityMentionsUnchanged()._get_modifiable_indices(text)

    assert text.words == ["A", "e1", "big", "dog", "e1", "then", "x", "e2", "house", "e2", "y"]
    # "x" and "y" touch the markers but lie outside them, so they may change.
    assert modifiable == {0, 5, 6, 10}


def test_constraint_allows_nothing_without_markers():
    text = AttackedText("A <e1>big dog</e1> and no second mention.")

    assert EntityMentionsUnchanged()._get_modifiable_indices(text) == set()


def test_word_offsets_follow_words():
    text = "x<e1>ab</e1> ab."
    words = AttackedText(text).words

    assert [text[start:end] for start, end in word_offsets(text, words)] == words


def test_bad_characters_reject_constraints():
    with pytest.raises(ValueError, match="ignores word constraints"):
        build_attack("bad-characters-delete", ConstantWrapper(), query_budget=10,
                     pre_transformation_constraints=[EntityMentionsUnchanged()])


# --- evaluate and attack on a tiny model ---------------------------------------


@pytest.fixture(scope="module")
def trained(request):
    monkeypatch = pytest.MonkeyPatch()
    request.addfinalizer(monkeypatch.undo)
    torch.set_num_threads(1)
    splits = generated_splits(monkeypatch)
    model, tokenizer = tiny_relation_model(seed=0)
    train_briefly(model, tokenizer, splits.train, steps=40)
    return splits, model, tokenizer


def test_prepare_model_adds_marker_tokens(trained):
    _, model, tokenizer = trained

    tokens = tokenizer.tokenize("The <e1>dog</e1> is an <e2>animal</e2>.")

    assert tokens == ["the", "<e1>", "dog", "</e1>", "is", "an", "<e2>", "animal", "</e2>", "."]
    assert model.get_input_embeddings().num_embeddings == len(tokenizer)
    assert len(tokenizer) == tokenizer.vocab_size + 4


def test_checkpoint_keeps_markers(trained, tmp_path):
    from harness.models import load_checkpoint, save_checkpoint

    _, model, tokenizer = trained
    save_checkpoint(model, tokenizer, tmp_path / "checkpoint")

    _, reloaded = load_checkpoint(tmp_path / "checkpoint")

    assert reloaded.tokenize("<e1>dog</e1>") == ["<e1>", "dog", "</e1>"]


def test_evaluate_returns_headline(trained):
    splits, model, tokenizer = trained
    task = RelationExtractionTask()

    evaluation = task.evaluate(model, tokenizer, splits.train, batch_size=16, max_length=64, device=CPU, progress=False)

    assert set(evaluation.metrics) == {"accuracy", HEADLINE}
    # 40 full-batch steps fit the 96 training sentences well beyond chance (1/6).
    assert evaluation.metrics["accuracy"] > 0.5
    assert 0.0 <= evaluation.metrics[HEADLINE] <= 1.0
    assert evaluation.examples_per_second > 0


@pytest.mark.parametrize("name", ["deepwordbug", "pwws"])
def test_attack_records_are_consistent(trained, name):
    splits, model, tokenizer = trained
    task = RelationExtractionTask()
    examples = splits.train.subset(list(range(12)))

    run = task.attack(model, tokenizer, name, examples, budget=AttackBudget(query_budget=80, batch_size=16),
                      max_length=64, device=CPU, progress=False)

    summary = run.summary
    assert len(run.records) == 12
    assert summary.attacked == 12
    assert summary.succeeded + summary.failed + summary.skipped == 12
    assert summary.succeeded + summary.failed > 0
    for record, text in zip(run.records, examples.texts):
        mentions = find_mentions(text)
        assert record.details["e1"] == mentions.e1
        assert record.details["e2"] == mentions.e2
        assert record.details["gold"] == examples.label_names[record.label]
        assert record.details["perturbed_prediction"] == examples.label_names[record.perturbed_prediction]
        assert find_mentions(record.perturbed_text).marked(record.perturbed_text) == mentions.marked(text)
        if record.outcome == "succeeded":
            assert record.perturbed_prediction != record.label
            assert record.perturbed_text != record.original_text
        if record.outcome == "skipped":
            assert record.original_prediction != record.label
    assert run.robust_metrics["accuracy"] == pytest.approx(summary.robust_accuracy)
    assert run.attacked_clean_metrics["accuracy"] == pytest.approx((12 - summary.skipped) / 12)
    assert run.robust_metrics[HEADLINE] <= run.attacked_clean_metrics[HEADLINE] + 1e-9


def test_unsupported_attack_is_rejected(trained):
    splits, model, tokenizer = trained

    with pytest.raises(RsbenchError, match="not available for relation extraction"):
        RelationExtractionTask().attack(model, tokenizer, "bad-characters-delete", splits.test.subset([0]),
                                        budget=AttackBudget(), max_length=64, device=CPU, progress=False)


def test_registry_lists_task():
    from harness import catalog

    entry = catalog.TASKS.entry("relation-extraction")

    assert entry.meta("headline") == HEADLINE
    assert "deepwordbug" in entry.meta("attacks")
    assert "pwws" in entry.meta("attacks")
    assert not any(name.startswith("bad-characters") for name in entry.meta("attacks"))
    assert "adv-a2t" in entry.meta("variants")


def test_marker_error_for_broken_text():
    with pytest.raises(MarkerError):
        find_mentions("no markers")


@pytest.mark.slow
@pytest.mark.parametrize("name", ["a2t-fast", "textfooler-offline"])
def test_embedding_swaps_keep_mentions(name):
    # Slow: both need the GloVe neighbour table (minutes to build on a fresh cache), and
    # textfooler-offline loads the sentence encoder (about 30 s).
    attack = _attack_for(name)
    text = "The teacher quickly wrote <e1>good dog</e1> near the big <e2>house</e2> yesterday."

    candidates = _assert_candidates_keep_mentions(attack, text)

    assert candidates > 0
