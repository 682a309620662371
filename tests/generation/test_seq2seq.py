"""Encoder-decoder models (a tiny random BART over SmolLM2's vocabulary) through the generation task interface."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

from harness.generation.decoding import Decoding
from harness.generation.generator import Generator
from harness.generation.head import CausalLMHead
from harness.generation.prompts import is_encoder_decoder_tokenizer
from harness.models import load_checkpoint, load_classifier, save_checkpoint
from harness.suite import ModelSpec
from harness.training.heads import LABEL_PAD, collate
from harness.variants import adv, baseline, kd, reg
from harness.variants.adversarial import adversarial_backward
from harness.variants.params import AdvParams, BaselineParams, KDParams, RegParams
from tests.helpers import REPO

# SmolLM2's tokenizer names <|im_start|> (id 1) as both BOS and EOS; the saved BART folder
# ends targets with <|im_end|> (id 2) and pads with <|endoftext|> (id 0), as BART does with </s> and <pad>.
BOS_ID, EOS_ID, PAD_ID = 1, 2, 0
SOURCES = ["the cat sleeps", "a dog runs in the park after lunch", "good morning", "the sun is bright", "hello there"]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def save_tiny_bart(folder, *, seed: int = 0, scale: float | None = None) -> None:
    """Save a 1+1-layer BART with d_model 32 over SmolLM2's vocabulary as a safetensors folder."""
    from transformers import AutoTokenizer, BartConfig, BartForConditionalGeneration

    from harness.lm import converted_model_folder

    tokenizer = AutoTokenizer.from_pretrained(str(converted_model_folder()))
    tokenizer.eos_token = tokenizer.convert_ids_to_tokens(EOS_ID)
    tokenizer.pad_token = tokenizer.convert_ids_to_tokens(PAD_ID)
    config = BartConfig(vocab_size=len(tokenizer), d_model=32, encoder_layers=1, decoder_layers=1,
                        encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=64, decoder_ffn_dim=64,
                        max_position_embeddings=256, bos_token_id=BOS_ID, eos_token_id=EOS_ID, pad_token_id=PAD_ID,
                        decoder_start_token_id=EOS_ID, forced_bos_token_id=None, forced_eos_token_id=None,
                        dropout=0.1, attention_dropout=0.1)
    torch.manual_seed(seed)
    model = BartForConditionalGeneration(config)
    if scale is not None:
        # Larger weights than the default initialisation make the outputs depend on the source.
        with torch.no_grad():
            for parameter in model.parameters():
                if parameter.dim() == 2:
                    parameter.normal_(0.0, scale)
    model.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)


@pytest.fixture(scope="module")
def bart_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bart")
    save_tiny_bart(folder, seed=0)
    return folder


@pytest.fixture(scope="module")
def teacher_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bart-teacher")
    save_tiny_bart(folder, seed=5)
    return folder


def _load(folder, seed: int = 0):
    return load_classifier(ModelSpec(source="local", path=str(folder)), (), seed=seed, head="causal-lm")


@pytest.fixture
def head(prompt_format):
    return CausalLMHead(prompt_format, max_source_tokens=32, max_target_tokens=16)


def _batch(head, tokenizer, pairs):
    return collate(tokenizer, head.encode(tokenizer, pairs, max_length=128))


def test_load_local_bart(bart_folder):
    from transformers import BartForConditionalGeneration

    model, tokenizer = _load(bart_folder)
    assert isinstance(model, BartForConditionalGeneration)
    assert model.training
    assert is_encoder_decoder_tokenizer(tokenizer)
    assert tokenizer.padding_side == "right"
    assert (tokenizer.eos_token_id, tokenizer.pad_token_id) == (EOS_ID, PAD_ID)


def test_encode_layout_and_masks(head, bart_folder, pairs, prompt_format):
    _, tokenizer = _load(bart_folder)
    features = head.encode(tokenizer, pairs, max_length=128)
    first = features[0]
    assert first["input_ids"] == tokenizer(f"{prompt_format.instruction}\n\n{pairs.sources[0]}")["input_ids"]
    assert first["input_ids"][0] == BOS_ID
    target = tokenizer(pairs.targets[0], add_special_tokens=False)["input_ids"]
    assert first["labels"] == [BOS_ID, *target, EOS_ID]
    assert first["perturb_mask"] == [1] * len(first["input_ids"])

    batch = collate(tokenizer, features)
    padding = batch["attention_mask"] == 0
    assert padding.any()
    assert (batch["input_ids"][padding] == PAD_ID).all()
    assert ((batch["perturb_mask"] == 1) == ~padding).all()
    lengths = [len(feature["labels"]) for feature in features]
    assert batch["labels"].shape == (len(pairs), max(lengths))
    for row, length in enumerate(lengths):
        assert (batch["labels"][row, length:] == LABEL_PAD).all()
        assert batch["labels"][row, length - 1] == EOS_ID

    short = CausalLMHead(prompt_format, max_source_tokens=2, max_target_tokens=2).encode(tokenizer, pairs, max_length=128)
    assert short[3]["labels"] == [BOS_ID, target_first := tokenizer(pairs.targets[3], add_special_tokens=False)["input_ids"][0]]
    assert target_first != EOS_ID
    assert short[3]["input_ids"] == tokenizer(f"{prompt_format.instruction}\n\nthe sun")["input_ids"]


def test_per_example_loss_matches_cross_entropy(head, bart_folder, pairs):
    model, tokenizer = _load(bart_folder)
    model.eval()
    batch = _batch(head, tokenizer, pairs)
    with torch.no_grad():
        logits = head.logits(model, batch)
        reference = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=batch["labels"]).logits
    torch.testing.assert_close(logits, reference)
    losses = head.per_example_loss(logits, batch)
    for row in range(len(pairs)):
        positions = (batch["labels"][row] != LABEL_PAD).nonzero().flatten()
        expected = F.cross_entropy(logits[row, positions], batch["labels"][row, positions])
        torch.testing.assert_close(losses[row], expected)
    rows = head.rows(logits, batch)
    assert rows.shape == ((batch["labels"] != LABEL_PAD).sum().item(), logits.size(-1))
    torch.testing.assert_close(rows[0], logits[0, 0])


def test_adversary_perturbs_encoder_input_only(head, bart_folder, pairs):
    model, tokenizer = _load(bart_folder)
    batch = _batch(head, tokenizer, pairs)
    params = AdvParams(steps=2, epsilon=0.5, step_size=0.2, init_magnitude=0.05)
    result = adversarial_backward(model, head, batch, params, lambda logits, b: head.per_example_loss(logits, b).mean())
    for delta in result.perturbations:
        assert delta.shape[:2] == batch["input_ids"].shape
        assert delta[batch["attention_mask"] == 0].abs().max().item() == 0.0
        assert delta[batch["attention_mask"] == 1].abs().min().item() > 0.0


@pytest.mark.parametrize("module, params", [
    (baseline, BaselineParams()),
    (adv, AdvParams(steps=2, epsilon=0.5, step_size=0.2)),
    (kd, KDParams(alpha=0.5, temperature=2.0)),
    (reg, RegParams(hidden_dropout=0.1, attention_dropout=0.1, rdrop_alpha=1.0)),
], ids=["baseline", "adv", "kd", "reg"])
def test_variant_steps_lower_loss(module, params, head, bart_folder, teacher_folder, pairs):
    from harness.generation.models import apply_fine_tuning

    model, tokenizer = _load(bart_folder, seed=1)
    teacher, _ = _load(teacher_folder, seed=2)
    model = apply_fine_tuning(model, method="lora", lora_rank=4, lora_alpha=8, lora_dropout=0.05)
    objective = module.build(params, teacher=teacher.eval(), head=head)
    objective.configure_model(model)
    model.train()
    batch = _batch(head, tokenizer, pairs)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=2e-2)
    with torch.no_grad():
        model.eval()
        initial = head.per_example_loss(head.logits(model, batch), batch).mean().item()
        model.train()
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
    assert final < initial


def test_reg_sets_bart_dropout(bart_folder):
    model, _ = _load(bart_folder)
    reg.build(RegParams(hidden_dropout=0.25, attention_dropout=0.125)).configure_model(model)
    layer = model.model.encoder.layers[0]
    assert layer.dropout == 0.25
    assert layer.self_attn.dropout == 0.125
    assert model.model.decoder.layers[0].encoder_attn.dropout == 0.125
    assert model.model.decoder.dropout == 0.25


def test_lora_targets_per_architecture():
    from transformers import T5Config, T5ForConditionalGeneration

    from harness.generation.models import LORA_TARGET_MODULES, lora_targets

    t5 = T5ForConditionalGeneration(T5Config(vocab_size=64, d_model=16, d_kv=8, d_ff=32, num_layers=1, num_heads=2))
    assert lora_targets(t5, LORA_TARGET_MODULES) == ["q", "v"]


def test_t5_lora_step_lowers_loss(head, pairs, tmp_path):
    from transformers import AutoTokenizer, T5Config, T5ForConditionalGeneration

    from harness.generation.models import apply_fine_tuning
    from harness.lm import converted_model_folder

    tokenizer = AutoTokenizer.from_pretrained(str(converted_model_folder()))
    tokenizer.eos_token = tokenizer.convert_ids_to_tokens(EOS_ID)
    tokenizer.pad_token = tokenizer.convert_ids_to_tokens(PAD_ID)
    config = T5Config(vocab_size=len(tokenizer), d_model=16, d_kv=8, d_ff=32, num_layers=1, num_heads=2,
                      pad_token_id=PAD_ID, eos_token_id=EOS_ID, decoder_start_token_id=PAD_ID)
    torch.manual_seed(0)
    T5ForConditionalGeneration(config).save_pretrained(tmp_path, safe_serialization=True)
    tokenizer.save_pretrained(tmp_path)

    model, tokenizer = _load(tmp_path)
    assert isinstance(model, T5ForConditionalGeneration)
    model = apply_fine_tuning(model, lora_rank=4)
    assert sorted({name.split(".")[-4] for name, p in model.named_parameters() if p.requires_grad}) == ["q", "v"]
    batch = _batch(head, tokenizer, pairs)
    objective = baseline.build(BaselineParams(), head=head)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=5e-2)
    losses = []
    for _ in range(4):
        optimizer.zero_grad()
        losses.append(objective.step(model, batch))
        optimizer.step()
    assert losses[-1] < losses[0]


def test_lora_checkpoint_round_trip(head, bart_folder, pairs, tmp_path):
    from harness.generation.models import apply_fine_tuning

    model, tokenizer = _load(bart_folder)
    model = apply_fine_tuning(model, lora_rank=4)
    assert sorted({name.split(".")[-4] for name, p in model.named_parameters() if p.requires_grad}) == [
        "k_proj", "q_proj", "v_proj"]
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if "lora_B" in name:
                parameter.normal_(0.0, 0.5)
    model.eval()
    batch = _batch(head, tokenizer, pairs)
    with torch.no_grad():
        expected = head.logits(model, batch)
    save_checkpoint(model, tokenizer, tmp_path / "checkpoint")
    loaded, loaded_tokenizer = load_checkpoint(tmp_path / "checkpoint", head="causal-lm")
    assert is_encoder_decoder_tokenizer(loaded_tokenizer)
    assert not hasattr(loaded, "peft_config")
    with torch.no_grad():
        actual = head.logits(loaded.eval(), _batch(head, loaded_tokenizer, pairs))
    torch.testing.assert_close(actual, expected, atol=1e-5, rtol=1e-4)


@pytest.fixture(scope="module")
def scaled_bart(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bart-scaled")
    save_tiny_bart(folder, seed=3, scale=0.2)
    model, tokenizer = _load(folder)
    return model.eval(), tokenizer


def _generator(scaled_bart, prompt_format, **options):
    model, tokenizer = scaled_bart
    settings = {"batch_size": 4, "max_source_tokens": 32, "device": "cpu", **options}
    return Generator(model, tokenizer, prompt_format, Decoding(strategy="greedy", max_new_tokens=8), **settings)


def test_generator_batches_and_cache_agree(scaled_bart, prompt_format):
    model, tokenizer = scaled_bart
    one = _generator(scaled_bart, prompt_format, batch_size=1)(SOURCES)
    generator = _generator(scaled_bart, prompt_format, batch_size=4)
    four = generator(SOURCES)
    uncached = _generator(scaled_bart, prompt_format, batch_size=4, cache_enabled=False)
    assert one == four == uncached(SOURCES) == uncached(SOURCES)
    assert len(set(four)) > 1
    assert generator(SOURCES[:2]) == four[:2]
    assert generator.cache_hits == 2
    assert uncached.generated_sources == 2 * len(SOURCES)

    # The first output equals greedy decoding of the encoder input by hand, decoder start token dropped.
    ids = torch.tensor([tokenizer(f"{prompt_format.instruction}\n\n{SOURCES[0]}")["input_ids"]])
    with torch.inference_mode():
        sequence = model.generate(input_ids=ids, max_new_tokens=8, do_sample=False, num_beams=1, eos_token_id=EOS_ID,
                                  pad_token_id=PAD_ID)[0].tolist()
    assert sequence[0] == EOS_ID
    new = sequence[1:]
    new = new[: new.index(EOS_ID) + 1] if EOS_ID in new else new
    assert one[0] == tokenizer.decode(new, skip_special_tokens=True).strip()
    encoder_lengths = sorted(len(tokenizer(f"{prompt_format.instruction}\n\n{source}")["input_ids"]) for source in SOURCES)
    assert sorted(count[0] for count in generator.forward_token_counts) == encoder_lengths
    assert sum(count[1] for count in generator.forward_token_counts) == generator.generated_tokens


def test_encoder_decoder_flops(scaled_bart):
    from harness.generation.task import causal_lm_flops

    config = scaled_bart[0].config
    h, ffn, vocabulary = 32, 64, config.vocab_size
    encoder = 10 * 2 * (4 * h * h + 2 * h * ffn) + 2 * 10 * 10 * h
    decoder = 3 * 2 * (6 * h * h + 2 * h * ffn) + 10 * 4 * h * h + 2 * 3 * 3 * h + 4 * 3 * 10 * h
    assert causal_lm_flops(config, [(10, 3)]) == encoder + decoder + 3 * 2 * h * vocabulary
    assert causal_lm_flops(config, [(10, 3), (10, 3)]) == 2 * causal_lm_flops(config, [(10, 3)])


SUITE = """# rsbench run suite.yaml
name: tiny-seq2seq
tasks:
  mt:
    type: translation
    data: {{source: file, path: pairs.tsv, test_size: 4}}
    settings: {{decoding: {{max_new_tokens: 6}}, max_source_tokens: 24, max_target_tokens: 12}}
    attacks: [seq2seq-chars]
models:
  bart:
    source: local
    path: {folder}
variants:
  baseline: {{}}
training:
  epochs: 1
  batch_size: 4
  learning_rate: 1.0e-3
  max_length: 64
attack:
  examples: 2
  query_budget: 12
attacks: [seq2seq-chars]
"""

PAIRS = "source\ttarget\n" + "\n".join(f"the {animal} eats {food}\tel {animal} come {food}"
                                       for animal in ("cat", "dog", "horse", "bird") for food in ("bread", "fish", "rice"))


@pytest.mark.slow
def test_run_translation_with_local_bart(bart_folder, tmp_path):
    suite = tmp_path / "suite.yaml"
    suite.write_text(SUITE.format(folder=json.dumps(str(bart_folder))), encoding="utf-8")
    (tmp_path / "pairs.tsv").write_text(PAIRS + "\n", encoding="utf-8")
    out = tmp_path / "out"
    command = [sys.executable, "-m", "harness", "run", str(suite), "--out", str(out), "--no-progress", "--threads", "1"]
    result = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "units: 2 computed, 0 already stored, 0 failed" in result.stdout  # training and attack
    units = json.loads((out / "leaderboard.json").read_text(encoding="utf-8"))["units"]
    assert len(units) == 1
    unit = units[0]
    assert (unit["task"], unit["variant"], unit["attack"], unit["attacked"]) == ("mt", "baseline", "seq2seq-chars", 2)
    assert {"clean.bleu", "clean.chrf", "robust.bleu", "robust.chrf"} <= set(unit["task_metrics"])
