"""Machine translation, summarization and dialogue: a prompted causal LM generates the target text.

The three tasks share everything except their data, their instruction and their metrics:
``GenerationTask`` implements the task interface once, and each subclass names its data
sets and metric function.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from harness.errors import DataError
from harness.generation.decoding import Decoding
from harness.generation.examples import TextPairs
from harness.suite import FileData, HubData, PackagedData
from harness.tasks.base import AttackRun, DatasetInfo, Evaluation, ExampleDescription, Splits

logger = logging.getLogger(__name__)


class GenerationSettings(BaseModel):
    """Knobs shared by the generation tasks: prompt, truncation, fine-tuning, decoding and attack success."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    instruction: str | None = Field(None, min_length=1, description="the instruction put before each source; each task has a default")
    max_source_tokens: int = Field(96, ge=4, le=4096, description="source tokens kept in the prompt (the end is cut)")
    max_target_tokens: int = Field(48, ge=1, le=4096, description="target tokens trained on (the end is cut)")
    fine_tuning: Literal["lora", "full"] = Field("lora", description="LoRA adapters (peft) or every weight")
    lora_rank: int = Field(8, ge=1, le=512)
    lora_alpha: float = Field(16.0, gt=0)
    lora_dropout: float = Field(0.05, ge=0, lt=1)
    decoding: Decoding = Field(default_factory=Decoding, description="greedy or beam search, and the longest output")
    target_bleu: float = Field(
        0.2, ge=0, lt=1, description="minimise-BLEU attacks succeed when the sentence BLEU of the attacked output against "
                                     "the clean output falls to this or below")
    max_words_changed: float = Field(0.2, gt=0, le=1, description="share of the source's words an attack may change")
    source_field: str = Field("source", min_length=1, description="JSONL field (or TSV header) of the source text in user files")
    target_field: str = Field("target", min_length=1, description="JSONL field (or TSV header) of the target text in user files")
    max_source_words: int = Field(2000, ge=1, description="a user file's source over this many words is an error")


class GenerationTask:
    """A text-to-text task: train a causal LM on prompt → target, score its greedy or beam outputs."""

    model_head = "causal-lm"
    default_instruction: str = ""
    packaged: tuple[str, ...] = ()
    file_formats: tuple[str, ...] = ("tsv", "jsonl")
    metric_names: tuple[str, ...] = ()
    Settings: type[GenerationSettings] = GenerationSettings

    def __init__(self, settings: GenerationSettings | None = None):
        from harness.generation.head import CausalLMHead
        from harness.generation.prompts import PromptFormat

        self.settings = settings or self.Settings()
        self.prompt = PromptFormat(self.settings.instruction or self.default_instruction)
        self.head = CausalLMHead(self.prompt, self.settings.max_source_tokens, self.settings.max_target_tokens)

    # --- data ----------------------------------------------------------------------------------

    def packaged_pairs(self, name: str) -> TextPairs:
        raise NotImplementedError

    def metrics(self, predictions: Sequence[str], references: Sequence[str]) -> dict[str, float]:
        raise NotImplementedError

    def load_splits(self, spec: Any, *, where: str = "data") -> tuple[Splits, DatasetInfo]:
        from harness.generation import data

        if isinstance(spec, PackagedData):
            if spec.name not in self.packaged:
                raise DataError(f"{where}.name: packaged data set {spec.name!r} is not {self.name} data. "
                                f"Use {' or '.join(self.packaged)}.")
            pairs = self.packaged_pairs(spec.name)
            origin, info = f"packaged:{spec.name}", DatasetInfo(spec.name, generated=False)
        elif isinstance(spec, FileData):
            suffix = spec.path.suffix.lower().lstrip(".")
            file_format = spec.format or suffix
            if file_format not in self.file_formats:
                raise DataError(f"{where}.format: {self.name} reads {' or '.join(self.file_formats)} files of "
                                f"{self.settings.source_field}/{self.settings.target_field} pairs, not {file_format!r} "
                                f"({spec.path.name}). {_format_fix(self.file_formats)}")
            pairs = data.read_pairs_file(spec.path, format=file_format, source_field=self.settings.source_field,
                                         target_field=self.settings.target_field, max_source_words=self.settings.max_source_words)
            origin, info = str(spec.path), DatasetInfo(spec.path.name, generated=False)
        else:
            assert isinstance(spec, HubData)
            raise DataError(f"{where}: {self.name} does not read hub data sets yet. Export the pairs to JSONL "
                            f"({self.settings.source_field!r} and {self.settings.target_field!r} fields) and use source: file.")
        train, dev, test = data.split_pairs(pairs, dev_fraction=spec.dev_fraction, test_fraction=spec.test_fraction,
                                            seed=spec.split_seed, origin=origin)
        splits = Splits(data.cap(train, spec.train_size, spec.split_seed), data.cap(dev, spec.dev_size, spec.split_seed),
                        data.cap(test, spec.test_size, spec.split_seed))
        logger.info("data %s: %d train, %d dev, %d test pairs", origin, len(splits.train), len(splits.dev), len(splits.test))
        return splits, info

    def label_names(self, splits: Splits) -> tuple[str, ...]:
        return ()

    # --- model ---------------------------------------------------------------------------------

    def prepare_model(self, model: Any, tokenizer: Any) -> tuple[Any, Any]:
        """Wrap the model in LoRA adapters, or leave every weight trainable (``fine_tuning: full``)."""
        from harness.generation.models import apply_fine_tuning

        settings = self.settings
        model = apply_fine_tuning(model, method=settings.fine_tuning, lora_rank=settings.lora_rank,
                                  lora_alpha=settings.lora_alpha, lora_dropout=settings.lora_dropout)
        return model, tokenizer

    def generator(self, model: Any, tokenizer: Any, *, batch_size: int, device: Any, precision: str = "fp32") -> Any:
        from harness.generation.generator import Generator

        return Generator(model, tokenizer, self.prompt, self.settings.decoding, batch_size=batch_size,
                         max_source_tokens=self.settings.max_source_tokens, device=device, precision=precision)

    # --- evaluation ----------------------------------------------------------------------------

    def evaluate(self, model: Any, tokenizer: Any, data: TextPairs, *, batch_size: int, max_length: int, device: Any,
                 progress: bool = True, precision: str = "fp32") -> Evaluation:
        """Generate an output for every source and score the outputs against the references."""
        started = time.perf_counter()
        generate = self.generator(model, tokenizer, batch_size=batch_size, device=device, precision=precision)
        outputs = generate(list(data.sources))
        metrics = self.metrics(outputs, list(data.targets))
        seconds = time.perf_counter() - started
        return Evaluation(metrics, len(data) / seconds if seconds > 0 else math.inf)

    # --- attacks -------------------------------------------------------------------------------

    def attack(self, model: Any, tokenizer: Any, attack_name: str, examples: TextPairs, *, budget: Any, max_length: int,
               device: Any, progress: bool = True) -> AttackRun:
        """Perturb each source so the output moves away from the clean output; see ``harness.generation.attacks``."""
        from harness.attacks.runner import summarize
        from harness.generation import attacks
        from harness.registry import UnknownNameError

        if attack_name not in attacks.ATTACK_NAMES:
            raise UnknownNameError("attack", attack_name, list(attacks.ATTACK_NAMES))
        generate = self.generator(model, tokenizer, batch_size=budget.batch_size, device=device, precision=budget.precision)
        started = time.perf_counter()
        outcomes = attacks.attack_generation(
            generate, examples, attack_name=attack_name, query_budget=budget.query_budget,
            max_words_changed=self.settings.max_words_changed, target_bleu=self.settings.target_bleu, progress=progress,
        )
        seconds = time.perf_counter() - started
        records = [outcome.record for outcome in outcomes]
        references = list(examples.targets)
        summary = dataclasses.replace(
            summarize(records, seconds),
            model_forward_seconds=generate.generation_seconds,
            model_gflop=causal_lm_flops(model.config, generate.forward_token_counts) / 1e9,
        )
        return AttackRun(
            records=records,
            summary=summary,
            robust_metrics=self.metrics([outcome.attacked_output for outcome in outcomes], references),
            attacked_clean_metrics=self.metrics([outcome.clean_output for outcome in outcomes], references),
        )

    def describe_example(self, details: dict[str, Any], label_names: tuple[str, ...]) -> ExampleDescription:
        return ExampleDescription(
            f"reference: {details.get('reference', '')}",
            f"output: {details.get('original_output', '') or '(empty)'}",
            f"output: {details.get('perturbed_output', '') or '(empty)'}",
        )


def _format_fix(file_formats: Sequence[str]) -> str:
    if len(file_formats) == 1:
        return f"Convert the file to {file_formats[0]} and set format: {file_formats[0]}."
    return f"Set format: {' or format: '.join(file_formats)}."


def causal_lm_flops(config: Any, token_counts: Sequence[tuple[int, int]]) -> float:
    """Estimate the FLOPs of generating outputs with a decoder-only model.

    ``token_counts`` contains (prompt tokens, generated tokens) per output. Every token
    passes the attention projections (grouped key/value heads where the configuration has
    them) and the gated feed-forward block (3 matrices, as in Llama). Attention scores cost
    ``4 n h`` per token at position ``n``, and the output projection to the vocabulary runs
    once per generated token. Embedding lookups and norms are left out.
    """
    if getattr(config, "is_encoder_decoder", False):
        return encoder_decoder_flops(config, token_counts)
    h, i, layers = config.hidden_size, config.intermediate_size, config.num_hidden_layers
    heads = config.num_attention_heads
    kv_dim = h * getattr(config, "num_key_value_heads", heads) // heads
    vocabulary = config.vocab_size
    per_token = layers * 2 * (2 * h * h + 2 * h * kv_dim + 3 * h * i)
    total = 0.0
    for count in token_counts:
        prompt, generated = count
        n = prompt + generated
        total += n * per_token + layers * 2 * n * n * h + generated * 2 * h * vocabulary
    return total


def encoder_decoder_flops(config: Any, token_counts: Sequence[tuple[int, int]]) -> float:
    """Estimate the FLOPs of generating outputs with an encoder-decoder model (BART, Marian, T5 configurations).

    ``token_counts`` contains (source tokens, generated tokens) per output. Every source
    token passes the encoder layers: 4 attention projections and the feed-forward block (2
    matrices, 3 for a gated T5). Every generated token passes the decoder layers (self- and
    cross-attention projections, feed-forward) and the output projection. The
    cross-attention keys and values of the source are computed once per decoder layer, and
    attention scores cost ``4 n h`` per query over ``n`` keys.
    """
    h = config.d_model
    encoder_layers = getattr(config, "encoder_layers", None) or config.num_layers
    decoder_layers = getattr(config, "decoder_layers", None) or getattr(config, "num_decoder_layers", None) or encoder_layers
    ffn = getattr(config, "encoder_ffn_dim", None) or config.d_ff
    matrices = 3 if getattr(config, "is_gated_act", False) else 2
    total = 0.0
    for count in token_counts:
        source, generated = count
        total += encoder_layers * (source * 2 * (4 * h * h + matrices * h * ffn) + 2 * source * source * h)
        total += decoder_layers * (generated * 2 * (6 * h * h + matrices * h * ffn) + source * 2 * 2 * h * h
                                   + 2 * generated * generated * h + 4 * generated * source * h)
        total += generated * 2 * h * config.vocab_size
    return total


class TranslationTask(GenerationTask):
    """English → Spanish translation; sacreBLEU and chrF."""

    name = "translation"
    headline = "bleu"
    metric_names = ("bleu", "chrf")
    default_instruction = "Translate this English text into Spanish."
    packaged = ("bible-en-es",)

    def packaged_pairs(self, name: str) -> TextPairs:
        from harness.generation.data import bible_pairs

        return bible_pairs()

    def metrics(self, predictions: Sequence[str], references: Sequence[str]) -> dict[str, float]:
        from harness.generation.metrics import translation_metrics

        return translation_metrics(predictions, references)


class SummarizationSettings(GenerationSettings):
    """Generation settings plus how the packaged news summaries are built."""

    max_source_tokens: int = Field(256, ge=4, le=4096, description="source tokens kept in the prompt (the end is cut)")
    max_target_tokens: int = Field(32, ge=1, le=4096, description="target tokens trained on (the end is cut)")
    document_words: int = Field(150, ge=10, le=5000, description="news-headlines: words of the article body used as the document")
    summary: Literal["title", "subtitle"] = Field("title", description="news-headlines: the article's title or its subtitle as the summary")
    source_field: str = Field("document", min_length=1, description="JSONL field of the document in user files")
    target_field: str = Field("summary", min_length=1, description="JSONL field of the summary in user files")


class SummarizationTask(GenerationTask):
    """Headline-style summarization of news articles; ROUGE-1/2/L F-measure with stemming."""

    name = "summarization"
    headline = "rougeL"
    metric_names = ("rouge1", "rouge2", "rougeL")
    default_instruction = "Write a one-line headline for this news article."
    packaged = ("news-headlines",)
    file_formats = ("jsonl",)
    Settings = SummarizationSettings

    def packaged_pairs(self, name: str) -> TextPairs:
        from harness.generation.data import news_headline_pairs

        return news_headline_pairs(self.settings.document_words, self.settings.summary)

    def metrics(self, predictions: Sequence[str], references: Sequence[str]) -> dict[str, float]:
        from harness.generation.metrics import summarization_metrics

        return summarization_metrics(predictions, references)


class DialogueSettings(GenerationSettings):
    """Generation settings plus the history window of the packaged conversations."""

    max_source_tokens: int = Field(128, ge=4, le=4096, description="source tokens kept in the prompt (the end is cut)")
    max_target_tokens: int = Field(40, ge=1, le=4096, description="target tokens trained on (the end is cut)")
    history_turns: int = Field(2, ge=1, le=20, description="chitchat: previous turns shown before the reply")
    source_field: str = Field("history", min_length=1, description="JSONL field (or TSV header) of the history in user files")
    target_field: str = Field("reply", min_length=1, description="JSONL field (or TSV header) of the reply in user files")


class DialogueTask(GenerationTask):
    """Next-utterance generation from a bounded history; BLEU, token F1 and distinct-1/2."""

    name = "dialogue"
    headline = "token_f1"
    metric_names = ("bleu", "token_f1", "distinct_1", "distinct_2")
    default_instruction = "Continue this conversation with the next reply."
    packaged = ("chitchat",)
    Settings = DialogueSettings

    def packaged_pairs(self, name: str) -> TextPairs:
        from harness.generation.data import chitchat_pairs

        return chitchat_pairs(self.settings.history_turns)

    def metrics(self, predictions: Sequence[str], references: Sequence[str]) -> dict[str, float]:
        from harness.generation.metrics import dialogue_metrics

        return dialogue_metrics(predictions, references)
