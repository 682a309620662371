"""Named-entity recognition: BIO-tagged sentences, a token classifier, seqeval entity F1, span-preserving attacks.

The data readers are in ``ner_data``, the word-piece alignment and training head in
``ner_head``, the scores in ``ner_metrics`` and the TextAttack parts in ``ner_attack``.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from harness.errors import DataError
from harness.suite import FileData, HubData, PackagedData
from harness.tasks import ner_data
from harness.tasks.base import AttackRun, DatasetInfo, Evaluation, ExampleDescription, Splits
from harness.tasks.ner_data import RawSentences, TaggedSentences
from harness.tasks.ner_head import TOKEN_CLASSIFICATION, predict_tags
from harness.tasks.ner_metrics import HEADLINE, entity_metrics, entity_records, render_entities, sentence_f1

logger = logging.getLogger(__name__)

# Hub columns read when the suite keeps the classification defaults ("text", "label").
HUB_TOKEN_COLUMN = "tokens"
HUB_TAG_COLUMN = "ner_tags"


class NerTask:
    """Tags every word with O, B-<type> or I-<type>; scores entity-level F1 with seqeval in strict IOB2 mode."""

    name = "ner"
    headline = HEADLINE
    model_head = "token-classification"
    head = TOKEN_CLASSIFICATION

    class Settings(BaseModel):
        """Knobs of the NER attack."""

        model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

        # 0.5: a sentence with one gold entity counts as broken exactly when that entity is
        # no longer predicted with its exact span and type. One spurious entity next to a
        # correct one (F1 0.67) does not count.
        success_threshold: float = Field(
            0.5, gt=0, le=1, description="an attack succeeds when the sentence's entity F1 falls below this value"
        )
        attack_without_entities: bool = Field(
            True, description="attack sentences without gold entities (success: the model predicts any entity); "
                              "false skips them",
        )

    def __init__(self, settings: "NerTask.Settings | None" = None):
        self.settings = settings if settings is not None else NerTask.Settings()

    # Data

    def load_splits(self, spec: Any, *, where: str = "data") -> tuple[Splits, DatasetInfo]:
        allowed = ner_data.label_types(spec.labels)
        allowed_set = set(allowed) if allowed is not None else None
        labels_field = f"{where}.labels"
        parts = _read(spec, allowed_set, labels_field)
        train, dev, test = parts["train"], parts.get("dev"), parts.get("test")
        if test is None:
            train, test = ner_data.split_off(train, spec.test_fraction, spec.split_seed)
        if dev is None:
            train, dev = ner_data.split_off(train, spec.dev_fraction, spec.split_seed + 1)
        train = ner_data.cap(train, spec.train_size, spec.split_seed)
        dev = ner_data.cap(dev, spec.dev_size, spec.split_seed)
        test = ner_data.cap(test, spec.test_size, spec.split_seed)
        types = allowed if allowed is not None else ner_data.seen_types([train, dev, test])
        if not types:
            raise DataError(f"{train.origin}: no entity tags at all, only O. Tag entities with B-<type> and I-<type>.")
        label_names = ner_data.tag_names(types)
        splits = Splits(*(TaggedSentences(tuple(raw.tokens), tuple(raw.tags), label_names) for raw in (train, dev, test)))
        logger.info("data %s: %d train, %d dev, %d test sentences, entity types %s", train.origin, len(splits.train),
                    len(splits.dev), len(splits.test), ", ".join(types))
        return splits, DatasetInfo(_dataset_name(spec), generated=False)

    def label_names(self, splits: Splits) -> tuple[str, ...]:
        return splits.train.label_names

    # Scores

    def metrics(self, gold: Any, predicted: Any) -> dict[str, float]:
        """Entity precision, recall, F1 (micro) and ``f1.<type>`` of tag lists; see ``ner_metrics.entity_metrics``."""
        return entity_metrics(gold, predicted)

    def evaluate(self, model: Any, tokenizer: Any, data: TaggedSentences, *, batch_size: int, max_length: int, device: Any,
                 progress: bool = True, precision: str = "fp32") -> Evaluation:
        """Tag every word of ``data`` and score entities; words beyond ``max_length`` word pieces are predicted ``O``."""
        predicted, rate = predict_tags(model, tokenizer, data.tokens, data.label_names, batch_size=batch_size,
                                       max_length=max_length, device=device, precision=precision, progress=progress)
        return Evaluation(entity_metrics(data.tags, predicted), rate)

    # Attacks

    def attack(self, model: Any, tokenizer: Any, attack_name: str, examples: TaggedSentences, *, budget: Any,
               max_length: int, device: Any, progress: bool = True) -> AttackRun:
        """Attack each sentence of ``examples``, changing only words outside its gold entities.

        See ``ner_attack`` for the goal, the protection and the word alignment. Records keep
        the words, gold tags and entities, and the predictions before and after in ``details``.
        """
        from tqdm.auto import tqdm

        from harness.attacks.runner import seeded_generators, summarize
        from harness.perf import forward_flops
        from harness.tasks.ner_attack import EntityF1Goal, EntitySpanProtection, WordTaggerWrapper, build_ner_attack
        from harness.tasks.ner_head import words_in_window

        wrapper = WordTaggerWrapper(model, tokenizer, examples.label_names, batch_size=budget.batch_size,
                                    max_length=max_length, device=device, precision=budget.precision)
        goal = EntityF1Goal(wrapper, threshold=self.settings.success_threshold,
                            attack_without_entities=self.settings.attack_without_entities)
        protection = EntitySpanProtection()
        attack = build_ner_attack(attack_name, goal, protection, query_budget=budget.query_budget)
        was_training = model.training
        model.eval()
        records = []
        started = time.perf_counter()
        try:
            with seeded_generators():
                bar = tqdm(range(len(examples)), desc=attack_name, unit="example", disable=not progress)
                for index in bar:
                    words, gold = examples.tokens[index], examples.tags[index]
                    protection.set_example(gold, words_in_window(tokenizer, words, max_length))
                    before = wrapper.model_evaluations
                    result = attack.attack(" ".join(words), " ".join(gold))
                    records.append(self._record(index, words, gold, result, wrapper.model_evaluations - before))
        finally:
            model.train(was_training)
        seconds = time.perf_counter() - started
        summary = dataclasses.replace(
            summarize(records, seconds),
            model_forward_seconds=wrapper.forward_seconds,
            model_gflop=forward_flops(model.config, wrapper.forward_token_counts) / 1e9,
        )
        gold_tags = [record.details["gold_tags"] for record in records]
        clean = [record.details["predicted_tags"] for record in records]
        perturbed = [record.details["perturbed_tags"] for record in records]
        return AttackRun(records, summary, entity_metrics(gold_tags, perturbed), entity_metrics(gold_tags, clean))

    def _record(self, index: int, words: tuple[str, ...], gold: tuple[str, ...], result: Any, evaluations: int) -> Any:
        from harness.attacks.runner import ExampleRecord, result_outcome

        outcome = result_outcome(result, index)
        original_tags = list(result.original_result.output)
        if outcome == "skipped":
            perturbed_words, perturbed_tags = list(words), original_tags
        else:
            perturbed_words = result.perturbed_result.attacked_text.text.split()
            perturbed_tags = list(result.perturbed_result.output)
        changed = sum(a != b for a, b in zip(words, perturbed_words))
        details = {
            "words": list(words),
            "perturbed_words": perturbed_words,
            "gold_tags": list(gold),
            "predicted_tags": original_tags,
            "perturbed_tags": perturbed_tags,
            "gold_entities": entity_records(words, gold),
            "predicted_entities": entity_records(words, original_tags),
            "perturbed_entities": entity_records(perturbed_words, perturbed_tags),
            "clean_f1": sentence_f1(gold, original_tags),
            "perturbed_f1": sentence_f1(gold, perturbed_tags),
            "threshold": self.settings.success_threshold,
        }
        return ExampleRecord(
            index=index, original_text=" ".join(words), perturbed_text=" ".join(perturbed_words), label=-1,
            original_prediction=-1, perturbed_prediction=-1, outcome=outcome, words_changed=changed,
            words_total=len(words), perturbed_word_fraction=changed / len(words) if words else 0.0,
            model_evaluations=evaluations, queries=int(result.perturbed_result.num_queries), details=details,
        )

    def describe_example(self, details: dict[str, Any], label_names: tuple[str, ...]) -> ExampleDescription:
        """Render gold, clean and attacked entities as ``type: text; type: text``."""
        return ExampleDescription(
            label=render_entities(details.get("gold_entities", [])),
            original_prediction=render_entities(details.get("predicted_entities", [])),
            perturbed_prediction=render_entities(details.get("perturbed_entities", [])),
        )


def _dataset_name(spec: Any) -> str:
    if isinstance(spec, FileData):
        return spec.path.name
    return spec.name


def _read(spec: Any, allowed: set[str] | None, labels_field: str) -> dict[str, RawSentences]:
    if isinstance(spec, PackagedData):
        return {"train": ner_data.read_packaged(spec.name, allowed_types=allowed, labels_field=labels_field)}
    if isinstance(spec, FileData):
        file_format = spec.format or {".conll": "conll", ".txt": None}.get(spec.path.suffix.lower(), spec.path.suffix.lstrip("."))
        if file_format != "conll":
            raise DataError(f"{spec.path}: NER reads CoNLL files, got format {file_format!r}. "
                            "Use a .conll file, or set format: conll for a .txt file in the CoNLL layout.")
        return {"train": ner_data.read_conll(spec.path, allowed_types=allowed, labels_field=labels_field)}
    assert isinstance(spec, HubData)
    token_column = spec.text_column if spec.text_column != "text" else HUB_TOKEN_COLUMN
    tag_column = spec.label_column if spec.label_column != "label" else HUB_TAG_COLUMN
    return ner_data.read_hub(spec.name, spec.config, spec.revision, token_column, tag_column,
                             {"train": spec.train_split, "dev": spec.dev_split, "test": spec.test_split},
                             allowed_types=allowed, labels_field=labels_field)
