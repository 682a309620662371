"""The causal-LM head: its loss, its rows, and a few training steps of every variant on a tiny random Llama."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from harness.generation.head import CausalLMHead
from harness.training.heads import LABEL_PAD, collate
from harness.variants import adv, baseline, kd, reg, rs
from harness.variants.adversarial import adversarial_backward
from harness.variants.params import AdvParams, BaselineParams, KDParams, RegParams, RSParams


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def head(prompt_format):
    return CausalLMHead(prompt_format, max_source_tokens=32, max_target_tokens=16)


def _batch(head, tokenizer, pairs):
    return collate(tokenizer, head.encode(tokenizer, pairs, max_length=128))


def test_batch_padding_and_masks(head, tiny_llama_tokenizer, pairs):
    batch = _batch(head, tiny_llama_tokenizer, pairs)
    padding = batch["attention_mask"] == 0
    assert padding.any()
    assert (batch["input_ids"][padding] == tiny_llama_tokenizer.pad_token_id).all()
    assert (batch["labels"][padding] == LABEL_PAD).all()
    assert (batch["perturb_mask"][padding] == 0).all()
    assert ((batch["perturb_mask"] == 1) == ((batch["labels"] == LABEL_PAD) & ~padding)).all()


def test_per_example_loss_matches_cross_entropy(head, tiny_llama, pairs):
    model, tokenizer = tiny_llama()
    batch = _batch(head, tokenizer, pairs)
    logits = head.logits(model, batch)
    losses = head.per_example_loss(logits, batch)
    for row in range(len(pairs)):
        target_positions = (batch["labels"][row] != LABEL_PAD).nonzero().flatten()
        expected = F.cross_entropy(logits[row, target_positions - 1], batch["labels"][row, target_positions])
        torch.testing.assert_close(losses[row], expected)
    rows = head.rows(logits, batch)
    assert rows.shape == ((batch["labels"] != LABEL_PAD).sum().item(), logits.size(-1))


def test_logits_equal_under_left_padding(head, tiny_llama, pairs):
    model, tokenizer = tiny_llama()
    model.eval()
    right = _batch(head, tokenizer, pairs)
    tokenizer.padding_side = "left"
    try:
        left = _batch(head, tokenizer, pairs)
    finally:
        tokenizer.padding_side = "right"
    with torch.no_grad():
        right_rows = head.rows(head.logits(model, right), right)
        left_rows = head.rows(head.logits(model, left), left)
    torch.testing.assert_close(left_rows, right_rows, atol=1e-4, rtol=1e-4)


def test_adversary_leaves_target_embeddings(head, tiny_llama, pairs):
    model, tokenizer = tiny_llama()
    batch = _batch(head, tokenizer, pairs)
    params = AdvParams(steps=2, epsilon=0.5, step_size=0.2, init_magnitude=0.05)
    result = adversarial_backward(model, head, batch, params, lambda logits, b: head.per_example_loss(logits, b).mean())
    clean = (batch["perturb_mask"] == 0)
    for delta in result.perturbations:
        assert delta[clean].abs().max().item() == 0.0
        assert delta[batch["perturb_mask"] == 1].abs().max().item() > 0.0


VARIANTS = [
    (baseline, BaselineParams()),
    (adv, AdvParams(steps=2, epsilon=0.5, step_size=0.2)),
    (kd, KDParams(alpha=0.5, temperature=2.0)),
    (reg, RegParams(hidden_dropout=0.1, attention_dropout=0.1, rdrop_alpha=1.0)),
    (rs, RSParams()),
]


# LoRA, the default, runs every variant; full fine-tuning runs baseline, and the rest only with the slow tests.
STEP_CASES = [
    pytest.param(module, params, lora, id=f"{'lora' if lora else 'full'}-{module.__name__.rsplit('.', 1)[1]}",
                 marks=() if lora or module is baseline else pytest.mark.slow)
    for lora in (True, False)
    for module, params in VARIANTS
]


@pytest.mark.parametrize("module, params, lora", STEP_CASES)
def test_variant_steps_lower_loss(module, params, lora, head, tiny_llama, pairs):
    from harness.generation.models import apply_fine_tuning

    model, tokenizer = tiny_llama(seed=1)
    teacher, _ = tiny_llama(seed=2)
    model = apply_fine_tuning(model, method="lora" if lora else "full", lora_rank=4, lora_alpha=8, lora_dropout=0.05)
    objective = module.build(params, teacher=teacher, head=head)
    objective.configure_model(model)
    model.train()
    batch = _batch(head, tokenizer, pairs)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2 if lora else 3e-3)

    torch.manual_seed(0)
    losses = []
    for _ in range(4):
        optimizer.zero_grad()
        losses.append(objective.step(model, batch))
        optimizer.step()
    model.eval()
    with torch.no_grad():
        final = head.per_example_loss(head.logits(model, batch), batch).mean().item()
    assert all(torch.isfinite(torch.tensor(losses)))
    assert losses[-1] < losses[0]
    with torch.no_grad():
        initial_model, _ = tiny_llama(seed=1)
        initial = head.per_example_loss(head.logits(initial_model.eval(), batch), batch).mean().item()
    assert final < initial


def test_rdrop_passes_differ_on_llama(head, tiny_llama, pairs):
    model, tokenizer = tiny_llama()
    reg.build(RegParams(attention_dropout=0.3), head=head).configure_model(model)
    model.train()
    batch = _batch(head, tokenizer, pairs)
    first = head.rows(head.logits(model, batch), batch)
    second = head.rows(head.logits(model, batch), batch)
    assert (first - second).abs().max().item() > 1e-4


@pytest.mark.parametrize("module, params", [(baseline, BaselineParams()), (kd, KDParams())], ids=["baseline", "kd"])
def test_training_loop_runs_lora(module, params, head, tiny_llama, pairs):
    """The shared loop trains a LoRA-wrapped Llama on text pairs through the causal-LM head."""
    from harness.generation.models import apply_fine_tuning
    from harness.training.loop import train
    from harness.training.params import TrainingParams

    model, tokenizer = tiny_llama(seed=1)
    teacher, _ = tiny_llama(seed=2)
    model = apply_fine_tuning(model, lora_rank=4)
    training = TrainingParams(epochs=3, batch_size=2, learning_rate=2e-2, max_length=128, warmup_ratio=0.0)
    stats = train(model, tokenizer, pairs, training, module.build(params, teacher=teacher, head=head), seed=0,
                  device=torch.device("cpu"), progress=False)
    assert stats.steps == 6
    assert stats.examples_seen == 3 * len(pairs)
    assert stats.epoch_losses[-1] < stats.epoch_losses[0]


def test_encode_fits_max_length(head, tiny_llama_tokenizer, pairs):
    """A pair longer than max_length loses source tokens, never target tokens."""
    data = type(pairs)(("word " * 200, "the sun"), pairs.targets[:2], pairs.groups[:2], pairs.origins[:2])
    unlimited = head.encode(tiny_llama_tokenizer, data, max_length=1000)
    limited = head.encode(tiny_llama_tokenizer, data, max_length=60)
    assert len(unlimited[0]["input_ids"]) > 60
    assert len(limited[0]["input_ids"]) == 60
    assert limited[1]["input_ids"] == unlimited[1]["input_ids"]
    target_labels = [label for label in unlimited[0]["labels"] if label != LABEL_PAD]
    assert [label for label in limited[0]["labels"] if label != LABEL_PAD] == target_labels
    with pytest.raises(ValueError, match="training.max_length 30 is too short for pair test:0"):
        head.encode(tiny_llama_tokenizer, data, max_length=30)
