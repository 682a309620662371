"""Causal LMs and encoder-decoder models of generation tasks: loading, LoRA or full fine-tuning, and safetensors checkpoints.

A ``local`` or ``hub`` model whose config sets ``is_encoder_decoder`` (T5, BART, Marian)
loads with ``AutoModelForSeq2SeqLM`` instead of ``AutoModelForCausalLM``, and its tokenizer
is marked (:func:`harness.generation.prompts.mark_encoder_decoder`) so that the head encodes
an encoder input and decoder labels.

A LoRA-tuned model is saved with its adapter merged into the base weights (peft's
``merge_and_unload`` on a copy), so every checkpoint is a plain causal-LM folder
(``config.json``, ``generation_config.json``, ``model.safetensors``, tokenizer files) that
loads with ``AutoModelForCausalLM`` (or ``AutoModelForSeq2SeqLM``) and safetensors, without peft. For SmolLM2-135M in fp32
that is about 540 MB per checkpoint.
"""

from __future__ import annotations

import copy
import logging
from pathlib import Path
from typing import Any, Literal

from harness.errors import RsbenchError
from harness.suite import RANDOM_MODEL_SIZES, ModelSpec

logger = logging.getLogger(__name__)

# The packaged causal LM of ModelSpec(source="packaged"), and its key in harness.lm.PACKAGED_LMS.
PACKAGED_CAUSAL_LMS = {"SmolLM2-135M-Instruct": "smollm2"}
# Tokenizer of a `source: random` causal LM: a tiny Llama over SmolLM2's vocabulary.
RANDOM_CAUSAL_LM_TOKENIZER = "SmolLM2-135M-Instruct"
# Sizes of a `source: random` causal LM; the suite's `architecture` overrides any of them.
# The keys are those of RANDOM_MODEL_SIZES, which the suite validates.
RANDOM_LLAMA_SIZES = {**RANDOM_MODEL_SIZES, "max_position_embeddings": 1024}

LORA_RANK = 8
LORA_ALPHA = 16
LORA_DROPOUT = 0.05
LORA_TARGET_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj")


def prepare_tokenizer(tokenizer: Any, model: Any | None = None) -> Any:
    """Give ``tokenizer`` a pad token and right padding for training; returns it.

    The pad token is the tokenizer's own, else the generation config's pad id, else the
    end-of-turn token (``<|im_end|>`` for SmolLM2). Padded positions are masked, so the
    choice does not change results. The generator pads on the left by itself.
    """
    from harness.generation.prompts import end_of_turn_id

    if tokenizer.pad_token_id is None:
        generation_config = getattr(model, "generation_config", None)
        pad_id = getattr(generation_config, "pad_token_id", None)
        if pad_id is None:
            pad_id = end_of_turn_id(tokenizer)
        tokenizer.pad_token = tokenizer.convert_ids_to_tokens(int(pad_id))
    tokenizer.padding_side = "right"
    if model is not None:
        from harness.generation.prompts import mark_encoder_decoder

        mark_encoder_decoder(tokenizer, model)
    return tokenizer


def is_encoder_decoder_config(config: Any) -> bool:
    return bool(getattr(config, "is_encoder_decoder", False))


def _auto_class(config: Any):
    """Return ``AutoModelForSeq2SeqLM`` for an encoder-decoder config, else ``AutoModelForCausalLM``."""
    from transformers import AutoModelForCausalLM, AutoModelForSeq2SeqLM

    return AutoModelForSeq2SeqLM if is_encoder_decoder_config(config) else AutoModelForCausalLM


def _random_model(spec: ModelSpec):
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from harness.lm import converted_model_folder

    if spec.tokenizer not in (RANDOM_CAUSAL_LM_TOKENIZER, "all-MiniLM-L6-v2"):
        logger.warning("model tokenizer %r: a random causal LM always uses the %s tokenizer", spec.tokenizer,
                       RANDOM_CAUSAL_LM_TOKENIZER)
    folder = converted_model_folder(PACKAGED_CAUSAL_LMS[RANDOM_CAUSAL_LM_TOKENIZER])
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    sizes = {**RANDOM_LLAMA_SIZES, **(spec.architecture or {})}
    # Untied output embeddings: with tied ones a random model's top token is the input token, so it repeats it.
    config = LlamaConfig(vocab_size=len(tokenizer), bos_token_id=1, eos_token_id=2, pad_token_id=2,
                         tie_word_embeddings=False, **sizes)
    model = LlamaForCausalLM(config).to(torch.float32)
    model.generation_config.eos_token_id = 2
    model.generation_config.pad_token_id = 2
    return model, tokenizer


def _pretrained_model(spec: ModelSpec):
    import torch
    from transformers import AutoConfig, AutoTokenizer

    from harness.lm import converted_model_folder

    kwargs: dict[str, Any] = {"trust_remote_code": spec.trust_remote_code}
    if spec.source == "packaged":
        if spec.name not in PACKAGED_CAUSAL_LMS:
            raise RsbenchError(f"model name {spec.name!r}: not a packaged causal LM. Known: {', '.join(PACKAGED_CAUSAL_LMS)}.")
        location = str(converted_model_folder(PACKAGED_CAUSAL_LMS[spec.name]))
    elif spec.source == "local":
        location = str(spec.path)
    else:
        location = str(spec.name)
        if spec.revision:
            kwargs["revision"] = spec.revision
    try:
        config = AutoConfig.from_pretrained(location, **kwargs)
        tokenizer = AutoTokenizer.from_pretrained(location, **kwargs)
        model = _auto_class(config).from_pretrained(location, config=config, dtype=torch.float32, use_safetensors=True,
                                                    **kwargs)
    except OSError as exc:
        raise RsbenchError(
            f"causal LM {location!r} could not be loaded: {exc}. Check the name or folder; only safetensors weights are accepted."
        ) from None
    except ValueError as exc:
        if "trust_remote_code" not in str(exc):
            raise
        raise RsbenchError(
            f"causal LM {location!r} needs its own Python code, and trust_remote_code is off: {exc}. "
            "Use a model that transformers supports natively, or set trust_remote_code: true on the model if you trust its code."
        ) from None
    return model, tokenizer


def load_causal_lm_model(spec: ModelSpec, *, seed: int):
    """Load the causal LM of ``spec`` in fp32 and training mode; returns (model, tokenizer).

    Packaged ``SmolLM2-135M-Instruct`` comes from the GGUF conversion of ``harness.lm``,
    ``local`` and ``hub`` models from ``AutoModelForCausalLM`` (``AutoModelForSeq2SeqLM`` when
    the config is an encoder-decoder one) with safetensors only, and
    ``source: random`` builds a tiny ``LlamaForCausalLM`` (sizes from ``RANDOM_LLAMA_SIZES``
    and ``spec.architecture``) over SmolLM2's tokenizer, initialised from ``seed``.
    The tokenizer gets a pad token and right padding (:func:`prepare_tokenizer`).

    Raises:
        RsbenchError: the model cannot be loaded, has only pickle weights, or needs its own
            code while ``trust_remote_code`` is off.
    """
    import torch

    if spec.allow_pickle:
        logger.warning("model %s: allow_pickle is ignored for causal LMs, which load from safetensors only", spec.name or spec.path)
    torch.manual_seed(seed)
    model, tokenizer = _random_model(spec) if spec.source == "random" else _pretrained_model(spec)
    model.train()
    return model, prepare_tokenizer(tokenizer, model)


def apply_fine_tuning(
    model: Any,
    *,
    method: Literal["lora", "full"] = "lora",
    lora_rank: int = LORA_RANK,
    lora_alpha: int = LORA_ALPHA,
    lora_dropout: float = LORA_DROPOUT,
    target_modules: tuple[str, ...] | list[str] = LORA_TARGET_MODULES,
):
    """Prepare ``model`` for fine-tuning; returns the model to train.

    ``lora`` wraps it in a peft ``PeftModel`` whose LoRA matrices (rank ``lora_rank``,
    scale ``lora_alpha / lora_rank``) on ``target_modules`` are the only trainable weights.
    ``full`` returns ``model`` itself with every weight trainable.

    Only the names of ``target_modules`` that the model has are used (BART and Marian have
    ``q_proj``, ``k_proj`` and ``v_proj`` but no ``o_proj``). When it has none of them (T5
    names its projections ``q``, ``k``, ``v``, ``o``), peft's default targets for the model
    type are used (``q`` and ``v`` for T5), and ``"all-linear"`` when peft has no default.
    """
    if method == "full":
        model.requires_grad_(True)
        return model
    if method != "lora":
        raise ValueError(f"fine-tuning method must be 'lora' or 'full', got {method!r}")
    from peft import LoraConfig, TaskType, get_peft_model

    encoder_decoder = is_encoder_decoder_config(model.config)
    config = LoraConfig(task_type=TaskType.SEQ_2_SEQ_LM if encoder_decoder else TaskType.CAUSAL_LM, r=lora_rank,
                        lora_alpha=lora_alpha, lora_dropout=lora_dropout, target_modules=lora_targets(model, target_modules))
    return get_peft_model(model, config)


def lora_targets(model: Any, target_modules: tuple[str, ...] | list[str]) -> list[str] | str:
    """Return the LoRA target modules for ``model``: see :func:`apply_fine_tuning`."""
    from peft.utils import TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING

    names = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules()}
    present = [name for name in target_modules if name in names]
    if present:
        return present
    defaults = TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING.get(getattr(model.config, "model_type", None))
    if defaults and any(name in names for name in defaults):
        return list(defaults)
    return "all-linear"


def is_peft_model(model: Any) -> bool:
    try:
        from peft import PeftModel
    except ImportError:
        return False
    return isinstance(model, PeftModel)


def mergeable_model(model: Any) -> Any:
    """Return the plain causal LM that a checkpoint stores: a copy with LoRA merged in, or ``model`` itself."""
    if not is_peft_model(model):
        return model
    return copy.deepcopy(model).merge_and_unload()


def load_causal_lm_checkpoint(folder: Path):
    """Load a causal-LM or encoder-decoder checkpoint folder in fp32 with safetensors only; returns (model, tokenizer).

    Raises:
        RsbenchError: the folder has no ``model.safetensors`` (a pickle-only folder, or an
            unfinished one).
    """
    import torch
    from transformers import AutoConfig, AutoTokenizer

    if not (folder / "model.safetensors").is_file():
        raise RsbenchError(f"checkpoint {folder} has no model.safetensors. Delete the folder and rerun to retrain it.")
    config = AutoConfig.from_pretrained(str(folder))
    model = _auto_class(config).from_pretrained(str(folder), config=config, dtype=torch.float32, use_safetensors=True)
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    return model, prepare_tokenizer(tokenizer, model)
