"""NER data: CoNLL reader and its errors, IOB1 to IOB2 conversion, the packaged WNUT-16 set, hub folders, splits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.errors import DataError
from harness.suite import FileData, HubData, PackagedData
from harness.tasks.ner import NerTask
from harness.tasks.ner_data import read_conll, to_iob2

CONLL = """-DOCSTART- -X- O O

John NNP B-PER
Smith NNP I-PER
visited VBD O
Paris NNP B-LOC
. . O

The DT O
Foo NNP I-ORG
Corp NNP I-ORG
said VBD O
"""


def write(tmp_path: Path, text: str, name: str = "data.conll") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_conll_reads_sentences_and_last_column(tmp_path):
    raw = read_conll(write(tmp_path, CONLL))

    assert raw.tokens == [("John", "Smith", "visited", "Paris", "."), ("The", "Foo", "Corp", "said")]
    assert raw.tags[0] == ("B-PER", "I-PER", "O", "B-LOC", "O")


def test_conll_byte_order_mark_skipped(tmp_path):
    path = tmp_path / "bom.conll"
    path.write_bytes("\ufeff-DOCSTART- -X- -X- O\r\n\r\nJohn B-person\r\nruns O\r\n".encode("utf-8"))

    raw = read_conll(path)

    assert raw.tokens == [("John", "runs")]
    assert raw.tags == [("B-person", "O")]


def test_conll_token_keeps_unicode_spaces(tmp_path):
    path = tmp_path / "spaces.conll"
    path.write_text("New\u00a0York B-loc\nis\tO\nbi\u2028g O\n", encoding="utf-8")

    raw = read_conll(path)

    assert raw.tokens == [("New\u00a0York", "is", "bi\u2028g")]
    assert raw.tags == [("B-loc", "O", "O")]


def test_conll_converts_iob1_to_iob2(tmp_path):
    raw = read_conll(write(tmp_path, CONLL))

    assert raw.tags[1] == ("O", "B-ORG", "I-ORG", "O")


@pytest.mark.parametrize(
    "tags, expected, repaired",
    [
        (["I-PER", "I-PER"], ("B-PER", "I-PER"), 1),
        (["B-PER", "I-LOC"], ("B-PER", "B-LOC"), 1),
        (["O", "I-LOC", "O", "I-LOC"], ("O", "B-LOC", "O", "B-LOC"), 2),
        (["B-PER", "I-PER", "B-PER"], ("B-PER", "I-PER", "B-PER"), 0),
    ],
)
def test_to_iob2_cases(tags, expected, repaired):
    assert to_iob2(tags) == (expected, repaired)


def test_conll_one_column_names_line(tmp_path):
    path = write(tmp_path, "John B-PER\nSmith\n")

    with pytest.raises(DataError) as error:
        read_conll(path)

    message = str(error.value)
    assert f"{path}, line 2" in message
    assert "'Smith'" in message
    assert "last column" in message


@pytest.mark.parametrize("tag", ["PER", "E-PER", "B-", "S-LOC", "b-per"])
def test_conll_invalid_tag_names_line(tmp_path, tag):
    path = write(tmp_path, f"John B-PER\n\nParis {tag}\n")

    with pytest.raises(DataError) as error:
        read_conll(path)

    message = str(error.value)
    assert f"{path}, line 3" in message
    assert repr(tag) in message
    assert "B-<type>" in message


def test_conll_type_outside_labels(tmp_path):
    path = write(tmp_path, "John B-PER\nParis B-LOC\n")

    with pytest.raises(DataError) as error:
        read_conll(path, allowed_types={"PER"}, labels_field="tasks.ner.data.labels")

    message = str(error.value)
    assert "line 2" in message
    assert "'LOC'" in message
    assert "tasks.ner.data.labels" in message


def test_conll_empty_file(tmp_path):
    with pytest.raises(DataError, match="no tagged sentences"):
        read_conll(write(tmp_path, "\n\n-DOCSTART- O\n\n"))


def test_conll_invalid_utf8_names_line(tmp_path):
    path = tmp_path / "bad.conll"
    path.write_bytes(b"John B-PER\n\nPar\xffis B-LOC\n")

    with pytest.raises(DataError) as error:
        read_conll(path)

    assert "line 3" in str(error.value)
    assert "UTF-8" in str(error.value)


def test_conll_missing_file(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        read_conll(tmp_path / "absent.conll")


def test_task_reads_conll_file_and_splits(tmp_path):
    lines = []
    for index in range(40):
        lines += [f"word{index} O", f"Name{index} B-PER", f"Town{index} B-LOC", ""]
    path = write(tmp_path, "\n".join(lines))
    spec = FileData(source="file", path=path, test_fraction=0.25, dev_fraction=0.1, split_seed=3)

    splits, info = NerTask().load_splits(spec)

    assert (len(splits.train), len(splits.dev), len(splits.test)) == (27, 3, 10)
    assert info.name == "data.conll"
    assert not info.generated
    assert splits.train.label_names == ("O", "B-LOC", "I-LOC", "B-PER", "I-PER")
    all_texts = set(splits.train.texts) | set(splits.dev.texts) | set(splits.test.texts)
    assert len(all_texts) == 40


def test_task_splits_are_seeded(tmp_path):
    lines = []
    for index in range(30):
        lines += [f"word{index} O", f"Name{index} B-PER", ""]
    path = write(tmp_path, "\n".join(lines))
    task = NerTask()

    first, _ = task.load_splits(FileData(source="file", path=path, split_seed=1))
    again, _ = task.load_splits(FileData(source="file", path=path, split_seed=1))
    other, _ = task.load_splits(FileData(source="file", path=path, split_seed=2))

    assert first.test.texts == again.test.texts
    assert first.test.texts != other.test.texts


def test_task_txt_needs_format(tmp_path):
    path = write(tmp_path, "\n".join(f"w{i} O\nN{i} B-PER\n" for i in range(20)), name="data.txt")

    with pytest.raises(DataError, match="format: conll"):
        NerTask().load_splits(FileData(source="file", path=path))

    splits, _ = NerTask().load_splits(FileData(source="file", path=path, format="conll"))
    assert len(splits.train) + len(splits.dev) + len(splits.test) == 20


def test_task_labels_fix_tag_set(tmp_path):
    path = write(tmp_path, "\n".join(f"w{i} O\nN{i} B-PER\n" for i in range(20)))

    splits, _ = NerTask().load_splits(FileData(source="file", path=path, labels=["PER", "LOC"]))

    assert splits.train.label_names == ("O", "B-PER", "I-PER", "B-LOC", "I-LOC")


def test_task_labels_accept_tags(tmp_path):
    path = write(tmp_path, "\n".join(f"w{i} O\nN{i} B-PER\n" for i in range(20)))

    splits, _ = NerTask().load_splits(FileData(source="file", path=path, labels=["O", "B-PER", "I-PER"]))

    assert splits.train.label_names == ("O", "B-PER", "I-PER")


def test_task_rejects_data_without_entities(tmp_path):
    path = write(tmp_path, "\n".join(f"w{i} O\nv{i} O\n" for i in range(20)))

    with pytest.raises(DataError, match="no entity tags"):
        NerTask().load_splits(FileData(source="file", path=path))


def test_packaged_wnut16_counts():
    spec = PackagedData(source="packaged", name="wnut16")

    splits, info = NerTask().load_splits(spec)

    assert len(splits.train) + len(splits.dev) + len(splits.test) == 2394
    assert len(splits.test) == round(2394 * 0.2)
    assert info.name == "wnut16"
    assert len(splits.train.label_names) == 21
    assert splits.train.label_names[0] == "O"
    assert "B-geo-loc" in splits.train.label_names
    assert splits.train.tokens[0] and len(splits.train.tokens[0]) == len(splits.train.tags[0])


def test_packaged_wnut16_caps():
    spec = PackagedData(source="packaged", name="wnut16", train_size=100, dev_size=20, test_size=30)

    splits, _ = NerTask().load_splits(spec)

    assert (len(splits.train), len(splits.dev), len(splits.test)) == (100, 20, 30)


def test_hub_folder_with_tag_names(tmp_path):
    folder = tmp_path / "hub"
    folder.mkdir()
    for split, count in (("train", 12), ("test", 4)):
        with (folder / f"{split}.jsonl").open("w", encoding="utf-8") as handle:
            for index in range(count):
                record = {"tokens": ["hello", f"Name{index}", "in", "Rome"], "ner_tags": ["O", "B-PER", "O", "I-LOC"]}
                handle.write(json.dumps(record) + "\n")
    spec = HubData(source="hub", name=str(folder), test_split="test", dev_fraction=0.25)

    splits, _ = NerTask().load_splits(spec)

    assert len(splits.test) == 4
    assert len(splits.train) + len(splits.dev) == 12
    assert splits.test.tags[0] == ("O", "B-PER", "O", "B-LOC")


def test_hub_folder_with_class_labels(tmp_path):
    import datasets

    names = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
    features = datasets.Features({
        "tokens": datasets.Sequence(datasets.Value("string")),
        "ner_tags": datasets.Sequence(datasets.ClassLabel(names=names)),
    })
    rows = {"tokens": [["Ann", "Lee", "in", "Oslo"]] * 10, "ner_tags": [[1, 2, 0, 3]] * 10}
    folder = tmp_path / "hub"
    folder.mkdir()
    datasets.Dataset.from_dict(rows, features=features).to_parquet(str(folder / "train.parquet"))

    splits, _ = NerTask().load_splits(HubData(source="hub", name=str(folder)))

    assert splits.train.tags[0] == ("B-PER", "I-PER", "O", "B-LOC")
    assert splits.train.label_names == ("O", "B-LOC", "I-LOC", "B-PER", "I-PER")


def test_hub_missing_column(tmp_path):
    folder = tmp_path / "hub"
    folder.mkdir()
    (folder / "train.jsonl").write_text(json.dumps({"words": ["a"], "ner_tags": ["O"]}) + "\n", encoding="utf-8")

    with pytest.raises(DataError) as error:
        NerTask().load_splits(HubData(source="hub", name=str(folder)))

    assert "'tokens'" in str(error.value)
    assert "text_column" in str(error.value)
