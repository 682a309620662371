"""SQuAD file reading and its errors, the news-cloze heuristic and the split by context."""

from __future__ import annotations

import json

import pytest

from harness.errors import DataError
from harness.suite import FileData, HubData, PackagedData
from harness.tasks.extractive_qa import ExtractiveQATask
from harness.tasks.qa_data import PLACEHOLDER, Article, candidate_spans, cloze_examples, cut_words, read_squad


def _squad(paragraphs_per_article=1, articles=8):
    data = []
    for a in range(articles):
        paragraphs = []
        for p in range(paragraphs_per_article):
            context = f"Article {a} paragraph {p}: the prize went to Alice Smith in {2000 + a}."
            paragraphs.append({"context": context, "qas": [
                {"id": f"q{a}-{p}", "question": "Who got the prize?",
                 "answers": [{"text": "Alice Smith", "answer_start": context.index("Alice")},
                             {"text": "Alice", "answer_start": context.index("Alice")}]},
                {"id": f"y{a}-{p}", "question": "When?", "answers": [{"text": str(2000 + a), "answer_start": context.index("20")}]},
            ]})
        data.append({"title": f"t{a}", "paragraphs": paragraphs})
    return {"version": "1.1", "data": data}


def _write(tmp_path, document, name="qa.json"):
    path = tmp_path / name
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_read_squad_valid_file(tmp_path):
    examples = read_squad(_write(tmp_path, _squad()))
    assert len(examples) == 16
    assert examples.ids[0] == "q0-0"
    assert examples.gold_texts(0) == ["Alice Smith", "Alice"]
    answer = examples.answers[1][0]
    assert examples.contexts[1][answer.start : answer.start + len(answer.text)] == "2000"
    assert examples.texts[0] == f"Who got the prize?\n{examples.contexts[0]}"


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d["data"][1]["paragraphs"][0]["qas"][0]["answers"][0].update(answer_start=3),
         r"\$\.data\[1\]\.paragraphs\[0\]\.qas\[0\] \(id 'q1-0'\)\.answers\[0\]: context\[3:14\] is .* not the answer text 'Alice Smith' \(the text occurs at offset"),
        (lambda d: d["data"][0]["paragraphs"][0]["qas"][1]["answers"][0].update(answer_start=500),
         r"answer_start 500 with text '2000' ends outside the context"),
        (lambda d: d["data"][0]["paragraphs"][0]["qas"][0].pop("question"),
         r"\$\.data\[0\]\.paragraphs\[0\]\.qas\[0\] \(id 'q0-0'\) has no 'question' field"),
        (lambda d: d["data"][0]["paragraphs"][0]["qas"][0].update(question="  "),
         r"\(id 'q0-0'\): the question is empty"),
        (lambda d: d["data"][0]["paragraphs"][0]["qas"][0].update(answers=[]),
         r"answers is empty"),
        (lambda d: d["data"][0]["paragraphs"][0]["qas"][0]["answers"][0].update(answer_start="7"),
         r"answers\[0\]\.answer_start is '7', expected int"),
        (lambda d: d["data"][2]["paragraphs"][0]["qas"][0].update(id="q0-0"),
         r"repeats the id of \$\.data\[0\]\.paragraphs\[0\]\.qas\[0\]"),
        (lambda d: d.pop("data"), r"\$ has no 'data' field"),
    ],
    ids=["text-mismatch", "outside-context", "missing-question", "empty-question", "no-answers", "start-type",
         "duplicate-id", "no-data"],
)
def test_read_squad_errors_name_file_path_and_fix(tmp_path, mutate, message):
    document = _squad()
    mutate(document)
    path = _write(tmp_path, document)
    with pytest.raises(DataError, match=message) as error:
        read_squad(path)
    assert str(path) in str(error.value)
    assert "Fix" in str(error.value) or "Add" in str(error.value) or "Give" in str(error.value) or "Write" in str(error.value) \
        or "Set" in str(error.value)


def test_read_squad_invalid_json_names_line(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"data": [\n  {"paragraphs": }\n]}', encoding="utf-8")
    with pytest.raises(DataError, match=r"broken\.json: invalid JSON at line 2"):
        read_squad(path)


def test_read_squad_byte_order_mark_skipped(tmp_path):
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(_squad()).encode("utf-8"))

    examples = read_squad(path)

    assert len(examples) == 16
    assert examples.ids[0] == "q0-0"


def test_read_squad_deep_nesting_rejected(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text('{"data": ' + "[" * 100_000 + "]" * 100_000 + "}", encoding="utf-8")

    with pytest.raises(DataError) as caught:
        read_squad(path)

    assert str(path) in str(caught.value)
    assert "nested too deeply" in str(caught.value)


def test_read_squad_huge_integer_rejected(tmp_path):
    path = tmp_path / "huge.json"
    path.write_text('{"version": ' + "9" * 5000 + ', "data": []}', encoding="utf-8")

    with pytest.raises(DataError) as caught:
        read_squad(path)

    assert str(path) in str(caught.value)
    assert "invalid JSON number" in str(caught.value)
    assert "JSON strings" in str(caught.value)


def test_file_split_keeps_paragraphs_apart(tmp_path):
    path = _write(tmp_path, _squad(paragraphs_per_article=2, articles=10))
    task = ExtractiveQATask()
    splits, info = task.load_splits(FileData(source="file", path=path, split_seed=3))
    assert info.generated is False
    assert len(splits.train) + len(splits.dev) + len(splits.test) == 40
    contexts = [set(part.contexts) for part in (splits.train, splits.dev, splits.test)]
    assert not contexts[0] & contexts[1]
    assert not contexts[0] & contexts[2]
    assert not contexts[1] & contexts[2]
    assert len(splits.test) == 8  # 20% of 20 paragraphs, 2 questions each


def test_file_with_other_format_rejected(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("text,label\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"data\.format: extractive QA reads SQuAD v1\.1 JSON, not 'csv'"):
        ExtractiveQATask().load_splits(FileData(source="file", path=path, format="csv"))


def test_hub_data_rejected():
    with pytest.raises(DataError, match="source: file with format: squad"):
        ExtractiveQATask().load_splits(HubData(source="hub", name="squad"))


def test_candidate_spans_heuristic():
    title = "Betsy DeVos Confirmed as Education Secretary in 2017 After Vote"
    context = ("The Senate confirmed Betsy DeVos on Tuesday. Education was the topic. "
               "The vote in 2017 split the chamber, and Secretary nominees wait.")
    spans = [(title[start:end], context[position : position + end - start]) for start, end, position in candidate_spans(title, context)]
    # "Education" only starts a sentence in the context, "Secretary" is found mid-sentence,
    # "After" is a function word, "Confirmed" never occurs.
    assert spans == [("Betsy DeVos", "Betsy DeVos"), ("Secretary", "Secretary"), ("2017", "2017")]


def test_cloze_examples_mask_span_and_point_into_context():
    articles = [Article("7", "Storm Hits Lisbon as Ana Costa Flees", "", "Heavy rain fell when the storm reached Lisbon late. "
                        "Mayor Ana Costa left the city with 200 residents.")]
    examples = cloze_examples(articles, context_words=10, questions_per_article=5, seed=0)
    # Ana Costa lies past the 10 kept words, so only Lisbon can be asked about.
    assert examples.questions == (f"Storm Hits {PLACEHOLDER} as Ana Costa Flees",)
    assert examples.gold_texts(0) == ["Lisbon"]
    assert examples.contexts[0] == "Heavy rain fell when the storm reached Lisbon late. Mayor"
    answer = examples.answers[0][0]
    assert examples.contexts[0][answer.start : answer.start + len(answer.text)] == "Lisbon"

    longer = cloze_examples(articles, context_words=12, questions_per_article=5, seed=0)
    assert sorted(longer.questions) == [f"Storm Hits {PLACEHOLDER} as Ana Costa Flees", f"Storm Hits Lisbon as {PLACEHOLDER} Flees"]
    one = cloze_examples(articles, context_words=12, questions_per_article=1, seed=0)
    assert len(one) == 1


def test_cut_words():
    assert cut_words("a  b c d", 2) == "a  b"
    assert cut_words("a b", 5) == "a b"


@pytest.mark.slow
def test_news_cloze_generated_and_split_by_article():
    task = ExtractiveQATask()
    splits, info = task.load_splits(PackagedData(source="packaged", name="news-cloze"))
    assert info.name == "news-cloze"
    assert info.generated is True
    sizes = [len(part) for part in (splits.train, splits.dev, splits.test)]
    assert sum(sizes) == 5557  # 2 questions per article at most, context 150 words, split_seed 0
    groups = [set(part.groups) for part in (splits.train, splits.dev, splits.test)]
    assert not groups[0] & groups[1]
    assert not groups[0] & groups[2]
    assert not groups[1] & groups[2]
    for part in (splits.train, splits.dev, splits.test):
        for index in range(0, len(part), 97):
            answer = part.answers[index][0]
            assert part.contexts[index][answer.start : answer.start + len(answer.text)] == answer.text
            assert part.questions[index].count(PLACEHOLDER) == 1


@pytest.mark.slow
def test_news_cloze_caps_and_seed():
    task = ExtractiveQATask()
    spec = PackagedData(source="packaged", name="news-cloze", train_size=30, dev_size=5, test_size=7, split_seed=4)
    first, _ = task.load_splits(spec)
    again, _ = task.load_splits(spec)
    assert (len(first.train), len(first.dev), len(first.test)) == (30, 5, 7)
    assert first.test.ids == again.test.ids
    other, _ = task.load_splits(spec.model_copy(update={"split_seed": 5}))
    assert other.test.ids != first.test.ids
