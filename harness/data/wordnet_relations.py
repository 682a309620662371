"""The generated relation-extraction data set ``wordnet-relations``: WordNet 3.0 word pairs in sentence templates.

Word pairs come from WordNet's links between common words (those with a sense tagged at
least once in WordNet's SemCor counts, ``cntlist.rev``, alphabetic, three letters or more):

- hypernymy: a noun's most frequent sense and an ancestor at most ``MAX_HYPERNYM_STEPS``
  hypernym links up, below the most general nodes (minimum depth ``MIN_HYPERNYM_DEPTH``);
- part meronymy: a part of one of a noun's two most frequent senses;
- antonymy: a direct antonym of an adjective lemma, any sense;
- Other: two nouns, or two adjectives, from the words of the pairs above that WordNet links
  by none of these relations (checked over all their senses).

Label ``R(e1,e2)`` means that WordNet's pointer ``R`` leads from the first mention to the
second: ``Hypernym(e1,e2)`` for "<e1>dog</e1> … <e2>animal</e2>", ``Meronym(e1,e2)`` for
"<e1>car</e1> … <e2>wheel</e2>" (the wheel is a part of the car); ``(e2,e1)`` is the same
pair in the other order. Antonymy is symmetric, so its label has no direction.

Every class uses the same templates, so only the two words tell the relation. Word pairs
are split between train, dev and test, so no pair of one split occurs in another; single
words do recur across splits. The pair lists are computed once (about 20 s on a 2-core machine) and cached
under the rsbench cache folder.
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from harness.errors import DataError

logger = logging.getLogger(__name__)

OTHER = "Other"
LABELS = ("Hypernym(e1,e2)", "Hypernym(e2,e1)", "Meronym(e1,e2)", "Meronym(e2,e1)", "Antonym", OTHER)
DEFAULT_SIZES = {"train": 1800, "dev": 300, "test": 600}
MAX_SIZE = 20_000

MAX_HYPERNYM_STEPS = 3
MIN_HYPERNYM_DEPTH = 4
PAIRS_VERSION = 1

# Templates shared by every class. They talk about the words rather than use them in a
# role, so they read for nouns and adjectives alike and tell nothing about the relation.
TEMPLATES = (
    "In the notes, <e1>{a}</e1> appears next to <e2>{b}</e2>.",
    "She wrote <e1>{a}</e1> on one card and <e2>{b}</e2> on another.",
    "The glossary lists <e1>{a}</e1> a few pages before <e2>{b}</e2>.",
    "He asked how <e1>{a}</e1> relates to <e2>{b}</e2>.",
    "Students compared <e1>{a}</e1> with <e2>{b}</e2> during the quiz.",
    "The puzzle asked for the link between <e1>{a}</e1> and <e2>{b}</e2>.",
    "Both <e1>{a}</e1> and <e2>{b}</e2> were on the spelling list this week.",
    "The teacher wrote <e1>{a}</e1> on the board, then <e2>{b}</e2>.",
    "Our crossword had <e1>{a}</e1> across and <e2>{b}</e2> down.",
    "In the survey, people were shown <e1>{a}</e1> and then <e2>{b}</e2>.",
    "The flashcard said <e1>{a}</e1> on the front and <e2>{b}</e2> on the back.",
    "I looked up <e1>{a}</e1> and <e2>{b}</e2> in the same dictionary.",
    "The editor circled <e1>{a}</e1> and <e2>{b}</e2> in the draft.",
    "Can you explain <e1>{a}</e1> in terms of <e2>{b}</e2>?",
    "The quiz paired <e1>{a}</e1> with <e2>{b}</e2> on the first line.",
    "They translated <e1>{a}</e1> first and <e2>{b}</e2> second.",
    "The index has an entry for <e1>{a}</e1> that points to <e2>{b}</e2>.",
    "A reader noticed that <e1>{a}</e1> and <e2>{b}</e2> share a page.",
    "The game showed <e1>{a}</e1>, and the next player answered <e2>{b}</e2>.",
    "My list starts with <e1>{a}</e1> and ends with <e2>{b}</e2>.",
    "The tutor linked <e1>{a}</e1> to <e2>{b}</e2> on the worksheet.",
    "We discussed <e1>{a}</e1> before moving on to <e2>{b}</e2>.",
    "The label read <e1>{a}</e1>, and the tag below it read <e2>{b}</e2>.",
    "Between <e1>{a}</e1> and <e2>{b}</e2>, the second word is harder to spell.",
)

_WORD = re.compile(r"[a-z]{3,}")


@dataclass(frozen=True)
class PairPools:
    """Word pairs per relation, each pair in WordNet's pointer direction (hyponym first, whole first)."""

    hypernym: tuple[tuple[str, str], ...]
    meronym: tuple[tuple[str, str], ...]
    antonym: tuple[tuple[str, str], ...]
    other_nouns: tuple[tuple[str, str], ...]
    other_adjectives: tuple[tuple[str, str], ...]


def generate(sizes: dict[str, int], seed: int) -> dict[str, list[tuple[str, str]]]:
    """Return ``(text, label)`` lists for the splits ``train``, ``dev`` and ``test`` of the given sizes.

    Deterministic for a seed and sizes. Each class gets an equal share of a split (the
    first classes one more when the size does not divide evenly), and ``Other`` takes half
    its pairs from nouns and half from adjectives, so a word's part of speech does not
    decide between Antonym and Other. Raises ``DataError`` for a size above ``MAX_SIZE``.
    """
    for split, size in sizes.items():
        if size > MAX_SIZE:
            raise DataError(f"wordnet-relations: {split}_size {size} is above the maximum {MAX_SIZE}. Lower {split}_size.")
    pools = pair_pools()
    rng = random.Random(seed)
    order = ("train", "dev", "test")
    by_class = {
        "Hypernym": _allocate(pools.hypernym, sizes, rng),
        "Meronym": _allocate(pools.meronym, sizes, rng),
        "Antonym": _allocate(pools.antonym, sizes, rng),
        "other_nouns": _allocate(pools.other_nouns, sizes, rng),
        "other_adjectives": _allocate(pools.other_adjectives, sizes, rng),
    }
    splits = {}
    for split in order:
        counts = _class_counts(sizes[split])
        examples: list[tuple[str, str]] = []
        for label, count in zip(LABELS, counts):
            examples += _sentences(label, count, by_class, split, rng)
        rng.shuffle(examples)
        splits[split] = examples
    return splits


def _class_counts(size: int) -> list[int]:
    base, extra = divmod(size, len(LABELS))
    return [base + (1 if index < extra else 0) for index in range(len(LABELS))]


def _allocate(pairs: tuple[tuple[str, str], ...], sizes: dict[str, int], rng: random.Random) -> dict[str, list[tuple[str, str]]]:
    """Shuffle ``pairs`` and cut them into disjoint parts per split, in proportion to the split sizes."""
    shuffled = list(pairs)
    rng.shuffle(shuffled)
    total = sum(sizes.values())
    parts = {}
    start = 0
    for index, split in enumerate(("train", "dev", "test")):
        if index == 2:
            stop = len(shuffled)
        else:
            stop = start + max(1, round(len(shuffled) * sizes[split] / total))
        parts[split] = shuffled[start:stop]
        start = stop
    return parts


def _sentences(label: str, count: int, by_class: dict, split: str, rng: random.Random) -> list[tuple[str, str]]:
    """Build ``count`` sentences of ``label`` from the split's pairs, cycling through pairs and templates."""
    if count == 0:
        return []
    relation = label.split("(", 1)[0]
    if relation == OTHER:
        nouns = by_class["other_nouns"][split]
        adjectives = by_class["other_adjectives"][split]
        pairs = [pair for couple in zip(nouns, adjectives) for pair in couple]
    else:
        pairs = list(by_class[relation][split])
        # Both directions of a relation draw from one list, each in an order of its own.
        rng.shuffle(pairs)
    if not pairs:
        raise DataError(f"wordnet-relations: no {relation} pairs left for the {split} split. Use smaller split sizes.")
    if count > len(pairs) * len(TEMPLATES):
        raise DataError(
            f"wordnet-relations: {count} {label} sentences requested for {split} but only "
            f"{len(pairs) * len(TEMPLATES)} distinct ones exist. Lower {split}_size."
        )
    reverse = label.endswith("(e2,e1)")
    sentences = []
    # Each pair gets a template of its own in one round, so a pair repeats only with new templates.
    rounds = -(-count // len(pairs))
    templates = rng.sample(range(len(TEMPLATES)), rounds)
    for index in range(count):
        round_number, position = divmod(index, len(pairs))
        first, second = pairs[position]
        if reverse or (relation == "Antonym" and rng.random() < 0.5) or (relation == OTHER and rng.random() < 0.5):
            first, second = second, first
        template = TEMPLATES[(templates[round_number] + position) % len(TEMPLATES)]
        sentences.append((template.format(a=first, b=second), label))
    return sentences


def pair_pools() -> PairPools:
    """Return the word pairs of every relation, read from the cache or computed from WordNet."""
    path = _cache_path()
    if path.is_file():
        try:
            stored = json.loads(path.read_text(encoding="utf-8"))
            return PairPools(**{key: tuple(tuple(pair) for pair in value) for key, value in stored.items()})
        except (json.JSONDecodeError, TypeError) as exc:
            logger.warning("ignoring unreadable pair cache %s (%s); computing the pairs again", path, exc)
    pools = compute_pair_pools()
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".pairs-", suffix=".json", dir=path.parent)
    with os.fdopen(handle, "w", encoding="utf-8") as stream:
        json.dump({key: [list(pair) for pair in value] for key, value in pools.__dict__.items()}, stream)
    os.replace(temporary, path)
    return pools


def _cache_path() -> Path:
    from harness.attacks.resources import cache_root

    return cache_root() / "wordnet-relations" / f"pairs-v{PAIRS_VERSION}.json"


def compute_pair_pools() -> PairPools:
    """Compute the word pairs from WordNet 3.0, prepared by ``harness.attacks.resources``."""
    from harness.attacks.resources import prepare_offline_resources

    prepare_offline_resources()
    from nltk.corpus import wordnet

    nouns, adjectives = _common_words(wordnet)
    hypernym, meronym = set(), set()
    for word in sorted(nouns):
        senses = wordnet.synsets(word, "n")
        if not senses:
            continue
        for ancestor in senses[0].closure(lambda synset: synset.hypernyms(), depth=MAX_HYPERNYM_STEPS):
            if ancestor.min_depth() < MIN_HYPERNYM_DEPTH:
                continue
            name = _first_known(ancestor, nouns, word)
            if name is not None:
                hypernym.add((word, name))
        for sense in senses[:2]:
            for part in sense.part_meronyms():
                name = _first_known(part, nouns, word)
                if name is not None and not _inflections(word, name):
                    meronym.add((word, name))
    antonym = set()
    for word in sorted(adjectives):
        for sense in wordnet.synsets(word, "a"):
            for lemma in sense.lemmas():
                if lemma.name() != word:
                    continue
                for opposite in lemma.antonyms():
                    if opposite.name() in adjectives:
                        antonym.add(tuple(sorted((word, opposite.name()))))
    # Meronymy and hypernymy may both link a pair through different senses; keep such a pair out of both.
    ambiguous = {pair for pair in hypernym if pair in meronym or pair[::-1] in meronym}
    hypernym -= ambiguous
    meronym = {pair for pair in meronym if pair not in ambiguous and pair[::-1] not in ambiguous}
    hypernym = {pair for pair in hypernym if pair[::-1] not in hypernym}
    relation_nouns = sorted({word for pair in hypernym | meronym for word in pair})
    relation_adjectives = sorted({word for pair in antonym for word in pair})
    rng = random.Random(0)
    other_nouns = _unrelated_pairs(wordnet, relation_nouns, "n", len(meronym), rng)
    other_adjectives = _unrelated_pairs(wordnet, relation_adjectives, "a", len(antonym), rng)
    pools = PairPools(
        tuple(sorted(hypernym)), tuple(sorted(meronym)), tuple(sorted(antonym)),
        tuple(other_nouns), tuple(other_adjectives),
    )
    logger.info(
        "wordnet-relations pairs: %d hypernym, %d meronym, %d antonym, %d + %d unrelated",
        len(pools.hypernym), len(pools.meronym), len(pools.antonym), len(pools.other_nouns), len(pools.other_adjectives),
    )
    return pools


def _common_words(wordnet) -> tuple[set[str], set[str]]:
    """Return the nouns and adjectives with a SemCor-tagged sense, from ``cntlist.rev``."""
    counts: Counter[tuple[str, str]] = Counter()
    try:
        stream = wordnet.open("cntlist.rev")
    except (OSError, LookupError):
        raise DataError(
            "wordnet-relations: WordNet's cntlist.rev (sense counts) is missing. "
            "Install Debian's wordnet-base package, then delete the rsbench cache's nltk_data/corpora/wordnet folder."
        ) from None
    with stream:
        for line in stream:
            key, _sense_number, count = line.split()
            lemma, sense = key.split("%", 1)
            if _WORD.fullmatch(lemma):
                counts[(lemma, sense.split(":", 1)[0])] += int(count)
    # Sense-key type numbers: 1 noun, 3 adjective, 5 adjective satellite.
    nouns = {lemma for (lemma, kind), count in counts.items() if kind == "1" and count > 0}
    adjectives = {lemma for (lemma, kind), count in counts.items() if kind in ("3", "5") and count > 0}
    return nouns, adjectives


def _first_known(synset, words: set[str], exclude: str) -> str | None:
    for name in synset.lemma_names():
        if name in words and name != exclude:
            return name
    return None


def _inflections(first: str, second: str) -> bool:
    return first.rstrip("s") == second.rstrip("s")


def _related(wordnet, first: str, second: str, pos: str) -> bool:
    """Tell whether any senses of the two words share a synset or are linked by any relation of the data set."""
    first_senses = set(wordnet.synsets(first, pos))
    second_senses = set(wordnet.synsets(second, pos))
    if first_senses & second_senses:
        return True
    for senses, others in ((first_senses, second_senses), (second_senses, first_senses)):
        for sense in senses:
            if pos == "n":
                ancestors = set(sense.closure(lambda synset: synset.hypernyms()))
                if ancestors & others or set(sense.part_meronyms()) & others:
                    return True
            else:
                linked = set(sense.similar_tos())
                linked |= {antonym.synset() for lemma in sense.lemmas() for antonym in lemma.antonyms()}
                if linked & others:
                    return True
    return False


def _unrelated_pairs(wordnet, words: list[str], pos: str, count: int, rng: random.Random) -> list[tuple[str, str]]:
    pairs: set[tuple[str, str]] = set()
    attempts = 0
    while len(pairs) < count and attempts < 20 * count:
        attempts += 1
        first, second = rng.sample(words, 2)
        pair = tuple(sorted((first, second)))
        if pair in pairs or _inflections(first, second) or _related(wordnet, first, second, pos):
            continue
        pairs.add(pair)
    return sorted(pairs)
