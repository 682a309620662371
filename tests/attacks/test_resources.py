"""Offline NLTK data and GloVe neighbours."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness.attacks import resources
from harness.errors import RsbenchError


def test_prepare_writes_nltk_data(tmp_path: Path):
    folder = resources.prepare_offline_resources(tmp_path)
    wordnet_dir = folder / "corpora" / "wordnet"
    assert (folder / "corpora" / "stopwords" / "english").is_file()
    assert not (wordnet_dir / "data.noun").is_symlink()
    lexnames = (wordnet_dir / "lexnames").read_text().splitlines()
    assert len(lexnames) == 45
    assert lexnames[3] == "03\tnoun.Tops\t1"
    assert lexnames[44] == "44\tadj.ppl\t3"
    assert os.environ["NLTK_DATA"].split(os.pathsep)[0] == str(folder)


def test_prepare_second_call_keeps_files(tmp_path: Path):
    folder = resources.prepare_offline_resources(tmp_path)
    stamp = (folder / "corpora" / "wordnet" / "lexnames").stat().st_mtime_ns
    assert resources.prepare_offline_resources(tmp_path) == folder
    assert (folder / "corpora" / "wordnet" / "lexnames").stat().st_mtime_ns == stamp


def test_prepare_without_wordnet_names_package(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(resources, "DEBIAN_WORDNET_DIR", tmp_path / "missing")
    with pytest.raises(RsbenchError, match="apt-get install wordnet-base"):
        resources.prepare_offline_resources(tmp_path / "cache")


def test_wordnet_loads_through_nltk():
    resources.import_textattack()
    from nltk.corpus import stopwords, wordnet

    assert wordnet.get_version() == "3.0"
    assert wordnet.synset("dog.n.01").lexname() == "noun.animal"
    assert wordnet.lemma_from_key("good%3:00:01::").synset() == wordnet.synset("good.a.01")
    assert "the" in stopwords.words("english")


def test_antonyms_include_direct_and_cluster_links():
    resources.prepare_offline_resources()
    assert "bad" in resources.wordnet_antonyms("good")
    assert "bad" in resources.wordnet_antonyms("excellent")
    assert "movie" not in resources.wordnet_antonyms("film")


def test_cosine_neighbours_best_first():
    import numpy as np

    vectors = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.7, 0.7]], dtype=np.float32)
    assert resources.cosine_neighbours(vectors, 2, chunk_rows=3).tolist() == [[1, 3], [0, 3], [3, 1], [1, 2]]


@pytest.mark.slow
def test_glove_neighbours_without_antonyms(tmp_path: Path):
    embedding = resources.glove_embedding(vocab_size=5000, neighbours=20, cache_dir=tmp_path)
    raw = resources.cosine_neighbours(embedding.embedding_matrix, 20)
    # Raw GloVe 6B 50d puts these antonyms among the 20 nearest words.
    for word, antonym in [("high", "low"), ("positive", "negative"), ("buy", "sell"), ("strong", "weak")]:
        index = embedding.word2index(word)
        assert antonym in [embedding.index2word(int(i)) for i in raw[index]]
        neighbours = [embedding.index2word(int(i)) for i in embedding.nearest_neighbours(index, 20)]
        assert antonym not in neighbours
        assert len(set(neighbours)) == 20
    good = [embedding.index2word(int(i)) for i in embedding.nearest_neighbours(embedding.word2index("good"), 20)]
    assert "bad" not in good
    assert "better" in good
    assert embedding.nn_matrix.shape == (5000, 21)
    assert list((tmp_path / "glove").glob("nn_*_n5000_k20.npy"))
