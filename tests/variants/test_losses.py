"""Distillation and R-Drop loss terms against hand computations with torch.nn.functional."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from harness.training.heads import collate, encode_texts
from harness.variants import kd, reg
from harness.variants.losses import distillation_loss, symmetric_kl
from harness.variants.params import KDParams, RegParams


@pytest.fixture()
def logits_pair():
    generator = torch.Generator().manual_seed(0)
    student = torch.randn(6, 3, generator=generator, dtype=torch.float64)
    teacher = torch.randn(6, 3, generator=generator, dtype=torch.float64) * 2
    labels = torch.tensor([0, 1, 2, 2, 1, 0])
    return student, teacher, labels


@pytest.mark.parametrize("temperature, alpha", [(1.0, 0.5), (2.0, 0.3), (4.0, 1.0)])
def test_distillation_matches_kl_div(logits_pair, temperature, alpha):
    student, teacher, labels = logits_pair
    ce = F.cross_entropy(student, labels)
    expected = (1 - alpha) * ce + alpha * temperature**2 * F.kl_div(
        F.log_softmax(student / temperature, dim=-1), F.softmax(teacher / temperature, dim=-1), reduction="batchmean"
    )
    actual = distillation_loss(student, teacher, ce, temperature=temperature, alpha=alpha)
    assert actual.item() == pytest.approx(expected.item(), abs=1e-6)


def test_distillation_alpha_zero_is_ce(logits_pair):
    student, teacher, labels = logits_pair
    ce = F.cross_entropy(student, labels)
    actual = distillation_loss(student, teacher, ce, temperature=3.0, alpha=0.0)
    assert actual.item() == pytest.approx(ce.item(), abs=1e-12)


def test_distillation_identical_logits_leave_ce(logits_pair):
    student, _, labels = logits_pair
    ce = F.cross_entropy(student, labels)
    actual = distillation_loss(student, student.clone(), ce, temperature=2.0, alpha=0.5)
    assert actual.item() == pytest.approx(0.5 * ce.item(), abs=1e-9)


def test_symmetric_kl_is_symmetric(logits_pair):
    student, teacher, _ = logits_pair
    forward = symmetric_kl(student, teacher)
    backward = symmetric_kl(teacher, student)
    assert forward.item() == pytest.approx(backward.item(), abs=1e-12)
    assert forward.item() > 0.01


def test_symmetric_kl_matches_kl_div(logits_pair):
    student, teacher, _ = logits_pair
    p, q = F.softmax(student, dim=-1), F.softmax(teacher, dim=-1)
    expected = (F.kl_div(q.log(), p, reduction="batchmean") + F.kl_div(p.log(), q, reduction="batchmean")) / 2
    assert symmetric_kl(student, teacher).item() == pytest.approx(expected.item(), abs=1e-9)


def _batch(tokenizer, data):
    return collate(tokenizer, encode_texts(tokenizer, data.texts[:8], 32, labels=data.labels[:8]))


def test_kd_step_matches_hand_computation(tokenizer, data, tiny_bert):
    student = tiny_bert(seed=1, dropout=0.0).train()
    teacher = tiny_bert(seed=2)
    params = KDParams(temperature=2.0, alpha=0.7)
    objective = kd.build(params, teacher=teacher)
    objective.configure_model(student)
    batch = _batch(tokenizer, data)

    loss = objective.step(student, batch)

    assert not teacher.training
    with torch.no_grad():
        student_logits = student(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
        teacher_logits = teacher(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    kl = F.kl_div(F.log_softmax(student_logits / 2.0, dim=-1), F.softmax(teacher_logits / 2.0, dim=-1), reduction="batchmean")
    expected = 0.3 * F.cross_entropy(student_logits, batch["labels"]) + 0.7 * 4.0 * kl
    assert loss == pytest.approx(expected.item(), abs=1e-6)
    assert all(parameter.grad is None for parameter in teacher.parameters())


def test_kd_teacher_cache_is_exact(tokenizer, data, tiny_bert):
    teacher = tiny_bert(seed=2)
    objective = kd.build(KDParams(), teacher=teacher)
    objective.configure_model(tiny_bert(seed=1))
    batch = _batch(tokenizer, data)
    first = objective.teacher.logits(batch)
    with torch.no_grad():
        teacher.bert.embeddings.word_embeddings.weight.zero_()
    cached = objective.teacher.logits(batch)
    assert torch.equal(first, cached)
    objective.teacher.reset_cache()
    assert not torch.equal(first, objective.teacher.logits(batch))


def test_kd_without_teacher_raises():
    with pytest.raises(ValueError, match="teacher"):
        kd.build(KDParams())


def test_rdrop_term_zero_without_dropout(tokenizer, data, tiny_bert):
    student = tiny_bert(seed=1)
    objective = reg.build(RegParams(hidden_dropout=0.0, attention_dropout=0.0, rdrop_alpha=5.0))
    objective.configure_model(student)
    student.train()
    batch = _batch(tokenizer, data)
    with torch.no_grad():
        rdrop_loss = objective.clean_loss(student, batch, None)
        ce = F.cross_entropy(student(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits, batch["labels"])
    assert rdrop_loss.item() == pytest.approx(ce.item(), abs=1e-6)


def test_rdrop_term_positive_with_dropout(tokenizer, data, tiny_bert):
    student = tiny_bert(seed=1)
    objective = reg.build(RegParams(hidden_dropout=0.3, attention_dropout=0.3, rdrop_alpha=5.0))
    objective.configure_model(student)
    student.train()
    batch = _batch(tokenizer, data)
    torch.manual_seed(0)
    with torch.no_grad():
        with_rdrop = objective.clean_loss(student, batch, None).item()
    torch.manual_seed(0)
    with torch.no_grad():
        logits_a = student(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
        logits_b = student(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    expected = (F.cross_entropy(logits_a, batch["labels"]) + F.cross_entropy(logits_b, batch["labels"])) / 2
    expected = expected + 5.0 * symmetric_kl(logits_a, logits_b)
    assert with_rdrop == pytest.approx(expected.item(), abs=1e-6)
    assert symmetric_kl(logits_a, logits_b).item() > 0
