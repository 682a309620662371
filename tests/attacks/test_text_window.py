import time

from transformers import AutoTokenizer

from harness.attacks.runner import model_window
from tests.tiny_models import minilm_folder


def _tokenizer():
    return AutoTokenizer.from_pretrained(minilm_folder())


def test_short_text_unchanged():
    text = "a wonderful, moving film \u202e 🙂"
    assert model_window(_tokenizer(), text, 32) == text


def test_long_text_cut_to_model_input():
    tokenizer = _tokenizer()
    document = ("a <b>wonderful</b> film \u200b " * 20000)[:100_000]
    started = time.perf_counter()

    cut = model_window(tokenizer, document, 32)

    assert time.perf_counter() - started < 30
    assert document.startswith(cut)
    assert len(cut) < 200
    full_ids = tokenizer(document, truncation=True, max_length=32)["input_ids"]
    assert tokenizer(cut, truncation=True, max_length=32)["input_ids"] == full_ids
