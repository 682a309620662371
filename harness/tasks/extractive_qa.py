"""Extractive question answering: predict the answer as a span of the context (SQuAD style)."""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
import time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from harness.errors import DataError
from harness.perf import forward_flops
from harness.suite import FileData, HubData, PackagedData
from harness.tasks.base import AttackRun, DatasetInfo, Evaluation, ExampleDescription, Splits
from harness.tasks.qa_data import QAExamples, cap, cloze_examples, news_articles_zip, read_news_articles, read_squad, split_by_group
from harness.tasks.qa_metrics import qa_metrics
from harness.tasks.qa_model import SpanHead, SpanPredictor

logger = logging.getLogger(__name__)


class ExtractiveQATask:
    """Answer spans in a context: MiniLM with a start/end head, exact match and token F1."""

    name = "extractive-qa"
    headline = "f1"
    model_head = "question-answering"
    metric_names = ("exact_match", "f1")

    class Settings(BaseModel):
        """Knobs of the extractive QA task: data generation, windows, span decoding and attack success."""

        model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

        context_words: int = Field(150, ge=20, le=5000, description="news-cloze: words of each article body kept as the context")
        questions_per_article: int = Field(2, ge=1, le=20, description="news-cloze: cloze questions drawn per article at most")
        doc_stride: int = Field(64, ge=0, description="tokens shared by consecutive windows of a context longer than max_length")
        max_answer_tokens: int = Field(30, ge=1, description="longest predicted answer, in tokens")
        success_f1: float = Field(0.5, gt=0, le=1, description="an attack succeeds when the answer F1 falls below this")
        addsent_candidates: int = Field(4, ge=1, le=100, description="distractor sentences addsent tries per example")
        addsent_seed: int = Field(0, ge=0, description="seed of addsent's choice of stand-in answers and antonym swaps")

    def __init__(self, settings: "ExtractiveQATask.Settings | None" = None):
        self.settings = settings or self.Settings()
        self.head = SpanHead(self.settings.doc_stride)

    # --- data ----------------------------------------------------------------------------------

    def load_splits(self, spec: Any, *, where: str = "data") -> tuple[Splits, DatasetInfo]:
        if isinstance(spec, PackagedData):
            if spec.name != "news-cloze":
                raise DataError(f"{where}.name: packaged data set {spec.name!r} is not extractive QA data. Use news-cloze.")
            examples = _news_cloze(self.settings.context_words, self.settings.questions_per_article, spec.split_seed)
            origin, info = "packaged:news-cloze", DatasetInfo("news-cloze", generated=True)
        elif isinstance(spec, FileData):
            file_format = spec.format or ("squad" if spec.path.suffix == ".json" else None)
            if file_format != "squad":
                raise DataError(f"{where}.format: extractive QA reads SQuAD v1.1 JSON, not {file_format or spec.path.suffix!r}. "
                                "Set format: squad and give a .json file in the SQuAD layout.")
            examples = read_squad(spec.path)
            origin, info = str(spec.path), DatasetInfo(spec.path.name, generated=False)
        else:
            assert isinstance(spec, HubData)
            raise DataError(f"{where}: extractive QA does not read hub data sets yet. Export the data to SQuAD v1.1 JSON "
                            "and use source: file with format: squad.")
        train, dev, test = split_by_group(examples, dev_fraction=spec.dev_fraction, test_fraction=spec.test_fraction,
                                          seed=spec.split_seed, origin=origin)
        splits = Splits(cap(train, spec.train_size, spec.split_seed), cap(dev, spec.dev_size, spec.split_seed),
                        cap(test, spec.test_size, spec.split_seed))
        logger.info("data %s: %d train, %d dev, %d test questions", origin, len(splits.train), len(splits.dev), len(splits.test))
        return splits, info

    def label_names(self, splits: Splits) -> tuple[str, ...]:
        return ()

    # --- evaluation ----------------------------------------------------------------------------

    def predictor(self, model: Any, tokenizer: Any, *, batch_size: int, max_length: int, device: Any,
                  precision: str = "fp32") -> SpanPredictor:
        return SpanPredictor(model, tokenizer, max_length=max_length, stride=self.settings.doc_stride,
                             max_answer_tokens=self.settings.max_answer_tokens, batch_size=batch_size, device=device,
                             precision=precision)

    def evaluate(self, model: Any, tokenizer: Any, data: QAExamples, *, batch_size: int, max_length: int, device: Any,
                 progress: bool = True, precision: str = "fp32") -> Evaluation:
        """Exact match and F1 of the best span per question, over all windows of its context."""
        started = time.perf_counter()
        predictor = self.predictor(model, tokenizer, batch_size=batch_size, max_length=max_length, device=device,
                                   precision=precision)
        predictions = predictor(list(zip(data.questions, data.contexts)))
        metrics = qa_metrics([p.text for p in predictions], [data.gold_texts(i) for i in range(len(data))])
        seconds = time.perf_counter() - started
        return Evaluation(metrics, len(data) / seconds if seconds > 0 else math.inf)

    # --- attacks -------------------------------------------------------------------------------

    def attack(self, model: Any, tokenizer: Any, attack_name: str, examples: QAExamples, *, budget: Any, max_length: int,
               device: Any, progress: bool = True) -> AttackRun:
        """Attack each example; see ``harness.tasks.qa_attacks`` for the attacks and their success rule."""
        from harness.attacks.runner import summarize
        from harness.registry import UnknownNameError
        from harness.tasks import qa_attacks

        if attack_name not in qa_attacks.ATTACK_NAMES:
            raise UnknownNameError("attack", attack_name, list(qa_attacks.ATTACK_NAMES))
        predictor = self.predictor(model, tokenizer, batch_size=budget.batch_size, max_length=max_length, device=device,
                                   precision=budget.precision)
        started = time.perf_counter()
        if attack_name == "addsent":
            outcomes = qa_attacks.attack_addsent(predictor, examples, threshold=self.settings.success_f1,
                                                 candidates=self.settings.addsent_candidates, query_budget=budget.query_budget,
                                                 seed=self.settings.addsent_seed, progress=progress)
        else:
            attack = qa_attacks.build_question_attack(attack_name, predictor, threshold=self.settings.success_f1,
                                                      query_budget=budget.query_budget, batch_size=budget.batch_size)
            outcomes = qa_attacks.attack_questions(attack, examples, attack_name=attack_name, progress=progress)
        seconds = time.perf_counter() - started

        records = [outcome.record for outcome in outcomes]
        golds = [examples.gold_texts(i) for i in range(len(examples))]
        summary = dataclasses.replace(
            summarize(records, seconds),
            model_forward_seconds=predictor.forward_seconds,
            model_gflop=forward_flops(model.config, predictor.forward_token_counts) / 1e9,
        )
        return AttackRun(
            records=records,
            summary=summary,
            robust_metrics=qa_metrics([outcome.attacked.text for outcome in outcomes], golds),
            attacked_clean_metrics=qa_metrics([outcome.clean.text for outcome in outcomes], golds),
        )

    def describe_example(self, details: dict[str, Any], label_names: tuple[str, ...]) -> ExampleDescription:
        answers = " | ".join(details.get("gold_answers", ()))
        before = details.get("original_prediction", "")
        after = details.get("perturbed_prediction", "")
        return ExampleDescription(f"answer: {answers}", f"predicted: {before or '(no span)'}",
                                  f"predicted: {after or '(no span)'}")


@functools.lru_cache(maxsize=4)
def _news_cloze(context_words: int, questions_per_article: int, seed: int) -> QAExamples:
    """Build the news-cloze questions; cached because that takes about 10 s on one core."""
    articles = read_news_articles(news_articles_zip())
    return cloze_examples(articles, context_words=context_words, questions_per_article=questions_per_article, seed=seed)
