"""A tiny random Llama (2 layers, hidden 64, SmolLM2's tokenizer) behind a ``generate(list[str]) -> list[str]`` callable."""

from __future__ import annotations

import os

for _name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
    os.environ.setdefault(_name, "1")

import torch  # noqa: E402

# SmolLM2's end-of-turn token <|im_end|>, its generation config's eos and pad id.
END_OF_TURN_ID = 2


class TinyLlamaGenerate:
    """Greedy generation of ``max_new_tokens`` tokens from a random tiny Llama, batched and left-padded.

    The source is fed as plain text, without a chat template. With ``cache`` on, outputs are
    kept per source text and a repeated source is not generated again. ``generated`` counts
    the sources actually generated.
    """

    def __init__(self, *, seed: int = 0, max_new_tokens: int = 8, batch_size: int = 16, cache: bool = True):
        from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

        from harness.lm import converted_model_folder

        self.tokenizer = AutoTokenizer.from_pretrained(converted_model_folder())
        self.tokenizer.padding_side = "left"
        self.tokenizer.pad_token = self.tokenizer.convert_ids_to_tokens(END_OF_TURN_ID)
        torch.manual_seed(seed)
        config = LlamaConfig(vocab_size=len(self.tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                             num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                             bos_token_id=1, eos_token_id=END_OF_TURN_ID, pad_token_id=END_OF_TURN_ID)
        self.model = LlamaForCausalLM(config).eval()
        self.max_new_tokens = max_new_tokens
        self.batch_size = batch_size
        self.cache_enabled = cache
        self.generated = 0
        self._cache: dict[str, str] = {}

    def __call__(self, sources: list[str]) -> list[str]:
        missing = [source for source in dict.fromkeys(sources) if source not in self._cache]
        outputs = dict(self._cache)
        for start in range(0, len(missing), self.batch_size):
            batch = missing[start : start + self.batch_size]
            outputs.update(zip(batch, self._generate(batch)))
        self.generated += len(missing)
        if self.cache_enabled:
            self._cache = outputs
        return [outputs[source] for source in sources]

    def _generate(self, batch: list[str]) -> list[str]:
        # An empty source still needs one token to condition on.
        encoded = self.tokenizer([source or " " for source in batch], return_tensors="pt", padding=True)
        with torch.inference_mode():
            tokens = self.model.generate(**encoded, max_new_tokens=self.max_new_tokens, do_sample=False,
                                         pad_token_id=END_OF_TURN_ID, eos_token_id=END_OF_TURN_ID)
        new_tokens = tokens[:, encoded["input_ids"].shape[1] :]
        return [text.strip() for text in self.tokenizer.batch_decode(new_tokens, skip_special_tokens=True)]
