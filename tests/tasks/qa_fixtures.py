"""Tiny extractive QA data and models for the task tests."""

from __future__ import annotations

import torch
from transformers import BertConfig, BertForQuestionAnswering

from harness.tasks.qa_data import PLACEHOLDER, Answer, QAExamples

NAMES = ("Alice", "Bruno", "Chen", "Dara", "Emil", "Fatima", "Goran", "Hana")
CITIES = ("Lisbon", "Oslo", "Quito", "Rome")


def cloze_data(size: int = 16, *, filler: int = 0) -> QAExamples:
    """Cloze questions whose answer is the name after "won by" in the context; ``filler`` words lengthen each context."""
    ids, questions, contexts, answers = [], [], [], []
    for index in range(size):
        name, city = NAMES[index % len(NAMES)], CITIES[index % len(CITIES)]
        padding = " ".join(["and then more news followed"] * filler)
        context = f"The race in {city} was held on Sunday. {padding} It was won by {name} after a long day."
        ids.append(f"q{index}")
        questions.append(f"Race in {city} won by {PLACEHOLDER} after a long day")
        contexts.append(context)
        answers.append((Answer(name, context.index(f"won by {name}") + len("won by ")),))
    return QAExamples(tuple(ids), tuple(questions), tuple(contexts), tuple(answers), tuple(ids))


def tiny_qa_model(tokenizer, *, seed: int = 0, hidden: int = 32, positions: int = 256) -> BertForQuestionAnswering:
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=hidden, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=2 * hidden, max_position_embeddings=positions, num_labels=2)
    return BertForQuestionAnswering(config)
