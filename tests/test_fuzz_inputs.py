"""Fuzz the suite loader and every data reader: input either loads or fails with an RsbenchError.

Any other exception (a KeyError from pandas, a TypeError from pydantic, a traceback from
inside a library) fails the test. Example counts and deadlines keep the module to seconds.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import tempfile
from pathlib import Path

import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from harness.errors import DataError, RsbenchError, SuiteError
from harness.suite import FileData, HubData, Suite, load_suite, validate_suite
from harness.tasks.classification import ClassificationTask

FAST = settings(max_examples=150, deadline=dt.timedelta(seconds=10), suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=40, deadline=dt.timedelta(seconds=20), suppress_health_check=[HealthCheck.too_slow])
HUB = settings(max_examples=8, deadline=dt.timedelta(seconds=60), suppress_health_check=[HealthCheck.too_slow])

VALID_SUITE = {
    "name": "fuzz",
    "seeds": [0],
    "tasks": {"t": {"type": "classification", "data": {"source": "packaged", "name": "rotten-tomatoes", "train_size": 10}}},
    "models": {"m": {"source": "random", "architecture": {"num_hidden_layers": 1, "hidden_size": 32, "num_attention_heads": 2}}},
    "variants": {"baseline": {}, "kd": {"teacher": "self"}},
    "training": {"epochs": 1, "batch_size": 8},
    "attack": {"examples": 2, "query_budget": 10},
    "attacks": ["deepwordbug"],
}

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20), st.sampled_from(["file", "hub", "packaged", "random", "local", "kd", "baseline", "adv", "rs",
                                           "every-other", "self", "deepwordbug", "classification", "cuda", "auto"]),
)
json_values = st.recursive(
    scalars, lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(st.text(max_size=12), children, max_size=4)),
    max_leaves=12,
)
FIELD_PATHS = [
    ("name",), ("seeds",), ("device",), ("executor",), ("tasks",), ("tasks", "t"), ("tasks", "t", "type"), ("tasks", "t", "data"),
    ("tasks", "t", "data", "source"), ("tasks", "t", "data", "name"), ("tasks", "t", "data", "path"),
    ("tasks", "t", "data", "labels"), ("tasks", "t", "data", "train_size"), ("tasks", "t", "data", "dev_fraction"),
    ("models",), ("models", "m"), ("models", "m", "source"), ("models", "m", "architecture"),
    ("models", "m", "architecture", "hidden_size"), ("models", "m", "keep_layers"), ("models", "m", "variants"),
    ("models", "m", "path"), ("models", "m", "allow_pickle"), ("variants",), ("variants", "kd"), ("variants", "kd", "teacher"),
    ("variants", "kd", "kind"), ("variants", "kd", "teacher_variant"), ("variants", "adv"), ("variants", "rs"),
    ("variants", "rs", "kd"), ("training",), ("training", "epochs"), ("training", "learning_rate"), ("attack",),
    ("attack", "examples"), ("attacks",), ("unknown_field",), ("models", "m", "unknown"),
]


def _mutated(base: dict, path: tuple, value) -> dict:
    suite = json.loads(json.dumps(base))
    node = suite
    for part in path[:-1]:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    node[path[-1]] = value
    return suite


def _check_suite_error(error: SuiteError) -> None:
    assert error.problems, str(error)
    for problem in error.problems:
        assert problem.strip(), str(error)
        assert "Traceback" not in problem


def _load_text(text: str | bytes) -> Suite | None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "suite.yaml"
        path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass"))
        try:
            return load_suite(path)
        except SuiteError as error:
            _check_suite_error(error)
            return None


YAML_TOKENS = st.sampled_from(list("abcdefgxyz0123456789 \t\n:-[]{},&*!|>'\"%@`#?.~=+\\\u202e\x00") + [
    "name", "tasks", "models", "variants", "source", "seeds", "!!python/object:os.system", "!!binary", "<<", "\n  "])


@FAST
@given(st.lists(YAML_TOKENS, max_size=80).map("".join))
@example("a: &a [*a]")
@example("a: !!python/object/apply:os.system ['true']")
@example("[" * 2000)
@example("a: &x [1,2]\nb: &y [*x,*x,*x,*x,*x,*x,*x,*x,*x]\nc: &z [*y,*y,*y,*y,*y,*y,*y,*y,*y]\nname: [*z,*z,*z,*z,*z,*z,*z,*z]")
@example("name: x\nname: y")
@example("? [1, 2]\n: 3")
@example("!!set {a, b}")
@example("name: !!binary aGVsbG8=\nseeds: 2001-12-14")
def test_suite_yaml_text_fuzz(text):
    _load_text(text)


@FAST
@given(st.binary(max_size=200))
@example(b"\xff\xfe\x00n\x00a")
@example(b"name: caf\xe9")
def test_suite_yaml_bytes_fuzz(data):
    _load_text(data)


@FAST
@given(st.sampled_from(FIELD_PATHS), json_values)
def test_suite_field_fuzz(path, value):
    raw = _mutated(VALID_SUITE, path, value)
    try:
        validate_suite(raw)
    except SuiteError as error:
        _check_suite_error(error)
    # The same mapping written as YAML goes through the file loader too.
    try:
        text = yaml.safe_dump(raw, allow_unicode=True)
    except yaml.YAMLError:
        return
    _load_text(text)


@FAST
@given(json_values)
def test_suite_whole_value_fuzz(raw):
    try:
        validate_suite(raw)
    except SuiteError as error:
        _check_suite_error(error)


def test_valid_suite_base_loads():
    assert validate_suite(VALID_SUITE).name == "fuzz"


# Data readers. Each input is read through the classification task, which also labels and splits it.

def _load_file(path: Path, file_format: str | None = None) -> None:
    spec = FileData(source="file", path=path, format=file_format, text_column="review", label_column="sentiment",
                    dev_fraction=0.2, test_fraction=0.2)
    try:
        splits, _ = ClassificationTask().load_splits(spec)
    except DataError as error:
        assert str(error).strip()
        return
    assert len(splits.train) >= 2
    assert len(set(splits.train.labels)) >= 2
    for text in splits.train.texts:
        assert isinstance(text, str)


texts = st.text(max_size=30)
labels = st.one_of(st.sampled_from(["pos", "neg", "", " ", "1", "1.0", "nan", "NaN", "None", "null"]), st.text(max_size=5))


@SLOW
@given(st.binary(max_size=300))
@example(b"review,sentiment\n\x00a,pos\nb,neg\n")
@example(b"review,sentiment\n\"unterminated,pos\n")
@example(b"review,review,sentiment\na,b,pos\nc,d,neg\n")
@example(b"\xef\xbb\xbfreview,sentiment\na,pos\nb,neg\nc,pos\nd,neg\ne,pos\nf,neg\n")
def test_csv_bytes_fuzz(data):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "data.csv"
        path.write_bytes(data)
        _load_file(path)


@SLOW
@given(st.lists(st.tuples(texts, labels), min_size=0, max_size=30), st.booleans())
def test_csv_rows_fuzz(rows, with_header):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    if with_header:
        writer.writerow(["review", "sentiment"])
    writer.writerows(rows)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "data.csv"
        path.write_text(buffer.getvalue(), encoding="utf-8", errors="surrogatepass")
        _load_file(path)


@SLOW
@given(st.binary(max_size=300))
@example(b'{"review": "a", "sentiment": "pos"}\n[1, 2]\n')
@example(b'{"review": "a", "sentiment": NaN}\n{"review": "b", "sentiment": Infinity}\n')
@example(b'{"review": "a", "review": "b", "sentiment": 1}\n')
def test_jsonl_bytes_fuzz(data):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "data.jsonl"
        path.write_bytes(data)
        _load_file(path)


records = st.dictionaries(st.sampled_from(["review", "sentiment", "other"]), json_values, max_size=3)


@SLOW
@given(st.lists(records, max_size=20))
@example([{"review": f"t{i}", "sentiment": [1, 2]} for i in range(6)])
@example([{"review": f"t{i}", "sentiment": {"a": i % 2}} for i in range(6)])
@example([{"review": f"t{i}", "sentiment": 10**30 + i % 2} for i in range(6)])
def test_jsonl_records_fuzz(rows):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "data.jsonl"
        path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8", errors="surrogatepass")
        _load_file(path)


@SLOW
@given(st.binary(max_size=300))
@example(b"PAR1")
@example(b"PAR1\x00\x00\x00\x00PAR1")
def test_parquet_bytes_fuzz(data):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "data.parquet"
        path.write_bytes(data)
        _load_file(path)


def _column(kind: str, size: int) -> st.SearchStrategy:
    values = {
        "text": st.one_of(st.none(), texts),
        "label-text": st.one_of(st.none(), labels),
        "int": st.integers(min_value=-3, max_value=3),
        "float": st.floats(allow_nan=True, allow_infinity=True),
        "bool": st.booleans(),
        "list": st.lists(st.integers(min_value=0, max_value=2), max_size=3),
        "bytes": st.binary(max_size=5),
        "struct": st.fixed_dictionaries({"a": st.integers(min_value=0, max_value=1)}),
        "time": st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2001, 1, 1)),
        "decimal": st.decimals(min_value=0, max_value=2, places=1, allow_nan=False),
    }[kind]
    return st.lists(values, min_size=size, max_size=size)


COLUMN_KINDS = ["text", "label-text", "int", "float", "bool", "list", "bytes", "struct", "time", "decimal"]


@st.composite
def typed_frames(draw) -> pd.DataFrame:
    size = draw(st.integers(min_value=0, max_value=25))
    text_kind = draw(st.sampled_from(COLUMN_KINDS))
    label_kind = draw(st.sampled_from(COLUMN_KINDS))
    frame = pd.DataFrame({"review": draw(_column(text_kind, size)), "sentiment": draw(_column(label_kind, size))})
    if draw(st.booleans()) and label_kind in ("text", "label-text"):
        frame["sentiment"] = frame["sentiment"].astype("category")
    if draw(st.booleans()) and label_kind in ("text", "label-text", "int"):
        frame["sentiment"] = frame["sentiment"].astype("string" if label_kind != "int" else "Int64")
    return frame


def _write_parquet(frame: pd.DataFrame, path: Path) -> bool:
    import pyarrow

    try:
        frame.to_parquet(path)
    except (pyarrow.ArrowException, ValueError, TypeError, OverflowError):
        return False  # pyarrow cannot store this frame, so no user can hand it to rsbench either
    return True


@SLOW
@given(typed_frames())
@example(pd.DataFrame({"review": [f"t{i}" for i in range(8)], "sentiment": [[0, 1], [1]] * 4}))
@example(pd.DataFrame({"review": [f"t{i}" for i in range(8)], "sentiment": pd.array([0, 1, None, 1] * 2, dtype="Int64")}))
@example(pd.DataFrame({"review": [f"t{i}" for i in range(8)], "sentiment": pd.array(["a", "b", None, "a"] * 2, dtype="string")}))
def test_parquet_values_fuzz(frame):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "data.parquet"
        if _write_parquet(frame, path):
            _load_file(path)


hub_files = st.sampled_from(["train.csv", "test.csv", "train.jsonl", "data/train-00000-of-00001.parquet", "data/test.parquet",
                             "README.md", "train.txt", "dataset_infos.json"])


@HUB
@given(st.dictionaries(hub_files, st.binary(max_size=120), min_size=1, max_size=3), st.sampled_from([None, "test"]))
@example({"train.csv": b"review,sentiment\na,pos\nb,neg\nc,pos\nd,neg\ne,pos\n"}, "test")
@example({"README.md": b"---\nconfigs: [[[\n---\n"}, None)
@example({"train.csv": b"review,sentiment\n" + b"".join(b"t%d,%d\n" % (i, i % 2) for i in range(20)),
          "test.jsonl": b'{"review": [1], "sentiment": {"x": 1}}\n'}, "test")
def test_hub_folder_fuzz(files, test_split):
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "hubdata"
        for name, content in files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        spec = HubData(source="hub", name=str(root), text_column="review", label_column="sentiment", test_split=test_split,
                       dev_fraction=0.2, test_fraction=0.2)
        try:
            ClassificationTask().load_splits(spec)
        except RsbenchError as error:
            assert str(error).strip()


@pytest.mark.parametrize("text", ["\x00\x01 review", "\u202e\u200b\ufeff", "🙂" * 10, "<script>x</script>"])
def test_odd_texts_load_unchanged(tmp_path, text):
    path = tmp_path / "odd.jsonl"
    rows = [{"review": f"{text} {i}", "sentiment": i % 2} for i in range(20)]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    splits, _ = ClassificationTask().load_splits(FileData(source="file", path=path, text_column="review", label_column="sentiment"))
    loaded = set(splits.train.texts) | set(splits.dev.texts) | set(splits.test.texts)
    assert loaded == {row["review"] for row in rows}
