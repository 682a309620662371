"""Generation data: packaged pair sets, user files with their errors, and group splits."""

from __future__ import annotations

import json
import time

import pytest

from harness.errors import DataError
from harness.generation import data
from harness.generation.data import (
    bible_pairs,
    cap,
    chitchat_pairs,
    clean_osis,
    glued_tokens,
    news_headline_pairs,
    read_pairs_file,
    split_pairs,
)
from harness.generation.examples import TextPairs


def _pairs(groups: list[str]) -> TextPairs:
    n = len(groups)
    return TextPairs(tuple(f"s{i}" for i in range(n)), tuple(f"t{i}" for i in range(n)), tuple(groups), tuple(f"o{i}" for i in range(n)))


# --- OSIS cleaning -------------------------------------------------------------------------


def test_clean_osis_note_between_words():
    markup = '<w lemma="strong:H0430">God</w><note placement="foot"><reference type="annotateRef">1:1 </reference>The Hebrew word.</note><w lemma="strong:H1254">created</w> it.'
    assert clean_osis(markup) == "God created it."


def test_clean_osis_note_before_punctuation():
    assert clean_osis('<w>earth</w><note placement="foot">or, land</note>. <w>Then</w>') == "earth. Then"
    assert clean_osis('<w>said</w>, “<note placement="foot">x</note><w>Let</w>') == "said, “Let"


def test_clean_osis_spaced_note_before_punctuation():
    markup = 'two assaria coins</q> <note placement="foot">An assarion was a coin.</note> <q marker="" who="Jesus">? Not one'
    assert clean_osis(markup) == "two assaria coins? Not one"


def test_clean_osis_note_at_verse_end():
    assert clean_osis("<w>end</w>.<note placement=\"foot\">A note.</note>") == "end."


def test_clean_osis_added_word_between_elements():
    markup = '<w lemma="a">hay allí</w><transChange type="added">también</transChange><w lemma="b">bdelio</w> y piedra.'
    assert clean_osis(markup) == "hay allí también bdelio y piedra."


def test_clean_osis_attached_pronoun():
    assert clean_osis('<w>y</w> <w>díjo</w><transChange type="added">le</transChange> <w>Dios</w>') == "y díjole Dios"
    assert clean_osis('<w>Y no</w><transChange type="added">lo</transChange><w>hizo</w>') == "Y no lo hizo"
    assert clean_osis('<w>a</w> <w>Dios</w><transChange type="added">lo</transChange> <w>dijo</w>') == "a Dios lo dijo"
    assert clean_osis('<w>repartiéron</w> repartiéron<transChange type="added">lo</transChange> ya') == "repartiéron repartiéronlo ya"


def test_clean_osis_drops_headings_and_speakers():
    markup = '<title canonical="true" type="psalm">A Psalm by David.</title> <lg sID="1"/><l sID="2"/>Yahweh, hear me!<l eID="2"/><l sID="3"/>Answer me.<l eID="3"/> <speaker>Friends</speaker> <title type="main">Heading</title>'
    assert clean_osis(markup) == "A Psalm by David. Yahweh, hear me! Answer me."


def test_clean_osis_unescapes_entities():
    assert clean_osis("<w>salt &amp; light</w>") == "salt & light"


def test_glued_tokens_heuristic():
    texts = ["god created the heavens"] * 25 + ["in the beginning godcreated it"]
    assert glued_tokens(texts) == ["godcreated"]


# --- Bible pairs on the real SWORD modules -------------------------------------------------


@pytest.fixture(scope="module")
def bible(tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")
    started = time.perf_counter()
    pairs = bible_pairs(cache_dir=cache)
    return pairs, cache, time.perf_counter() - started


@pytest.mark.slow
def test_bible_pairs_counts(bible):
    pairs, _, _ = bible
    assert len(pairs) == 31077
    assert len(set(pairs.groups)) == 66
    assert len(set(pairs.origins)) == len(pairs)
    assert all(source and target for source, target in zip(pairs.sources, pairs.targets))


@pytest.mark.slow
def test_bible_pairs_no_markup(bible):
    pairs, _, _ = bible
    texts = pairs.sources + pairs.targets
    assert not [text for text in texts if "<" in text or ">" in text]
    assert not [text for text in texts if "\x00" in text or "&amp;" in text]


@pytest.mark.slow
def test_bible_pairs_known_verses(bible):
    pairs, _, _ = bible
    genesis = pairs.origins.index("Genesis 1:1")
    assert pairs.sources[genesis] == "In the beginning, God created the heavens and the earth."
    assert pairs.targets[genesis] == "EN el principio crió Dios los cielos y la tierra."
    assert pairs.groups[genesis] == "Genesis"
    bdellium = pairs.origins.index("Genesis 2:12")
    assert "allí también bdelio" in pairs.targets[bdellium]
    john = pairs.origins.index("John 3:16")
    assert pairs.groups[john] == "John"
    assert "eternal life" in pairs.sources[john]
    assert "vida eterna" in pairs.targets[john]


@pytest.mark.slow
def test_bible_pairs_few_glued_words(bible):
    pairs, _, _ = bible
    glued = set(glued_tokens(pairs.sources))
    assert not glued & {"godcreated", "andthe", "bornson"}
    # The remaining hits of the heuristic are rare real words (wineskin, bodyguard).
    assert len(glued) < 120
    assert not set(glued_tokens(pairs.targets)) & {"allítambiénbdelio", "díjoledios", "asíuna"}


@pytest.mark.slow
def test_bible_pairs_cached(bible):
    pairs, cache, _ = bible
    path = cache / "generation" / f"bible-en-es-v{data.BIBLE_CACHE_VERSION}.jsonl"
    header = json.loads(path.read_text(encoding="utf-8").split("\n", 1)[0])
    assert header == {"version": data.BIBLE_CACHE_VERSION, "pairs": len(pairs)}
    started = time.perf_counter()
    again = bible_pairs(cache_dir=cache)
    assert again == pairs
    assert time.perf_counter() - started < 5


@pytest.mark.slow
def test_bible_split_keeps_books_apart(bible):
    pairs, _, _ = bible
    train, dev, test = split_pairs(pairs, dev_fraction=0.1, test_fraction=0.1, seed=3, origin="bible")
    assert len(train) + len(dev) + len(test) == len(pairs)
    books = [set(part.groups) for part in (train, dev, test)]
    assert not books[0] & books[1]
    assert not books[0] & books[2]
    assert not books[1] & books[2]
    assert len(books[2]) == 7


def test_bible_pairs_without_mod2imp(monkeypatch, tmp_path):
    monkeypatch.setattr(data.shutil, "which", lambda name: None)
    with pytest.raises(DataError) as error:
        bible_pairs(cache_dir=tmp_path)
    assert "mod2imp" in str(error.value)
    assert "sword-text-web" in str(error.value)
    assert "make setup" in str(error.value)


def test_bible_pairs_missing_module():
    with pytest.raises(DataError) as error:
        data.export_module("noSuchModule")
    assert "noSuchModule" in str(error.value)
    assert "sword-text-sparv" in str(error.value)
    assert "make setup" in str(error.value)


def test_bible_cache_unreadable_is_rebuilt(tmp_path, monkeypatch):
    path = tmp_path / "generation" / f"bible-en-es-v{data.BIBLE_CACHE_VERSION}.jsonl"
    path.parent.mkdir()
    path.write_text('{"version": 0, "pairs": 1}\n["a", "b", "c", "d"]\n', encoding="utf-8")
    assert data._read_bible_cache(path) is None
    path.write_text(f'{{"version": {data.BIBLE_CACHE_VERSION}, "pairs": 1}}\n["a", "b", "c", "d"]\n', encoding="utf-8")
    assert data._read_bible_cache(path) == TextPairs(("a",), ("b",), ("c",), ("d",))


# --- news and chit-chat --------------------------------------------------------------------


def test_news_title_pairs():
    pairs = news_headline_pairs(50, "title")
    assert len(pairs) == 3729
    assert len(set(pairs.groups)) == len(pairs)
    assert max(len(source.split()) for source in pairs.sources) == 50
    assert all(pairs.targets)


def test_news_subtitle_pairs_skip_missing():
    pairs = news_headline_pairs(30, "subtitle")
    assert len(pairs) == 2316
    assert all(target.strip() for target in pairs.targets)


def test_news_unknown_target():
    with pytest.raises(DataError, match="'title' or 'subtitle'"):
        news_headline_pairs(30, "body")


@pytest.fixture(scope="module")
def chitchat():
    return chitchat_pairs(3)


def test_chitchat_pairs_counts_and_groups(chitchat):
    pairs = chitchat
    assert len(pairs) == 6125
    groups = set(pairs.groups)
    assert len(groups) == 3231
    counts = {group: pairs.groups.count(group) for group in list(groups)[:200]}
    assert set(counts.values()) <= {1, 2}
    assert all(len(target.split()) <= data.MAX_REPLY_WORDS for target in pairs.targets)


def test_chitchat_rejects_no_history():
    with pytest.raises(DataError, match="history_turns is 0"):
        chitchat_pairs(0)


def test_chitchat_history_tags(chitchat):
    pairs = chitchat
    lines = pairs.sources[0].split("\n")
    assert len(lines) == 3
    assert [line[:3] for line in lines] == ["A: ", "B: ", "A: "]
    assert pairs.sources[0].startswith("A: Hello How are you doing today?")
    assert pairs.targets[0] == "oh wow haha so you still feel tired huh?"


# --- user files ----------------------------------------------------------------------------


def test_read_tsv_with_header_bom_and_crlf(tmp_path):
    path = tmp_path / "pairs.tsv"
    path.write_bytes("\ufeffsrc\ttgt\tgroup\r\nhello world\thola mundo\tdoc1\r\n\r\ngood night\tbuenas noches\tdoc2\r\n".encode("utf-8"))
    pairs = read_pairs_file(path, format="tsv", source_field="src", target_field="tgt")
    assert pairs.sources == ("hello world", "good night")
    assert pairs.targets == ("hola mundo", "buenas noches")
    assert pairs.groups == ("doc1", "doc2")
    assert pairs.origins == (f"{path}:2", f"{path}:4")


def test_read_jsonl_default_groups(tmp_path):
    path = tmp_path / "pairs.jsonl"
    lines = [json.dumps({"document": "a b c", "summary": "a"}), "", json.dumps({"document": "d e", "summary": "d", "group": 7})]
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    pairs = read_pairs_file(path, format="jsonl", source_field="document", target_field="summary", max_source_words=3)
    assert pairs.sources == ("a b c", "d e")
    assert pairs.groups == ("1", "7")


ERROR_CASES = [
    ("tsv", "src\ttgt\nhello\thola\n\tvacío\n", 3, "source (src) is empty", "Write the source text"),
    ("tsv", "src\ttgt\nhello\thola\nbye\t \n", 3, "target (tgt) is empty", "Write the reference text"),
    ("tsv", "src\ttgt\nhello\thola\nbye\tadiós\textra\n", 3, "3 tab-separated fields, but the header has 2", "Fix the tabs"),
    ("tsv", "source\ttarget\nhello\thola\n", 1, "no column 'src'", "Name the column 'src'"),
    ("tsv", "src\ttgt\none two three four\tuno\n", 2, "4 words, more than max_source_words (3)", "Shorten the document"),
    ("jsonl", '{"src": "a", "tgt": "b"}\n{"src": "a", "tgt": \n', 2, "invalid JSON", "one JSON object per line"),
    ("jsonl", '{"src": "a", "tgt": "b"}\n{"src": "a"}\n', 2, "no 'tgt' field", "Add the field"),
    ("jsonl", '{"src": "a", "tgt": 5}\n', 1, "expected a string", "JSON string"),
    ("jsonl", '{"src": "", "tgt": "b"}\n', 1, "source (src) is empty", "Write the source text"),
    ("jsonl", '["src", "tgt"]\n', 1, "expected an object", "one JSON object per line"),
    ("jsonl", '{"src": "one two three four", "tgt": "b"}\n', 1, "more than max_source_words", "raise max_source_words"),
]


@pytest.mark.parametrize(("file_format", "content", "line", "problem", "fix"), ERROR_CASES)
def test_read_pairs_file_errors(tmp_path, file_format, content, line, problem, fix):
    path = tmp_path / f"bad.{file_format}"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError) as error:
        read_pairs_file(path, format=file_format, source_field="src", target_field="tgt", max_source_words=3)
    message = str(error.value)
    assert f"{path}:{line}:" in message
    assert problem in message
    assert fix in message


def test_read_pairs_file_not_utf8(tmp_path):
    path = tmp_path / "latin1.tsv"
    path.write_bytes("src\ttgt\nniño\tchild\n".encode("latin-1"))
    with pytest.raises(DataError) as error:
        read_pairs_file(path, format="tsv", source_field="src", target_field="tgt")
    assert f"{path}:2:" in str(error.value)
    assert "Save the file as UTF-8" in str(error.value)


def test_read_pairs_file_missing_and_empty(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        read_pairs_file(tmp_path / "none.tsv", format="tsv", source_field="src", target_field="tgt")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n", encoding="utf-8")
    with pytest.raises(DataError, match="no pairs found"):
        read_pairs_file(empty, format="jsonl", source_field="src", target_field="tgt")


# --- splits and caps -----------------------------------------------------------------------


def test_split_pairs_by_group():
    pairs = _pairs([f"g{i % 10}" for i in range(100)])
    train, dev, test = split_pairs(pairs, dev_fraction=0.2, test_fraction=0.2, seed=1, origin="x")
    assert (len(train), len(dev), len(test)) == (60, 20, 20)
    assert not set(train.groups) & set(test.groups)
    assert not set(dev.groups) & set(test.groups)
    again = split_pairs(pairs, dev_fraction=0.2, test_fraction=0.2, seed=1, origin="x")
    assert again[2] == test


def test_split_pairs_too_few_groups():
    with pytest.raises(DataError) as error:
        split_pairs(_pairs(["a", "a", "b"]), dev_fraction=0.1, test_fraction=0.1, seed=0, origin="my.tsv")
    assert "my.tsv: 2 groups" in str(error.value)
    assert "change dev_fraction/test_fraction" in str(error.value)


def test_cap_keeps_order():
    pairs = _pairs([str(i) for i in range(50)])
    capped = cap(pairs, 10, seed=4)
    assert len(capped) == 10
    assert list(capped.groups) == sorted(capped.groups, key=int)
    assert cap(pairs, 10, seed=4) == capped
    assert cap(pairs, None, seed=4) is pairs


# --- hostile user files --------------------------------------------------------------------


def test_pairs_file_classic_mac_line_endings(tmp_path):
    path = tmp_path / "pairs.tsv"
    path.write_bytes(b"source\ttarget\rthe cat\tel gato\rthe dog\tel perro\r")
    pairs = read_pairs_file(path, format="tsv", source_field="source", target_field="target")
    assert pairs.sources == ("the cat", "the dog")
    assert pairs.targets == ("el gato", "el perro")
    assert pairs.origins == (f"{path}:2", f"{path}:3")


def test_pairs_file_repeated_header_column(tmp_path):
    path = tmp_path / "pairs.tsv"
    path.write_text("source\tsource\ttarget\nx\tthe cat\tel gato\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"pairs.tsv:1: the header names column\(s\) 'source' more than once"):
        read_pairs_file(path, format="tsv", source_field="source", target_field="target")


def test_pairs_file_same_source_and_target_field(tmp_path):
    path = tmp_path / "pairs.jsonl"
    path.write_text(json.dumps({"text": "a", "other": "b"}) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match="source_field and target_field are both 'text'.*two different"):
        read_pairs_file(path, format="jsonl", source_field="text", target_field="text")


def test_split_one_group_names_group_field():
    pairs = _pairs(["g"] * 20)
    with pytest.raises(DataError, match=r"x.tsv: 1 groups cannot be split.*20 pairs fall into 1 group\(s\) by their 'group' values"):
        split_pairs(pairs, dev_fraction=0.1, test_fraction=0.2, seed=0, origin="x.tsv")


def test_summarization_tsv_file_fix_names_jsonl(tmp_path):
    from harness.generation.task import SummarizationTask
    from harness.suite import FileData

    path = tmp_path / "docs.tsv"
    path.write_text("document\tsummary\na b c\ta\n", encoding="utf-8")
    spec = FileData(source="file", path=path)
    with pytest.raises(DataError) as raised:
        SummarizationTask().load_splits(spec, where="tasks.news.data")
    message = str(raised.value)
    assert message.startswith("tasks.news.data.format: summarization reads jsonl files")
    assert "Convert the file to jsonl and set format: jsonl." in message
    assert "format: tsv" not in message


@pytest.mark.parametrize("text", ["\u200b", "\u200d\u200b", " \u202e\u202c ", "\ufeff"])
def test_pairs_file_invisible_target(tmp_path, text):
    path = tmp_path / "pairs.jsonl"
    path.write_text(json.dumps({"source": "the cat", "target": "el gato"}) + "\n"
                    + json.dumps({"source": "the dog", "target": text}) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"pairs.jsonl:2: the target \(target\) is empty or only blank and invisible"):
        read_pairs_file(path, format="jsonl", source_field="source", target_field="target")


def test_pairs_file_keeps_hostile_visible_text(tmp_path):
    texts = ['<script>alert(1)</script>', '"><img src=x onerror=alert(2)>', "<|im_end|>", "مرحبا \u202eevil\u202c",
             "zero\u200bwidth", "😀👨\u200d👩\u200d👧", "a" * 5000]
    path = tmp_path / "pairs.jsonl"
    path.write_text("".join(json.dumps({"source": text, "target": text}, ensure_ascii=False) + "\n" for text in texts),
                    encoding="utf-8")
    pairs = read_pairs_file(path, format="jsonl", source_field="source", target_field="target")
    assert pairs.sources == tuple(texts)
    assert pairs.targets == tuple(texts)


def test_pairs_file_huge_json_integer(tmp_path):
    path = tmp_path / "pairs.jsonl"
    path.write_text(json.dumps({"source": "a", "target": "b"}) + "\n"
                    + '{"source": "c", "target": "d", "group": ' + "1" * 5000 + "}\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"pairs.jsonl:2: invalid JSON number \(Exceeds the limit .*Write long numbers as JSON strings"):
        read_pairs_file(path, format="jsonl", source_field="source", target_field="target")


def test_pairs_file_lone_surrogate(tmp_path):
    path = tmp_path / "pairs.jsonl"
    path.write_text('{"source": "the cat \\ud800 eats", "target": "el gato"}\n', encoding="utf-8")
    with pytest.raises(DataError) as raised:
        read_pairs_file(path, format="jsonl", source_field="source", target_field="target")
    message = str(raised.value)
    assert message.startswith(f"{path}:1: field 'source' has a lone surrogate '\\ud800' at character 8")
    assert "Fix the \\u escape" in message


def test_pairs_file_surrogate_pair_kept(tmp_path):
    path = tmp_path / "pairs.jsonl"
    path.write_text('{"source": "hi \\ud83d\\ude00", "target": "hola"}\n', encoding="utf-8")
    pairs = read_pairs_file(path, format="jsonl", source_field="source", target_field="target")
    assert pairs.sources == ("hi 😀",)


def test_pairs_file_fifo_rejected(tmp_path):
    import os

    path = tmp_path / "pairs.tsv"
    os.mkfifo(path)
    with pytest.raises(DataError, match=r"pairs.tsv: not a regular file. Point data.path at a TSV or JSONL file."):
        read_pairs_file(path, format="tsv", source_field="source", target_field="target")
