"""FreeLB perturbations: projection, padding, averaged gradients, and the change to training."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from harness.training.heads import CLASSIFICATION, collate, encode_texts
from harness.variants import adv, baseline
from harness.variants.adversarial import adversarial_backward, project
from harness.variants.params import AdvParams, BaselineParams


def _padded_batch(tokenizer, data):
    # Texts of different lengths, so that the shorter ones are padded.
    indices = [0, 1, 2, 3]
    texts = [data.texts[0], data.texts[1] + " and long and slow", data.texts[2], data.texts[3]]
    batch = collate(tokenizer, encode_texts(tokenizer, texts, 32, labels=[data.labels[i] for i in indices]))
    assert (batch["attention_mask"] == 0).any()
    return batch


def _ce(logits, batch):
    return F.cross_entropy(logits, batch["labels"])


@pytest.mark.parametrize("norm, epsilon", [("l2", 0.3), ("linf", 0.02)])
def test_perturbations_stay_in_ball(tokenizer, data, norm, epsilon, tiny_bert):
    model = tiny_bert(dropout=0.0).train()
    batch = _padded_batch(tokenizer, data)
    params = AdvParams(steps=4, epsilon=epsilon, step_size=epsilon, init_magnitude=0.5, norm=norm)
    torch.manual_seed(0)
    result = adversarial_backward(model, CLASSIFICATION, batch, params, _ce)

    assert len(result.perturbations) == 4
    padding = batch["attention_mask"] == 0
    for delta in result.perturbations:
        assert delta.shape == (*batch["input_ids"].shape, model.config.hidden_size)
        assert torch.count_nonzero(delta[padding]) == 0
        if norm == "l2":
            norms = delta.flatten(start_dim=1).norm(dim=1)
            assert torch.all(norms <= epsilon * (1 + 1e-5))
        else:
            assert delta.abs().max().item() <= epsilon + 1e-7
    # After the first ascent step the perturbation sits on the boundary of the ball.
    last = result.perturbations[-1]
    if norm == "l2":
        assert last.flatten(start_dim=1).norm(dim=1).min().item() == pytest.approx(epsilon, rel=1e-4)
    else:
        assert last.abs().max().item() == pytest.approx(epsilon, rel=1e-6)


def test_project_rejects_unknown_norm():
    with pytest.raises(ValueError, match="l1"):
        project(torch.zeros(1, 2, 3), torch.ones(1, 2), epsilon=1.0, norm="l1")


def test_gradients_are_averaged_over_steps(tokenizer, data, tiny_bert):
    model = tiny_bert(dropout=0.0).train()
    batch = _padded_batch(tokenizer, data)
    params = AdvParams(steps=3, epsilon=0.5, step_size=0.3, weight=0.8)
    torch.manual_seed(0)
    result = adversarial_backward(model, CLASSIFICATION, batch, params, _ce)
    actual = {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}

    model.zero_grad(set_to_none=True)
    inputs = {"attention_mask": batch["attention_mask"], "token_type_ids": batch["token_type_ids"]}
    expected_loss = 0.0
    for delta in result.perturbations:
        embeds = model.get_input_embeddings()(batch["input_ids"]) + delta
        loss = _ce(model(inputs_embeds=embeds, **inputs).logits, batch)
        (0.8 * loss / 3).backward()
        expected_loss += loss.item() / 3
    assert result.loss == pytest.approx(expected_loss, abs=1e-6)
    for name, parameter in model.named_parameters():
        if parameter.grad is not None:
            torch.testing.assert_close(actual[name], parameter.grad, rtol=1e-5, atol=1e-7)


def test_ascent_raises_loss(tokenizer, data, tiny_bert):
    model = tiny_bert(dropout=0.0).train()
    batch = _padded_batch(tokenizer, data)
    params = AdvParams(steps=2, epsilon=5.0, step_size=5.0, init_magnitude=0.0)
    torch.manual_seed(0)
    result = adversarial_backward(model, CLASSIFICATION, batch, params, _ce)
    with torch.no_grad():
        inputs = {"attention_mask": batch["attention_mask"], "token_type_ids": batch["token_type_ids"]}
        embeds = model.get_input_embeddings()(batch["input_ids"])
        clean = _ce(model(inputs_embeds=embeds, **inputs).logits, batch).item()
        attacked = _ce(model(inputs_embeds=embeds + result.perturbations[1], **inputs).logits, batch).item()
    assert attacked > clean


def test_adv_step_grads_differ_from_baseline(tokenizer, data, tiny_bert):
    batch = _padded_batch(tokenizer, data)
    grads = {}
    losses = {}
    for name, objective in [("baseline", baseline.build(BaselineParams())), ("adv", adv.build(AdvParams()))]:
        model = tiny_bert(dropout=0.0).train()
        objective.configure_model(model)
        torch.manual_seed(0)
        losses[name] = objective.step(model, batch)
        grads[name] = torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None])
    assert grads["adv"].shape == grads["baseline"].shape
    assert not torch.allclose(grads["adv"], grads["baseline"])
    # The adversarial step adds a positive loss term to the same clean loss.
    assert losses["adv"] > losses["baseline"]
