"""Prompt layout of generation tasks: a chat-template user turn, and the target as the assistant's reply.

With a chat template (SmolLM2 has one), the prompt is the template rendered with one user
message ``"{instruction}\\n\\n{source}"`` and the generation prompt (``<|im_start|>assistant\\n``
for SmolLM2). A tokenizer without a chat template gets the plain layout
``"{instruction}\\n\\n{source}\\n\\n"``, after its BOS token when it has one.

The target is the reference text's tokens followed by the end-of-turn token, the token that
the template puts right after an assistant message (``<|im_end|>`` for SmolLM2, whose
tokenizer names ``<|im_start|>`` as its EOS token after GGUF conversion). Without a chat
template the end token is the tokenizer's EOS token.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.training.heads import LABEL_PAD

# Stands for the assistant's text while the template is rendered to find what follows it.
_CONTENT_MARKER = "RSBENCH-CONTENT-MARKER"


def has_chat_template(tokenizer: Any) -> bool:
    return bool(getattr(tokenizer, "chat_template", None))


def end_of_turn_id(tokenizer: Any) -> int:
    """Return the id of the token that ends an assistant turn.

    With a chat template this is the first token after the assistant's content when it is a
    special token (``<|im_end|>`` for SmolLM2, ``<|eot_id|>`` for Llama 3); otherwise, and
    without a template, the EOS token.

    Raises:
        ValueError: the tokenizer has neither such a token nor an EOS token.
    """
    if has_chat_template(tokenizer):
        messages = [{"role": "user", "content": "x"}, {"role": "assistant", "content": _CONTENT_MARKER}]
        rendered = tokenizer.apply_chat_template(messages, tokenize=False)
        after = rendered.split(_CONTENT_MARKER, 1)[1] if _CONTENT_MARKER in rendered else ""
        following = tokenizer(after, add_special_tokens=False)["input_ids"]
        special = set(tokenizer.all_special_ids) | set(getattr(tokenizer, "added_tokens_decoder", {}) or {})
        if following and following[0] in special:
            return following[0]
    if tokenizer.eos_token_id is None:
        raise ValueError(
            f"tokenizer {getattr(tokenizer, 'name_or_path', '')!r} has no end-of-turn token in its chat template and no EOS token: "
            "generation needs one to end the target. Use a tokenizer with a chat template or an EOS token."
        )
    return int(tokenizer.eos_token_id)


@dataclass(frozen=True)
class PromptFormat:
    """The instruction of a task, and how a source and a target become token ids."""

    instruction: str

    def user_message(self, source: str) -> str:
        return f"{self.instruction}\n\n{source}"

    @staticmethod
    def plain_text(tokenizer: Any, text: str) -> str:
        """Return ``text`` with every special-token string broken by a zero-width space.

        Sources and targets are data, so a literal ``<|im_end|>`` in them must not end the
        chat turn when the rendered prompt is tokenized.
        """
        added = getattr(tokenizer, "added_tokens_decoder", {}).values()
        specials = set(getattr(tokenizer, "all_special_tokens", ())) | {token.content for token in added if token.special}
        for token in specials:
            if len(token) > 1 and token in text:
                text = text.replace(token, f"{token[0]}\u200b{token[1:]}")
        return text

    def truncate_source(self, tokenizer: Any, source: str, max_source_tokens: int | None) -> str:
        """Cut ``source`` to its first ``max_source_tokens`` tokens (tokenized alone), decoded back to text."""
        if max_source_tokens is None:
            return source
        ids = tokenizer(source, add_special_tokens=False)["input_ids"]
        if len(ids) <= max_source_tokens:
            return source
        return tokenizer.decode(ids[:max_source_tokens], skip_special_tokens=False)

    def prompt(self, tokenizer: Any, source: str, *, max_source_tokens: int | None = None) -> str:
        """Return the prompt text: the chat template with the user turn and the generation prompt.

        The source is truncated first, so the template around it stays whole.
        """
        source = self.truncate_source(tokenizer, self.plain_text(tokenizer, source), max_source_tokens)
        # The suite's instruction is text too: a special-token string in it must not end the turn.
        message = PromptFormat(self.plain_text(tokenizer, self.instruction)).user_message(source)
        if has_chat_template(tokenizer):
            messages = [{"role": "user", "content": message}]
            return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        return f"{message}\n\n"

    def prompt_ids(self, tokenizer: Any, source: str, *, max_source_tokens: int | None = None) -> list[int]:
        """Return the token ids of :meth:`prompt`.

        A chat template writes its own special tokens, so none are added; SmolLM2's tokenizer
        would otherwise put a second ``<|im_start|>`` in front. The plain layout gets the BOS
        token in front when the tokenizer has one.
        """
        text = self.prompt(tokenizer, source, max_source_tokens=max_source_tokens)
        ids = list(tokenizer(text, add_special_tokens=False)["input_ids"])
        if not has_chat_template(tokenizer) and tokenizer.bos_token_id is not None:
            ids = [tokenizer.bos_token_id, *ids]
        return ids

    def encode(
        self, tokenizer: Any, source: str, target: str, *, max_source_tokens: int | None, max_target_tokens: int | None
    ) -> dict[str, list[int]]:
        """Tokenize prompt and target into ``input_ids``, ``attention_mask`` and ``labels``.

        ``labels`` are ``LABEL_PAD`` on every prompt token and the token ids on the target.
        The target is cut to ``max_target_tokens`` tokens. The end-of-turn token follows it
        only when the whole target fits, so a truncated reference does not teach the model
        to stop early.
        """
        prompt_ids = self.prompt_ids(tokenizer, source, max_source_tokens=max_source_tokens)
        target_ids = list(tokenizer(self.plain_text(tokenizer, target), add_special_tokens=False)["input_ids"])
        if max_target_tokens is not None and len(target_ids) > max_target_tokens:
            target_ids = target_ids[:max_target_tokens]
        else:
            target_ids.append(end_of_turn_id(tokenizer))
        input_ids = prompt_ids + target_ids
        return {
            "input_ids": input_ids,
            "attention_mask": [1] * len(input_ids),
            "labels": [LABEL_PAD] * len(prompt_ids) + target_ids,
        }


# Set on the tokenizer of an encoder-decoder model by harness.generation.models, so that
# CausalLMHead.encode, which receives only the tokenizer, picks the encoder-decoder layout.
ENCODER_DECODER_ATTRIBUTE = "rsbench_encoder_decoder"


def is_encoder_decoder_tokenizer(tokenizer: Any) -> bool:
    """Return whether ``tokenizer`` belongs to an encoder-decoder model (marked when the model was loaded)."""
    return bool(getattr(tokenizer, ENCODER_DECODER_ATTRIBUTE, False))


def mark_encoder_decoder(tokenizer: Any, model: Any) -> Any:
    """Mark ``tokenizer`` as an encoder-decoder model's when ``model.config.is_encoder_decoder``; returns it."""
    setattr(tokenizer, ENCODER_DECODER_ATTRIBUTE, bool(getattr(getattr(model, "config", None), "is_encoder_decoder", False)))
    return tokenizer


def encoder_end_id(tokenizer: Any) -> int:
    """Return the token that ends an encoder-decoder target: the tokenizer's EOS token.

    Raises:
        ValueError: the tokenizer has no EOS token.
    """
    if tokenizer.eos_token_id is None:
        raise ValueError(
            f"tokenizer {getattr(tokenizer, 'name_or_path', '')!r} has no EOS token: an encoder-decoder target needs one "
            "to end. Use a tokenizer with an EOS token."
        )
    return int(tokenizer.eos_token_id)


def source_ids(prompt: PromptFormat, tokenizer: Any, source: str, *, max_source_tokens: int | None,
               max_length: int | None = None) -> list[int]:
    """Return the encoder input of an encoder-decoder model: ``"{instruction}\\n\\n{source}"`` with special tokens.

    No chat template is used. The source is cut to ``max_source_tokens`` tokens first; the
    whole input is then cut to ``max_length`` tokens by the tokenizer (the end goes first).
    """
    text = prompt.user_message(prompt.truncate_source(tokenizer, prompt.plain_text(tokenizer, source), max_source_tokens))
    if max_length is None:
        return list(tokenizer(text, add_special_tokens=True)["input_ids"])
    return list(tokenizer(text, add_special_tokens=True, truncation=True, max_length=max_length)["input_ids"])


def target_ids(prompt: PromptFormat, tokenizer: Any, target: str, *, max_target_tokens: int | None) -> list[int]:
    """Return the decoder labels of an encoder-decoder model: the ``text_target`` encoding of ``target``.

    That encoding ends with the EOS token for T5, BART and Marian tokenizers; when it does
    not, the EOS token is appended. A target longer than ``max_target_tokens`` tokens (EOS not
    counted) is cut and gets no EOS, so a truncated reference does not teach the model to
    stop early.
    """
    end = encoder_end_id(tokenizer)
    ids = list(tokenizer(text_target=prompt.plain_text(tokenizer, target), add_special_tokens=True)["input_ids"])
    if ids and ids[-1] == end:
        ids = ids[:-1]
    if max_target_tokens is not None and len(ids) > max_target_tokens:
        return ids[:max_target_tokens]
    return [*ids, end]
