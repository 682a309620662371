"""QA attacks: protected spans (property tests), outcomes against a rule-based reader, records on a tiny model."""

from __future__ import annotations

import functools
import re

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.attacks.params import AttackBudget
from harness.tasks import qa_attacks
from harness.tasks.extractive_qa import ExtractiveQATask
from harness.tasks.qa_data import PLACEHOLDER
from harness.tasks.qa_model import SpanPrediction, SpanPredictor
from tests.tasks.qa_fixtures import cloze_data, tiny_qa_model
from tests.tiny_models import minilm_folder

CPU = torch.device("cpu")


class RuleReader(SpanPredictor):
    """Answers with the name after the last "won by" of the context while the question keeps the word "Race".

    ("won" itself is an NLTK stopword, which the recipes never edit.)
    """

    def __init__(self, model, tokenizer):
        super().__init__(model, tokenizer, max_length=64, stride=16, max_answer_tokens=30, batch_size=8, device=CPU)
        self.seen: list[tuple[str, str]] = []

    def _predict(self, pairs):
        self.seen += pairs
        predictions = []
        for question, context in pairs:
            matches = list(re.finditer(r"won by (\w+)", context))
            if re.search(r"\bRace\b", question) and matches:
                match = matches[-1]
                predictions.append(SpanPrediction(match.group(1), match.start(1), match.end(1), 5.0, 0.9))
            else:
                predictions.append(SpanPrediction("", 0, 0, 0.0, 0.1))
        return predictions


@functools.cache
def _tokenizer():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(minilm_folder())


@functools.cache
def _question_attack(name):
    tokenizer = _tokenizer()
    reader = RuleReader(tiny_qa_model(tokenizer), tokenizer)
    return qa_attacks.build_question_attack(name, reader, threshold=0.5, query_budget=500, batch_size=8)


_WORD = st.sampled_from(["storm", "hits", "happy", "good", "city", "mayor", "wins", "vote", "after", "the", "Lisbon", "2017",
                         "large", "open", "fast", "beautiful", "old"])


@pytest.mark.slow
@pytest.mark.parametrize("name", ["deepwordbug", "pwws"])
@given(words=st.lists(_WORD, min_size=1, max_size=8), position=st.integers(0, 8))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_question_attack_never_edits_placeholder(name, words, position):
    from textattack.shared import AttackedText

    attack = _question_attack(name)
    words = list(words)
    words.insert(min(position, len(words)), PLACEHOLDER)
    question = " ".join(words)
    text = AttackedText(question)
    candidates = attack.get_transformations(text, original_text=text)
    for candidate in candidates:
        assert candidate.text.count(PLACEHOLDER) == 1
        changed = candidate.attack_attrs["newly_modified_indices"]
        assert all(candidate.words[index] != "placeholder" and text.words[index] != "placeholder" for index in changed)
    # Only the question is an attacked text: the context is never part of what the search edits.
    assert text.column_labels == ["text"]


@given(
    before=st.text(alphabet="abcdefgh XYZ.,", max_size=60),
    answer=st.sampled_from(["Alice", "Bruno Diaz", "2017", "1,200", "New York City"]),
    after=st.text(alphabet="abcdefgh XYZ.,", max_size=60),
    question_words=st.lists(st.sampled_from(["storm", "happy", "large", "open", "wins", "in", "old"]), min_size=2, max_size=6),
    seed=st.integers(0, 10_000),
)
@settings(max_examples=60, deadline=None)
def test_addsent_keeps_context_prefix_and_answer(before, answer, after, question_words, seed):
    context = f"{before} {answer} {after}"
    start = len(before) + 1
    question = " ".join([*question_words, PLACEHOLDER])
    pool = ["Omar", "Lena Park", "1999", "Rio", "88"]
    sentences = qa_attacks.distractor_sentences(question, [answer], context, pool, count=3, seed=seed)
    assert sentences
    for sentence, stand_in in sentences:
        attacked = f"{context} {sentence}"
        assert attacked.startswith(context)
        assert attacked[start : start + len(answer)] == answer
        assert PLACEHOLDER not in sentence
        assert stand_in in sentence
        assert stand_in.lower() != answer.lower()
        assert qa_attacks.answer_shape(stand_in)[0] == qa_attacks.answer_shape(answer)[0]


def test_distractor_swaps_antonyms_deterministically():
    question = f"Happy voters open the polls in {PLACEHOLDER}"
    first = qa_attacks.distractor_sentences(question, ["Lisbon"], "context", ["Oslo", "Rome"], count=2, seed=3)
    again = qa_attacks.distractor_sentences(question, ["Lisbon"], "context", ["Oslo", "Rome"], count=2, seed=3)
    assert first == again
    sentence = first[0][0]
    assert "unhappy" in sentence or "close" in sentence or "shut" in sentence
    assert sentence.endswith(".")


@pytest.mark.slow
@pytest.mark.parametrize("name", ["deepwordbug", "pwws"])
def test_question_attack_succeeds_on_rule_reader(tokenizer, name):
    reader = RuleReader(tiny_qa_model(tokenizer), tokenizer)
    attack = qa_attacks.build_question_attack(name, reader, threshold=0.5, query_budget=200, batch_size=8)
    data = cloze_data(3)
    outcomes = qa_attacks.attack_questions(attack, data, attack_name=name, progress=False)
    contexts = set(data.contexts)
    assert {context for _, context in reader.seen} <= contexts
    for index, outcome in enumerate(outcomes):
        record = outcome.record
        assert record.outcome == "succeeded"
        assert record.label == record.original_prediction == record.perturbed_prediction == -1
        assert outcome.clean.text == data.gold_texts(index)[0]
        assert outcome.attacked.text == ""
        assert PLACEHOLDER in record.perturbed_text
        assert not re.search(r"\bRace\b", record.perturbed_text)
        assert record.details["perturbed_f1"] == 0.0
        assert record.details["original_f1"] == 1.0
        assert record.words_changed >= 1
        assert record.model_evaluations >= 2


def test_addsent_succeeds_on_rule_reader(tokenizer):
    reader = RuleReader(tiny_qa_model(tokenizer), tokenizer)
    data = cloze_data(4)
    outcomes = qa_attacks.attack_addsent(reader, data, threshold=0.5, candidates=3, query_budget=100, seed=0, progress=False)
    for index, outcome in enumerate(outcomes):
        record = outcome.record
        sentence = record.details["appended_sentence"]
        assert record.outcome == "succeeded"
        assert record.perturbed_text == f"{record.original_text} {sentence}"
        assert data.contexts[index].endswith(record.original_text)
        assert outcome.attacked.text == record.details["stand_in_answer"] != data.gold_texts(index)[0]
        assert record.queries == 4
        assert record.model_evaluations == 4
        assert record.words_changed == len(sentence.split())


def test_addsent_respects_query_budget(tokenizer):
    reader = RuleReader(tiny_qa_model(tokenizer), tokenizer)
    outcomes = qa_attacks.attack_addsent(reader, cloze_data(2), threshold=0.5, candidates=5, query_budget=2, seed=0,
                                         progress=False)
    assert [outcome.record.queries for outcome in outcomes] == [2, 2]


@pytest.mark.parametrize("name", ["deepwordbug", "addsent"])
def test_task_attack_on_tiny_model(tokenizer, name):
    """A random model gets most answers wrong, so with success_f1 = 1.0 examples it misses are skipped."""
    task = ExtractiveQATask(ExtractiveQATask.Settings(success_f1=1.0))
    data = cloze_data(6)
    model = tiny_qa_model(tokenizer)
    run = task.attack(model, tokenizer, name, data, budget=AttackBudget(query_budget=20, batch_size=8), max_length=64,
                      device=CPU, progress=False)
    clean = task.evaluate(model, tokenizer, data, batch_size=8, max_length=64, device=CPU, progress=False)
    assert len(run.records) == 6
    assert run.summary.attacked == 6
    assert run.summary.skipped + run.summary.succeeded + run.summary.failed == 6
    assert run.attacked_clean_metrics == clean.metrics
    assert 0 <= run.robust_metrics["f1"] <= 1
    assert set(run.robust_metrics) == {"exact_match", "f1"}
    assert run.summary.model_gflop > 0
    for record in run.records:
        assert record.details["gold_answers"] == data.gold_texts(record.index)
        if record.outcome == "skipped":
            assert record.details["perturbed_prediction"] == record.details["original_prediction"]


def test_describe_example():
    description = ExtractiveQATask().describe_example(
        {"gold_answers": ["Barack Obama", "Obama"], "original_prediction": "Obama", "perturbed_prediction": ""}, ())
    assert description.label == "answer: Barack Obama | Obama"
    assert description.original_prediction == "predicted: Obama"
    assert description.perturbed_prediction == "predicted: (no span)"


def test_unknown_attack_rejected(tokenizer):
    from harness.registry import UnknownNameError

    with pytest.raises(UnknownNameError):
        ExtractiveQATask().attack(tiny_qa_model(tokenizer), tokenizer, "pruthi", cloze_data(1),
                                  budget=AttackBudget(), max_length=64, device=CPU, progress=False)
