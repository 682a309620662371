"""Relation extraction: classify the relation between two marked mentions of a sentence.

Texts carry SemEval-2010 Task 8 markers, ``The <e1>car</e1> has a <e2>wheel</e2>.``, and
one label per text (``Meronym(e1,e2)``, ``Other``). The model is a sequence classifier over
the marked text: ``prepare_model`` adds the four markers to the tokenizer as special tokens
and grows the embedding matrix, and the classifier reads the [CLS] position. Attacks may
change every word except the two mentions and their markers.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from harness.data import sources
from harness.errors import DataError, RsbenchError
from harness.suite import FileData, HubData, PackagedData
from harness.tasks.base import AttackRun, DatasetInfo, Evaluation, ExampleDescription, LabeledTexts, Splits
from harness.tasks.classification import label_set
from harness.tasks.relation_mentions import MARKER_FIX, MARKERS, MarkerError, find_mentions

logger = logging.getLogger(__name__)

PACKAGED_NAME = "wordnet-relations"
HEADLINE = "macro_f1_excl_other"


def supported_attacks() -> tuple[str, ...]:
    """Return the attack names registered for this task in ``harness.catalog``.

    They are the recipes whose transformations respect pre-transformation constraints: word
    swaps and character edits inside words, found by TextAttack's greedy searches. The Bad
    Characters recipes are left out because their search edits the text without consulting them.
    """
    from harness import catalog

    return tuple(catalog.TASKS.entry(RelationExtractionTask.name).meta("attacks"))


class RelationExtractionTask:
    """Reads marked sentences, trains a [CLS] classifier over them, scores accuracy and macro-F1 without Other."""

    class Settings(BaseModel):
        """Knobs of the relation-extraction task."""

        model_config = ConfigDict(extra="forbid", frozen=True)

        other_label: str = Field(
            "Other", min_length=1, description="the no-relation label, left out of the macro-F1 average as in SemEval-2010 Task 8"
        )

    name = "relation-extraction"
    headline = HEADLINE
    model_head = "sequence-classification"
    metric_names = ("accuracy", HEADLINE)

    def __init__(self, settings: Settings | None = None):
        self.settings = settings or self.Settings()

    @property
    def head(self) -> Any:
        # Imported here because it imports torch, which suite validation does not need.
        from harness.tasks.relation_head import RELATION_HEAD

        return RELATION_HEAD

    # --- model --------------------------------------------------------------------

    def prepare_model(self, model: Any, tokenizer: Any) -> tuple[Any, Any]:
        """Add the four entity markers to ``tokenizer`` as special tokens and grow ``model``'s embeddings to match.

        Special tokens are matched before lower-casing and word-piece splitting, so each
        marker becomes one token with an embedding of its own, initialised by transformers
        from the mean and covariance of the existing embeddings.
        """
        tokenizer.add_special_tokens({"additional_special_tokens": list(MARKERS)}, replace_additional_special_tokens=False)
        if model.get_input_embeddings().num_embeddings < len(tokenizer):
            model.resize_token_embeddings(len(tokenizer))
        return model, tokenizer

    # --- data ---------------------------------------------------------------------

    def load_splits(self, spec: Any, *, where: str = "data") -> tuple[Splits, DatasetInfo]:
        if isinstance(spec, PackagedData):
            return self._generated_splits(spec, where)
        if isinstance(spec, FileData):
            raw = self._read_file(spec)
            name = spec.path.name
        else:
            assert isinstance(spec, HubData)
            raw = sources.read_hub(spec.name, spec.config, spec.revision, spec.text_column, spec.label_column,
                                   spec.train_split, spec.dev_split, spec.test_split)
            name = spec.name
        for frame, origin in ((raw.train, raw.origin), (raw.dev, f"{raw.origin} (dev)"), (raw.test, f"{raw.origin} (test)")):
            if frame is not None:
                _check_markers(frame, origin)
        label_names = label_set(raw, spec, where, "Relation extraction")
        splits = _split_frames(raw, spec, label_names)
        if len(set(splits.train.labels)) < 2:
            raise DataError(f"{where}: the training split has a single label ({label_names[splits.train.labels[0]]!r}). Give at least two classes.")
        logger.info("data %s: %d train, %d dev, %d test, labels %s", raw.origin, len(splits.train), len(splits.dev), len(splits.test), label_names)
        return splits, DatasetInfo(name, generated=False)

    def _generated_splits(self, spec: PackagedData, where: str) -> tuple[Splits, DatasetInfo]:
        from harness.data.wordnet_relations import DEFAULT_SIZES, LABELS, generate

        if spec.name != PACKAGED_NAME:
            raise DataError(f"{where}.name: packaged data set {spec.name!r} is not relation data. Use {PACKAGED_NAME!r}.")
        if self.settings.other_label != "Other":
            raise DataError(
                f"{where}: {PACKAGED_NAME} calls its no-relation class 'Other', but the task's other_label is "
                f"{self.settings.other_label!r}. Remove other_label from the task settings."
            )
        label_names = LABELS
        if spec.labels is not None:
            if set(spec.labels) != set(LABELS):
                raise DataError(f"{where}.labels: {PACKAGED_NAME} has the labels {list(LABELS)}; got {spec.labels}. Remove labels or list exactly these.")
            label_names = tuple(spec.labels)
        sizes = {split: getattr(spec, f"{split}_size") or default for split, default in DEFAULT_SIZES.items()}
        generated = generate(sizes, spec.split_seed)
        index = {name: position for position, name in enumerate(label_names)}
        parts = [
            LabeledTexts(tuple(text for text, _ in generated[split]), tuple(index[label] for _, label in generated[split]), label_names)
            for split in ("train", "dev", "test")
        ]
        logger.info("generated %s: %d train, %d dev, %d test", PACKAGED_NAME, *(len(part) for part in parts))
        return Splits(*parts), DatasetInfo(PACKAGED_NAME, generated=True)

    def _read_file(self, spec: FileData) -> sources.RawSplits:
        file_format = spec.format or ("semeval" if spec.path.suffix.lower() == ".txt" else None)
        if file_format == "semeval":
            from harness.data.semeval import read_semeval

            records = read_semeval(spec.path)
            frame = pd.DataFrame({"text": [record.text for record in records], "label": [record.label for record in records]})
            return sources.RawSplits(frame, None, None, f"file:{spec.path}")
        if file_format in ("conll", "squad"):
            raise DataError(f"{spec.path}: format {file_format!r} holds no relations. Use semeval, csv, jsonl or parquet.")
        return sources.read_file(spec.path, file_format, spec.text_column, spec.label_column)

    def label_names(self, splits: Splits) -> tuple[str, ...]:
        return splits.train.label_names

    # --- metrics ------------------------------------------------------------------

    def metrics(self, labels: Sequence[int], predictions: Sequence[int], label_names: Sequence[str]) -> dict[str, float]:
        """Return accuracy and the macro-F1 over every label except ``other_label``, computed with scikit-learn.

        Without an ``other_label`` in ``label_names`` the macro-F1 averages over every label.
        Labels are directed as given (``X(e1,e2)`` and ``X(e2,e1)`` are separate labels),
        which differs from the official SemEval-2010 scorer, which merges both directions of a relation.
        """
        from sklearn.metrics import accuracy_score, f1_score

        relation_ids = [index for index, name in enumerate(label_names) if name != self.settings.other_label]
        return {
            "accuracy": float(accuracy_score(labels, predictions)),
            HEADLINE: float(f1_score(labels, predictions, labels=relation_ids, average="macro", zero_division=0)),
        }

    def evaluate(self, model: Any, tokenizer: Any, data: LabeledTexts, *, batch_size: int, max_length: int, device: Any,
                 progress: bool = True, precision: str = "fp32") -> Evaluation:
        from harness.training.loop import predict

        _warn_without_markers(tokenizer)
        predictions, rate = predict(model, tokenizer, data.texts, batch_size=batch_size, max_length=max_length, device=device,
                                    progress=progress, precision=precision)
        return Evaluation(self.metrics(data.labels, predictions.tolist(), data.label_names), rate)

    # --- attacks ------------------------------------------------------------------

    def attack(self, model: Any, tokenizer: Any, attack_name: str, examples: LabeledTexts, *, budget: Any, max_length: int,
               device: Any, progress: bool = True) -> AttackRun:
        """Attack every example with ``attack_name``, changing only words outside both mentions.

        An example succeeds when the predicted relation differs from the gold one, and is
        skipped when the model already predicts another relation.
        """
        from harness.attacks.protected_spans import EntityMentionsUnchanged
        from harness.attacks.runner import model_window, run_attack

        if attack_name not in supported_attacks():
            raise RsbenchError(
                f"attack {attack_name!r} is not available for relation extraction. Use one of: {', '.join(supported_attacks())}."
            )
        _warn_without_markers(tokenizer)
        cut = sum(_mentions_cut(model_window(tokenizer, text, max_length)) for text in examples.texts)
        if cut:
            logger.warning(
                "%d of %d attacked texts lose a mention to the %d-token window; the attack leaves them unchanged",
                cut, len(examples), max_length,
            )
        records, summary = run_attack(
            model, tokenizer, attack_name, examples, query_budget=budget.query_budget, batch_size=budget.batch_size,
            max_length=max_length, device=device, progress=progress, precision=budget.precision,
            pre_transformation_constraints=[EntityMentionsUnchanged()],
        )
        names = examples.label_names
        detailed = []
        for record in records:
            mentions = find_mentions(examples.texts[record.index])
            _check_unchanged(record)
            details = {
                "e1": mentions.e1,
                "e2": mentions.e2,
                "gold": names[record.label],
                "original_prediction": names[record.original_prediction],
                "perturbed_prediction": names[record.perturbed_prediction],
            }
            detailed.append(dataclasses.replace(record, details=details))
        labels = [record.label for record in detailed]
        return AttackRun(
            records=detailed,
            summary=summary,
            robust_metrics=self.metrics(labels, [record.perturbed_prediction for record in detailed], names),
            attacked_clean_metrics=self.metrics(labels, [record.original_prediction for record in detailed], names),
        )

    def describe_example(self, details: dict[str, Any], label_names: tuple[str, ...]) -> ExampleDescription:
        e1, e2 = details["e1"], details["e2"]
        return ExampleDescription(
            label=describe_relation(details["gold"], e1, e2),
            original_prediction=describe_relation(details["original_prediction"], e1, e2),
            perturbed_prediction=describe_relation(details["perturbed_prediction"], e1, e2),
        )


def describe_relation(label: str, e1: str, e2: str) -> str:
    """Render a relation with its mentions in pointer order: ``Hypernym(e1,e2): dog → animal``."""
    if label.endswith("(e1,e2)"):
        return f"{label}: {e1} → {e2}"
    if label.endswith("(e2,e1)"):
        return f"{label}: {e2} → {e1}"
    return f"{label}: {e1}, {e2}"


def _check_markers(frame: pd.DataFrame, origin: str) -> None:
    for row, text in enumerate(frame["text"], start=1):
        try:
            find_mentions(text)
        except MarkerError as exc:
            raise DataError(f"{origin}: row {row}: {exc} in {text[:100]!r}. {MARKER_FIX}") from None


def _split_frames(raw: sources.RawSplits, spec: Any, label_names: tuple[str, ...]) -> Splits:
    # The seeded, stratified splitting and capping of text classification, applied to the same frames.
    from harness.tasks.classification import _cap, _split, _to_texts

    train, dev, test = raw.train, raw.dev, raw.test
    if test is None:
        train, test = _split(train, spec.test_fraction, spec.split_seed, raw.origin)
    if dev is None:
        train, dev = _split(train, spec.dev_fraction, spec.split_seed + 1, raw.origin)
    train = _cap(train, spec.train_size, spec.split_seed)
    dev = _cap(dev, spec.dev_size, spec.split_seed)
    test = _cap(test, spec.test_size, spec.split_seed)
    return Splits(*(_to_texts(frame, label_names) for frame in (train, dev, test)))


def _mentions_cut(text: str) -> bool:
    try:
        find_mentions(text)
    except MarkerError:
        return True
    return False


def _check_unchanged(record: Any) -> None:
    """Raise ``RuntimeError`` when an attack changed a mention: the constraint must make that impossible."""
    if record.outcome == "skipped" or _mentions_cut(record.original_text):
        return
    try:
        after = find_mentions(record.perturbed_text)
    except MarkerError as exc:
        raise RuntimeError(f"the attack broke the entity markers of example {record.index}: {exc}") from None
    if after.marked(record.perturbed_text) != find_mentions(record.original_text).marked(record.original_text):
        raise RuntimeError(f"the attack changed an entity mention of example {record.index}")


_warned_tokenizers: set[int] = set()


def _warn_without_markers(tokenizer: Any) -> None:
    if id(tokenizer) in _warned_tokenizers:
        return
    if tokenizer.convert_tokens_to_ids(MARKERS[0]) == tokenizer.unk_token_id:
        _warned_tokenizers.add(id(tokenizer))
        logger.warning(
            "the tokenizer has no entity marker tokens, so markers are split into word pieces; "
            "models trained by rsbench get them from RelationExtractionTask.prepare_model"
        )
