from pathlib import Path

import pandas as pd
import pytest

from harness.errors import DataError
from harness.suite import FileData, HubData, PackagedData
from harness.tasks.classification import ClassificationTask
from tests.helpers import NEGATIVE, POSITIVE


def _file_spec(path: Path, **extra) -> FileData:
    return FileData(source="file", path=path, text_column="review", label_column="sentiment", **extra)


def _frame() -> pd.DataFrame:
    texts = [f"{t} {i}" for i in range(4) for t in POSITIVE + NEGATIVE]
    labels = ["pos" if t in POSITIVE else "neg" for i in range(4) for t in POSITIVE + NEGATIVE]
    return pd.DataFrame({"review": texts, "sentiment": labels})


def test_csv_split_is_seeded_and_disjoint(sentiment_csv):
    task = ClassificationTask()
    first, info = task.load_splits(_file_spec(sentiment_csv, split_seed=3))
    second, _ = task.load_splits(_file_spec(sentiment_csv, split_seed=3))
    other, _ = task.load_splits(_file_spec(sentiment_csv, split_seed=4))
    assert first == second
    assert first.test.texts != other.test.texts
    assert info.name == "reviews.csv"
    assert not info.generated
    parts = [set(first.train.texts), set(first.dev.texts), set(first.test.texts)]
    assert sum(map(len, parts)) == 64
    assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
    assert first.train.label_names == ("neg", "pos")
    # 20% test, stratified: both labels present in equal numbers.
    assert len(first.test) == 13 or len(first.test) == 12
    assert abs(first.test.labels.count(0) - first.test.labels.count(1)) <= 1


@pytest.mark.parametrize("suffix", ["jsonl", "parquet"])
def test_jsonl_and_parquet_read_like_csv(tmp_path, sentiment_csv, suffix):
    frame = _frame()
    path = tmp_path / f"data.{suffix}"
    if suffix == "jsonl":
        frame.to_json(path, orient="records", lines=True)
    else:
        frame.to_parquet(path)
    splits, _ = ClassificationTask().load_splits(_file_spec(path))
    reference, _ = ClassificationTask().load_splits(_file_spec(sentiment_csv))
    assert len(splits.train) == len(reference.train)
    assert splits.train.label_names == reference.train.label_names


def test_hub_path_reads_local_folder(tmp_path):
    folder = tmp_path / "hubdata" / "data"
    folder.mkdir(parents=True)
    frame = _frame()
    frame.iloc[:48].to_parquet(folder / "train-00000-of-00001.parquet")
    frame.iloc[48:].to_parquet(folder / "test-00000-of-00001.parquet")
    spec = HubData(source="hub", name=str(tmp_path / "hubdata"), text_column="review", label_column="sentiment", test_split="test")
    splits, _ = ClassificationTask().load_splits(spec)
    assert len(splits.test) == 16
    assert len(splits.train) + len(splits.dev) == 48


def test_packaged_rotten_tomatoes():
    spec = PackagedData(source="packaged", name="rotten-tomatoes", train_size=100, test_size=50, dev_size=20)
    splits, info = ClassificationTask().load_splits(spec)
    assert (len(splits.train), len(splits.dev), len(splits.test)) == (100, 20, 50)
    assert splits.train.label_names == ("fresh", "rotten")
    assert info.name == "rotten-tomatoes"


def _write(tmp_path: Path, text: str, name: str = "bad.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_missing_column_lists_available(tmp_path):
    path = _write(tmp_path, "text,label\na,pos\n")
    with pytest.raises(DataError, match=r"missing column\(s\) review, sentiment. Available columns: text, label"):
        ClassificationTask().load_splits(_file_spec(path))


def test_whitespace_text_names_row(tmp_path):
    path = _write(tmp_path, "review,sentiment\ngood,pos\n   ,neg\n")
    with pytest.raises(DataError, match="row 2 has an empty or non-text value in column 'review'"):
        ClassificationTask().load_splits(_file_spec(path))


def test_single_class_rejected(tmp_path):
    path = _write(tmp_path, "review,sentiment\n" + "".join(f"text {i},pos\n" for i in range(10)))
    with pytest.raises(DataError, match="only one label \\('pos'\\)"):
        ClassificationTask().load_splits(_file_spec(path))


def test_label_outside_label_set(sentiment_csv):
    with pytest.raises(DataError, match="label\\(s\\) 'pos' not in the label set"):
        ClassificationTask().load_splits(_file_spec(sentiment_csv, labels=["neg", "positive"]))


def test_non_utf8_file(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("review,sentiment\ncaf\xe9,pos\n".encode("latin-1"))
    with pytest.raises(DataError, match="not valid UTF-8"):
        ClassificationTask().load_splits(_file_spec(path))


def test_invalid_jsonl_line_named(tmp_path):
    path = _write(tmp_path, '{"review": "a", "sentiment": "pos"}\n{broken\n', "bad.jsonl")
    with pytest.raises(DataError, match="line 2: invalid JSON"):
        ClassificationTask().load_splits(_file_spec(path))


def test_huge_jsonl_integer_named(tmp_path):
    path = _write(tmp_path, '{"review": "a", "sentiment": ' + "9" * 5000 + '}\n', "big.jsonl")
    with pytest.raises(DataError, match="line 1: invalid JSON value"):
        ClassificationTask().load_splits(_file_spec(path))


def test_metrics_match_sklearn():
    from sklearn.metrics import accuracy_score, f1_score

    labels = [0, 1, 2, 2, 1, 0, 1]
    predictions = [0, 2, 2, 2, 1, 1, 1]
    metrics = ClassificationTask().metrics(labels, predictions)
    assert metrics["accuracy"] == pytest.approx(accuracy_score(labels, predictions))
    assert metrics["macro_f1"] == pytest.approx(f1_score(labels, predictions, average="macro"))
    assert metrics["accuracy"] == pytest.approx(5 / 7)


def test_non_utf8_reports_line_and_byte(tmp_path):
    path = tmp_path / "late.csv"
    path.write_bytes(b"review,sentiment\n" + b"fine text,pos\n" * 3 + "caf\xe9,neg\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"not valid UTF-8 \(line 5, byte 62\)"):
        ClassificationTask().load_splits(_file_spec(path))


def test_jsonl_numeric_labels_unified(tmp_path):
    path = tmp_path / "mixed.jsonl"
    rows = [{"review": f"text {i}", "sentiment": [1, "1", 1.0, 0][i % 4]} for i in range(40)]
    path.write_text("\n".join(__import__("json").dumps(row) for row in rows) + "\n", encoding="utf-8")
    splits, _ = ClassificationTask().load_splits(_file_spec(path))
    assert splits.train.label_names == ("0", "1")


def test_folder_as_data_path(tmp_path):
    with pytest.raises(DataError, match="is a folder, not a data file"):
        ClassificationTask().load_splits(_file_spec(tmp_path))
