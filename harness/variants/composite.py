"""An objective assembled from optional parts: embedding adversary, distillation, regularization.

``baseline`` uses none of the parts, ``adv``, ``kd`` and ``reg`` one each, ``rs`` all three.
"""

from __future__ import annotations

import logging
from typing import Any

import torch

from harness.tasks.base import LabeledTexts
from harness.training.heads import CLASSIFICATION, Batch, TaskHead
from harness.training.params import TrainingParams
from harness.variants.adversarial import adversarial_backward
from harness.variants.dropout import set_dropout
from harness.variants.losses import distillation_loss, symmetric_kl
from harness.variants.params import AdvParams, KDParams, RegParams

logger = logging.getLogger(__name__)


class Teacher:
    """A fine-tuned model whose logits a student learns from; kept in eval mode without gradients.

    Logits of one row per example (text classification) are cached by ``example_index``,
    which is exact because the teacher is deterministic in eval mode. ``reset_cache`` must be
    called whenever the example indices start to refer to other texts.
    """

    def __init__(self, model: torch.nn.Module, head: TaskHead):
        self.model = model
        self.head = head
        self._cache: dict[int, torch.Tensor] = {}

    def prepare(self, student: torch.nn.Module) -> None:
        """Freeze the teacher and check that it reads the student's token ids."""
        self.model.eval()
        self.model.requires_grad_(False)
        teacher_vocab = getattr(getattr(self.model, "config", None), "vocab_size", None)
        student_vocab = getattr(getattr(student, "config", None), "vocab_size", None)
        if teacher_vocab is not None and student_vocab is not None and teacher_vocab != student_vocab:
            raise ValueError(
                f"the teacher's vocabulary has {teacher_vocab} tokens and the student's {student_vocab}: "
                "distillation feeds both the same token ids, so use a teacher with the student's tokenizer"
            )

    def reset_cache(self) -> None:
        self._cache.clear()

    def logits(self, batch: Batch) -> torch.Tensor:
        """Teacher logits for ``batch``, from the cache where every example of the batch is cached."""
        indices = batch["example_index"].tolist()
        if self._cache and all(index in self._cache for index in indices):
            return torch.stack([self._cache[index] for index in indices])

        device = batch["input_ids"].device
        if next(self.model.parameters()).device != device:
            self.model.to(device)
        with torch.inference_mode():
            logits = self.head.logits(self.model, batch)
        # Only a (batch, classes) result has one row per example; token-level logits
        # depend on the batch's padded length, so they are recomputed each time.
        if logits.dim() == 2:
            for index, row in zip(indices, logits):
                self._cache[index] = row.clone()
        return logits.clone()


class CompositeObjective:
    """Cross-entropy fine-tuning with any of: FreeLB adversary, distillation, dropout/weight decay/R-Drop.

    How the parts combine in one step: the supervised loss of a forward pass is the task
    loss, mixed with the distillation KL when ``kd`` is set. With ``reg.rdrop_alpha > 0`` the
    clean loss is the mean supervised loss of two dropout passes plus ``rdrop_alpha`` times
    their symmetric KL, otherwise the supervised loss of one pass. With ``adv`` the FreeLB
    steps add ``adv.weight`` times their mean supervised loss on perturbed embeddings, with the
    teacher's clean logits as the distillation target.
    """

    def __init__(
        self,
        *,
        head: TaskHead = CLASSIFICATION,
        adv: AdvParams | None = None,
        kd: KDParams | None = None,
        teacher: torch.nn.Module | None = None,
        reg: RegParams | None = None,
    ):
        if kd is not None and teacher is None:
            raise ValueError("distillation needs a teacher model: pass teacher= to build()")
        self.head = head
        self.adv = adv
        self.kd = kd
        self.reg = reg
        self.teacher = Teacher(teacher, head) if kd is not None and teacher is not None else None
        self._epoch_data: LabeledTexts | None = None

    def configure_model(self, model: torch.nn.Module) -> None:
        if self.reg is not None:
            set_dropout(model, hidden=self.reg.hidden_dropout, attention=self.reg.attention_dropout)
        if self.teacher is not None:
            self.teacher.prepare(model)

    def weight_decay(self, default: float) -> float:
        return self.reg.weight_decay if self.reg is not None else default

    def planned_epoch_size(self, epoch: int, size: int) -> int:
        return size

    def epoch_data(
        self,
        epoch: int,
        model: torch.nn.Module,
        tokenizer: Any,
        data: LabeledTexts,
        device: torch.device,
        *,
        training: TrainingParams,
        progress: bool = False,
    ) -> LabeledTexts:
        epoch_data = self.augment(epoch, model, tokenizer, data, device, training=training, progress=progress)
        if epoch_data is not self._epoch_data and self.teacher is not None:
            self.teacher.reset_cache()
        self._epoch_data = epoch_data
        return epoch_data

    def augment(
        self,
        epoch: int,
        model: torch.nn.Module,
        tokenizer: Any,
        data: LabeledTexts,
        device: torch.device,
        *,
        training: TrainingParams,
        progress: bool,
    ) -> LabeledTexts:
        """Return the examples of ``epoch``; subclasses that add examples override this."""
        return data

    def example_weights(self, batch: Batch) -> torch.Tensor | None:
        """Loss weight of each example of ``batch``, or None for equal weights."""
        return None

    def supervised_loss(self, logits: torch.Tensor, batch: Batch, teacher_logits: torch.Tensor | None) -> torch.Tensor:
        """Task loss of one forward pass, mixed with the distillation term when ``kd`` is set."""
        per_example = self.head.per_example_loss(logits, batch)
        weights = self.example_weights(batch)
        task_loss = per_example.mean() if weights is None else (per_example * weights).mean()
        if self.kd is None or teacher_logits is None:
            return task_loss
        return distillation_loss(
            self.head.rows(logits, batch),
            self.head.rows(teacher_logits, batch),
            task_loss,
            temperature=self.kd.temperature,
            alpha=self.kd.alpha,
        )

    def clean_loss(self, model: torch.nn.Module, batch: Batch, teacher_logits: torch.Tensor | None) -> torch.Tensor:
        """Loss on the unperturbed batch: one pass, or two dropout passes with R-Drop."""
        if self.reg is None or self.reg.rdrop_alpha == 0:
            return self.supervised_loss(self.head.logits(model, batch), batch, teacher_logits)

        logits_a = self.head.logits(model, batch)
        logits_b = self.head.logits(model, batch)
        supervised = (
            self.supervised_loss(logits_a, batch, teacher_logits) + self.supervised_loss(logits_b, batch, teacher_logits)
        ) / 2
        consistency = symmetric_kl(self.head.rows(logits_a, batch), self.head.rows(logits_b, batch))
        return supervised + self.reg.rdrop_alpha * consistency

    def step(self, model: torch.nn.Module, batch: Batch) -> float:
        teacher_logits = self.teacher.logits(batch) if self.teacher is not None else None

        clean = self.clean_loss(model, batch, teacher_logits)
        clean.backward()
        total = clean.item()

        if self.adv is not None and self.adv.weight > 0:
            result = adversarial_backward(
                model,
                self.head,
                batch,
                self.adv,
                lambda logits, adv_batch: self.supervised_loss(logits, adv_batch, teacher_logits),
            )
            total += self.adv.weight * result.loss
        return total
